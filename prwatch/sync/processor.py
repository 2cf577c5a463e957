"""The processor: one reconcile sweep over every repository of every installation.

Repositories are swept concurrently (bounded), each isolated from the others' failures; the
sweep is recorded with what it found and what it cost.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from prwatch.domain.models import InstallationSnapshot
from prwatch.github.stats import RequestStats, StatsSnapshot
from prwatch.observability.metrics import current_metrics
from prwatch.store.errors import RetryableStoreError
from prwatch.store.records import RepositoryRecord, SweepResult, SweepStatus
from prwatch.store.store import Store
from prwatch.sync.check_discovery import CheckApi
from prwatch.sync.check_query import COMMITS_PER_QUERY
from prwatch.sync.inventory import InventoryApi, discover_inventory
from prwatch.sync.options import SweepOptions
from prwatch.sync.repository_sweep import RepositoryOutcome, sweep_repository
from prwatch.sync.shared_check_queries import SWEEP_MAX_WAIT_SECONDS, SharedCheckQueries

log = logging.getLogger(__name__)


class SweepApi(CheckApi, InventoryApi, Protocol):
    """What the sweep needs of the GitHub client (a fake implements it in tests)."""

    @property
    def stats(self) -> RequestStats: ...

    def remaining(self, installation_id: int, resource: str = "core") -> int | None: ...


@dataclass(slots=True)
class SweepReport:
    sweep_id: int
    status: SweepStatus
    repositories: list[RepositoryOutcome] = field(default_factory=list)
    changes_by_kind: Counter[str] = field(default_factory=Counter)
    requests_by_outcome: dict[str, int] = field(default_factory=dict)
    requests_by_route: dict[str, dict[str, int]] = field(default_factory=dict)
    points_core: int = 0
    points_graphql: int = 0
    rate_limit_remaining: int | None = None
    duration_seconds: float = 0.0
    error: str | None = None

    @property
    def failed(self) -> list[RepositoryOutcome]:
        return [outcome for outcome in self.repositories if not outcome.ok]

    @property
    def prs_seen(self) -> int:
        return sum(outcome.prs_seen for outcome in self.repositories)

    @property
    def conditional_misses_token_changed(self) -> int:
        """Listings re-read because their ETag was stored with another token (a new process
        that minted its own token, or a token rotation)."""
        return sum(outcome.conditional_misses_token_changed for outcome in self.repositories)


Progress = Callable[[RepositoryOutcome, int, int], None]  # (outcome, done, total)


async def run_sweep(
    store: Store,
    api: SweepApi,
    *,
    options: SweepOptions | None = None,
    progress: Progress | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> SweepReport:
    """Sweep everything once and record it. Never raises for one repository's failure."""
    options = options or SweepOptions()
    started = time.monotonic()
    before = api.stats.snapshot()
    async with store.transaction() as tx:
        sweep_id = await tx.start_sweep(now())
    report = SweepReport(sweep_id, SweepStatus.RUNNING)
    try:
        inventory = await discover_inventory(store, api)
        report.changes_by_kind.update(inventory.changes_by_kind)
        outcomes = await sweep_repositories(
            store, api, inventory.repositories, options=options, progress=progress, now=now()
        )
        report.repositories = outcomes
        for outcome in outcomes:
            report.changes_by_kind.update(outcome.changes_by_kind)
        troubles = inventory.troubles()
        report.status = (
            SweepStatus.OK if not report.failed and not troubles else SweepStatus.PARTIAL
        )
        if troubles:
            report.error = "; ".join(troubles)
        report.rate_limit_remaining = _lowest_remaining(api, inventory.active_installations)
    except Exception as error:  # the sweep's boundary: record it, and let the caller know
        report.status = SweepStatus.FAILED
        report.error = f"{type(error).__name__}: {error}"
        log.exception("sweep failed", extra={"sweep_id": sweep_id})
    _account(report, before, api.stats.snapshot())
    report.duration_seconds = time.monotonic() - started
    async with store.transaction() as tx:
        await tx.finish_sweep(sweep_id, _result(report))
    return report


async def sweep_repositories(
    store: Store,
    api: CheckApi,
    repositories: list[RepositoryRecord],
    *,
    options: SweepOptions,
    progress: Progress | None = None,
    now: datetime,
) -> list[RepositoryOutcome]:
    limit = asyncio.Semaphore(options.max_concurrent_repositories)
    # Every leftover shared, and waited for longer: the sweep's other repositories are sure
    # to come.
    checks = SharedCheckQueries(
        share_below=COMMITS_PER_QUERY, max_wait_seconds=SWEEP_MAX_WAIT_SECONDS
    )
    # Those waiting for a slot will bring commits: partial queries wait for them.
    checks.expect(len(repositories))
    done = 0

    async def one(repository: RepositoryRecord) -> RepositoryOutcome:
        nonlocal done
        async with limit:
            started = time.monotonic()
            outcome = await sweep_repository(
                store, api, repository, options=options, now=now, checks=checks
            )
            if (metrics := current_metrics()) is not None:
                metrics.observe_repository_sweep(
                    repository.full_name, time.monotonic() - started, ok=outcome.ok
                )
        done += 1
        if progress is not None:
            progress(outcome, done, len(repositories))
        return outcome

    outcomes = list(await asyncio.gather(*(one(repository) for repository in repositories)))
    await _mark_swept(store, [o.repository_id for o in outcomes if o.ok and o.unchanged], now)
    return outcomes


async def _mark_swept(store: Store, repository_ids: list[int], at: datetime) -> None:
    """``last_swept_at`` of the repositories swept without a write, in one transaction."""
    if not repository_ids:
        return
    try:
        async with store.transaction() as tx:
            await tx.mark_swept(repository_ids, at)
    except RetryableStoreError as error:  # bookkeeping only: the sweep itself succeeded
        log.warning(
            "last swept time not recorded",
            extra={"repositories": len(repository_ids), "error": type(error).__name__},
        )


def _lowest_remaining(api: SweepApi, installations: list[InstallationSnapshot]) -> int | None:
    values = [
        remaining
        for installation in installations
        if (remaining := api.remaining(installation.id)) is not None
    ]
    return min(values) if values else None


def _account(report: SweepReport, before: StatsSnapshot, after: StatsSnapshot) -> None:
    by_route: dict[str, dict[str, int]] = {}
    by_outcome: Counter[str] = Counter()
    for (route, outcome), count in after.requests.items():
        delta = count - before.requests.get((route, outcome), 0)
        if delta:
            by_route.setdefault(route, {})[str(outcome)] = delta
            by_outcome[str(outcome)] += delta
    report.requests_by_route = by_route
    report.requests_by_outcome = dict(by_outcome)
    report.points_core = after.points.get("core", 0) - before.points.get("core", 0)
    report.points_graphql = after.points.get("graphql", 0) - before.points.get("graphql", 0)


def _result(report: SweepReport) -> SweepResult:
    return SweepResult(
        status=report.status,
        repositories_total=len(report.repositories),
        repositories_ok=len(report.repositories) - len(report.failed),
        repositories_failed=len(report.failed),
        prs_seen=report.prs_seen,
        changes_by_kind=dict(report.changes_by_kind),
        requests_by_outcome=report.requests_by_outcome,
        points_spent_core=report.points_core,
        points_spent_graphql=report.points_graphql,
        rate_limit_remaining=report.rate_limit_remaining,
        error=report.error,
    )
