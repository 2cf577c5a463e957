"""Checks a long-running command makes before it starts, so that a database or Redis it can
never reach fails the command with one line (``prwatch.commands.failures``) instead of a
server that starts and then logs a traceback per request."""

from __future__ import annotations

import asyncio

from prwatch.store import current_revision

CONNECT_TIMEOUT_SECONDS = 10.0


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
