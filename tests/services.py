"""Access to the real PostgreSQL and Redis that integration tests use.

Locally a missing service skips its tests; with PRWATCH_REQUIRE_SERVICES=1 (as in CI) a
missing service fails them instead, so that CI can never pass by skipping.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import pytest
import redis.asyncio as aioredis

POSTGRES_ADMIN_DSN = os.environ.get(
    "PRWATCH_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("PRWATCH_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def services_required() -> bool:
    return os.environ.get("PRWATCH_REQUIRE_SERVICES", "") not in ("", "0", "false")


def unavailable(service: str, error: BaseException) -> None:
    message = f"{service} is not reachable: {error!r}"
    if services_required():
        pytest.fail(f"{message} (PRWATCH_REQUIRE_SERVICES is set)", pytrace=False)
    pytest.skip(message)


async def _admin_connection() -> asyncpg.Connection:
    return await asyncio.wait_for(asyncpg.connect(POSTGRES_ADMIN_DSN), timeout=5)


@asynccontextmanager
async def fresh_postgres_database() -> AsyncIterator[str]:
    """Create an empty database, yield its SQLAlchemy URL, drop it afterwards."""
    try:
        admin = await _admin_connection()
    except (OSError, asyncpg.PostgresError, TimeoutError) as error:
        unavailable("PostgreSQL", error)
        raise  # unreachable: unavailable() always raises
    name = f"prwatch_test_{uuid.uuid4().hex[:12]}"
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    dsn = POSTGRES_ADMIN_DSN.rsplit("/", 1)[0] + "/" + name
    try:
        yield dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
    finally:
        admin = await _admin_connection()
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@asynccontextmanager
async def fresh_redis(url: str = REDIS_URL) -> AsyncIterator[str]:
    """Yield the URL of an emptied Redis database (number 15 unless configured)."""
    client = aioredis.from_url(url)
    try:
        await asyncio.wait_for(client.flushdb(), timeout=5)
    except (OSError, aioredis.RedisError, TimeoutError) as error:
        await client.aclose()
        unavailable("Redis", error)
        raise
    try:
        yield url
    finally:
        await client.flushdb()
        await client.aclose()


def run_in_own_loop(coroutine: Coroutine[Any, Any, None]) -> None:
    """Run a coroutine in a loop of its own (a hypothesis example of an async test). Not
    asyncio.run: it unsets the thread's current loop, and pytest-asyncio's next setup would
    then create one it never closes."""
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(coroutine)
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
