"""The store: one transaction per job or request, opened by the caller; the store never commits
on its own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, StatementError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from prwatch.store.access import AccessOperations
from prwatch.store.apply import ApplyOperations
from prwatch.store.base import Clock
from prwatch.store.deliveries import DeliveryOperations
from prwatch.store.engine import READ_ONLY_OPTION
from prwatch.store.errors import DatabaseUnavailable, StoreError, TransactionConflict
from prwatch.store.history import HistoryOperations
from prwatch.store.inventory import InventoryOperations
from prwatch.store.listings import ListingOperations
from prwatch.store.reads import ReadOperations
from prwatch.store.sweep_jobs import SweepJobOperations
from prwatch.store.sync_state import SyncStateOperations
from prwatch.store.types import utc_now

# PostgreSQL SQLSTATEs a retry can cure: serialization_failure, deadlock_detected,
# lock_not_available.
_CONFLICT_SQLSTATES = {"40001", "40P01", "55P03"}
_SQLITE_UNAVAILABLE = ("unable to open database file", "disk I/O error")


class StoreTransaction(
    ApplyOperations,
    InventoryOperations,
    SyncStateOperations,
    DeliveryOperations,
    ReadOperations,
    ListingOperations,
    HistoryOperations,
    SweepJobOperations,
    AccessOperations,
):
    """Every store operation, inside one open transaction (see the package docstring)."""


class Store:
    def __init__(self, engine: AsyncEngine, *, clock: Clock = utc_now) -> None:
        self._engine = engine
        self._clock = clock

    @property
    def engine(self) -> AsyncEngine:
        return self._engine

    @asynccontextmanager
    async def transaction(self, *, read_only: bool = False) -> AsyncIterator[StoreTransaction]:
        """BEGIN … COMMIT, or ROLLBACK when the block raises.

        ``read_only`` skips SQLite's up-front write lock (and sets READ ONLY on PostgreSQL), so a
        reader never waits for a writer. Database errors come out as ``StoreError``s:
        ``DatabaseUnavailable`` and ``TransactionConflict`` are worth a retry.
        """
        connection = await self._connect()
        try:
            if read_only:
                await connection.execution_options(
                    **{READ_ONLY_OPTION: True},
                    **({"postgresql_readonly": True} if _is_postgres(connection) else {}),
                )
            async with connection.begin():
                yield StoreTransaction(connection, self._clock)
        except StatementError as error:
            raise translate_error(error) from error
        finally:
            await connection.close()

    async def ping(self) -> None:
        """Raises ``DatabaseUnavailable`` unless the database answers."""
        try:
            async with self._engine.connect() as connection:
                await connection.execution_options(**{READ_ONLY_OPTION: True})
                await connection.execute(text("SELECT 1"))
                await connection.rollback()
        except (DBAPIError, OSError, TimeoutError) as error:
            raise DatabaseUnavailable(f"database does not answer: {error}") from error

    async def _connect(self) -> AsyncConnection:
        try:
            return await self._engine.connect()
        except (DBAPIError, OSError, TimeoutError) as error:
            raise DatabaseUnavailable(f"cannot connect to the database: {error}") from error


def translate_error(error: StatementError) -> Exception:
    """The ``StoreError`` a SQLAlchemy error stands for."""
    original: Any = error.orig
    if isinstance(original, StoreError):  # raised by a column type while binding a value
        return original
    if isinstance(error, DBAPIError):
        sqlstate = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
        if sqlstate in _CONFLICT_SQLSTATES or "database is locked" in str(original):
            return TransactionConflict(f"transaction lost to a concurrent one: {original}")
        if (
            error.connection_invalidated
            or isinstance(error, InterfaceError)
            # SQLite reports a missing table as an OperationalError too: only these mean the
            # database itself cannot be used right now.
            or (
                isinstance(error, OperationalError)
                and any(sign in str(original) for sign in _SQLITE_UNAVAILABLE)
            )
        ):
            return DatabaseUnavailable(f"database connection failed: {original}")
    return StoreError(f"database error: {original}")


def _is_postgres(connection: AsyncConnection) -> bool:
    return connection.dialect.name == "postgresql"
