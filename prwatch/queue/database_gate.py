"""The database gate: a process that runs jobs takes no new ones while its database cannot be
reached, and resumes once it answers.

The first job that fails because the database is unreachable (``prwatch.store.outages``)
closes the gate and logs one warning; the gate then probes the database with capped
exponential backoff and jitter, runs what the failed jobs asked to run on recovery (put back
the delivery claims they could not release), logs one line once the database is back, and
opens. Jobs failing meanwhile change nothing: the state changed once. A job that fails for any
other reason (a constraint, a bad statement, GitHub) leaves the gate as it is.

Both queues use it: the arq worker turns its ``allow_pick_jobs`` off and on with it, the
in-process queue's workers wait for it before each job.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import suppress
from datetime import datetime

from prwatch.backoff import Backoff
from prwatch.store import Store
from prwatch.store.outages import is_database_outage

log = logging.getLogger(__name__)

# Where an arq worker keeps its gate in arq's ``ctx``.
GATE_CONTEXT_KEY = "prwatch_database_gate"

Probe = Callable[[], Awaitable[None]]
Recovery = Callable[[], Awaitable[object]]


class DatabaseGate:
    """Open while the database answers. ``on_change(open)`` is told of every change."""

    def __init__(
        self,
        probe: Probe,
        *,
        backoff: Backoff | None = None,
        on_change: Callable[[bool], None] | None = None,
    ) -> None:
        self._probe = probe
        self._backoff = backoff or Backoff()
        self._on_change = on_change
        self._open = asyncio.Event()
        self._open.set()
        self._recoveries: list[Recovery] = []
        self._watcher: asyncio.Task[None] | None = None
        self._closed_monotonic = 0.0
        self._closed = False  # aclose()d: no more probing
        self.outages = 0  # how many times the gate closed

    @property
    def is_open(self) -> bool:
        return self._open.is_set()

    @property
    def backoff(self) -> Backoff:
        return self._backoff

    def report(self, error: BaseException, *, on_recovery: Recovery | None = None) -> bool:
        """Whether ``error`` means the database is unreachable; if so the gate is (or stays)
        closed, and ``on_recovery`` runs once the database answers, before the gate opens."""
        if self._closed or not is_database_outage(error):
            return False
        if on_recovery is not None:
            self._recoveries.append(on_recovery)
        if self._open.is_set():
            self._open.clear()
            self.outages += 1
            self._closed_monotonic = time.monotonic()
            log.warning("database unreachable: waiting", extra={"error": _describe(error)})
            self._notify(False)
            self._watcher = asyncio.create_task(self._watch(), name="prwatch-database-gate")
        return True

    async def wait_open(self) -> None:
        await self._open.wait()

    async def aclose(self) -> None:
        """Stop probing (the process is stopping); the gate says nothing more."""
        self._closed = True
        if self._watcher is not None and not self._watcher.done():
            self._watcher.cancel()
            with suppress(asyncio.CancelledError):
                await self._watcher

    async def _watch(self) -> None:
        attempt = 0
        while True:
            await asyncio.sleep(self._backoff.delay(attempt))
            attempt += 1
            try:
                await self._probe()
                await self._recover()
            except Exception as error:
                if not is_database_outage(error):
                    log.debug("database probe failed", extra={"error": _describe(error)})
                continue
            break
        self._open.set()
        log.warning(
            "database back",
            extra={"down_seconds": round(time.monotonic() - self._closed_monotonic, 1)},
        )
        self._notify(True)

    async def _recover(self) -> None:
        """Run each recovery once; one that fails on the database is kept for the next probe,
        one that fails otherwise is logged and dropped (waiting would not cure it)."""
        while self._recoveries:
            recovery = self._recoveries[0]
            try:
                await recovery()
            except Exception as error:
                if is_database_outage(error):
                    raise
                log.exception("a recovery after the database outage failed")
            self._recoveries.pop(0)

    def _notify(self, open_: bool) -> None:
        if self._on_change is not None:
            self._on_change(open_)


def database_probe(store: Store) -> Probe:
    """A probe of ``store``'s database. A pool without pre-ping may hand out a connection the
    restarted server dropped: the failed ping discards the pool's connections, so one more
    ping tells whether the server itself answers."""

    async def probe() -> None:
        try:
            await store.ping()
        except Exception as error:
            if not is_database_outage(error):
                raise
            await store.ping()

    return probe


def release_claims(store: Store, guids: Sequence[str], claimed_before: datetime) -> Recovery:
    """The recovery of delivery jobs that failed on the database: their deliveries, left
    processing when the failure could not be recorded, go back to pending so that the job's
    retry (or recovery) claims them at once instead of after the claim timeout."""

    async def release() -> list[str]:
        async with store.transaction() as tx:
            released = await tx.release_claims(guids, claimed_before=claimed_before)
        if released:
            log.info("deliveries put back to pending", extra={"deliveries": len(released)})
        return released

    return release


def _describe(error: BaseException) -> str:
    first_line = str(error).splitlines()[0] if str(error) else ""
    return f"{type(error).__name__}: {first_line}"[:300]
