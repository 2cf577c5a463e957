"""The apply path, shared by the sweep and the webhook jobs: load what is stored, write a change
set in bulk behind the fences."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    DateTime,
    and_,
    bindparam,
    case,
    func,
    insert,
    or_,
    select,
    text,
    type_coerce,
)

from prwatch.domain.check_runs import CheckRunRow
from prwatch.domain.models import (
    Change,
    ChangeKind,
    ChangeSet,
    CheckRunSnapshot,
    CommitStatusSnapshot,
    PullRequestSnapshot,
    Source,
)
from prwatch.store.base import MAX_IN_LIST, DeferredWrites, chunked
from prwatch.store.change_signal import CHANGES_CHANNEL
from prwatch.store.errors import InvalidStoreInput, RepositoryRemoved
from prwatch.store.read_ahead import ReadAhead
from prwatch.store.reviews import ReviewOperations
from prwatch.store.rows import (
    check_run_from_row,
    check_run_values,
    commit_status_values,
    encode_field_value,
    pull_request_from_row,
    pull_request_values,
    review_values,
    signal_values,
)
from prwatch.store.schema import changes, check_runs, pull_requests
from prwatch.store.statuses import StatusOperations

# PostgreSQL advisory lock keys. Repositories lock on their own (positive) GitHub id; the change
# log takes a key no GitHub id can have.
CHANGE_LOG_LOCK_KEY = -1
NOTIFY_CHANGES = text(f"NOTIFY {CHANGES_CHANNEL}")

_PR_KEY = ("repository_id", "number")
_PR_KEPT_ON_UPDATE = {*_PR_KEY, "first_seen_at"}
_CHECK_RUN_KEPT_ON_UPDATE = {"id", "first_seen_at"}
# Statements built once per (dialect, name); see ``ApplyOperations._statement``.
_STATEMENTS: dict[tuple[str, str], Any] = {}


# The columns of a check run, in ``CheckRunRow``'s order.
_CHECK_RUN_ROW_COLUMNS = (
    check_runs.c.id,
    check_runs.c.repository_id,
    check_runs.c.head_sha,
    check_runs.c.name,
    check_runs.c.status,
    check_runs.c.conclusion,
    check_runs.c.started_at,
    check_runs.c.completed_at,
    check_runs.c.app_slug,
    check_runs.c.check_suite_id,
)


# The same columns for a comparison with observed rows: the times without ``UTCDateTime``'s
# per-value conversion, which was most of a no-change sweep's comparison (a repository's
# ~1,000 stored times); ``_stored_form`` brings the observed times to the stored form instead.
_CHECK_RUN_COMPARED_COLUMNS = tuple(
    type_coerce(column, DateTime(timezone=True)) if column.name.endswith("_at") else column
    for column in _CHECK_RUN_ROW_COLUMNS
)


def check_status_rank(status: ColumnElement[Any]) -> ColumnElement[int]:
    """The SQL twin of ``prwatch.domain.ordering.check_status_rank``: queued, waiting,
    requested and pending 0 < in_progress 1 < completed 2 (the store accepts no other status)."""
    return case((status == "completed", 2), (status == "in_progress", 1), else_=0)


class ApplyOperations(StatusOperations, ReviewOperations):
    async def lock_repository(self, repository_id: int) -> None:
        """Serialize applies to one repository until this transaction ends.

        PostgreSQL takes a transaction-scoped advisory lock; on SQLite every writing transaction
        already holds the database's write lock from BEGIN IMMEDIATE on. Lock every repository
        before ``write_change_set``: taking a repository lock while holding the change log lock
        could deadlock with another transaction. Locking a repository this transaction already
        locked is a no-op (the lock holds until the transaction ends), also after a write: a
        transaction applying several observations locks all their repositories first.
        """
        if repository_id in self._locked_repositories:
            return
        if self._change_log_locked:
            raise InvalidStoreInput(
                "lock_repository after write_change_set in the same transaction: lock every "
                "repository first"
            )
        if self._dialect == "postgresql":
            await self._advisory_lock(repository_id)
        self._locked_repositories.add(repository_id)

    async def _advisory_lock(self, key: int) -> None:
        await self._connection.execute(
            select(func.pg_advisory_xact_lock(bindparam("key", key, type_=BigInteger)))
        )

    async def prefetch_pull_requests(self, repository_id: int, numbers: Iterable[int]) -> None:
        """Read the stored pull requests ``numbers`` of a repository the transaction has locked,
        in one query, for the ``load_pull_requests`` calls that follow (a batch of deliveries
        applied one by one). What the transaction writes of them is read afresh."""
        if repository_id not in self._locked_repositories:
            raise InvalidStoreInput(f"prefetch of repository {repository_id} without its lock")
        wanted = set(numbers)
        found = await self.load_pull_requests(repository_id, wanted)
        for number in wanted:
            self._prefetched_pull_requests[(repository_id, number)] = found.get(number)

    async def read_ahead(
        self,
        repository_id: int,
        *,
        numbers: Iterable[int] = (),
        head_shas: Iterable[str] = (),
        check_run_ids: Iterable[int] = (),
        check_shas: Iterable[str] = (),
    ) -> None:
        """Read, in a few queries, what applying a batch's deliveries one by one loads of a
        repository the transaction has locked: the pull requests ``numbers``, their heads
        ``head_shas`` and their signals; the check runs ``check_run_ids``; and of the commits
        ``check_shas`` (of check runs and statuses) the PR whose head each is and its signal;
        of every commit its check runs and statuses (``prwatch.store.read_ahead``)."""
        numbers, ids, checked = set(numbers), set(check_run_ids), set(check_shas)
        shas = set(head_shas) | checked
        await self.prefetch_pull_requests(repository_id, numbers)
        self._read_ahead.pop(repository_id, None)  # the reads below go to the database
        runs = await self.load_check_runs(repository_id, head_shas=shas)
        runs.update(await self.load_check_runs(repository_id, ids=ids - runs.keys()))
        statuses = await self.load_commit_statuses(repository_id, shas)
        heads = await self.pull_request_numbers_by_head_sha(repository_id, checked)
        signal_numbers = numbers | set(heads.values())
        signals = await self.load_signals(repository_id, signal_numbers)
        read_ahead = ReadAhead()
        read_ahead.cover_check_runs(ids, shas, runs.values())
        read_ahead.cover_statuses(shas, statuses.values())
        read_ahead.cover_heads(checked, heads)
        read_ahead.cover_signals(signal_numbers, signals.values())
        self._read_ahead[repository_id] = read_ahead

    async def load_pull_requests(
        self, repository_id: int, numbers: Iterable[int] | None = None
    ) -> dict[int, PullRequestSnapshot]:
        """Stored (not tombstoned) pull requests by number: all of them, or those in ``numbers``."""
        if numbers is not None:
            numbers = set(numbers)
            prefetched = self._prefetched_pull_requests
            if prefetched and all((repository_id, number) in prefetched for number in numbers):
                return {
                    number: pr
                    for number in numbers
                    if (pr := prefetched[(repository_id, number)]) is not None
                }
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

    async def load_open_heads(self, repository_id: int) -> dict[int, tuple[str, datetime]]:
        """The stored open pull requests' ``(head_sha, updated_at)`` by number: what a sweep
        needs of them to know which heads to verify, without building their snapshots."""
        await self._flush_writes()
        result = await self._connection.execute(
            select(
                pull_requests.c.number, pull_requests.c.head_sha, pull_requests.c.updated_at
            ).where(
                pull_requests.c.repository_id == repository_id,
                pull_requests.c.state == "open",
                pull_requests.c.merged.is_(False),
                pull_requests.c.removed_at.is_(None),
            )
        )
        return {number: (head_sha, updated_at) for number, head_sha, updated_at in result}

    async def pull_request_numbers_by_head_sha(
        self, repository_id: int, head_shas: Iterable[str]
    ) -> dict[str, int]:
        """Which stored PR each head SHA belongs to (open ones win over closed ones), so that a
        check run finds its PR without an API call — also for PRs from forks."""
        shas = set(head_shas)
        if not shas:
            return {}
        read_ahead = self._read_ahead.get(repository_id)
        if (
            read_ahead is not None
            and (known := read_ahead.pull_request_numbers_by_head_sha(shas)) is not None
        ):
            return known
        await self._flush_writes()
        found: dict[str, int] = {}
        for chunk in chunked(sorted(shas), MAX_IN_LIST):
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
        await self._flush_writes()
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
        wanted_ids = None if ids is None else set(ids)
        wanted_shas = None if head_shas is None else set(head_shas)
        if wanted_ids == set() or wanted_shas == set():  # nothing asked: no query
            return {}
        read_ahead = self._read_ahead.get(repository_id)
        if (
            read_ahead is not None
            and (known := read_ahead.load_check_runs(wanted_ids, wanted_shas)) is not None
        ):
            return known
        await self._flush_writes()
        base = select(check_runs).where(check_runs.c.repository_id == repository_id)
        found: dict[int, CheckRunSnapshot] = {}
        if wanted_ids is not None:
            for chunk in chunked(sorted(wanted_ids), MAX_IN_LIST):
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

    async def check_runs_stored_as(
        self, repository_id: int, observed: Sequence[CheckRunRow]
    ) -> bool:
        """Whether every observed check run is stored exactly as observed, so that applying
        them would write nothing. One lean query by head SHA (a repository's open heads are
        far fewer than their check runs), rows compared as tuples, no snapshot built."""
        if not observed:
            return True
        await self._flush_writes()
        stored: dict[int, tuple[Any, ...]] = {}
        for chunk in chunked(sorted({run.head_sha for run in observed}), MAX_IN_LIST):
            result = await self._connection.execute(
                select(*_CHECK_RUN_COMPARED_COLUMNS).where(
                    check_runs.c.repository_id == repository_id,
                    check_runs.c.head_sha.in_(chunk),
                )
            )
            stored.update((row[0], tuple(row)) for row in result)
        if self._dialect != "sqlite":  # timestamptz comes back aware: equal instants compare equal
            return all(stored.get(run[0]) == run for run in observed)
        return all(stored.get(run[0]) == _stored_form(run) for run in observed)

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
        row_repository_ids = (
            {pr.repository_id for pr in change_set.pull_requests}
            | {run.repository_id for run in change_set.check_runs}
            | {status.repository_id for status in change_set.commit_statuses}
            | {review.repository_id for review in change_set.reviews}
            | {signal.repository_id for signal in change_set.signals}
        )
        change_repository_ids = {
            c.repository_id for c in change_set.changes if c.repository_id is not None
        }
        repositories = await self._require_repositories(row_repository_ids | change_repository_ids)
        if removed := {i for i in row_repository_ids if repositories[i][1] is not None}:
            raise RepositoryRemoved(removed)
        for repository_id, read_ahead in self._read_ahead.items():
            read_ahead.written(repository_id, change_set)
        now = self._clock()
        if self._deferred is not None:
            return await self._defer_change_set(
                change_set, repositories, now=now, source=source, delivery_id=delivery_id,
                installation_id=installation_id,
            )  # fmt: skip
        await self._upsert_pull_requests(change_set.pull_requests, now=now, source=source)
        await self._upsert_check_runs(change_set.check_runs, now=now, source=source)
        await self._upsert_commit_statuses(change_set.commit_statuses, now=now, source=source)
        if change_set.reviews:
            upsert = self._statement("upsert reviews", self._build_review_upsert)
            rows = [review_values(review, now=now, source=source) for review in change_set.reviews]
            await self._execute_bulk(upsert, rows)
        if change_set.signals:
            upsert = self._statement("upsert signals", self._build_signal_upsert)
            await self._execute_bulk(
                upsert, [signal_values(s, now=now) for s in change_set.signals]
            )
        if not change_set.changes:
            return []
        log_rows = await self._log_rows(
            change_set.changes, repositories, now=now, source=source,
            delivery_id=delivery_id, installation_id=installation_id,
        )  # fmt: skip
        return await self._append_to_log(log_rows)

    async def _log_rows(
        self,
        changes: Sequence[Change],
        repositories: dict[int, tuple[int, datetime | None]],
        *,
        now: datetime,
        source: Source,
        delivery_id: str | None,
        installation_id: int | None,
    ) -> list[dict[str, Any]]:
        """The change-log rows of ``changes``, once their installations are known to exist."""
        log_rows = [
            _log_values(
                change,
                installation_id=_installation_of(change, installation_id, repositories),
                now=now,
                source=source,
                delivery_id=delivery_id,
            )
            for change in changes
        ]
        await self._require_installations(
            row["installation_id"] for row in log_rows if row["installation_id"] is not None
        )
        return log_rows

    @asynccontextmanager
    async def deferred_writes(self) -> AsyncIterator[None]:
        """Within the block, ``write_change_set`` checks what it is given (the same errors, at
        the same call) but holds its rows back, and returns no cursors; they are sent together,
        one multi-row statement per table, when the block ends — or earlier, before anything
        reads those tables or writes a row already held back, so that every read sees every
        write before it. For a batch of deliveries applied one by one: a few statements for
        the batch instead of a few per delivery, and on PostgreSQL the change-log lock taken
        at the end of the transaction instead of at its first delivery."""
        if self._deferred is not None:
            raise InvalidStoreInput("deferred_writes blocks do not nest")
        self._deferred = DeferredWrites()
        try:
            yield
            await self._flush_writes()
        finally:
            self._deferred = None

    async def _defer_change_set(
        self,
        change_set: ChangeSet,
        repositories: dict[int, tuple[int, datetime | None]],
        *,
        now: datetime,
        source: Source,
        delivery_id: str | None,
        installation_id: int | None,
    ) -> list[int]:
        held = self._deferred
        assert held is not None
        log_rows = await self._log_rows(
            change_set.changes, repositories, now=now, source=source,
            delivery_id=delivery_id, installation_id=installation_id,
        )  # fmt: skip
        again = any(
            (pr.repository_id, pr.number) in held.pull_requests for pr in change_set.pull_requests
        )
        again = again or any(run.id in held.check_runs for run in change_set.check_runs)
        again = again or any(
            _status_row_key(status) in held.commit_statuses for status in change_set.commit_statuses
        )
        again = again or any(review.id in held.reviews for review in change_set.reviews)
        again = again or any(
            (signal.repository_id, signal.number) in held.signals for signal in change_set.signals
        )
        if again:  # one statement cannot upsert a row twice: send the first one now
            await self._flush_writes()
            held = self._deferred  # a fresh one
            assert held is not None
        for pr in change_set.pull_requests:
            key = (pr.repository_id, pr.number)
            self._prefetched_pull_requests.pop(key, None)
            held.pull_requests[key] = pull_request_values(pr, now=now, source=source)
        for run in change_set.check_runs:
            held.check_runs[run.id] = check_run_values(run, now=now, source=source)
        for status in change_set.commit_statuses:
            held.commit_statuses[_status_row_key(status)] = commit_status_values(
                status, now=now, source=source
            )
        for review in change_set.reviews:
            held.reviews[review.id] = review_values(review, now=now, source=source)
        for signal in change_set.signals:
            held.signals[(signal.repository_id, signal.number)] = signal_values(signal, now=now)
        held.log += log_rows
        return []

    async def _flush_writes(self) -> None:
        held = self._deferred
        if not held:
            return
        assert held is not None
        self._deferred = DeferredWrites()
        if held.pull_requests:
            upsert = self._statement("upsert pull_requests", self._build_pull_request_upsert)
            await self._execute_bulk(upsert, list(held.pull_requests.values()))
        if held.check_runs:
            upsert = self._statement("upsert check_runs", self._build_check_run_upsert)
            await self._execute_bulk(upsert, list(held.check_runs.values()))
        if held.commit_statuses:
            upsert = self._statement("upsert commit_statuses", self._build_commit_status_upsert)
            await self._execute_bulk(upsert, list(held.commit_statuses.values()))
        if held.reviews:
            upsert = self._statement("upsert reviews", self._build_review_upsert)
            await self._execute_bulk(upsert, list(held.reviews.values()))
        if held.signals:
            upsert = self._statement("upsert signals", self._build_signal_upsert)
            await self._execute_bulk(upsert, list(held.signals.values()))
        if held.log:
            await self._append_to_log(held.log)

    async def _upsert_pull_requests(
        self, snapshots: tuple[PullRequestSnapshot, ...], *, now: datetime, source: Source
    ) -> None:
        if not snapshots:
            return
        for pr in snapshots:  # whether the fence let it through or not, read it again
            self._prefetched_pull_requests.pop((pr.repository_id, pr.number), None)
        upsert = self._statement("upsert pull_requests", self._build_pull_request_upsert)
        rows = [pull_request_values(pr, now=now, source=source) for pr in snapshots]
        await self._execute_bulk(upsert, rows)

    async def _upsert_check_runs(
        self, snapshots: tuple[CheckRunSnapshot, ...], *, now: datetime, source: Source
    ) -> None:
        if not snapshots:
            return
        upsert = self._statement("upsert check_runs", self._build_check_run_upsert)
        rows = [check_run_values(run, now=now, source=source) for run in snapshots]
        await self._execute_bulk(upsert, rows)

    async def _upsert_commit_statuses(
        self, snapshots: tuple[CommitStatusSnapshot, ...], *, now: datetime, source: Source
    ) -> None:
        if not snapshots:
            return
        upsert = self._statement("upsert commit_statuses", self._build_commit_status_upsert)
        rows = [commit_status_values(status, now=now, source=source) for status in snapshots]
        await self._execute_bulk(upsert, rows)

    def _build_pull_request_upsert(self) -> Any:
        statement = self._insert(pull_requests)
        new = statement.excluded
        return statement.on_conflict_do_update(
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
        ).returning(pull_requests.c.number)

    def _build_check_run_upsert(self) -> Any:
        statement = self._insert(check_runs)
        new = statement.excluded
        new_rank = check_status_rank(new.status)
        old_rank = check_status_rank(check_runs.c.status)
        return statement.on_conflict_do_update(
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
        ).returning(check_runs.c.id)

    def _statement(self, name: str, build: Callable[[], Any]) -> Any:
        """The statement ``build`` makes, built once per dialect: building an upsert (its
        EXCLUDED columns, its fence) costs more than running it for one row."""
        key = (self._dialect, name)
        statement = _STATEMENTS.get(key)
        if statement is None:
            statement = _STATEMENTS[key] = build()
        return statement

    async def _append_to_log(self, rows: list[dict[str, Any]]) -> list[int]:
        if self._dialect == "postgresql" and not self._change_log_locked:
            # Identity values are handed out at INSERT but become visible at COMMIT: without
            # this lock a reader could see cursor 11 committed before cursor 10, move past 10
            # and never see it. Holding the lock until commit makes cursors appear in order.
            await self._advisory_lock(CHANGE_LOG_LOCK_KEY)
            # Delivered at COMMIT, and only then: a listener woken by it finds the new rows.
            await self._connection.execute(NOTIFY_CHANGES)
        self._change_log_locked = True
        result = await self._execute_bulk(insert(changes).returning(changes.c.id), rows)
        # One multi-row INSERT hands out identities in row order, so ascending cursors follow
        # the changes' order. (Asking SQLAlchemy to guarantee that order makes it insert row
        # by row on SQLite.)
        return sorted(result.scalars())


def _stored_form(run: CheckRunRow) -> tuple[Any, ...]:
    """``run`` with its times as SQLite stores them: naive UTC (see ``UTCDateTime``)."""
    started, completed = run[6], run[7]
    if started is None and completed is None:
        return run
    naive = _NAIVE_UTC
    started = naive.get(started) or _naive_utc(started)
    completed = naive.get(completed) or _naive_utc(completed)
    return (*run[:6], started, completed, run[8], run[9])


# Times seen, in their stored form: a no-change sweep compares the same ~1,000 a repository
# each time, and a lookup costs a fraction of a conversion.
_NAIVE_UTC: dict[datetime | None, datetime | None] = {}
_MAX_NAIVE_UTC = 200_000


def _naive_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    naive = (value if value.tzinfo is UTC else value.astimezone(UTC)).replace(tzinfo=None)
    if len(_NAIVE_UTC) >= _MAX_NAIVE_UTC:
        _NAIVE_UTC.clear()
    _NAIVE_UTC[value] = naive
    return naive


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
    seen_statuses: set[tuple[int, str, str]] = set()
    for status in change_set.commit_statuses:
        status_key = _status_row_key(status)
        if status_key in seen_statuses:
            raise InvalidStoreInput(f"commit status {status_key} appears twice in one change set")
        seen_statuses.add(status_key)
    review_ids = [review.id for review in change_set.reviews]
    if len(review_ids) != len(set(review_ids)):
        raise InvalidStoreInput("a review appears twice in one change set")
    signal_keys = [(s.repository_id, s.number) for s in change_set.signals]
    if len(signal_keys) != len(set(signal_keys)):
        raise InvalidStoreInput("a pull request's signal appears twice in one change set")


def _status_row_key(status: CommitStatusSnapshot) -> tuple[int, str, str]:
    return (status.repository_id, status.sha, status.context)


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
        "status_context": change.status_context,
        "review_id": change.review_id,
        "field": change.field,
        "old_value": encode_field_value(change.old),
        "new_value": encode_field_value(change.new),
        "detected_at": now,
        "source": source.value,
        "delivery_id": delivery_id,
    }
