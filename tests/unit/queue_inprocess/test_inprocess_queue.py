"""The in-process queue: job-id dedupe, retries with backoff, drain, graceful close."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from prwatch.backoff import Backoff
from prwatch.events.errors import RetryableJobError
from prwatch.queue.inprocess import InProcessQueue
from prwatch.queue.port import REFRESH_PULL_REQUEST, QueueUnavailable
from prwatch.store import DatabaseUnavailable, TransactionConflict


class Context:
    store: Any = None


def fast_queue(**options: Any) -> InProcessQueue:
    return InProcessQueue(backoff_seconds=0.001, max_backoff_seconds=0.01, **options)


async def test_a_job_id_is_not_queued_twice_while_queued_or_running() -> None:
    queue = fast_queue(workers=2)
    calls: list[str | int] = []
    release = asyncio.Event()

    async def job(context: Any, *args: str | int) -> None:
        calls.append(args[0])
        await release.wait()

    assert await queue.enqueue("job", "a", job_id="one")
    assert not await queue.enqueue("job", "b", job_id="one")  # queued
    await queue.start(Context(), {"job": job})
    await asyncio.sleep(0.01)
    assert not await queue.enqueue("job", "c", job_id="one")  # running
    release.set()
    await queue.drain()
    assert calls == ["a"]
    assert await queue.enqueue("job", "d", job_id="one")  # finished: may run again
    await queue.drain()
    assert calls == ["a", "d"]
    await queue.aclose()


async def test_transient_errors_retry_until_max_tries_and_others_do_not() -> None:
    queue = fast_queue(max_tries=3)
    tries: dict[str, int] = {"flaky": 0, "conflict": 0, "broken": 0}

    async def flaky(context: Any, *args: str | int) -> None:
        tries["flaky"] += 1
        if tries["flaky"] < 3:
            raise RetryableJobError("not yet")

    async def conflict(context: Any, *args: str | int) -> None:
        tries["conflict"] += 1
        raise TransactionConflict("deadlock detected")

    async def broken(context: Any, *args: str | int) -> None:
        tries["broken"] += 1
        raise ValueError("a bug")

    await queue.start(Context(), {"flaky": flaky, "conflict": conflict, "broken": broken})
    for name in tries:
        await queue.enqueue(name, job_id=name)
    await queue.drain()
    assert tries == {"flaky": 3, "conflict": 3, "broken": 1}
    assert await queue.depth() == 0
    await queue.aclose()


class FlakyStore:
    """A store whose database answers ``ping`` only once ``up``."""

    def __init__(self) -> None:
        self.up = asyncio.Event()
        self.pings = 0

    async def ping(self) -> None:
        self.pings += 1
        if not self.up.is_set():
            raise DatabaseUnavailable("connection refused")


async def test_a_database_outage_pauses_the_workers_without_using_up_tries(
    caplog: pytest.LogCaptureFixture,
) -> None:
    queue = InProcessQueue(
        max_tries=2,
        backoff_seconds=0.001,
        database_backoff=Backoff(first_seconds=0.001, cap_seconds=0.005),
    )
    context = Context()
    context.store = store = FlakyStore()
    ran: list[str] = []

    async def needs_database(context: Any, *args: str | int) -> None:
        if not store.up.is_set():
            raise DatabaseUnavailable("connection refused")
        ran.append(str(args[0]))

    await queue.start(context, {"job": needs_database})
    for name in ("a", "b", "c"):
        await queue.enqueue("job", name, job_id=name)
    for _ in range(1000):
        if store.pings >= 10:
            break
        await asyncio.sleep(0.001)
    gate = queue.database_gate
    assert gate is not None and not gate.is_open
    assert ran == [] and await queue.depth() > 0  # waiting, not dropped after two tries
    store.up.set()
    await asyncio.wait_for(queue.drain(), 5)
    assert sorted(ran) == ["a", "b", "c"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings == ["database unreachable: waiting", "database back"]
    await queue.aclose()


async def test_deferred_jobs_count_in_depth_and_drain_waits_for_them() -> None:
    queue = fast_queue()
    ran: list[str] = []

    async def job(context: Any, *args: str | int) -> None:
        ran.append(str(args[0]))

    await queue.start(Context(), {"job": job})
    await queue.enqueue("job", "later", job_id="later", defer_seconds=0.05)
    assert await queue.depth() == 1
    await queue.drain()
    assert ran == ["later"]


async def test_close_finishes_running_jobs_and_refuses_new_ones() -> None:
    queue = fast_queue(workers=1)
    finished: list[str] = []
    started = asyncio.Event()

    async def slow(context: Any, *args: str | int) -> None:
        started.set()
        await asyncio.sleep(0.05)
        finished.append(str(args[0]))

    await queue.start(Context(), {"slow": slow})
    await queue.enqueue("slow", "running", job_id="1")
    await queue.enqueue("slow", "waiting", job_id="2")
    await started.wait()
    await queue.aclose()
    assert finished == ["running"]  # the queued one is dropped (recovery's business)
    with pytest.raises(QueueUnavailable):
        await queue.enqueue("slow", "x", job_id="3")


async def test_unknown_jobs_and_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        InProcessQueue(workers=0)
    queue = fast_queue()
    await queue.enqueue("nobody", job_id="x")
    with pytest.raises(ValueError, match="nobody"):
        await queue.start(Context(), {"job": lambda *a: None})  # type: ignore[dict-item]
    with pytest.raises(RuntimeError):
        await queue.drain()
    started = fast_queue()

    async def job(context: Any, *args: str | int) -> None:
        return None

    await started.start(Context(), {"job": job})
    with pytest.raises(ValueError, match="unknown job"):
        await started.enqueue("nobody", job_id="y")
    await started.aclose()


async def test_a_failure_the_job_logged_is_not_logged_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    queue = fast_queue(max_tries=3)
    tries = {"reported": 0, "silent": 0}

    async def reported(context: Any, *args: str | int) -> None:
        tries["reported"] += 1
        if tries["reported"] == 1:
            raise RetryableJobError("logged by the job", reported=True)

    async def silent(context: Any, *args: str | int) -> None:
        tries["silent"] += 1
        if tries["silent"] == 1:
            raise RetryableJobError("not logged by the job")

    await queue.start(Context(), {"reported": reported, "silent": silent})
    with caplog.at_level("DEBUG", logger="prwatch.queue"):
        for name in tries:
            await queue.enqueue(name, job_id=name)
        await queue.drain()
    await queue.aclose()
    assert tries == {"reported": 2, "silent": 2}
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    retries = [r for r in caplog.records if r.getMessage() == "job failed, retrying"]
    assert warnings == ["job failed, retrying"]  # the silent job's, once
    assert sorted(r.levelname for r in retries) == ["DEBUG", "WARNING"]


async def test_asked_again_while_running_runs_once_more_after_whatever_the_asks() -> None:
    queue = fast_queue(workers=2)
    runs: list[str] = []
    release = asyncio.Event()

    async def refresh(context: Any, *args: str | int) -> None:
        runs.append(f"start {len(runs)}")
        if len(runs) == 1:
            await release.wait()

    await queue.start(Context(), {REFRESH_PULL_REQUEST: refresh})
    assert await queue.enqueue_or_rerun(REFRESH_PULL_REQUEST, 1, 2, job_id="refresh")
    await asyncio.sleep(0.01)  # running, and held
    for _ in range(10):  # a storm of asks while it runs: coalesced into one more run
        assert not await queue.enqueue_or_rerun(REFRESH_PULL_REQUEST, 1, 2, job_id="refresh")
    assert await queue.depth() == 0  # the run asked for waits for this one to end
    release.set()
    await queue.drain()
    assert runs == ["start 0", "start 1"]
    # Asked for while queued and not started: that run answers it, no other.
    assert await queue.enqueue_or_rerun(REFRESH_PULL_REQUEST, 1, 2, job_id="refresh")
    assert not await queue.enqueue_or_rerun(REFRESH_PULL_REQUEST, 1, 2, job_id="refresh")
    await queue.drain()
    assert runs == ["start 0", "start 1", "start 2"]
    with pytest.raises(ValueError, match="cannot be asked to run again"):
        await queue.enqueue_or_rerun("other", job_id="other")
    await queue.aclose()
