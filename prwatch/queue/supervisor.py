"""Keep an arq worker running through Redis outages of any length.

arq's worker stops for good when its Redis connection fails (its poll loop raises). The
supervisor runs it, and when it stops for any reason but a stop request, lets the jobs it was
running finish, closes it, waits (capped exponential backoff with jitter) and starts a fresh
one, for as long as it takes. It logs once per change of state (lost, back), not per attempt.
Only ``stop`` ends it: the worker stops taking jobs, finishes the running ones within a grace
period and hands back the rest (cancelled: their transactions roll back, and arq or recovery
runs them again).

While a worker runs, the supervisor publishes its heartbeat (``prwatch.queue.heartbeat``),
which ``/readyz`` reads. A database outage does not stop the worker: its database gate
(``prwatch.queue.database_gate``) pauses job picking until the database answers, and the
heartbeat goes on.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import uuid
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field

from arq.worker import Worker

from prwatch.backoff import Backoff
from prwatch.queue import heartbeat
from prwatch.queue.database_gate import GATE_CONTEXT_KEY
from prwatch.queue.keys import HEALTH_CHECK_KEY

log = logging.getLogger(__name__)

__all__ = ["Backoff", "SupervisorOptions", "WorkerSupervisor", "install_stop_signals"]


@dataclass(frozen=True, slots=True)
class SupervisorOptions:
    backoff: Backoff = field(default_factory=Backoff)
    # How long running jobs get to finish on a stop request, or when the worker lost Redis.
    grace_seconds: float = 20.0
    heartbeat_interval_seconds: float = heartbeat.HEARTBEAT_INTERVAL_SECONDS


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class WorkerSupervisor:
    """Runs workers from ``make_worker`` (built with ``handle_signals=False``) until ``stop``."""

    def __init__(
        self, make_worker: Callable[[], Worker], options: SupervisorOptions | None = None
    ) -> None:
        self._make_worker = make_worker
        self._options = options or SupervisorOptions()
        self.worker_id = worker_id()
        self.restarts = 0
        self._down = False  # True from a lost worker until a new one beats

    async def run(self, stop: asyncio.Event) -> None:
        attempt = 0
        while not stop.is_set():
            worker = self._make_worker()
            main = asyncio.create_task(worker.main(), name="prwatch-arq-worker")
            worker.main_task = main
            up, ended = asyncio.Event(), asyncio.Event()
            beats = asyncio.create_task(self._beat(worker, up, ended), name="prwatch-heartbeat")
            stopping = asyncio.create_task(stop.wait())
            await asyncio.wait({main, stopping}, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            if stop.is_set():
                await self._stop(worker, main)
                await _end(beats, ended)
                await self._leave(worker)
                await self._dispose(worker)
                return
            await _end(beats, ended)
            error = None if main.cancelled() else main.exception()
            await self._finish_running_jobs(worker)
            await self._dispose(worker)
            if error is None and not main.cancelled():  # a burst worker ran out of jobs
                return
            if up.is_set():
                attempt = 0
            if not self._down:
                self._down = True
                log.warning(
                    "worker lost its connection: reconnecting with backoff",
                    extra={"error": _describe(error), "worker": self.worker_id},
                )
            delay = self._options.backoff.delay(attempt)
            attempt += 1
            self.restarts += 1
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)

    async def _beat(self, worker: Worker, up: asyncio.Event, ended: asyncio.Event) -> None:
        """Publish the heartbeat while the worker's Redis answers; a first beat after an
        outage says the worker is back. Ends between two beats once ``ended`` is set (a
        command cancelled half-way would leave its connection open)."""
        while not ended.is_set():
            pool = worker._pool
            if pool is not None:
                try:
                    await heartbeat.beat(pool, self.worker_id)
                except Exception:  # Redis away: the worker itself notices and stops
                    pass
                else:
                    up.set()
                    if self._down:
                        self._down = False
                        log.warning("worker reconnected", extra={"worker": self.worker_id})
            pause = self._options.heartbeat_interval_seconds if up.is_set() else 0.1
            with suppress(TimeoutError):
                await asyncio.wait_for(ended.wait(), pause)

    async def _stop(self, worker: Worker, main: asyncio.Task[None]) -> None:
        """Take no more jobs, let the running ones finish within the grace period, cancel the
        rest (handed back) and the worker's loop."""
        gate = worker.ctx.get(GATE_CONTEXT_KEY)
        if gate is not None:  # a database coming back must not turn job picking on again
            await gate.aclose()
        worker.allow_pick_jobs = False
        await self._finish_running_jobs(worker)
        worker.handle_sig(signal.SIGTERM)  # cancels what is still running, and the loop
        with suppress(BaseException):
            await main

    async def _finish_running_jobs(self, worker: Worker) -> None:
        running = [task for task in worker.tasks.values() if not task.done()]
        if running:
            await asyncio.wait(running, timeout=self._options.grace_seconds)
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)

    async def _leave(self, worker: Worker) -> None:
        if worker._pool is not None:
            with suppress(Exception):
                await asyncio.wait_for(heartbeat.leave(worker._pool, self.worker_id), 2.0)

    async def _dispose(self, worker: Worker) -> None:
        """Close a stopped worker: its process context, its Redis pool. arq's own ``close``
        needs Redis, which may be the very thing that is gone."""
        if worker.main_task is not None and not worker.main_task.done():
            worker.main_task.cancel()
            with suppress(BaseException):
                await worker.main_task
        pool = worker._pool
        if pool is not None:
            with suppress(Exception):
                await asyncio.wait_for(pool.delete(HEALTH_CHECK_KEY), 2.0)
        if worker.on_shutdown is not None:
            try:
                await worker.on_shutdown(worker.ctx)
            except Exception:
                log.exception("closing the worker's context failed")
        if pool is not None:
            with suppress(Exception):
                await pool.close(close_connection_pool=True)
            worker._pool = None


async def _end(beats: asyncio.Task[None], ended: asyncio.Event) -> None:
    ended.set()
    await asyncio.gather(beats, return_exceptions=True)


def _describe(error: BaseException | None) -> str:
    if error is None:
        return "stopped"
    first_line = str(error).splitlines()[0] if str(error) else ""
    return f"{type(error).__name__}: {first_line}"[:300]


def install_stop_signals(stop: asyncio.Event) -> None:
    """SIGTERM and SIGINT set ``stop`` (once: a second one is the default, immediate exit)."""
    loop = asyncio.get_running_loop()

    def request_stop(signum: signal.Signals) -> None:
        log.warning("stopping: finishing the running jobs", extra={"signal": signum.name})
        stop.set()
        for other in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(other)

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, request_stop, signum)
