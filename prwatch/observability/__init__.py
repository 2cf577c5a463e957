"""Metrics, readiness and structured logs: what an operator sees of a running prwatch."""
