"""What every group of store operations shares: the connection, the clock, dialect helpers."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, CursorResult, Executable, Select, Table, select
from sqlalchemy.dialects.postgresql import Insert as PostgresInsert
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from prwatch.domain.models import PullRequestSnapshot
from prwatch.store.errors import InvalidStoreInput, UnknownInstallation, UnknownRepository
from prwatch.store.read_ahead import ReadAhead
from prwatch.store.schema import installations, repositories

Clock = Callable[[], datetime]
T = TypeVar("T")

# Values per IN (…) list.
MAX_IN_LIST = 1_000


_WRITERS: weakref.WeakKeyDictionary[AsyncEngine, asyncio.Lock] = weakref.WeakKeyDictionary()


@asynccontextmanager
async def writer_turn(engine: AsyncEngine) -> AsyncIterator[None]:
    """Wait for this process's turn to write to a SQLite database (a no-op on PostgreSQL).

    SQLite has one writer at a time; a second BEGIN IMMEDIATE waits in SQLite's busy handler,
    which sleeps in steps of up to 100 ms and so wakes long after the lock is free. Writers of
    one process that take their turns here instead follow each other at once, in arrival order:
    the receiver's group commits and the delivery jobs' batches alternate. Hold the turn around
    one write transaction, and open no other write transaction inside it.
    """
    if engine.dialect.name != "sqlite":
        yield
        return
    lock = _WRITERS.get(engine)
    if lock is None:
        lock = _WRITERS[engine] = asyncio.Lock()
    async with lock:
        yield


def chunked(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def check_full_name(full_name: str) -> str:
    owner, slash, name = full_name.partition("/")
    if not slash or not owner or not name or "/" in name or full_name != full_name.strip():
        raise InvalidStoreInput(f"repository full name must be OWNER/NAME, got {full_name!r}")
    return full_name


def select_repository_by_name(full_name: str, *columns: ColumnElement[Any]) -> Select[Any]:
    """The repository called OWNER/NAME, in any case, preferring a present one: after a
    transfer, a removed repository may share its old name with a new one."""
    return (
        select(*(columns or (repositories,)))
        .where(repositories.c.full_name_key == full_name.lower())
        .order_by(
            repositories.c.removed_at.is_not(None),
            repositories.c.updated_at.desc(),
            repositories.c.id.desc(),
        )
        .limit(1)
    )


@dataclass(slots=True)
class DeferredWrites:
    """Pull request, check run and commit status upserts and change-log rows held back to be
    sent together."""

    pull_requests: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    check_runs: dict[int, dict[str, Any]] = field(default_factory=dict)
    commit_statuses: dict[tuple[int, str, str], dict[str, Any]] = field(default_factory=dict)
    reviews: dict[int, dict[str, Any]] = field(default_factory=dict)
    signals: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    log: list[dict[str, Any]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(
            self.pull_requests
            or self.check_runs
            or self.commit_statuses
            or self.reviews
            or self.signals
            or self.log
        )


class TransactionBase:
    """Holds one open transaction's connection. Operations are mixed in by topic."""

    def __init__(self, connection: AsyncConnection, clock: Clock) -> None:
        self._connection = connection
        self._clock = clock
        self._dialect = connection.dialect.name
        self._change_log_locked = False
        self._locked_repositories: set[int] = set()
        # Existence checks the transaction already made (see ``_require_repositories``).
        self._known_repositories: dict[int, tuple[int, datetime | None]] = {}
        self._known_installations: set[int] = set()
        # Pull requests read ahead for a batch (``ApplyOperations.prefetch_pull_requests``):
        # (repository id, number) → the stored one, or None when none is stored.
        self._prefetched_pull_requests: dict[tuple[int, int], PullRequestSnapshot | None] = {}
        # A batch's rows read ahead, by repository (``ApplyOperations.read_ahead``).
        self._read_ahead: dict[int, ReadAhead] = {}
        # Rows written in a ``deferred_writes`` block, not sent yet (``ApplyOperations``).
        self._deferred: DeferredWrites | None = None

    @property
    def connection(self) -> AsyncConnection:
        """The transaction's connection, for the rare query the store does not offer."""
        return self._connection

    def _insert(self, table: Table) -> PostgresInsert | SqliteInsert:
        """An INSERT that knows ON CONFLICT on this dialect."""
        if self._dialect == "postgresql":
            return postgres_insert(table)
        return sqlite_insert(table)

    async def _execute_bulk(
        self, statement: Executable, rows: Sequence[dict[str, Any]]
    ) -> CursorResult[Any]:
        """Run an INSERT … RETURNING for all ``rows`` as a few multi-row INSERTs.

        An executemany with RETURNING is what makes SQLAlchemy send multi-row VALUES statements
        (its "insertmanyvalues", paged under each dialect's bound-parameter limit) instead of
        one statement per row, while the statement compiles once and stays cached. For an
        upsert, the returned keys are the rows that passed its fence.
        """
        return await self._connection.execute(statement, list(rows))

    async def _repository_rows(
        self, repository_ids: Iterable[int]
    ) -> dict[int, tuple[int, datetime | None]]:
        """installation_id and removed_at of each repository that exists, by id."""
        found: dict[int, tuple[int, datetime | None]] = {}
        for chunk in chunked(sorted(set(repository_ids)), MAX_IN_LIST):
            result = await self._connection.execute(
                select(
                    repositories.c.id, repositories.c.installation_id, repositories.c.removed_at
                ).where(repositories.c.id.in_(chunk))
            )
            for row in result:
                found[row.id] = (row.installation_id, row.removed_at)
        return found

    async def _require_repositories(
        self, repository_ids: Iterable[int]
    ) -> dict[int, tuple[int, datetime | None]]:
        """installation_id and removed_at of each repository; ``UnknownRepository`` unless all
        are stored.

        What it read of a repository this transaction holds the lock of is remembered until
        the transaction changes repositories itself: another transaction removes or moves a
        repository only under that lock (PostgreSQL), or not at all while this one writes
        (SQLite's write lock), so a batch of deliveries about one repository reads it once.
        """
        wanted = set(repository_ids)
        found = {i: self._known_repositories[i] for i in wanted if i in self._known_repositories}
        if len(found) < len(wanted):
            read = await self._repository_rows(wanted - found.keys())
            found |= read
            self._known_repositories |= {
                i: row for i, row in read.items() if i in self._locked_repositories
            }
        if missing := wanted - found.keys():
            raise UnknownRepository(missing)
        return found

    async def _require_installations(self, installation_ids: Iterable[int]) -> None:
        """``UnknownInstallation`` unless every installation is stored. Installations are never
        deleted (a removed one is marked), so one found stays found for the transaction."""
        wanted = set(installation_ids) - self._known_installations
        found: set[int] = set()
        for chunk in chunked(sorted(wanted), MAX_IN_LIST):
            result = await self._connection.execute(
                select(installations.c.id).where(installations.c.id.in_(chunk))
            )
            found.update(result.scalars())
        self._known_installations |= found
        if missing := wanted - found:
            raise UnknownInstallation(missing)

    async def _flush_writes(self) -> None:
        """Send the writes a ``deferred_writes`` block holds back (none outside one)."""

    def _forget_repositories(self) -> None:
        """Repositories (and with them their pull requests) changed in this transaction: read
        them afresh from now on."""
        self._known_repositories.clear()
        self._prefetched_pull_requests.clear()
        self._read_ahead.clear()
