"""Registering the GitHub App from its manifest (``prwatch register``)."""
