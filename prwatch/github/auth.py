"""App authentication: the RS256 App JWT and a per-installation token cache.

githubkit's App auth keeps no lock (20 concurrent first requests made 20 token requests) and
never drops a token GitHub rejected, so prwatch keeps its own cache: one token request at a time
per installation, reuse until ``refresh_margin`` before ``expires_at``, explicit invalidation
after a 401. Tokens live only in ``InstallationToken.token`` (excluded from repr); everything
that may be logged or stored uses the fingerprint.

With a ``TokenSharing`` (Redis: ``prwatch.github.shared_tokens``) the cache asks it instead of
minting, so that every process of the App uses the same token — ETags are per token.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.serialization import load_pem_private_key

# https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/generating-a-json-web-token-jwt-for-a-github-app
JWT_BACKDATE_SECONDS = 60  # iat in the past, against clock drift
JWT_LIFETIME_SECONDS = 9 * 60  # GitHub accepts at most 10 minutes
JWT_RENEW_MARGIN_SECONDS = 60

FINGERPRINT_LENGTH = 16


@functools.lru_cache(maxsize=4)
def load_private_key(pem: str) -> PrivateKeyTypes:
    """The PEM key parsed, once per process and key: loading an RSA key checks it (about
    70 ms on two busy cores), and a sweep needs the App's key for the settings check, the JWT
    and the token seal. Raises ValueError or TypeError (not cached) for what is not a key."""
    return load_pem_private_key(pem.encode(), password=None)


@dataclass(frozen=True, slots=True)
class AppCredentials:
    """The App's id and PEM private key. The key never appears in a repr."""

    app_id: int
    private_key_pem: str = field(repr=False)

    def __post_init__(self) -> None:
        if isinstance(self.app_id, bool) or not isinstance(self.app_id, int) or self.app_id <= 0:
            raise ValueError(f"app_id must be a positive integer, got {self.app_id!r}")
        if not isinstance(self.private_key_pem, str) or "PRIVATE KEY" not in self.private_key_pem:
            raise ValueError("private_key_pem must be PEM text holding a private key")

    def signing_key(self) -> RSAPrivateKey:
        """The parsed RSA key; a ValueError (without key material) when it is not one."""
        try:
            key = load_private_key(self.private_key_pem)
        except (ValueError, TypeError) as error:
            raise ValueError(
                f"the App private key cannot be loaded: {type(error).__name__}"
            ) from None
        if not isinstance(key, RSAPrivateKey):
            raise ValueError("the App private key must be an RSA key (GitHub signs with RS256)")
        return key


def fingerprint(token: str) -> str:
    """A short sha256 prefix identifying a token without revealing it (ETags are per token)."""
    return hashlib.sha256(token.encode()).hexdigest()[:FINGERPRINT_LENGTH]


class AppJwtIssuer:
    """Signs App JWTs and reuses one until shortly before it expires."""

    def __init__(
        self, credentials: AppCredentials, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._app_id = credentials.app_id
        self._key = credentials.signing_key()
        self._clock = clock
        self._jwt: str | None = None
        self._expires_at = 0.0

    def __repr__(self) -> str:
        return f"AppJwtIssuer(app_id={self._app_id})"

    def current(self) -> str:
        now = self._clock()
        if self._jwt is None or now >= self._expires_at - JWT_RENEW_MARGIN_SECONDS:
            issued_at = int(now) - JWT_BACKDATE_SECONDS
            expires_at = int(now) + JWT_LIFETIME_SECONDS
            claims = {"iat": issued_at, "exp": expires_at, "iss": str(self._app_id)}
            self._jwt = jwt.encode(claims, self._key, algorithm="RS256")
            self._expires_at = float(expires_at)
        return self._jwt

    def invalidate(self) -> None:
        """Forget the cached JWT (after GitHub rejected it) so the next call signs a new one."""
        self._jwt = None


@dataclass(frozen=True, slots=True)
class InstallationToken:
    installation_id: int
    token: str = field(repr=False)
    expires_at: float  # epoch seconds

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.token)


def parse_token_response(installation_id: int, body: object) -> InstallationToken:
    """``{"token": …, "expires_at": "2016-07-11T22:14:10Z"}`` → InstallationToken."""
    if not isinstance(body, dict):
        raise ValueError("token response is not a JSON object")
    token, expires_at = body.get("token"), body.get("expires_at")
    if not isinstance(token, str) or not token:
        raise ValueError("token response has no token")
    if not isinstance(expires_at, str):
        raise ValueError("token response has no expires_at")
    try:
        expiry = datetime.fromisoformat(expires_at)
    except ValueError:
        raise ValueError(f"token response has an unreadable expires_at {expires_at!r}") from None
    if expiry.tzinfo is None:
        raise ValueError(f"token response expires_at {expires_at!r} has no timezone")
    return InstallationToken(installation_id, token, expiry.timestamp())


TokenFetcher = Callable[[int], Awaitable[InstallationToken]]


class TokenSharing(Protocol):
    """Installation tokens shared by several processes of one App."""

    async def obtain(
        self, installation_id: int, mint: TokenFetcher, rejected: InstallationToken | None
    ) -> InstallationToken:
        """A usable token for the installation: the shared one, or one ``mint`` fetched (and
        shared). ``rejected`` is a token GitHub refused: never return it, drop it if shared.
        Never fails because of the sharing itself (``mint``'s own errors pass through)."""
        ...


class InstallationTokenCache:
    """Installation tokens, fetched one at a time per installation and reused until near expiry."""

    def __init__(
        self,
        fetch: TokenFetcher,
        *,
        refresh_margin_seconds: float = 300.0,
        clock: Callable[[], float] = time.time,
        shared: TokenSharing | None = None,
    ) -> None:
        if refresh_margin_seconds < 0:
            raise ValueError("refresh_margin_seconds must not be negative")
        self._fetch = fetch
        self._shared = shared
        # Tokens GitHub rejected, until a replacement is in hand: the shared store must drop
        # them (if it still holds them) rather than hand them back.
        self._rejected: dict[int, InstallationToken] = {}
        self._margin = refresh_margin_seconds
        self._clock = clock
        self._tokens: dict[int, InstallationToken] = {}
        self._locks: dict[int, asyncio.Lock] = {}

    def __repr__(self) -> str:
        return f"InstallationTokenCache(installations={sorted(self._tokens)})"

    async def get(self, installation_id: int) -> InstallationToken:
        cached = self._usable(installation_id)
        if cached is not None:
            return cached
        lock = self._locks.setdefault(installation_id, asyncio.Lock())
        async with lock:
            # Whoever held the lock before us may have fetched one already.
            cached = self._usable(installation_id)
            if cached is not None:
                return cached
            if self._shared is None:
                token = await self._fetch(installation_id)
            else:
                rejected = self._rejected.get(installation_id)
                token = await self._shared.obtain(installation_id, self._fetch, rejected)
            self._rejected.pop(installation_id, None)
            self._tokens[installation_id] = token
            return token

    def invalidate(self, rejected: InstallationToken) -> None:
        """Drop ``rejected``, unless another request has already replaced it with a new one."""
        current = self._tokens.get(rejected.installation_id)
        if current is not None and current.token == rejected.token:
            del self._tokens[rejected.installation_id]
            self._rejected[rejected.installation_id] = rejected

    def forget(self, installation_id: int) -> None:
        """Drop the installation's token (it was deleted or suspended)."""
        self._tokens.pop(installation_id, None)
        self._rejected.pop(installation_id, None)

    def fingerprint(self, installation_id: int) -> str | None:
        token = self._usable(installation_id)
        return None if token is None else token.fingerprint

    def _usable(self, installation_id: int) -> InstallationToken | None:
        token = self._tokens.get(installation_id)
        if token is None or self._clock() >= token.expires_at - self._margin:
            return None
        return token
