"""A day of stored history (deliveries and sweeps at known times) for the charts."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from prwatch.store import DeliveryStatus, Store, SweepResult, SweepStatus
from prwatch.store.deliveries import NewDelivery


@dataclass
class MovableClock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


@dataclass(frozen=True)
class History:
    deliveries: int
    sweeps: int
    caught: int
    slowest_seconds: float
    lowest_budget: int


async def seed_history(engine: AsyncEngine, now: datetime) -> History:
    """Deliveries every 5 minutes over the last 24 h (busier in the afternoon), each applied
    0.05-1.6 s after it came, and a sweep every 30 minutes."""
    clock = MovableClock(now)
    store = Store(engine, clock=clock)
    start = now - timedelta(hours=23, minutes=55)
    deliveries = caught = 0
    slowest = 0.0
    lowest = 5_000
    sweeps = 0
    for step in range(0, 24 * 60 - 5, 5):
        at = start + timedelta(minutes=step)
        count = 2 + int(8 * (1 + math.sin(step / 180)))
        latency = 0.05 + 0.75 * (1 + math.sin(step / 97))
        batch = [
            NewDelivery(f"h-{step}-{i}", "pull_request", "edited", 1, 1, b"{}")
            for i in range(count)
        ]
        async with store.transaction() as tx:
            clock.now = at
            await tx.record_deliveries(batch)
            clock.now = at + timedelta(seconds=latency)
            for delivery in batch:
                await tx.mark_delivery(delivery.guid, DeliveryStatus.DONE)
        deliveries += count
        slowest = max(slowest, latency)
        if step % 30 == 0:
            found = (step // 30) % 7
            budget = 5_000 - 40 * (step // 30 % 24)
            async with store.transaction() as tx:
                clock.now = at
                sweep = await tx.start_sweep()
                clock.now = at + timedelta(seconds=4 + (step % 90) / 10)
                await tx.finish_sweep(
                    sweep,
                    SweepResult(
                        status=SweepStatus.OK,
                        changes_by_kind={"pr_labels_changed": found} if found else {},
                        rate_limit_remaining=budget,
                    ),
                )
            sweeps += 1
            caught += found
            lowest = min(lowest, budget)
    return History(deliveries, sweeps, caught, slowest, lowest)
