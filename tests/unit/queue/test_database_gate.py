"""The database gate: closed by the first outage, probed with backoff, opened once the
database answers; one log line per change of state."""

from __future__ import annotations

import asyncio
import logging

import pytest

from prwatch.backoff import Backoff
from prwatch.queue.database_gate import DatabaseGate
from prwatch.store import DatabaseUnavailable, StoreError, TransactionConflict

FAST = Backoff(first_seconds=0.001, cap_seconds=0.004)


class Database:
    """A probe that fails while ``down``."""

    def __init__(self) -> None:
        self.down = True
        self.probes = 0

    async def probe(self) -> None:
        self.probes += 1
        if self.down:
            raise DatabaseUnavailable("connection refused")


async def eventually(condition: object, what: str) -> None:
    for _ in range(2000):
        if callable(condition) and condition():
            return
        await asyncio.sleep(0.001)
    raise AssertionError(f"timed out waiting for {what}")


def messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "prwatch.queue.database_gate"]


async def test_an_outage_closes_the_gate_until_the_database_answers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="prwatch.queue.database_gate")
    database = Database()
    changes: list[bool] = []
    gate = DatabaseGate(database.probe, backoff=FAST, on_change=changes.append)
    assert gate.is_open
    assert gate.report(DatabaseUnavailable("down"))
    assert not gate.is_open and changes == [False]
    for _ in range(5):  # other jobs failing meanwhile change nothing
        assert gate.report(DatabaseUnavailable("down"))
    await eventually(lambda: database.probes >= 5, "several probes")
    assert not gate.is_open
    database.down = False
    await asyncio.wait_for(gate.wait_open(), 5)
    assert changes == [False, True]
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings == ["database unreachable: waiting", "database back"]
    assert gate.outages == 1
    await gate.aclose()


@pytest.mark.parametrize(
    "error",
    [StoreError("duplicate key"), TransactionConflict("deadlock"), ValueError("a bug")],
    ids=["refused statement", "lost race", "bug"],
)
async def test_other_failures_leave_the_gate_open(error: Exception) -> None:
    database = Database()
    gate = DatabaseGate(database.probe, backoff=FAST)
    assert not gate.report(error)
    assert gate.is_open and database.probes == 0
    await gate.aclose()


async def test_recoveries_run_before_the_gate_opens_and_are_kept_while_the_database_fails() -> None:
    database = Database()
    gate = DatabaseGate(database.probe, backoff=FAST)
    ran: list[str] = []
    attempts = {"first": 0}

    async def first() -> None:
        attempts["first"] += 1
        if attempts["first"] == 1:  # the database went away again in between
            raise DatabaseUnavailable("gone again")
        ran.append("first")

    async def second() -> None:
        assert not gate.is_open
        ran.append("second")

    async def broken() -> None:
        raise ValueError("a bug: logged and dropped")

    gate.report(DatabaseUnavailable("down"), on_recovery=first)
    gate.report(DatabaseUnavailable("down"), on_recovery=broken)
    gate.report(DatabaseUnavailable("down"), on_recovery=second)
    database.down = False
    await asyncio.wait_for(gate.wait_open(), 5)
    assert ran == ["first", "second"] and attempts["first"] == 2
    await gate.aclose()


async def test_a_closed_gate_stops_probing_and_ignores_reports() -> None:
    database = Database()
    gate = DatabaseGate(database.probe, backoff=FAST)
    gate.report(DatabaseUnavailable("down"))
    await eventually(lambda: database.probes >= 1, "a probe")
    await gate.aclose()
    probes = database.probes
    await asyncio.sleep(0.02)
    assert database.probes == probes
    assert not gate.report(DatabaseUnavailable("down"))


async def test_a_second_outage_is_logged_again(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="prwatch.queue.database_gate")
    database = Database()
    gate = DatabaseGate(database.probe, backoff=FAST)
    for _ in range(2):
        database.down = True
        gate.report(DatabaseUnavailable("down"))
        database.down = False
        await asyncio.wait_for(gate.wait_open(), 5)
    assert messages(caplog) == ["database unreachable: waiting", "database back"] * 2
    assert gate.outages == 2
    await gate.aclose()
