"""Talking to GitHub: sans-I/O helpers (webhook signatures, payload parsing, rate-limit
headers) and the HTTP client that uses them."""
