"""Distributed sweeps: the repositories a sweep planned, each one's outcome, and the finish.

A sweep started by one worker is shared by many: one row per planned repository, recorded
exactly once by whichever worker swept it. Recording locks the sweep row first, so that of two
workers recording the last two repositories at once exactly one sees none left and finishes the
sweep from the rows.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Row, and_, func, select, update

from prwatch.store.base import MAX_IN_LIST, TransactionBase, chunked
from prwatch.store.errors import InvalidStoreInput, UnknownSweep
from prwatch.store.records import SweepRecord, SweepResult, SweepStatus
from prwatch.store.rows import sweep_from_row, sweep_result_values
from prwatch.store.schema import sweep_repositories, sweeps


class SweepRepositoryStatus(StrEnum):
    PLANNED = "planned"  # queued, not recorded yet
    OK = "ok"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class SweepTally:
    """What one piece of a sweep found and cost: one repository, or the discovery before."""

    prs_seen: int = 0
    changes_by_kind: Mapping[str, int] = field(default_factory=dict)
    requests_by_outcome: Mapping[str, int] = field(default_factory=dict)
    points_spent_core: int = 0
    points_spent_graphql: int = 0
    error: str | None = None


@dataclass(frozen=True, slots=True)
class SweepRepositoryRecord:
    sweep_id: int
    repository_id: int
    status: SweepRepositoryStatus
    tally: SweepTally
    planned_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True, slots=True)
class SweepRepositoryRecorded:
    """``recorded`` is False when the row was recorded before (the job ran twice);
    ``finished`` is the sweep's record when this call finished the sweep."""

    recorded: bool
    finished: SweepRecord | None = None


class SweepJobOperations(TransactionBase):
    async def running_sweep(self, *, started_after: datetime) -> SweepRecord | None:
        """The newest sweep still running that started after ``started_after`` (older ones are
        taken for dead: their worker never finished them)."""
        result = await self._connection.execute(
            select(sweeps)
            .where(
                sweeps.c.status == SweepStatus.RUNNING.value, sweeps.c.started_at > started_after
            )
            .order_by(sweeps.c.id.desc())
            .limit(1)
        )
        row = result.first()
        return None if row is None else sweep_from_row(row)

    async def plan_sweep_repositories(
        self, sweep_id: int, repository_ids: Iterable[int], discovery: SweepTally
    ) -> int:
        """Record what a running sweep will sweep and what its discovery found and cost.
        Returns the number of repositories planned (a repository is planned once per sweep)."""
        await self._lock_running_sweep(sweep_id)
        await self._connection.execute(
            update(sweeps).where(sweeps.c.id == sweep_id).values(_tally_values(discovery))
        )
        wanted = sorted(set(repository_ids))
        await self._require_repositories(wanted)
        if not wanted:
            return 0
        now = self._clock()
        rows: list[dict[str, Any]] = [
            {
                "sweep_id": sweep_id,
                "repository_id": repository_id,
                "status": SweepRepositoryStatus.PLANNED.value,
                "prs_seen": 0,
                "changes": {},
                "requests_by_outcome": {},
                "points_spent_core": 0,
                "points_spent_graphql": 0,
                "error": None,
                "planned_at": now,
                "finished_at": None,
            }
            for repository_id in wanted
        ]
        statement = (
            self._insert(sweep_repositories)
            .on_conflict_do_nothing(index_elements=["sweep_id", "repository_id"])
            .returning(sweep_repositories.c.repository_id)
        )
        inserted = 0
        for chunk in chunked(rows, MAX_IN_LIST):
            inserted += len((await self._execute_bulk(statement, chunk)).all())
        return inserted

    async def get_sweep_repository(
        self, sweep_id: int, repository_id: int
    ) -> SweepRepositoryRecord | None:
        result = await self._connection.execute(
            select(sweep_repositories).where(
                sweep_repositories.c.sweep_id == sweep_id,
                sweep_repositories.c.repository_id == repository_id,
            )
        )
        row = result.first()
        return None if row is None else _record_from_row(row)

    async def list_sweep_repositories(self, sweep_id: int) -> list[SweepRepositoryRecord]:
        result = await self._connection.execute(
            select(sweep_repositories)
            .where(sweep_repositories.c.sweep_id == sweep_id)
            .order_by(sweep_repositories.c.repository_id)
        )
        return [_record_from_row(row) for row in result]

    async def record_sweep_repository(
        self, sweep_id: int, repository_id: int, *, ok: bool, tally: SweepTally
    ) -> SweepRepositoryRecorded:
        """Record a planned repository's outcome, once; finish the sweep after its last one."""
        if tally.prs_seen < 0 or tally.points_spent_core < 0 or tally.points_spent_graphql < 0:
            raise InvalidStoreInput("a sweep tally cannot hold negative counts")
        status = SweepRepositoryStatus.OK if ok else SweepRepositoryStatus.FAILED
        await self._lock_sweep(sweep_id)
        values = _tally_values(tally)
        result = await self._connection.execute(
            update(sweep_repositories)
            .where(
                sweep_repositories.c.sweep_id == sweep_id,
                sweep_repositories.c.repository_id == repository_id,
                sweep_repositories.c.status == SweepRepositoryStatus.PLANNED.value,
            )
            .values(
                status=status.value,
                prs_seen=tally.prs_seen,
                changes=values["changes_by_kind"],
                requests_by_outcome=values["requests_by_outcome"],
                points_spent_core=tally.points_spent_core,
                points_spent_graphql=tally.points_spent_graphql,
                error=tally.error,
                finished_at=self._clock(),
            )
        )
        if result.rowcount == 0:
            return SweepRepositoryRecorded(recorded=False)
        return SweepRepositoryRecorded(
            recorded=True, finished=await self.finish_if_complete(sweep_id)
        )

    async def finish_if_complete(self, sweep_id: int) -> SweepRecord | None:
        """Finish a running sweep none of whose repositories is still planned; its totals are
        the discovery's plus every repository's. None when it is not complete (or not running).
        The caller holds the sweep's lock (``record_sweep_repository`` takes it)."""
        current = await self._connection.execute(select(sweeps).where(sweeps.c.id == sweep_id))
        row = current.first()
        if row is None:
            raise UnknownSweep(sweep_id)
        if row.status != SweepStatus.RUNNING.value:
            return None
        planned = await self._connection.execute(
            select(func.count())
            .select_from(sweep_repositories)
            .where(
                sweep_repositories.c.sweep_id == sweep_id,
                sweep_repositories.c.status == SweepRepositoryStatus.PLANNED.value,
            )
        )
        if int(planned.scalar_one()) > 0:
            return None
        records = await self.list_sweep_repositories(sweep_id)
        return await self._finish(sweep_id, row, records)

    async def stale_sweep_repositories(
        self, older_than: datetime, limit: int = 100
    ) -> list[tuple[int, int]]:
        """(sweep_id, repository_id) planned before ``older_than`` in sweeps still running and
        never recorded: their job was lost, to enqueue again."""
        if limit <= 0:
            raise InvalidStoreInput(f"limit must be positive, got {limit}")
        result = await self._connection.execute(
            select(sweep_repositories.c.sweep_id, sweep_repositories.c.repository_id)
            .join(sweeps, sweeps.c.id == sweep_repositories.c.sweep_id)
            .where(
                and_(
                    sweep_repositories.c.status == SweepRepositoryStatus.PLANNED.value,
                    sweep_repositories.c.planned_at < older_than,
                    sweeps.c.status == SweepStatus.RUNNING.value,
                )
            )
            .order_by(sweep_repositories.c.planned_at, sweep_repositories.c.sweep_id)
            .limit(limit)
        )
        return [(int(sweep_id), int(repository_id)) for sweep_id, repository_id in result]

    async def _finish(
        self, sweep_id: int, row: Row[Any], records: list[SweepRepositoryRecord]
    ) -> SweepRecord:
        changes: Counter[str] = Counter(dict(row.changes_by_kind))
        requests: Counter[str] = Counter(dict(row.requests_by_outcome))
        core, graphql = int(row.points_spent_core), int(row.points_spent_graphql)
        for record in records:
            changes.update(record.tally.changes_by_kind)
            requests.update(record.tally.requests_by_outcome)
            core += record.tally.points_spent_core
            graphql += record.tally.points_spent_graphql
        failed = [r for r in records if r.status is SweepRepositoryStatus.FAILED]
        discovery_error: str | None = row.error
        status = SweepStatus.OK if not failed and not discovery_error else SweepStatus.PARTIAL
        now = self._clock()
        result = SweepResult(
            status=status,
            repositories_total=len(records),
            repositories_ok=len(records) - len(failed),
            repositories_failed=len(failed),
            prs_seen=sum(r.tally.prs_seen for r in records),
            changes_by_kind=dict(changes),
            requests_by_outcome=dict(requests),
            points_spent_core=core,
            points_spent_graphql=graphql,
            rate_limit_remaining=row.rate_limit_remaining,
            error=discovery_error,
        )
        updated = await self._connection.execute(
            update(sweeps)
            .where(sweeps.c.id == sweep_id)
            .values(
                finished_at=now,
                duration_seconds=max(0.0, (now - row.started_at).total_seconds()),
                **sweep_result_values(result),
            )
            .returning(*sweeps.c)
        )
        return sweep_from_row(updated.one())

    async def _lock_sweep(self, sweep_id: int) -> None:
        """Serialize the recorders of one sweep (SQLite's write transactions already are)."""
        result = await self._connection.execute(
            select(sweeps.c.id).where(sweeps.c.id == sweep_id).with_for_update()
        )
        if result.first() is None:
            raise UnknownSweep(sweep_id)

    async def _lock_running_sweep(self, sweep_id: int) -> None:
        result = await self._connection.execute(
            select(sweeps.c.status).where(sweeps.c.id == sweep_id).with_for_update()
        )
        status = result.scalar_one_or_none()
        if status is None:
            raise UnknownSweep(sweep_id)
        if status != SweepStatus.RUNNING.value:
            raise InvalidStoreInput(f"sweep {sweep_id} is {status}: only a running one is planned")


def _tally_values(tally: SweepTally) -> dict[str, Any]:
    values = sweep_result_values(
        SweepResult(
            status=SweepStatus.RUNNING,
            prs_seen=tally.prs_seen,
            changes_by_kind=tally.changes_by_kind,
            requests_by_outcome=tally.requests_by_outcome,
            points_spent_core=tally.points_spent_core,
            points_spent_graphql=tally.points_spent_graphql,
            error=tally.error,
        )
    )
    return {
        key: values[key]
        for key in (
            "changes_by_kind",
            "requests_by_outcome",
            "points_spent_core",
            "points_spent_graphql",
            "error",
        )
    }


def _record_from_row(row: Row[Any]) -> SweepRepositoryRecord:
    return SweepRepositoryRecord(
        sweep_id=int(row.sweep_id),
        repository_id=int(row.repository_id),
        status=SweepRepositoryStatus(row.status),
        tally=SweepTally(
            prs_seen=row.prs_seen,
            changes_by_kind=dict(row.changes),
            requests_by_outcome=dict(row.requests_by_outcome),
            points_spent_core=row.points_spent_core,
            points_spent_graphql=row.points_spent_graphql,
            error=row.error,
        ),
        planned_at=row.planned_at,
        finished_at=row.finished_at,
    )
