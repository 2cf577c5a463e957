"""Asking for a sweep outside the schedule, and waiting for it (prwatch.sync.distributed)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from prwatch.queue.port import SWEEP
from prwatch.store import Store, SweepStatus, create_engine, upgrade_database
from prwatch.store.records import SweepResult
from prwatch.sync.distributed import (
    SweepWaitTimeout,
    latest_sweep_id,
    request_sweep,
    wait_for_sweep,
)


class RecordingQueue:
    def __init__(self) -> None:
        self.jobs: dict[str, tuple[str, tuple[str | int, ...]]] = {}

    async def enqueue(
        self, job: str, *args: str | int, job_id: str, defer_seconds: float = 0.0
    ) -> bool:
        if job_id in self.jobs:
            return False
        self.jobs[job_id] = (job, args)
        return True

    async def depth(self) -> int:
        return len(self.jobs)

    async def aclose(self) -> None:
        return None


async def test_request_sweep_queues_the_sweep_job_once_per_instant() -> None:
    queue = RecordingQueue()
    at = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    job_id = await request_sweep(queue, now=lambda: at)
    assert job_id == f"sweep-now:{int(at.timestamp() * 1000)}"
    assert queue.jobs[job_id] == (SWEEP, ())
    assert await request_sweep(queue, now=lambda: at) is None  # already queued


async def test_wait_for_sweep_returns_the_next_finished_sweep(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'prwatch.db'}"
    await upgrade_database(url)
    engine = create_engine(url)
    store = Store(engine)
    try:
        assert await latest_sweep_id(store) == 0
        async with store.transaction() as tx:
            old = await tx.start_sweep()
            await tx.finish_sweep(old, SweepResult(status=SweepStatus.OK))
        assert await latest_sweep_id(store) == old
        async with store.transaction() as tx:
            running = await tx.start_sweep()
        polls: list[float] = []
        now = [0.0]

        async def sleep(seconds: float) -> None:
            polls.append(seconds)
            now[0] += seconds
            if len(polls) == 3:  # the last repository is recorded while we wait
                async with store.transaction() as tx:
                    await tx.finish_sweep(running, SweepResult(status=SweepStatus.PARTIAL))

        finished = await wait_for_sweep(
            store, after_id=old, timeout_seconds=10, sleep=sleep, clock=lambda: now[0]
        )
        assert finished.id == running and finished.result.status is SweepStatus.PARTIAL
        assert len(polls) == 3

        with pytest.raises(SweepWaitTimeout, match="no sweep started"):
            await wait_for_sweep(
                store, after_id=running, timeout_seconds=1, sleep=sleep, clock=lambda: now[0]
            )
    finally:
        await engine.dispose()
