"""When the periodic jobs run: the schedule, and the embedded mode's asyncio scheduler.

With Redis, arq's cron runs the schedule in every worker (``prwatch.queue.worker``); embedded,
``run_periodic`` does it in the web process: the web app's lifespan starts it as a task next to
the in-process queue and cancels it on shutdown::

    task = asyncio.create_task(run_periodic(context, context.queue))

Every tick is queued under an id derived from the tick (``prwatch.queue.keys.tick_job_id``), so
any number of schedulers sharing a queue queue each tick once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from prwatch.config import Settings
from prwatch.queue.keys import (
    LEDGER_TICK_JOB_PREFIX,
    RECOVER_TICK_JOB_PREFIX,
    SWEEP_TICK_JOB_PREFIX,
    tick_job_id,
)
from prwatch.queue.port import (
    CHECK_DELIVERY_LEDGER,
    RECOVER_DELIVERIES,
    SWEEP,
    JobQueue,
    QueueUnavailable,
)

if TYPE_CHECKING:
    from prwatch.context import ProcessContext

log = logging.getLogger(__name__)

RECOVER_INTERVAL_SECONDS = 60.0
LEDGER_INTERVAL_SECONDS = 300.0


@dataclass(frozen=True, slots=True)
class Schedule:
    sweep_interval_seconds: float = 300.0
    recover_interval_seconds: float = RECOVER_INTERVAL_SECONDS
    ledger_interval_seconds: float | None = LEDGER_INTERVAL_SECONDS  # None: the ledger is off

    def __post_init__(self) -> None:
        for name in ("sweep_interval_seconds", "recover_interval_seconds"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        if self.ledger_interval_seconds is not None and self.ledger_interval_seconds <= 0:
            raise ValueError("ledger_interval_seconds must be positive (or None for off)")

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        ledger_interval_seconds: float | None = LEDGER_INTERVAL_SECONDS,
        recover_interval_seconds: float = RECOVER_INTERVAL_SECONDS,
    ) -> Schedule:
        return cls(
            sweep_interval_seconds=settings.sweep_interval_seconds,
            recover_interval_seconds=recover_interval_seconds,
            ledger_interval_seconds=ledger_interval_seconds,
        )

    def periodic_jobs(self) -> list[tuple[str, str, float]]:
        """(job name, tick id prefix, interval) of every periodic job."""
        jobs = [
            (SWEEP, SWEEP_TICK_JOB_PREFIX, self.sweep_interval_seconds),
            (RECOVER_DELIVERIES, RECOVER_TICK_JOB_PREFIX, self.recover_interval_seconds),
        ]
        if self.ledger_interval_seconds is not None:
            jobs.append(
                (CHECK_DELIVERY_LEDGER, LEDGER_TICK_JOB_PREFIX, self.ledger_interval_seconds)
            )
        return jobs


async def run_periodic(
    context: ProcessContext,
    queue: JobQueue | None = None,
    *,
    schedule: Schedule | None = None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> None:
    """Queue each periodic job at every tick of its interval, and recovery once at start.
    Runs until cancelled; a queue that cannot take a job is logged and tried at the next tick."""
    queue = queue if queue is not None else context.queue
    schedule = schedule or Schedule.from_settings(context.settings)
    jobs = schedule.periodic_jobs()
    await _enqueue_tick(queue, RECOVER_DELIVERIES, RECOVER_TICK_JOB_PREFIX, None, clock())
    due = {name: _next_tick(interval, clock()) for name, _, interval in jobs}
    while True:
        now = clock()
        for name, prefix, interval in jobs:
            if due[name] <= now:
                await _enqueue_tick(queue, name, prefix, interval, due[name])
                due[name] = _next_tick(interval, now)
        await sleep(max(0.0, min(due.values()) - clock()))


def _next_tick(interval: float, now: float) -> float:
    """The next multiple of ``interval`` after ``now``: schedulers in several processes tick
    at the same instants."""
    return (now // interval + 1) * interval


async def _enqueue_tick(
    queue: JobQueue, job: str, prefix: str, interval: float | None, at: float
) -> None:
    job_id = f"{prefix}start:{int(at)}" if interval is None else tick_job_id(prefix, interval, at)
    try:
        await queue.enqueue(job, job_id=job_id)
    except QueueUnavailable as error:
        log.warning("periodic job not queued", extra={"job": job, "error": str(error)})
    except Exception as error:  # the scheduler outlives anything a queue raises: next tick
        log.warning(
            "periodic job not queued", extra={"job": job, "error": f"{type(error).__name__}"}
        )
