"""Webhook signatures: `X-Hub-Signature-256` = "sha256=" + hex(HMAC-SHA256(secret, raw body)).

https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

PREFIX = "sha256="


def sign(secret: str | bytes, body: bytes) -> str:
    """The `X-Hub-Signature-256` value GitHub sends for `body` signed with `secret`."""
    key = secret.encode() if isinstance(secret, str) else secret
    if not key:
        raise ValueError("a webhook secret must not be empty")
    return PREFIX + hmac.new(key, body, hashlib.sha256).hexdigest()


def verify(secrets: Sequence[str], body: bytes, header: str | None) -> bool:
    """True when `header` signs `body` with any of `secrets`.

    Several secrets are accepted so that a secret can be rotated without losing deliveries:
    configure the new one beside the old, switch it on GitHub, then drop the old one. Every
    secret is compared, in constant time, whatever matched first.
    """
    if isinstance(secrets, str | bytes):
        # A lone string is a Sequence[str] of its characters: refuse it rather than check
        # the signature against each character.
        raise TypeError("secrets must be a sequence of secrets, not a single string")
    if not secrets:
        raise ValueError("no webhook secret is configured")
    if header is None or not header.startswith(PREFIX):
        return False
    received = header.encode("ascii", "replace")
    matched = False
    for secret in secrets:
        matched |= hmac.compare_digest(sign(secret, body).encode(), received)
    return matched
