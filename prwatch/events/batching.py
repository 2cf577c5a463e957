"""Delivery jobs of one process handled together: a lane per store gathers the GUIDs of the
delivery jobs running at the same time and hands them, as one batch, to
``process_deliveries``; each job waits for its own delivery's outcome.

While a batch is applied, the jobs that start meanwhile gather for the next one, so the
batches grow with the load on their own: one job alone is one batch of one, without waiting.
In the embedded mode (SQLite) one lane also means one writer of deliveries at a time.
"""

from __future__ import annotations

import asyncio
import weakref
from datetime import timedelta

from prwatch.events.errors import RetryableJobError
from prwatch.events.outcome import EventContext
from prwatch.events.processing import process_deliveries
from prwatch.store import Store

# Deliveries per batch at most.
MAX_BATCH = 100

_LANES: weakref.WeakKeyDictionary[Store, dict[timedelta, DeliveryLane]] = (
    weakref.WeakKeyDictionary()
)


def delivery_lane(store: Store, claim_timeout: timedelta) -> DeliveryLane:
    """The lane of the deliveries of ``store`` (one per claim timeout)."""
    lanes = _LANES.setdefault(store, {})
    lane = lanes.get(claim_timeout)
    if lane is None:
        lane = lanes[claim_timeout] = DeliveryLane(claim_timeout)
    return lane


class DeliveryLane:
    def __init__(self, claim_timeout: timedelta, *, max_batch: int = MAX_BATCH) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, got {max_batch}")
        self._claim_timeout = claim_timeout
        self._max_batch = max_batch
        self._waiting: list[tuple[str, asyncio.Future[None]]] = []
        self._runner: asyncio.Task[None] | None = None
        self.batches = 0  # how many batches the lane ran

    async def process(self, context: EventContext, *guids: str) -> None:
        """Handle the deliveries ``guids`` in the next batches; raises the RetryableJobError of
        one that must be retried (with the longest ``retry_after`` of them) once all ended."""
        loop = asyncio.get_running_loop()
        waiting = [(guid, loop.create_future()) for guid in dict.fromkeys(guids)]
        self._waiting += waiting
        if self._runner is None or self._runner.done():
            self._runner = asyncio.create_task(self._run(context), name="prwatch-delivery-lane")
        outcomes = await asyncio.gather(*(done for _, done in waiting), return_exceptions=True)
        failures = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
        if not failures:
            return
        retryable = [f for f in failures if isinstance(f, RetryableJobError)]
        if len(retryable) < len(failures):
            raise next(f for f in failures if not isinstance(f, RetryableJobError))
        raise max(retryable, key=lambda failure: failure.retry_after or 0.0)

    async def _run(self, context: EventContext) -> None:
        while self._waiting:
            batch = self._waiting[: self._max_batch]
            del self._waiting[: self._max_batch]
            self.batches += 1
            try:
                failures = await process_deliveries(
                    context, [guid for guid, _ in batch], claim_timeout=self._claim_timeout
                )
            except BaseException as error:
                for _, done in batch:
                    if not done.done():
                        done.set_exception(
                            error if isinstance(error, Exception) else asyncio.CancelledError()
                        )
                if not isinstance(error, Exception):
                    raise
                continue
            for guid, done in batch:
                if done.done():  # its job was cancelled meanwhile
                    continue
                failure = failures.get(guid)
                if failure is None:
                    done.set_result(None)
                else:
                    done.set_exception(failure)
