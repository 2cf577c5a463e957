"""The embedded mode's job queue: asyncio worker tasks in the web process, no Redis.

Same semantics as the arq queue: a job id is never queued twice at once (``enqueue`` returns
False while a job with that id is queued, deferred, running or waiting to retry), transient
errors (``prwatch.events.errors.is_retryable``) retry with exponential backoff up to
``max_tries``, other errors are logged and dropped. Unlike arq no result is kept: once a job
finished, its id may be queued again at once. ``enqueue_or_rerun`` on a running job marks it to
run once more when it ends (the mark is cleared by the start of a run: that run comes after).

Delivery jobs have workers of their own (``delivery_workers``, many: each mostly waits for the
batch its delivery is applied in, see ``prwatch.events.batching``), so that a burst of
deliveries is applied in few transactions and never waits behind sweep jobs, and sweep jobs
keep their own, smaller, number of workers.

A database outage pauses the workers instead of using up tries: the first job that fails
because the database is unreachable closes the queue's database gate
(``prwatch.queue.database_gate``), the job goes back to the queue with its try uncounted, and
every worker waits for the gate to open before its next job.

Nothing lives only here: webhook deliveries are in the database before they are queued, so on
``start`` the queue enqueues every delivery still pending — and, this being the only process
of the embedded mode, every one a crash left in processing — again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from prwatch.backoff import Backoff
from prwatch.events.errors import already_reported, is_retryable, retry_after
from prwatch.queue.database_gate import DatabaseGate, database_probe, release_claims
from prwatch.queue.port import PROCESS_DELIVERY, RERUNNABLE_JOBS, JobRunner, QueueUnavailable
from prwatch.store import DeliveryStatus, Store
from prwatch.store.types import utc_now

log = logging.getLogger(__name__)

RECOVERY_PAGE = 500
DELIVERY_WORKERS = 64


def delivery_job_id(guid: str) -> str:
    return f"delivery:{guid}"


class _HasStore(Protocol):
    @property
    def store(self) -> Store: ...


@dataclass(slots=True)
class _Job:
    name: str
    args: tuple[str | int, ...]
    job_id: str
    tries: int = 0


class InProcessQueue:
    def __init__(
        self,
        *,
        workers: int = 4,
        delivery_workers: int = DELIVERY_WORKERS,
        max_tries: int = 5,
        backoff_seconds: float = 0.5,
        max_backoff_seconds: float = 60.0,
        close_timeout_seconds: float = 30.0,
        database_backoff: Backoff | None = None,
    ) -> None:
        if workers < 1 or delivery_workers < 1:
            raise ValueError(
                f"workers and delivery_workers must be at least 1, got {workers}, "
                f"{delivery_workers}"
            )
        if max_tries < 1:
            raise ValueError(f"max_tries must be at least 1, got {max_tries}")
        self._worker_count = workers
        self._delivery_worker_count = delivery_workers
        self._max_tries = max_tries
        self._backoff = backoff_seconds
        self._max_backoff = max_backoff_seconds
        self._close_timeout = close_timeout_seconds
        self._database_backoff = database_backoff or Backoff()
        self._gate: DatabaseGate | None = None  # built on start, with the store to probe
        self._ready: asyncio.Queue[_Job | None] = asyncio.Queue()
        self._delivery_ready: asyncio.Queue[_Job | None] = asyncio.Queue()
        self._active: set[str] = set()  # queued, deferred, running or waiting to retry
        self._running: set[str] = set()  # started and not ended
        self._rerun: set[str] = set()  # running ids asked for again since they started
        self._deferred: dict[str, asyncio.TimerHandle] = {}
        self._workers: list[asyncio.Task[None]] = []
        self._idle = asyncio.Event()
        self._idle.set()
        self._functions: Mapping[str, JobRunner] | None = None
        self._context: Any = None
        self._closed = False
        self._closing = asyncio.Event()
        self._held = 0  # jobs taken by a worker that waits for the database
        # Told of every run: (job, seconds it ran, outcome ok/retry/failed). For metrics.
        self.job_observer: Callable[[str, float, str], None] | None = None

    @property
    def started(self) -> bool:
        return bool(self._workers)

    @property
    def database_gate(self) -> DatabaseGate | None:
        return self._gate

    async def enqueue(
        self, job: str, *args: str | int, job_id: str, defer_seconds: float = 0.0
    ) -> bool:
        if self._closed:
            raise QueueUnavailable("the in-process queue is closed")
        if self._functions is not None and job not in self._functions:
            raise ValueError(f"unknown job {job!r}")
        if job_id in self._active:
            return False
        self._active.add(job_id)
        self._idle.clear()
        entry = _Job(job, tuple(args), job_id)
        if defer_seconds > 0:
            self._defer(entry, defer_seconds)
        else:
            self._ready_for(entry).put_nowait(entry)
        return True

    async def enqueue_or_rerun(self, job: str, *args: str | int, job_id: str) -> bool:
        if job not in RERUNNABLE_JOBS:
            raise ValueError(f"job {job!r} cannot be asked to run again")
        if self._closed:
            raise QueueUnavailable("the in-process queue is closed")
        if job_id in self._running:
            self._rerun.add(job_id)
            return False
        return await self.enqueue(job, *args, job_id=job_id)

    async def depth(self) -> int:
        waiting = self._ready.qsize() + self._delivery_ready.qsize() + len(self._deferred)
        return waiting + self._held

    async def start(self, context: _HasStore, job_functions: Mapping[str, JobRunner]) -> None:
        """Start the workers, then enqueue the deliveries the database still holds unprocessed.

        ``context`` is what each job function receives (the ProcessContext)."""
        if self._closed:
            raise QueueUnavailable("the in-process queue is closed")
        if self.started:
            return
        unknown = {entry.name for entry in self._queued()} - set(job_functions)
        if unknown:
            raise ValueError(f"jobs queued without a function: {', '.join(sorted(unknown))}")
        self._functions = dict(job_functions)
        self._context = context
        self._gate = DatabaseGate(database_probe(context.store), backoff=self._database_backoff)
        self._workers = [
            asyncio.create_task(self._work(self._ready), name=f"prwatch-job-worker-{n}")
            for n in range(self._worker_count)
        ] + [
            asyncio.create_task(
                self._work(self._delivery_ready), name=f"prwatch-delivery-worker-{n}"
            )
            for n in range(self._delivery_worker_count)
        ]
        if PROCESS_DELIVERY in self._functions:
            await self.recover_deliveries(context.store)

    async def recover_deliveries(self, store: Store) -> int:
        """Enqueue every pending delivery, and every one left in processing (reset to pending
        first: in the embedded mode no other process can be working on it). Returns how many
        were queued."""
        queued = 0
        seen: set[str] = set()
        cutoff = utc_now() + timedelta(seconds=1)
        while True:
            async with store.transaction() as tx:
                page = await tx.pending_deliveries(
                    cutoff,
                    RECOVERY_PAGE,
                    statuses=(DeliveryStatus.PENDING, DeliveryStatus.PROCESSING),
                )
                for delivery in page:
                    if delivery.status is DeliveryStatus.PROCESSING:
                        await tx.mark_delivery(delivery.guid, DeliveryStatus.PENDING)
            fresh = [delivery for delivery in page if delivery.guid not in seen]
            for delivery in fresh:
                seen.add(delivery.guid)
                job_id = delivery_job_id(delivery.guid)
                if await self.enqueue(PROCESS_DELIVERY, delivery.guid, job_id=job_id):
                    queued += 1
            if len(page) < RECOVERY_PAGE or not fresh:
                break
            # Page on by arrival time; a later page may repeat deliveries of the same instant.
            cutoff = page[-1].received_at + timedelta(microseconds=1)
        if queued:
            log.info("queued unprocessed deliveries", extra={"deliveries": queued})
        return queued

    async def drain(self) -> None:
        """Wait until no job is queued, deferred, running or waiting to retry."""
        if not self.started and self._active:
            raise RuntimeError("drain() before start(): queued jobs would never run")
        await self._idle.wait()

    async def aclose(self) -> None:
        """Stop taking jobs, let running ones finish (up to the close timeout), drop the rest:
        whatever they were for is in the database and recovered on the next start."""
        if self._closed:
            return
        self._closed = True
        self._closing.set()
        if self._gate is not None:
            await self._gate.aclose()
        for handle in self._deferred.values():
            handle.cancel()
        self._deferred.clear()
        for entry in self._queued():
            self._active.discard(entry.job_id)
        for ready in (self._ready, self._delivery_ready):
            while not ready.empty():
                ready.get_nowait()
        for _ in range(self._worker_count):
            self._ready.put_nowait(None)
        for _ in range(self._delivery_worker_count):
            self._delivery_ready.put_nowait(None)
        if self._workers:
            _, pending = await asyncio.wait(self._workers, timeout=self._close_timeout)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        self._workers = []
        self._active.clear()
        self._rerun.clear()
        self._idle.set()

    # -- internals ---------------------------------------------------------------------------

    def _queued(self) -> list[_Job]:
        entries: list[_Job] = []
        for ready in (self._ready, self._delivery_ready):
            items: Any = getattr(ready, "_queue", ())  # asyncio.Queue keeps a deque there
            entries += [entry for entry in items if entry is not None]
        return entries

    def _ready_for(self, entry: _Job) -> asyncio.Queue[_Job | None]:
        return self._delivery_ready if entry.name == PROCESS_DELIVERY else self._ready

    def _defer(self, entry: _Job, delay: float) -> None:
        def release() -> None:
            self._deferred.pop(entry.job_id, None)
            self._ready_for(entry).put_nowait(entry)

        self._deferred[entry.job_id] = asyncio.get_running_loop().call_later(delay, release)

    async def _work(self, ready: asyncio.Queue[_Job | None]) -> None:
        while True:
            entry = await ready.get()
            if entry is None:
                return
            if self._gate is not None and not self._gate.is_open:
                await self._wait_for_database(entry)
                if self._closed:  # closing while waiting: the job is the database's again
                    self._finish(entry)
                    continue
            await self._run(entry)

    async def _run(self, entry: _Job) -> None:
        assert self._functions is not None
        function = self._functions.get(entry.name)
        entry.tries += 1
        context = {"job": entry.name, "job_id": entry.job_id, "try": entry.tries}
        started = time.perf_counter()
        # This run starts after every ask so far: it answers them.
        self._rerun.discard(entry.job_id)
        self._running.add(entry.job_id)
        try:
            if function is None:
                raise LookupError(f"no function for job {entry.name!r}")
            await function(self._context, *entry.args)
            self._observe(entry, started, "ok")
        except asyncio.CancelledError:
            self._finish(entry)
            raise
        except Exception as error:  # a job boundary: retry what is transient, log the rest
            if self._hand_back_on_outage(entry, error):
                self._observe(entry, started, "retry")
                return
            retrying = is_retryable(error) and entry.tries < self._max_tries and not self._closed
            self._observe(entry, started, "retry" if retrying else "failed")
            if retrying:
                delay = min(self._max_backoff, self._backoff * 2 ** (entry.tries - 1))
                delay = max(delay, min(retry_after(error) or 0.0, self._max_backoff))
                # Once per failure: a job that logged it already is retried quietly.
                log.log(
                    logging.DEBUG if already_reported(error) else logging.WARNING,
                    "job failed, retrying",
                    extra={**context, "delay": delay, "error": str(error)},
                )
                self._defer(entry, delay)
                return
            log.error("job failed", exc_info=error, extra=context)
        finally:
            self._running.discard(entry.job_id)
        self._finish(entry)

    def _hand_back_on_outage(self, entry: _Job, error: Exception) -> bool:
        """A job that failed because the database is unreachable goes back to the queue with
        its try uncounted; the gate logs the outage once and holds the workers until the
        database answers."""
        if self._gate is None or self._closed:
            return False
        recovery = None
        if entry.name == PROCESS_DELIVERY and entry.args:
            guids = [str(guid) for guid in entry.args]
            recovery = release_claims(self._context.store, guids, utc_now())
        if not self._gate.report(error, on_recovery=recovery):
            return False
        entry.tries -= 1
        log.debug(
            "job handed back: database unreachable",
            extra={"job": entry.name, "job_id": entry.job_id, "error": str(error)},
        )
        self._ready_for(entry).put_nowait(entry)
        return True

    async def _wait_for_database(self, entry: _Job) -> None:
        """Hold ``entry`` until the gate opens (or the queue closes)."""
        assert self._gate is not None
        opened = asyncio.ensure_future(self._gate.wait_open())
        closing = asyncio.ensure_future(self._closing.wait())
        self._held += 1
        try:
            await asyncio.wait({opened, closing}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._held -= 1
            opened.cancel()
            closing.cancel()

    def _observe(self, entry: _Job, started: float, outcome: str) -> None:
        if self.job_observer is not None:
            self.job_observer(entry.name, time.perf_counter() - started, outcome)

    def _finish(self, entry: _Job) -> None:
        if entry.job_id in self._rerun and not self._closed:
            # Asked for while it ran: once more, under the same id (still active).
            self._rerun.discard(entry.job_id)
            again = _Job(entry.name, entry.args, entry.job_id)
            self._ready_for(again).put_nowait(again)
            return
        self._active.discard(entry.job_id)
        if not self._active:
            self._idle.set()
