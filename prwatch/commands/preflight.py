"""Checks a long-running command makes before it starts.

``check_services`` fails the command with one line (``prwatch.commands.failures``) when the
database or Redis cannot be used, instead of a server that starts and then logs a traceback
per request. ``wait_for_services`` is the worker's: a service that does not answer *yet*
(refused, reset, timed out, a host name that does not resolve yet — in docker compose a worker
may start before PostgreSQL and Redis, and a container's name resolves only while it runs) is
waited for with capped exponential backoff and jitter, logging once when the wait starts and
once when the service answers; a misconfiguration (a malformed URL, an unknown database,
refused credentials, a Redis that refuses the password or the database number) fails at once,
as ``check_services`` does, since no wait cures it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import suppress

from prwatch.backoff import Backoff
from prwatch.store import current_revision
from prwatch.store.outages import is_unreachable

CONNECT_TIMEOUT_SECONDS = 10.0

log = logging.getLogger(__name__)


async def check_database(database_url: str) -> None:
    """Raise what connecting raised (unreachable, no such database, refused credentials)."""
    if database_url.startswith("sqlite"):  # a file: nothing to wait for (and a cancelled
        await current_revision(database_url)  # aiosqlite thread outlives its loop)
        return
    await asyncio.wait_for(current_revision(database_url), CONNECT_TIMEOUT_SECONDS)


async def check_redis(redis_url: str) -> None:
    from redis.asyncio import Redis

    client = Redis.from_url(redis_url, socket_connect_timeout=CONNECT_TIMEOUT_SECONDS)
    try:
        await asyncio.wait_for(client.ping(), CONNECT_TIMEOUT_SECONDS)
    finally:
        await client.aclose()


async def check_services(database_url: str, redis_url: str | None) -> None:
    await check_database(database_url)
    if redis_url is not None:
        await check_redis(redis_url)


def redis_unreachable(error: BaseException) -> bool:
    """Whether Redis did not answer (rather than refused what it was asked: a password, a
    database number). redis-py's own ``AuthenticationError`` is a ``ConnectionError``."""
    from redis import exceptions

    if isinstance(error, exceptions.AuthenticationError | exceptions.AuthorizationError):
        return False
    if isinstance(error, exceptions.ResponseError):  # an answer: a setting is wrong
        return False
    return isinstance(
        error, exceptions.ConnectionError | exceptions.TimeoutError | OSError | TimeoutError
    )


def database_unreachable(database_url: str, error: BaseException) -> bool:
    """SQLite is a file: whatever fails opening it is a setting to fix, never a wait."""
    return not database_url.startswith("sqlite") and is_unreachable(error)


async def wait_for_services(
    database_url: str,
    redis_url: str | None,
    *,
    stop: asyncio.Event,
    backoff: Backoff | None = None,
) -> bool:
    """Wait until the database and Redis answer: True then, False when ``stop`` came first.
    Raises what a misconfigured service raised."""
    backoff = backoff or Backoff()
    if not await wait_for(
        "database",
        lambda: check_database(database_url),
        lambda error: database_unreachable(database_url, error),
        stop=stop,
        backoff=backoff,
    ):
        return False
    if redis_url is None:
        return True
    return await wait_for(
        "Redis", lambda: check_redis(redis_url), redis_unreachable, stop=stop, backoff=backoff
    )


async def wait_for(
    service: str,
    check: Callable[[], Awaitable[None]],
    unreachable: Callable[[BaseException], bool],
    *,
    stop: asyncio.Event,
    backoff: Backoff,
) -> bool:
    """Run ``check`` until it passes (True) or ``stop`` is set (False); an error ``unreachable``
    does not call a wait is raised."""
    attempt = 0
    waiting_since: float | None = None
    while not stop.is_set():
        try:
            await check()
        except Exception as error:
            if not unreachable(error):
                raise
            if waiting_since is None:
                waiting_since = time.monotonic()
                log.warning(
                    f"{service} unreachable: waiting",
                    extra={"service": service, "error": _describe(error)},
                )
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), backoff.delay(attempt))
            attempt += 1
            continue
        if waiting_since is not None:
            log.warning(
                f"{service} answers",
                extra={
                    "service": service,
                    "waited_seconds": round(time.monotonic() - waiting_since, 1),
                },
            )
        return True
    return False


def _describe(error: BaseException) -> str:
    first_line = str(error).splitlines()[0] if str(error) else ""
    return f"{type(error).__name__}: {first_line}"[:300]
