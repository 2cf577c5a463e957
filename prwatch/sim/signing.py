"""GitHub's webhook signature: `sha256=` + hex HMAC-SHA256(secret, raw body)."""

from __future__ import annotations

import hashlib
import hmac


def sign(secret: str | bytes, body: bytes) -> str:
    key = secret.encode() if isinstance(secret, str) else secret
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
