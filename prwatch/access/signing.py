"""Signed cookie values: ``VALUE.SIGNATURE`` with an HMAC-SHA256 under a key derived from the
App's client secret, so a tampered cookie is refused before any lookup, and rotating the secret
signs everyone out."""

from __future__ import annotations

import base64
import hashlib
import hmac


def derive_key(secret: str, purpose: str) -> bytes:
    """A key for one purpose only (cookie signatures, token encryption), from one secret."""
    return hmac.new(secret.encode(), f"prwatch {purpose}".encode(), hashlib.sha256).digest()


def sign(key: bytes, value: str) -> str:
    return f"{value}.{_signature(key, value)}"


def unsign(key: bytes, signed: str) -> str | None:
    """The value of a signed string, or None when it was not signed with ``key``."""
    value, dot, signature = signed.rpartition(".")
    if not dot or not value:
        return None
    if not hmac.compare_digest(signature.encode(), _signature(key, value).encode()):
        return None
    return value


def _signature(key: bytes, value: str) -> str:
    digest = hmac.new(key, value.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
