"""Feeding the metrics: hooks into the GitHub client, the queue and the database engine, and
the scrape-time refresh of what the store knows (sweeps, changes, the delivery ledger)."""

from __future__ import annotations

import logging
import time
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from prwatch.github.stats import RequestStats
from prwatch.observability.metrics import Metrics
from prwatch.queue.port import JobQueue
from prwatch.store import Store

log = logging.getLogger(__name__)

CHANGE_PAGE = 1_000
MAX_CHANGE_PAGES_PER_SCRAPE = 20  # a first scrape of a big log catches up over several scrapes


class MeteredRequestStats(RequestStats):
    """The client's request accounting, also counted in Prometheus (route and outcome)."""

    def __init__(self, metrics: Metrics) -> None:
        super().__init__()
        self._metrics = metrics

    def record_request(self, route: str, outcome: int | str) -> None:
        super().record_request(route, outcome)
        self._metrics.api_requests.labels(route, str(outcome)).inc()


def time_transactions(engine: AsyncEngine, metrics: Metrics) -> None:
    """Time every transaction on `engine`, begin to commit or rollback."""
    sync_engine = engine.sync_engine
    # Keyed by the Connection object, not kept in `connection.info`: that reaches through to
    # the DBAPI connection, which raises on one invalidated mid-transaction (a cancelled job),
    # and the rollback that cleans it up must never fail because of a metric.
    begun_at: dict[int, float] = {}

    def begun(connection: Any) -> None:
        begun_at[id(connection)] = time.perf_counter()

    def ended(outcome: str) -> Any:
        def observe(connection: Any) -> None:
            started = begun_at.pop(id(connection), None)
            if started is not None:
                metrics.transaction_duration.labels(outcome).observe(time.perf_counter() - started)

        return observe

    event.listen(sync_engine, "begin", begun)
    event.listen(sync_engine, "commit", ended("commit"))
    event.listen(sync_engine, "rollback", ended("rollback"))


class ErrorCounter(logging.Handler):
    """Counts warnings and errors logged under ``prwatch``, by exception type and logger."""

    def __init__(self, metrics: Metrics) -> None:
        super().__init__(level=logging.WARNING)
        self._metrics = metrics

    def emit(self, record: logging.LogRecord) -> None:
        kind = "none"
        if record.exc_info and record.exc_info[0] is not None:
            kind = record.exc_info[0].__name__
        self._metrics.errors.labels(kind, record.name).inc()


async def refresh(metrics: Metrics, store: Store, queue: JobQueue) -> None:
    """Bring the scrape-time series up to date. Each source is best effort: a database or
    queue that is down leaves its series as they were (``/readyz`` says why)."""
    try:
        metrics.queue_depth.set(await queue.depth())
    except Exception as error:
        log.warning("metrics: queue depth unavailable", extra={"error": str(error)})
    try:
        await _refresh_from_store(metrics, store)
    except Exception as error:
        log.warning("metrics: store unavailable", extra={"error": str(error)})


async def _refresh_from_store(metrics: Metrics, store: Store) -> None:
    async with store.transaction(read_only=True) as tx:
        counts = await tx.delivery_counts()
        sweeps = await tx.recent_sweeps(20)
        pages = []
        cursor = metrics.change_cursor
        for _ in range(MAX_CHANGE_PAGES_PER_SCRAPE):
            page = await tx.changes_after(cursor, CHANGE_PAGE)
            if not page:
                break
            pages.append(page)
            cursor = page[-1].cursor
    for status, count in counts.items():
        metrics.deliveries_by_status.labels(str(status)).set(count)
    finished = [s for s in sweeps if s.finished_at is not None and s.duration_seconds is not None]
    for sweep in sorted(finished, key=lambda s: s.id):
        if sweep.id in metrics.seen_sweep_ids:
            continue
        metrics.seen_sweep_ids.add(sweep.id)
        assert sweep.duration_seconds is not None
        metrics.sweep_duration.labels(str(sweep.result.status)).observe(sweep.duration_seconds)
    if finished:
        newest = max(finished, key=lambda s: s.id)
        assert newest.duration_seconds is not None
        metrics.last_sweep_duration.set(newest.duration_seconds)
    for page in pages:
        for change in page:
            metrics.changes.labels(str(change.kind), str(change.source)).inc()
    metrics.change_cursor = cursor
