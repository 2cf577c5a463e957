"""``prwatch worker`` at start: a service that does not answer yet is waited for (one line when
the wait starts, one when it answers); a misconfigured one fails at once."""

from __future__ import annotations

import asyncio
import logging

import pytest
from redis import exceptions as redis_errors

from prwatch.backoff import Backoff
from prwatch.commands.preflight import database_unreachable, redis_unreachable, wait_for
from prwatch.store import DatabaseUnavailable

FAST = Backoff(first_seconds=0.001, cap_seconds=0.004)
POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/prwatch"


class Service:
    def __init__(self, failures: list[Exception]) -> None:
        self.failures = failures
        self.checks = 0

    async def check(self) -> None:
        self.checks += 1
        if self.failures:
            raise self.failures.pop(0)


def unreachable(error: BaseException) -> bool:
    return database_unreachable(POSTGRES, error)


async def test_a_service_that_answers_later_is_waited_for_and_logged_twice(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="prwatch.commands.preflight")
    refused = ConnectionRefusedError(111, "Connect call failed")
    service = Service([refused, refused, TimeoutError(), refused])
    stop = asyncio.Event()
    assert await wait_for("database", service.check, unreachable, stop=stop, backoff=FAST)
    assert service.checks == 5
    assert [r.getMessage() for r in caplog.records] == [
        "database unreachable: waiting",
        "database answers",
    ]


async def test_a_service_answering_at_once_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="prwatch.commands.preflight")
    stop = asyncio.Event()
    assert await wait_for("Redis", Service([]).check, redis_unreachable, stop=stop, backoff=FAST)
    assert caplog.records == []


async def test_a_misconfiguration_is_raised_at_once() -> None:
    import asyncpg.exceptions as pg

    unknown = DatabaseUnavailable("could not read the schema revision")
    unknown.__cause__ = pg.InvalidCatalogNameError('database "prwatch" does not exist')
    service = Service([unknown])
    with pytest.raises(DatabaseUnavailable):
        await wait_for("database", service.check, unreachable, stop=asyncio.Event(), backoff=FAST)
    assert service.checks == 1


async def test_a_stop_ends_the_wait() -> None:
    service = Service([ConnectionRefusedError(111, "refused")] * 10_000)
    stop = asyncio.Event()
    waiting = asyncio.create_task(
        wait_for("database", service.check, unreachable, stop=stop, backoff=FAST)
    )
    await asyncio.sleep(0.02)
    stop.set()
    assert await asyncio.wait_for(waiting, 5) is False


def test_what_counts_as_redis_not_answering() -> None:
    assert redis_unreachable(redis_errors.ConnectionError("Error 111 connecting"))
    assert redis_unreachable(redis_errors.BusyLoadingError("loading the dataset"))
    assert redis_unreachable(redis_errors.TimeoutError("timed out"))
    assert redis_unreachable(TimeoutError())
    assert not redis_unreachable(redis_errors.AuthenticationError("invalid password"))
    assert not redis_unreachable(redis_errors.ResponseError("DB index is out of range"))
    assert not redis_unreachable(ValueError("not a Redis URL"))


def test_sqlite_is_a_file_never_waited_for() -> None:
    refused = ConnectionRefusedError(111, "refused")
    assert database_unreachable(POSTGRES, refused)
    assert not database_unreachable("sqlite+aiosqlite:///missing/prwatch.db", refused)
