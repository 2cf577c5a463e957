"""A supervised worker outlives Redis going away and coming back, and stops only when told."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from arq import create_pool
from arq.connections import RedisSettings
from arq.worker import Worker, func

from prwatch.queue import heartbeat
from prwatch.queue.supervisor import Backoff, SupervisorOptions, WorkerSupervisor
from tests.private_services import private_redis

# redis-py leaves connections to a killed server for the garbage collector to warn about,
# whichever test runs when it collects them.
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


@pytest.fixture(autouse=True)
def collect_dead_connections() -> Iterator[None]:
    """Collect them while this module's filter holds, not at the end of the session."""
    yield
    gc.collect()


FAST = SupervisorOptions(
    backoff=Backoff(first_seconds=0.05, cap_seconds=0.3),
    grace_seconds=5.0,
    heartbeat_interval_seconds=0.1,
)


async def eventually(condition: Any, what: str, within: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def eventually_async(read: Any, wanted: object, what: str, within: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while await read() != wanted:
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def test_backoff_doubles_up_to_its_cap_with_jitter() -> None:
    backoff = Backoff(first_seconds=1.0, cap_seconds=8.0)
    assert [backoff.delay(n, draw=lambda: 1.0) for n in range(6)] == [1, 2, 4, 8, 8, 8]
    assert backoff.delay(2, draw=lambda: 0.0) == 2.0  # half of the ceiling at least
    assert backoff.delay(10_000, draw=lambda: 1.0) == 8.0


async def test_a_worker_outlives_a_redis_outage_and_stops_only_when_told(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="prwatch.queue.supervisor")
    done: list[int] = []

    async def record(ctx: dict[str, Any], value: int) -> None:
        done.append(value)

    with private_redis() as redis_server:
        settings = RedisSettings(port=redis_server.port, conn_retries=0, conn_timeout=1)

        def make_worker() -> Worker:
            return Worker(
                functions=[func(record, name="record")],
                redis_settings=settings,
                handle_signals=False,
                poll_delay=0.02,
            )

        supervisor = WorkerSupervisor(make_worker, FAST)
        stop = asyncio.Event()
        running = asyncio.create_task(supervisor.run(stop))
        pool = await create_pool(settings)
        try:
            await pool.enqueue_job("record", 1)
            await eventually(lambda: done == [1], "the first job")
            await eventually_async(lambda: heartbeat.live_workers(pool), 1, "a heartbeat")

            redis_server.kill()
            await eventually(lambda: supervisor.restarts >= 3, "a few reconnection attempts")
            assert not running.done()
            redis_server.start()  # empty: this Redis keeps nothing on disk

            await pool.enqueue_job("record", 2)
            await eventually(lambda: done == [1, 2], "a job after the outage")
            assert not running.done()
            messages = [r.getMessage() for r in caplog.records]
            assert messages.count("worker lost its connection: reconnecting with backoff") == 1
            await eventually(
                lambda: [r.getMessage() for r in caplog.records].count("worker reconnected") == 1,
                "the reconnection logged once",
            )

            stop.set()
            await asyncio.wait_for(running, 15)
            assert await heartbeat.live_workers(pool) == 0  # it said goodbye
        finally:
            stop.set()
            await asyncio.gather(running, return_exceptions=True)
            await pool.aclose()


async def test_a_stop_lets_the_running_job_finish() -> None:
    started, finished = asyncio.Event(), asyncio.Event()
    release = asyncio.Event()

    async def slow(ctx: dict[str, Any]) -> None:
        started.set()
        await release.wait()
        finished.set()

    with private_redis() as redis_server:
        settings = RedisSettings(port=redis_server.port, conn_retries=0)
        supervisor = WorkerSupervisor(
            lambda: Worker(
                functions=[func(slow, name="slow")],
                redis_settings=settings,
                handle_signals=False,
                poll_delay=0.02,
            ),
            FAST,
        )
        stop = asyncio.Event()
        running = asyncio.create_task(supervisor.run(stop))
        pool = await create_pool(settings)
        try:
            await pool.enqueue_job("slow")
            await asyncio.wait_for(started.wait(), 15)
            stop.set()
            await asyncio.sleep(0)  # the stop is seen while the job still runs
            assert not running.done()
            release.set()
            await asyncio.wait_for(running, 15)
            assert finished.is_set()
        finally:
            stop.set()
            release.set()
            await asyncio.gather(running, return_exceptions=True)
            await pool.aclose()
