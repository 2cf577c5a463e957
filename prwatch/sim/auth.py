"""App authentication: the App's key pair, JWT verification, installation tokens."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

MAX_JWT_LIFETIME_S = 600
CLOCK_LEEWAY_S = 60


class AuthError(Exception):
    """Bad credentials: answered with 401."""


def generate_private_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()


def public_key_pem(private_key_pem: str) -> str:
    key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def verify_app_jwt(token: str, public_key: str, *, app_id: int, client_id: str, now: int) -> None:
    """Check an App JWT the way GitHub does: RS256, `iss` = App id, `exp` ≤ 10 min ahead."""
    try:
        claims = jwt.decode(
            token,
            public_key,
            algorithms=["RS256"],
            options={"verify_exp": False, "verify_iat": False, "require": ["exp", "iat", "iss"]},
        )
    except jwt.PyJWTError as error:
        raise AuthError(f"A JSON web token could not be decoded: {error}") from error
    if str(claims["iss"]) not in (str(app_id), client_id):
        raise AuthError("'Issuer' claim ('iss') must be the App id")
    exp, iat = claims["exp"], claims["iat"]
    if not isinstance(exp, int | float) or not isinstance(iat, int | float):
        raise AuthError("'exp' and 'iat' must be numbers")
    if exp <= now:
        raise AuthError("'Expiration time' claim ('exp') must be in the future")
    if iat > now + CLOCK_LEEWAY_S:
        raise AuthError("'Issued at' claim ('iat') must be an Integer representing the time")
    if exp > now + MAX_JWT_LIFETIME_S + CLOCK_LEEWAY_S:
        raise AuthError("'Expiration time' claim ('exp') is too far in the future")


@dataclass(slots=True)
class InstallationToken:
    token: str
    installation_id: int
    expires_at: int


class TokenStore:
    """Issued installation tokens. Budgets are per installation, not per token (as on GitHub)."""

    def __init__(self) -> None:
        self._tokens: dict[str, InstallationToken] = {}

    def issue(self, installation_id: int, now: int, lifetime_s: int) -> InstallationToken:
        token = InstallationToken(
            "ghs_" + secrets.token_urlsafe(27), installation_id, now + lifetime_s
        )
        self._tokens[token.token] = token
        return token

    def lookup(self, token: str, now: int) -> InstallationToken | None:
        found = self._tokens.get(token)
        if found is None or found.expires_at <= now:
            return None
        return found

    def expire_all(self, now: int) -> int:
        for token in self._tokens.values():
            token.expires_at = min(token.expires_at, now)
        return len(self._tokens)

    def revoke_installation(self, installation_id: int) -> None:
        for key in [k for k, t in self._tokens.items() if t.installation_id == installation_id]:
            del self._tokens[key]
