"""The apply path, shared by the sweep and the webhook jobs: load what is stored, write a change
set in bulk behind the fences."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    and_,
    bindparam,
    case,
    func,
    insert,
    or_,
    select,
)

from prwatch.domain.models import (
    Change,
    ChangeKind,
    ChangeSet,
    CheckRunSnapshot,
    PullRequestSnapshot,
    Source,
)
from prwatch.store.base import MAX_IN_LIST, TransactionBase, chunked
from prwatch.store.errors import InvalidStoreInput, RepositoryRemoved
from prwatch.store.rows import (
    check_run_from_row,
    check_run_values,
    encode_field_value,
    pull_request_from_row,
    pull_request_values,
)
from prwatch.store.schema import changes, check_runs, pull_requests

# PostgreSQL advisory lock keys. Repositories lock on their own (positive) GitHub id; the change
# log takes a key no GitHub id can have.
CHANGE_LOG_LOCK_KEY = -1

_PR_KEY = ("repository_id", "number")
_PR_KEPT_ON_UPDATE = {*_PR_KEY, "first_seen_at"}
_CHECK_RUN_KEPT_ON_UPDATE = {"id", "first_seen_at"}


def check_status_rank(status: ColumnElement[Any]) -> ColumnElement[int]:
    """The SQL twin of ``prwatch.domain.ordering.check_status_rank``: queued, waiting,
    requested and pending 0 < in_progress 1 < completed 2 (the store accepts no other status)."""
    return case((status == "completed", 2), (status == "in_progress", 1), else_=0)


class ApplyOperations(TransactionBase):
    async def lock_repository(self, repository_id: int) -> None:
        """Serialize applies to one repository until this transaction ends.

        PostgreSQL takes a transaction-scoped advisory lock; on SQLite every writing transaction
        already holds the database's write lock from BEGIN IMMEDIATE on. Lock every repository
        before ``write_change_set``: taking a repository lock while holding the change log lock
        could deadlock with another transaction.
        """
        if self._change_log_locked:
            raise InvalidStoreInput(
                "lock_repository after write_change_set in the same transaction: lock every "
                "repository first"
            )
        if self._dialect == "postgresql":
            await self._advisory_lock(repository_id)

    async def _advisory_lock(self, key: int) -> None:
        await self._connection.execute(
            select(func.pg_advisory_xact_lock(bindparam("key", key, type_=BigInteger)))
        )

    async def load_pull_requests(
        self, repository_id: int, numbers: Iterable[int] | None = None
    ) -> dict[int, PullRequestSnapshot]:
        """Stored (not tombstoned) pull requests by number: all of them, or those in ``numbers``."""
        base = select(pull_requests).where(
            pull_requests.c.repository_id == repository_id, pull_requests.c.removed_at.is_(None)
        )
        if numbers is None:
            return await self._load_pull_requests(base)
        found: dict[int, PullRequestSnapshot] = {}
        for chunk in chunked(sorted(set(numbers)), MAX_IN_LIST):
            found.update(
                await self._load_pull_requests(base.where(pull_requests.c.number.in_(chunk)))
            )
        return found

    async def load_open_pull_requests(self, repository_id: int) -> dict[int, PullRequestSnapshot]:
        return await self._load_pull_requests(
            select(pull_requests).where(
                pull_requests.c.repository_id == repository_id,
                pull_requests.c.state == "open",
                pull_requests.c.removed_at.is_(None),
            )
        )

    async def pull_request_numbers_by_head_sha(
        self, repository_id: int, head_shas: Iterable[str]
    ) -> dict[str, int]:
        """Which stored PR each head SHA belongs to (open ones win over closed ones), so that a
        check run finds its PR without an API call — also for PRs from forks."""
        found: dict[str, int] = {}
        for chunk in chunked(sorted(set(head_shas)), MAX_IN_LIST):
            result = await self._connection.execute(
                select(pull_requests.c.head_sha, pull_requests.c.number, pull_requests.c.state)
                .where(
                    pull_requests.c.repository_id == repository_id,
                    pull_requests.c.head_sha.in_(chunk),
                    pull_requests.c.removed_at.is_(None),
                )
                .order_by(pull_requests.c.number)
            )
            for sha, number, state in result:
                if sha not in found or state == "open":
                    found[sha] = number
        return found

    async def _load_pull_requests(self, statement: Any) -> dict[int, PullRequestSnapshot]:
        result = await self._connection.execute(statement)
        return {row.number: pull_request_from_row(row) for row in result}

    async def load_check_runs(
        self,
        repository_id: int,
        *,
        ids: Iterable[int] | None = None,
        head_shas: Iterable[str] | None = None,
    ) -> dict[int, CheckRunSnapshot]:
        """Stored check runs of a repository by id; ``ids`` and ``head_shas`` both narrow it."""
        base = select(check_runs).where(check_runs.c.repository_id == repository_id)
        found: dict[int, CheckRunSnapshot] = {}
        wanted_shas = None if head_shas is None else set(head_shas)
        if ids is not None:
            for chunk in chunked(sorted(set(ids)), MAX_IN_LIST):
                result = await self._connection.execute(base.where(check_runs.c.id.in_(chunk)))
                found.update({row.id: check_run_from_row(row) for row in result})
            if wanted_shas is not None:
                found = {i: run for i, run in found.items() if run.head_sha in wanted_shas}
            return found
        if wanted_shas is None:
            result = await self._connection.execute(base)
            return {row.id: check_run_from_row(row) for row in result}
        for sha_chunk in chunked(sorted(wanted_shas), MAX_IN_LIST):
            result = await self._connection.execute(
                base.where(check_runs.c.head_sha.in_(sha_chunk))
            )
            found.update({row.id: check_run_from_row(row) for row in result})
        return found

    async def write_change_set(
        self,
        change_set: ChangeSet,
        *,
        source: Source,
        delivery_id: str | None = None,
        installation_id: int | None = None,
    ) -> list[int]:
        """Upsert the change set's rows behind the fences and append its changes to the log.

        One multi-row statement per table (chunked under the bound-parameter limits) and one
        executemany for the log. A change without an installation id gets ``installation_id``,
        else its repository's. Returns the new log entries' cursors, in the changes' order.
        Raises ``UnknownRepository``/``UnknownInstallation`` for ids not stored and
        ``RepositoryRemoved`` for rows of a removed repository; nothing is written then.
        """
        source = Source(source)
        if not change_set:
            return []
        _reject_duplicates(change_set)
        row_repository_ids = {pr.repository_id for pr in change_set.pull_requests} | {
            run.repository_id for run in change_set.check_runs
        }
        change_repository_ids = {
            c.repository_id for c in change_set.changes if c.repository_id is not None
        }
        repositories = await self._require_repositories(row_repository_ids | change_repository_ids)
        if removed := {i for i in row_repository_ids if repositories[i][1] is not None}:
            raise RepositoryRemoved(removed)
        now = self._clock()
        await self._upsert_pull_requests(change_set.pull_requests, now=now, source=source)
        await self._upsert_check_runs(change_set.check_runs, now=now, source=source)
        if not change_set.changes:
            return []
        log_rows = [
            _log_values(
                change,
                installation_id=_installation_of(change, installation_id, repositories),
                now=now,
                source=source,
                delivery_id=delivery_id,
            )
            for change in change_set.changes
        ]
        await self._require_installations(
            row["installation_id"] for row in log_rows if row["installation_id"] is not None
        )
        return await self._append_to_log(log_rows)

    async def _upsert_pull_requests(
        self, snapshots: tuple[PullRequestSnapshot, ...], *, now: datetime, source: Source
    ) -> None:
        if not snapshots:
            return
        statement = self._insert(pull_requests)
        new = statement.excluded
        upsert = statement.on_conflict_do_update(
            index_elements=list(_PR_KEY),
            set_={
                column.name: new[column.name]
                for column in pull_requests.columns
                if column.name not in _PR_KEPT_ON_UPDATE
            },
            # Fence: never go back to an older snapshot; an equal one is applied. A tombstone
            # gives way to any live snapshot (its repository came back).
            where=or_(
                new.updated_at >= pull_requests.c.updated_at,
                pull_requests.c.removed_at.is_not(None),
            ),
        )
        rows = [pull_request_values(pr, now=now, source=source) for pr in snapshots]
        await self._execute_bulk(upsert.returning(pull_requests.c.number), rows)

    async def _upsert_check_runs(
        self, snapshots: tuple[CheckRunSnapshot, ...], *, now: datetime, source: Source
    ) -> None:
        if not snapshots:
            return
        statement = self._insert(check_runs)
        new = statement.excluded
        new_rank = check_status_rank(new.status)
        old_rank = check_status_rank(check_runs.c.status)
        upsert = statement.on_conflict_do_update(
            index_elements=["id"],
            set_={
                column.name: new[column.name]
                for column in check_runs.columns
                if column.name not in _CHECK_RUN_KEPT_ON_UPDATE
            },
            # Fence: a check run never goes backwards in status; between two completed snapshots
            # the later completion wins, and an unknown completion time never beats a known one.
            where=or_(
                new_rank > old_rank,
                and_(
                    new_rank == old_rank,
                    or_(
                        new_rank < 2,
                        check_runs.c.completed_at.is_(None),
                        new.completed_at >= check_runs.c.completed_at,
                    ),
                ),
            ),
        )
        rows = [check_run_values(run, now=now, source=source) for run in snapshots]
        await self._execute_bulk(upsert.returning(check_runs.c.id), rows)

    async def _append_to_log(self, rows: list[dict[str, Any]]) -> list[int]:
        if self._dialect == "postgresql" and not self._change_log_locked:
            # Identity values are handed out at INSERT but become visible at COMMIT: without
            # this lock a reader could see cursor 11 committed before cursor 10, move past 10
            # and never see it. Holding the lock until commit makes cursors appear in order.
            await self._advisory_lock(CHANGE_LOG_LOCK_KEY)
        self._change_log_locked = True
        result = await self._execute_bulk(insert(changes).returning(changes.c.id), rows)
        # One multi-row INSERT hands out identities in row order, so ascending cursors follow
        # the changes' order. (Asking SQLAlchemy to guarantee that order makes it insert row
        # by row on SQLite.)
        return sorted(result.scalars())


def _reject_duplicates(change_set: ChangeSet) -> None:
    seen_prs: set[tuple[int, int]] = set()
    for pr in change_set.pull_requests:
        key = (pr.repository_id, pr.number)
        if key in seen_prs:
            raise InvalidStoreInput(
                f"pull request {pr.repository_id}#{pr.number} appears twice in one change set"
            )
        seen_prs.add(key)
    seen_runs: set[int] = set()
    for run in change_set.check_runs:
        if run.id in seen_runs:
            raise InvalidStoreInput(f"check run {run.id} appears twice in one change set")
        seen_runs.add(run.id)


def _installation_of(
    change: Change,
    default: int | None,
    repositories: dict[int, tuple[int, datetime | None]],
) -> int | None:
    if change.installation_id is not None:
        return change.installation_id
    if default is not None:
        return default
    if change.repository_id is not None:
        return repositories[change.repository_id][0]
    return None


def _log_values(
    change: Change,
    *,
    installation_id: int | None,
    now: datetime,
    source: Source,
    delivery_id: str | None,
) -> dict[str, Any]:
    return {
        "kind": ChangeKind(change.kind).value,
        "installation_id": installation_id,
        "repository_id": change.repository_id,
        "pr_number": change.pr_number,
        "check_run_id": change.check_run_id,
        "field": change.field,
        "old_value": encode_field_value(change.old),
        "new_value": encode_field_value(change.new),
        "detected_at": now,
        "source": source.value,
        "delivery_id": delivery_id,
    }
