"""Prometheus metrics, one registry per process context.

Nothing here touches prometheus-client's global default registry: every ``Metrics`` owns its
``CollectorRegistry``, so several apps in one process (tests) never collide. Each process
exposes only what it saw itself; the database-derived series (sweeps, changes, the delivery
ledger) are read from the store at scrape time and so agree across processes.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextvars import ContextVar

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)

from prwatch.github.client import ResponseSeen

# Seconds: a webhook ack should be far below GitHub's 10 s delivery timeout.
ACK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
DURATION_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0)


class Metrics:
    """Every series prwatch exposes, registered in its own registry."""

    def __init__(self) -> None:
        registry = self.registry = CollectorRegistry(auto_describe=True)
        ProcessCollector(registry=registry)  # memory, CPU, open files of this process
        PlatformCollector(registry=registry)
        self.sweep_duration = Histogram(
            "prwatch_sweep_duration_seconds",
            "Duration of a finished reconcile sweep",
            ["status"],
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        self.last_sweep_duration = Gauge(
            "prwatch_last_sweep_duration_seconds",
            "Duration of the most recent finished sweep",
            registry=registry,
        )
        self.repository_sweep_duration = Histogram(
            "prwatch_repository_sweep_duration_seconds",
            "Time to sweep one repository",
            ["repository", "outcome"],
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        self.api_requests = Counter(
            "prwatch_github_requests",
            "GitHub API exchanges (each retry too) by route and outcome (status or failure)",
            ["route", "outcome"],
            registry=registry,
        )
        self.conditional_requests = Counter(
            "prwatch_github_conditional_requests",
            "GitHub requests sent with If-None-Match",
            registry=registry,
        )
        self.conditional_hits = Counter(
            "prwatch_github_conditional_hits",
            "Conditional GitHub requests answered 304 Not Modified (free of rate-limit points)",
            registry=registry,
        )
        self.conditional_hit_ratio = Gauge(
            "prwatch_github_conditional_hit_ratio",
            "304 answers / conditional requests since the process started",
            registry=registry,
        )
        self.rate_limit_remaining = Gauge(
            "prwatch_github_rate_limit_remaining",
            "Rate-limit points left as GitHub last reported them",
            ["installation", "resource"],
            registry=registry,
        )
        self.webhook_deliveries = Counter(
            "prwatch_webhook_deliveries",
            "Webhook deliveries received, by event and outcome",
            ["event", "outcome"],
            registry=registry,
        )
        self.ack_latency = Histogram(
            "prwatch_webhook_ack_seconds",
            "Time from receiving a webhook to answering it",
            buckets=ACK_BUCKETS,
            registry=registry,
        )
        self.queue_depth = Gauge(
            "prwatch_queue_depth", "Jobs waiting in the queue", registry=registry
        )
        self.job_duration = Histogram(
            "prwatch_job_duration_seconds",
            "Time a job ran, by job and outcome",
            ["job", "outcome"],
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        self.changes = Counter(
            "prwatch_changes",
            "Changes recorded in the change log, by kind and source (source=sweep: missed "
            "deliveries caught)",
            ["kind", "source"],
            registry=registry,
        )
        self.deliveries_by_status = Gauge(
            "prwatch_delivery_ledger",
            "Stored webhook deliveries by status",
            ["status"],
            registry=registry,
        )
        self.transaction_duration = Histogram(
            "prwatch_db_transaction_seconds",
            "Database transaction time, begin to commit or rollback",
            ["outcome"],
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        self.skipped_items = Counter(
            "prwatch_sweep_skipped_items",
            "Items the sweep skipped because GitHub answered them out of its documented shape "
            "(each fails alone), by kind and reason",
            ["kind", "reason"],
            registry=registry,
        )
        self.errors = Counter(
            "prwatch_errors",
            "Errors and warnings logged, by exception type (or 'none') and logger",
            ["type", "logger"],
            registry=registry,
        )
        # Scrape-time bookkeeping: what was already counted from the database.
        self.seen_sweep_ids: set[int] = set()
        self.change_cursor = 0
        self._conditional_sent = 0
        self._conditional_hits = 0

    def observe_api_response(self, seen: ResponseSeen) -> None:
        if seen.installation_id is not None and seen.remaining is not None:
            self.rate_limit_remaining.labels(
                str(seen.installation_id), seen.resource or "core"
            ).set(seen.remaining)
        if not seen.conditional:
            return
        self.conditional_requests.inc()
        self._conditional_sent += 1
        if seen.status == 304:
            self.conditional_hits.inc()
            self._conditional_hits += 1
        self.conditional_hit_ratio.set(self._conditional_hits / self._conditional_sent)

    def observe_job(self, job: str, seconds: float, outcome: str) -> None:
        self.job_duration.labels(job, outcome).observe(seconds)

    def observe_skipped(self, kind: str, reason: str) -> None:
        self.skipped_items.labels(kind, reason).inc()

    def observe_repository_sweep(self, full_name: str, seconds: float, *, ok: bool) -> None:
        self.repository_sweep_duration.labels(full_name, "ok" if ok else "failed").observe(seconds)

    def series_names(self) -> Iterable[str]:
        return (metric.name for metric in self.registry.collect())

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


_CURRENT: ContextVar[Metrics | None] = ContextVar("prwatch_metrics", default=None)


def bind_metrics(metrics: Metrics) -> None:
    """Make `metrics` the current task's (and the tasks it creates later) metrics, for code
    deep in a sweep that is handed a store and a client but no process context."""
    _CURRENT.set(metrics)


def current_metrics() -> Metrics | None:
    return _CURRENT.get()
