"""Group commit of received deliveries: many requests' rows, one transaction.

Every request hands its delivery to ``DeliveryIntake.record`` and waits for the commit that
holds it: a request is acknowledged only once its own row is durable. While one transaction
commits, the deliveries that arrive meanwhile gather and go together in the next, so under
load a commit (and, on PostgreSQL, its WAL flush) is shared by many deliveries, and one idle
request still costs one short transaction. One writer at a time also means the receiver never
waits on itself for SQLite's write lock.

Once committed, the handled deliveries new in a batch are queued as ONE delivery job (its id
names the batch's first GUID) before their requests are answered: a job per delivery cost the
queue (Redis round trips, arq's bookkeeping) more than applying the delivery. With a
``queue_window`` (Redis), the requests are answered at once, and the deliveries of the
batches committed within that window go as one job: at 500 deliveries/s, batches of one or
two cost the workers twice the CPU per delivery of large ones. A queue that cannot take the
job loses nothing, nor does a process that stops before it queued: the deliveries are
stored, and recovery queues them.

When a batch's transaction fails, its deliveries are tried again one transaction each, so a
delivery the database refuses fails alone and the others are stored — or, when the database
is down, each request learns that its own delivery was not stored. With a ``commit_window``
(PostgreSQL), each commit waits that long first, unless a full batch is waiting, for more
deliveries to join it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from prwatch.queue.keys import delivery_job_id
from prwatch.queue.port import PROCESS_DELIVERY, JobQueue, QueueUnavailable
from prwatch.store import Store
from prwatch.store.base import writer_turn
from prwatch.store.deliveries import NewDelivery, check_new_delivery
from prwatch.store.outages import is_database_outage

log = logging.getLogger(__name__)

# Deliveries per transaction at most (GitHub's payloads are ~25 KB each).
MAX_BATCH = 200
# Deliveries per queued job at most.
MAX_JOB_DELIVERIES = 100
# How long stored deliveries gather before they go to Redis as one job: short beside the
# second a delivery may take to be applied, long beside one batch's commit.
REDIS_QUEUE_WINDOW_SECONDS = 0.01
# How long each commit on PostgreSQL waits for more deliveries to share it, unless a full
# batch is waiting (like PostgreSQL's own commit_delay): at 500 deliveries/s most commits held
# one or two deliveries, and 5 ms made the web process's CPU per delivery 1.10 -> 0.8 ms.
POSTGRES_COMMIT_WINDOW_SECONDS = 0.005


@dataclass(slots=True)
class _Waiting:
    delivery: NewDelivery
    recorded: asyncio.Future[bool]


class DeliveryIntake:
    """Records deliveries with group commit. ``record`` raises what the store raised for that
    delivery (a ``StoreError`` or ``OSError``): nothing was stored then."""

    def __init__(
        self,
        store: Store,
        queue: JobQueue | None = None,
        *,
        max_batch: int = MAX_BATCH,
        queue_window: float = 0.0,
        commit_window: float = 0.0,
    ) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, got {max_batch}")
        if queue_window < 0 or commit_window < 0:
            raise ValueError("queue_window and commit_window must not be negative")
        self._queue_window = queue_window
        self._commit_window = commit_window
        self._store = store
        self._queue = queue
        self._max_batch = max_batch
        self._waiting: list[_Waiting] = []
        self._writer: asyncio.Task[None] | None = None
        self._to_queue: list[str] = []
        self._queuer: asyncio.Task[None] | None = None
        self.transactions = 0  # committed or not: how many the intake opened
        self._database_lost = False  # logged once when lost, once when back

    async def record(self, delivery: NewDelivery) -> bool:
        """Store ``delivery`` as pending (or ignored when not handled); True once committed,
        False when its GUID was recorded before."""
        check_new_delivery(delivery)  # a bad one fails alone, before it joins a batch
        recorded: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting.append(_Waiting(delivery, recorded))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write(), name="prwatch-delivery-intake")
        return await recorded

    async def aclose(self) -> None:
        """Wait for the deliveries already handed in to be committed (or refused), and queued."""
        if self._writer is not None:
            await asyncio.gather(self._writer, return_exceptions=True)
        if self._queuer is not None:
            await asyncio.gather(self._queuer, return_exceptions=True)

    async def _write(self) -> None:
        while self._waiting:
            if self._commit_window and len(self._waiting) < self._max_batch:
                await asyncio.sleep(self._commit_window)
            batch = self._waiting[: self._max_batch]
            del self._waiting[: self._max_batch]
            try:
                await self._commit(batch)
            except BaseException as error:  # cancelled: none of the batch is known stored
                for waiting in batch:
                    if not waiting.recorded.done():
                        waiting.recorded.set_exception(
                            error if isinstance(error, Exception) else asyncio.CancelledError()
                        )
                raise

    async def _commit(self, batch: Sequence[_Waiting]) -> None:
        try:
            recorded = await self._transaction([w.delivery for w in batch])
        except Exception as error:
            if len(batch) == 1:
                _settle(batch[0], error=error)
                return
            log.log(
                logging.DEBUG if is_database_outage(error) else logging.WARNING,
                "storing a batch of deliveries failed: storing them one by one",
                extra={"deliveries": len(batch), "error": str(error)},
            )
            for waiting in batch:
                try:
                    recorded = await self._transaction([waiting.delivery])
                except Exception as single:
                    _settle(waiting, error=single)
                else:
                    stored = waiting.delivery.guid in recorded
                    if stored and waiting.delivery.handled:
                        await self._queue_up([waiting.delivery.guid])
                    _settle(waiting, new=stored)
            return
        # A GUID twice in one batch is new for its first request only.
        new: dict[str, bool] = {}
        for waiting in batch:
            guid = waiting.delivery.guid
            new.setdefault(guid, guid in recorded)
        await self._queue_up(
            [w.delivery.guid for w in batch if new[w.delivery.guid] and w.delivery.handled]
        )
        first: set[str] = set()
        for waiting in batch:
            guid = waiting.delivery.guid
            _settle(waiting, new=new[guid] and guid not in first)
            first.add(guid)

    async def _queue_up(self, guids: list[str]) -> None:
        if self._queue is None or not guids:
            return
        if not self._queue_window:
            await self._enqueue(guids)
            return
        self._to_queue += guids
        if self._queuer is None or self._queuer.done():
            self._queuer = asyncio.create_task(self._queue_gathered(), name="prwatch-queuer")

    async def _queue_gathered(self) -> None:
        while self._to_queue:
            await asyncio.sleep(self._queue_window)
            guids, self._to_queue = self._to_queue, []
            await self._enqueue(guids)

    async def _enqueue(self, guids: list[str]) -> None:
        """Queue the jobs that apply ``guids``; recovery queues them when this fails."""
        guids = list(dict.fromkeys(guids))
        if self._queue is None or not guids:
            return
        for start in range(0, len(guids), MAX_JOB_DELIVERIES):
            chunk = guids[start : start + MAX_JOB_DELIVERIES]
            try:
                await self._queue.enqueue(
                    PROCESS_DELIVERY, *chunk, job_id=delivery_job_id(chunk[0])
                )
            except QueueUnavailable:
                log.warning(
                    "queue unavailable: deliveries left to recovery",
                    extra={"delivery_id": chunk[0], "deliveries": len(chunk)},
                )
            except Exception:  # stored is what was promised; recovery queues them
                log.exception(
                    "could not queue deliveries: left to recovery",
                    extra={"delivery_id": chunk[0], "deliveries": len(chunk)},
                )

    async def _transaction(self, deliveries: list[NewDelivery]) -> set[str]:
        self.transactions += 1
        try:
            async with writer_turn(self._store.engine), self._store.transaction() as tx:
                recorded = await tx.record_deliveries(deliveries)
        except Exception as error:
            if is_database_outage(error) and not self._database_lost:
                self._database_lost = True
                log.warning(
                    "database unreachable: deliveries answered 503 until it is back",
                    extra={"error": f"{type(error).__name__}: {error}"[:300]},
                )
            raise
        if self._database_lost:
            self._database_lost = False
            log.warning("database back: deliveries stored again")
        return recorded


def _settle(waiting: _Waiting, *, new: bool = False, error: Exception | None = None) -> None:
    if waiting.recorded.done():  # its request went away (cancelled): nothing to tell
        return
    if error is not None:
        waiting.recorded.set_exception(error)
    else:
        waiting.recorded.set_result(new)
