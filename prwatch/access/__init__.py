"""Credentials: API tokens for tools and signed sessions for people (pure, no I/O)."""
