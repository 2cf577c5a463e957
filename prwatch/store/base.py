"""What every group of store operations shares: the connection, the clock, dialect helpers."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, CursorResult, Executable, Select, Table, select
from sqlalchemy.dialects.postgresql import Insert as PostgresInsert
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from prwatch.store.errors import InvalidStoreInput, UnknownInstallation, UnknownRepository
from prwatch.store.schema import installations, repositories

Clock = Callable[[], datetime]
T = TypeVar("T")

# Values per IN (…) list.
MAX_IN_LIST = 1_000


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


class TransactionBase:
    """Holds one open transaction's connection. Operations are mixed in by topic."""

    def __init__(self, connection: AsyncConnection, clock: Clock) -> None:
        self._connection = connection
        self._clock = clock
        self._dialect = connection.dialect.name
        self._change_log_locked = False

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
        wanted = set(repository_ids)
        found = await self._repository_rows(wanted)
        if missing := wanted - found.keys():
            raise UnknownRepository(missing)
        return found

    async def _require_installations(self, installation_ids: Iterable[int]) -> None:
        wanted = set(installation_ids)
        found: set[int] = set()
        for chunk in chunked(sorted(wanted), MAX_IN_LIST):
            result = await self._connection.execute(
                select(installations.c.id).where(installations.c.id.in_(chunk))
            )
            found.update(result.scalars())
        if missing := wanted - found:
            raise UnknownInstallation(missing)
