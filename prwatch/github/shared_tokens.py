"""Installation tokens shared through Redis by every process of one App.

GitHub ties ETags to the token that read them (weak ETags, ``Vary: Authorization``), and the
store keeps each ETag with its token's fingerprint: when every worker process mints its own
token, a repository swept by another worker than last time misses its conditional request and
pays a point for a page that did not change. So in the Redis mode the processes share one
token per installation:

- one process mints at a time: a lock (``SET NX PX``) around the access-token request; the
  others poll until the token appears, then read it;
- the entry is sealed (``prwatch.github.token_sealing``: Redis also holds job payloads, and
  only holders of the App key may read the token) and expires ``refresh_margin_seconds``
  before the token does;
- a token GitHub rejected (401) is deleted only while Redis still holds that same entry
  (compare-and-delete), so a token another process already renewed is not thrown away;
- Redis unreachable, or an entry that does not decrypt (the key changed): the token is minted
  locally with a warning. The cache never fails a request.

The in-process ``InstallationTokenCache`` stays in front: Redis is read only when the local
token is missing or due for renewal.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any, Self

from redis.asyncio import Redis
from redis.exceptions import RedisError

from prwatch.github.auth import AppCredentials, InstallationToken, TokenFetcher
from prwatch.github.token_sealing import TokenSeal, UnreadableToken

log = logging.getLogger(__name__)

# Redis keys (the queue's keys are in prwatch.queue.keys; these belong to the GitHub client).
TOKEN_KEY_PREFIX = "prwatch:installation-token:"
MINT_LOCK_KEY_PREFIX = "prwatch:installation-token-lock:"

CONNECT_TIMEOUT_SECONDS = 2.0
COMMAND_TIMEOUT_SECONDS = 2.0
LOCK_SECONDS = 30.0  # longer than a token request with its retries takes
WAIT_SECONDS = 10.0  # how long a process waits for another one's token before minting its own
FIRST_POLL_SECONDS = 0.01
LONGEST_POLL_SECONDS = 0.2

# Delete KEYS[1] only while it still holds ARGV[1] (the entry read, or the lock's owner).
_COMPARE_AND_DELETE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('del', KEYS[1])
end
return 0
"""

# Redis down, slow, or answering something unexpected: mint locally instead.
_UNAVAILABLE = (RedisError, OSError, TimeoutError)


def token_key(app_id: int, installation_id: int) -> str:
    return f"{TOKEN_KEY_PREFIX}{app_id}:{installation_id}"


def mint_lock_key(app_id: int, installation_id: int) -> str:
    return f"{MINT_LOCK_KEY_PREFIX}{app_id}:{installation_id}"


class RedisTokenSharing:
    """``TokenSharing`` on Redis. Build with ``from_url`` (or pass a client); ``aclose`` closes
    the client when this object opened it."""

    def __init__(
        self,
        redis: Redis,
        credentials: AppCredentials,
        *,
        refresh_margin_seconds: float = 300.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        wait_seconds: float = WAIT_SECONDS,
        lock_seconds: float = LOCK_SECONDS,
        owns_client: bool = False,
    ) -> None:
        """``clock`` is wall time (token expiry); ``sleep`` waits between polls of a token
        another process is minting."""
        if refresh_margin_seconds < 0:
            raise ValueError("refresh_margin_seconds must not be negative")
        self._redis = redis
        self._app_id = credentials.app_id
        self._seal = TokenSeal(credentials)
        self._margin = refresh_margin_seconds
        self._clock = clock
        self._sleep = sleep
        self._wait = wait_seconds
        self._lock_ms = max(1, int(lock_seconds * 1000))
        self._owns_client = owns_client
        self._compare_and_delete = redis.register_script(_COMPARE_AND_DELETE)

    @classmethod
    def from_url(cls, redis_url: str, credentials: AppCredentials, **options: Any) -> Self:
        """Builds the client without touching Redis (a process starts while Redis is down)."""
        if not redis_url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError(f"not a Redis URL: {redis_url.split(':', 1)[0]!r} scheme")
        redis = Redis.from_url(
            redis_url,
            socket_connect_timeout=CONNECT_TIMEOUT_SECONDS,
            socket_timeout=COMMAND_TIMEOUT_SECONDS,
        )
        return cls(redis, credentials, owns_client=True, **options)

    def __repr__(self) -> str:
        return f"RedisTokenSharing(app_id={self._app_id})"

    async def aclose(self) -> None:
        if self._owns_client:
            await self._redis.aclose()

    async def obtain(
        self, installation_id: int, mint: TokenFetcher, rejected: InstallationToken | None
    ) -> InstallationToken:
        """The installation's shared token, minting it (once across processes) when Redis
        holds none or holds ``rejected``."""
        minted: list[InstallationToken] = []

        async def mint_once(installation: int) -> InstallationToken:
            minted.append(await mint(installation))
            return minted[-1]

        try:
            return await self._obtain(installation_id, mint_once, rejected)
        except _UNAVAILABLE as error:
            if minted:  # minted, but Redis failed afterwards: keep the token
                log.warning(
                    "shared token cache unavailable, token kept locally",
                    extra={"installation_id": installation_id, "error": type(error).__name__},
                )
                return minted[-1]
            log.warning(
                "shared token cache unavailable, minting locally",
                extra={"installation_id": installation_id, "error": type(error).__name__},
            )
            return await mint(installation_id)

    async def _obtain(
        self, installation_id: int, mint: TokenFetcher, rejected: InstallationToken | None
    ) -> InstallationToken:
        key = token_key(self._app_id, installation_id)
        lock = mint_lock_key(self._app_id, installation_id)
        deadline = time.monotonic() + self._wait
        poll = FIRST_POLL_SECONDS
        while True:
            shared = await self._read(key, installation_id, rejected)
            if shared is not None:
                return shared
            owner = secrets.token_hex(16)
            if await self._redis.set(lock, owner, nx=True, px=self._lock_ms):
                try:
                    # Another process may have stored a token between our read and the lock.
                    shared = await self._read(key, installation_id, rejected)
                    if shared is not None:
                        return shared
                    token = await mint(installation_id)
                    await self._store(key, token)
                    return token
                finally:
                    await self._release(lock, owner)
            if time.monotonic() >= deadline:
                # The minting process is slow or died holding the lock: do not wait longer.
                log.warning(
                    "shared token still being minted elsewhere, minting locally",
                    extra={"installation_id": installation_id},
                )
                token = await mint(installation_id)
                await self._store(key, token)
                return token
            await self._sleep(poll)
            poll = min(poll * 2, LONGEST_POLL_SECONDS)

    async def _release(self, lock: str, owner: str) -> None:
        """Unlock if we still own the lock. A failure here must not hide the mint's outcome:
        the lock expires by itself."""
        try:
            await self._compare_and_delete(keys=[lock], args=[owner])
        except _UNAVAILABLE as error:
            log.info("shared token lock not released", extra={"error": type(error).__name__})

    async def _read(
        self, key: str, installation_id: int, rejected: InstallationToken | None
    ) -> InstallationToken | None:
        """The usable token Redis holds; None when none is, after deleting ``rejected``."""
        entry = await self._redis.get(key)
        if entry is None:
            return None
        try:
            token = self._seal.open(bytes(entry), installation_id)
        except UnreadableToken:
            log.warning(
                "shared installation token unreadable, replacing it",
                extra={"installation_id": installation_id},
            )
            return None
        if rejected is not None and token.token == rejected.token:
            await self._compare_and_delete(keys=[key], args=[entry])
            return None
        if self._clock() >= token.expires_at - self._margin:
            return None  # due for renewal (its expiry in Redis is rounded to milliseconds)
        return token

    async def _store(self, key: str, token: InstallationToken) -> None:
        ttl_ms = int((token.expires_at - self._margin - self._clock()) * 1000)
        if ttl_ms <= 0:
            return  # already due for renewal: nothing worth sharing
        await self._redis.set(key, self._seal.seal(token), px=ttl_ms)
