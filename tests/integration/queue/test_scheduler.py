from __future__ import annotations

import asyncio
from typing import Any

import pytest

from prwatch.queue.port import CHECK_DELIVERY_LEDGER, RECOVER_DELIVERIES, SWEEP, QueueUnavailable
from prwatch.queue.scheduler import Schedule, run_periodic
from prwatch.queue.worker import WorkerOptions, cron_fields


class RecordingQueue:
    def __init__(self, fail_first: int = 0) -> None:
        self.jobs: list[tuple[str, str]] = []
        self.ids: set[str] = set()
        self.fail_first = fail_first

    async def enqueue(
        self, job: str, *args: str | int, job_id: str, defer_seconds: float = 0.0
    ) -> bool:
        if self.fail_first:
            self.fail_first -= 1
            raise QueueUnavailable("down")
        if job_id in self.ids:
            return False
        self.ids.add(job_id)
        self.jobs.append((job, job_id))
        return True

    async def depth(self) -> int:
        return 0

    async def aclose(self) -> None:
        return None


class FakeTime:
    def __init__(self, now: float, stop_at: float) -> None:
        self.now, self.stop_at = now, stop_at

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        if self.now > self.stop_at:
            raise asyncio.CancelledError


async def run_for(queue: Any, schedule: Schedule, start: float, seconds: float) -> None:
    time = FakeTime(start, start + seconds)
    with pytest.raises(asyncio.CancelledError):
        await run_periodic(
            None,  # type: ignore[arg-type]
            queue,
            schedule=schedule,
            clock=time.clock,
            sleep=time.sleep,
        )


async def test_each_job_is_queued_once_per_tick_and_recovery_at_start() -> None:
    queue = RecordingQueue()
    schedule = Schedule(
        sweep_interval_seconds=300, recover_interval_seconds=60, ledger_interval_seconds=120
    )
    await run_for(queue, schedule, start=1_000_010.0, seconds=600)
    names = [job for job, _ in queue.jobs]
    assert names[0] == RECOVER_DELIVERIES
    assert names.count(SWEEP) == 2  # ticks at …200 and …500 within 600 s from …010
    assert names.count(RECOVER_DELIVERIES) == 1 + 10
    assert names.count(CHECK_DELIVERY_LEDGER) == 5


async def test_two_schedulers_on_one_queue_queue_each_tick_once() -> None:
    queue = RecordingQueue()
    schedule = Schedule(sweep_interval_seconds=300, ledger_interval_seconds=None)
    await run_for(queue, schedule, start=1_000_010.0, seconds=600)
    await run_for(queue, schedule, start=1_000_012.5, seconds=600)
    names = [job for job, _ in queue.jobs]
    assert names.count(SWEEP) == 2 and CHECK_DELIVERY_LEDGER not in names


async def test_an_unavailable_queue_is_tried_again_next_tick() -> None:
    queue = RecordingQueue(fail_first=2)
    await run_for(queue, Schedule(ledger_interval_seconds=None), start=1_000_000.5, seconds=120)
    assert [job for job, _ in queue.jobs] == [RECOVER_DELIVERIES]


@pytest.mark.parametrize(
    ("interval", "fields"),
    [
        (1, {"second": set(range(60))}),
        (15, {"second": {0, 15, 30, 45}}),
        (300, {"minute": set(range(0, 60, 5)), "second": 0}),
        (7200, {"hour": set(range(0, 24, 2)), "minute": 0, "second": 0}),
    ],
)
def test_cron_fields(interval: int, fields: dict[str, Any]) -> None:
    assert cron_fields(interval) == fields


@pytest.mark.parametrize("interval", [0, 7, 90, 1.5, 5000])
def test_cron_fields_refuse_what_cron_cannot_express(interval: float) -> None:
    with pytest.raises(ValueError, match="interval"):
        cron_fields(interval)


def test_backoff_doubles_up_to_its_limit_and_respects_a_requested_wait() -> None:
    options = WorkerOptions(backoff_seconds=1, max_backoff_seconds=10)
    assert [options.backoff(n) for n in (1, 2, 3, 4, 5)] == [1, 2, 4, 8, 10]
    assert options.backoff(1, requested=6) == 6
    assert options.backoff(1, requested=600) == 10
