"""A sweep shared by many workers: one job plans it, one job per repository does the work.

The SWEEP job discovers the inventory, records a running sweep with one planned row per
repository, and queues one SWEEP_REPOSITORY job per repository (job id
``sweep:{sweep_id}:{repository_id}``). Whichever worker runs a repository's job sweeps it with
``sweep_repository`` and records its outcome once; whoever records the last one finishes the
sweep record from the rows (see ``prwatch.store.sweep_jobs``). A job that runs twice (a worker
killed after its apply) finds its row recorded and stops.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from prwatch.github.responses import ApiResponse, GraphQLResponse
from prwatch.queue.keys import sweep_now_job_id, sweep_repository_job_id
from prwatch.queue.port import SWEEP, SWEEP_REPOSITORY, JobQueue, QueueUnavailable
from prwatch.store.records import RepositoryRecord, SweepRecord, SweepResult, SweepStatus
from prwatch.store.store import Store
from prwatch.store.sweep_jobs import SweepRepositoryRecorded, SweepTally
from prwatch.sync.check_discovery import CheckApi
from prwatch.sync.inventory import InventoryApi, discover_inventory
from prwatch.sync.options import SweepOptions
from prwatch.sync.processor import sweep_repositories
from prwatch.sync.repository_sweep import RepositoryOutcome, sweep_repository
from prwatch.sync.shared_check_queries import SharedCheckQueries
from prwatch.sync.skipped import SkippedItem, notes

log = logging.getLogger(__name__)

# A sweep still running after this long is taken for dead (its planner or workers vanished):
# it no longer keeps the next one from starting.
DEFAULT_STALE_AFTER = timedelta(hours=1)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class DistributedApi(CheckApi, InventoryApi, Protocol):
    """What a distributed sweep needs of the GitHub client."""


class MeteredApi:
    """Counts one job's GitHub requests and rate-limit points (the client itself is shared by
    every job of the process, so its own counters mix concurrent jobs)."""

    def __init__(self, api: DistributedApi) -> None:
        self._api = api
        self.requests_by_outcome: Counter[str] = Counter()
        self.points_core = 0
        self.points_graphql = 0

    async def get(
        self,
        path_or_url: str,
        *,
        installation_id: int,
        route: str,
        params: Mapping[str, str | int] | None = None,
        etag: str | None = None,
        spend_reserve: bool = False,
    ) -> ApiResponse:
        try:
            response = await self._api.get(
                path_or_url,
                installation_id=installation_id,
                route=route,
                params=params,
                etag=etag,
                spend_reserve=spend_reserve,
            )
        except Exception as error:
            self.requests_by_outcome[type(error).__name__] += 1
            raise
        self.requests_by_outcome[str(response.status)] += 1
        if response.status != 304:  # GitHub does not charge a 304
            self.points_core += 1
        return response

    async def graphql(
        self,
        query: str,
        *,
        installation_id: int,
        variables: Mapping[str, Any] | None = None,
        spend_reserve: bool = False,
    ) -> GraphQLResponse:
        try:
            response = await self._api.graphql(
                query,
                installation_id=installation_id,
                variables=variables,
                spend_reserve=spend_reserve,
            )
        except Exception as error:
            self.requests_by_outcome[type(error).__name__] += 1
            raise
        self.requests_by_outcome["200"] += 1
        self.points_graphql += response.cost
        return response

    async def app_get(
        self,
        path_or_url: str,
        params: Mapping[str, str | int] | None = None,
        *,
        route: str | None = None,
    ) -> ApiResponse:
        try:
            response = await self._api.app_get(path_or_url, params, route=route)
        except Exception as error:
            self.requests_by_outcome[type(error).__name__] += 1
            raise
        self.requests_by_outcome[str(response.status)] += 1
        return response

    def tally(
        self,
        *,
        prs_seen: int = 0,
        changes_by_kind: Mapping[str, int] | None = None,
        error: str | None = None,
    ) -> SweepTally:
        return SweepTally(
            prs_seen=prs_seen,
            changes_by_kind=dict(changes_by_kind or {}),
            requests_by_outcome=dict(self.requests_by_outcome),
            points_spent_core=self.points_core,
            points_spent_graphql=self.points_graphql,
            error=error,
        )


@dataclass(slots=True)
class PlannedSweep:
    """What the SWEEP job did: ``sweep_id`` None when it skipped (another sweep is running)."""

    sweep_id: int | None
    repositories: list[int] = field(default_factory=list)
    enqueued: int = 0
    finished: bool = False
    skipped_because: int | None = None  # the running sweep's id


async def plan_sweep(
    store: Store,
    api: DistributedApi,
    queue: JobQueue,
    *,
    stale_after: timedelta = DEFAULT_STALE_AFTER,
    now: Clock = utc_now,
) -> PlannedSweep:
    """Start a sweep and queue its repositories, unless one is already running."""
    started_at = now()
    async with store.transaction() as tx:
        running = await tx.running_sweep(started_after=started_at - stale_after)
        if running is not None:
            log.info("sweep skipped: one is running", extra={"sweep_id": running.id})
            return PlannedSweep(sweep_id=None, skipped_because=running.id)
        sweep_id = await tx.start_sweep(started_at)
    metered = MeteredApi(api)
    try:
        inventory = await discover_inventory(store, metered)
    except Exception as error:  # the job's boundary: the sweep record says why it failed
        log.exception("sweep discovery failed", extra={"sweep_id": sweep_id})
        async with store.transaction() as tx:
            await tx.finish_sweep(
                sweep_id,
                SweepResult(
                    status=SweepStatus.FAILED,
                    requests_by_outcome=dict(metered.requests_by_outcome),
                    error=f"{type(error).__name__}: {error}",
                ),
            )
        return PlannedSweep(sweep_id=sweep_id, finished=True)
    discovery_error = "; ".join(inventory.troubles())
    repository_ids = [repository.id for repository in inventory.repositories]
    async with store.transaction() as tx:
        await tx.plan_sweep_repositories(
            sweep_id,
            repository_ids,
            metered.tally(changes_by_kind=inventory.changes_by_kind, error=discovery_error or None),
        )
        finished = await tx.finish_if_complete(sweep_id)  # nothing to sweep: done now
    planned = PlannedSweep(sweep_id, repository_ids, finished=finished is not None)
    for repository_id in repository_ids:
        try:
            if await queue.enqueue(
                SWEEP_REPOSITORY,
                sweep_id,
                repository_id,
                job_id=sweep_repository_job_id(sweep_id, repository_id),
            ):
                planned.enqueued += 1
        except QueueUnavailable as error:
            # The rows stay planned: recovery queues them again once the queue is back.
            log.warning(
                "could not queue a repository of the sweep",
                extra={"sweep_id": sweep_id, "repository_id": repository_id, "error": str(error)},
            )
    log.info(
        "sweep planned",
        extra={"sweep_id": sweep_id, "repositories": len(repository_ids)},
    )
    return planned


async def request_sweep(queue: JobQueue, *, now: Clock = utc_now) -> str | None:
    """Queue a sweep now, outside the schedule: the SWEEP job the schedule queues, under an id
    of its own. Returns that job id; None when an equal one was queued already. Whichever
    worker takes the job plans the sweep (``plan_sweep``), so it too is skipped while another
    sweep runs."""
    job_id = sweep_now_job_id(int(now().timestamp() * 1000))
    return job_id if await queue.enqueue(SWEEP, job_id=job_id) else None


async def latest_sweep_id(store: Store) -> int:
    """The id of the newest sweep recorded, 0 when there is none."""
    async with store.transaction(read_only=True) as tx:
        latest = await tx.recent_sweeps(limit=1)
    return latest[0].id if latest else 0


class SweepWaitTimeout(TimeoutError):
    """No sweep newer than the one named was finished in time."""


async def wait_for_sweep(
    store: Store,
    *,
    after_id: int,
    timeout_seconds: float,
    poll_seconds: float = 0.25,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> SweepRecord:
    """The first sweep with an id above ``after_id``, once it has finished (its last
    repository recorded, by whichever worker). Raises SweepWaitTimeout after the timeout."""
    deadline = clock() + timeout_seconds
    while True:
        async with store.transaction(read_only=True) as tx:
            recent = await tx.recent_sweeps(limit=20)
        newer = sorted((s for s in recent if s.id > after_id), key=lambda s: s.id)
        if newer and newer[0].finished_at is not None:
            return newer[0]
        if clock() >= deadline:
            state = f"sweep {newer[0].id} still running" if newer else "no sweep started"
            raise SweepWaitTimeout(f"{state} {timeout_seconds:.0f} s after sweep {after_id}")
        await sleep(poll_seconds)


async def sweep_planned_repository(
    store: Store,
    api: DistributedApi,
    sweep_id: int,
    repository_id: int,
    *,
    options: SweepOptions,
    now: Clock = utc_now,
    checks: SharedCheckQueries | None = None,
) -> SweepRepositoryRecorded:
    """Sweep one planned repository of a sweep and record it; nothing when it was recorded.

    ``checks`` is the process's: its jobs running at once share check queries (and the job
    that sends a shared query has its points in its tally)."""
    async with store.transaction(read_only=True) as tx:
        planned = await tx.get_sweep_repository(sweep_id, repository_id)
        repository = await tx.get_repository(repository_id)
    if planned is None:
        log.warning(
            "repository was not planned by this sweep",
            extra={"sweep_id": sweep_id, "repository_id": repository_id},
        )
        return SweepRepositoryRecorded(recorded=False)
    if planned.finished_at is not None:
        return SweepRepositoryRecorded(recorded=False)  # this job ran before
    metered = MeteredApi(api)
    swept_at = now()
    unchanged = False
    if repository is None or repository.removed:
        # Removed since it was planned (a webhook got there first): nothing left to sweep.
        ok, tally = True, metered.tally()
    else:
        outcome = await sweep_repository(
            store, metered, repository, options=options, now=swept_at, checks=checks
        )
        ok, tally = outcome.ok, _tally(metered, outcome)
        unchanged = outcome.ok and outcome.unchanged
    async with store.transaction() as tx:
        if unchanged:  # the job's one write transaction records it
            await tx.mark_swept([repository_id], swept_at)
        recorded = await tx.record_sweep_repository(sweep_id, repository_id, ok=ok, tally=tally)
    if recorded.finished is not None:
        log.info(
            "sweep finished",
            extra={"sweep_id": sweep_id, "status": recorded.finished.result.status.value},
        )
    return recorded


async def sweep_installation(
    store: Store,
    api: DistributedApi,
    installation_id: int,
    *,
    options: SweepOptions,
    now: Clock = utc_now,
) -> list[RepositoryOutcome]:
    """Sync the inventory and sweep one installation's repositories now (it was just created,
    or repositories were added to it)."""
    inventory = await discover_inventory(store, api)
    if installation_id in inventory.failed_installations:
        log.warning(
            "installation sweep could not list its repositories",
            extra={
                "installation_id": installation_id,
                "error": inventory.failed_installations[installation_id],
            },
        )
        return []
    repositories: list[RepositoryRecord] = [
        repository
        for repository in inventory.repositories
        if repository.installation_id == installation_id
    ]
    return await sweep_repositories(store, api, repositories, options=options, now=now())


def _tally(metered: MeteredApi, outcome: RepositoryOutcome) -> SweepTally:
    return metered.tally(
        prs_seen=outcome.prs_seen,
        changes_by_kind=outcome.changes_by_kind,
        error=outcome.error or skipped_summary(outcome.skipped),
    )


def skipped_summary(skipped: list[SkippedItem]) -> str | None:
    """What the sweep record keeps of the items a repository's sweep skipped (it still
    succeeded): how many, and the first reasons."""
    if not skipped:
        return None
    return f"skipped {len(skipped)} unreadable item(s): " + "; ".join(notes(skipped[:5]))[:1000]
