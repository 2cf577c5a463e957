"""API tokens: 256 bits of randomness behind a recognisable prefix; only a hash is stored.

A SHA-256 of the token is enough as the stored form (no slow hash needed): the token is random
and long, so no dictionary or brute-force attack on a leaked hash is practical.
"""

from __future__ import annotations

import hashlib
import re
import secrets

TOKEN_PREFIX = "prwatch_"
_RANDOM_BYTES = 32  # token_urlsafe: 43 characters
_TOKEN = re.compile(rf"{TOKEN_PREFIX}[A-Za-z0-9_-]{{43}}")


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(_RANDOM_BYTES)


def is_well_formed(token: str) -> bool:
    return _TOKEN.fullmatch(token) is not None


def token_hash(token: str) -> str:
    """The stored form of a token (or of any other random secret: sessions, OAuth states)."""
    return hashlib.sha256(token.encode()).hexdigest()
