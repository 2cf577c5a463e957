"""The Starlette application: webhook endpoint, health, read API and pages."""
