"""Building the async engine, with the settings each dialect needs to behave alike."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from prwatch.store.errors import InvalidDatabaseUrl

SUPPORTED_DRIVERS = {("sqlite", "aiosqlite"), ("postgresql", "asyncpg")}

# How long a SQLite writer waits for another writer's transaction before giving up.
SQLITE_BUSY_TIMEOUT_MS = 30_000
POSTGRES_CONNECT_TIMEOUT_S = 10
# Connections one engine opens at most (beyond a larger ``pool_size``): every process's count
# against PostgreSQL's max_connections (100 by default).
POSTGRES_MAX_CONNECTIONS = 20
# Rows per multi-row INSERT on SQLite. The sqlite3 module keeps up to 128 prepared statements
# per connection, and a 1,000-row upsert compiles to megabytes: measured at the peak of a cold
# sweep, SQLAlchemy's default (1,000) kept 88 MB of them alive; 100 rows keep that negligible.
SQLITE_ROWS_PER_INSERT = 100

# Page cache per SQLite connection. SQLite's default (2 MB) times a pool of 20 connections
# held 34 MB after one no-change sweep and grew by 1-2 MB with each sweep until every
# connection's cache was full; the pages come back from the OS's file cache when needed.
SQLITE_CACHE_KIB = 512

# Execution option a read-only transaction sets on its connection (see ``_begin_sqlite``).
READ_ONLY_OPTION = "prwatch_read_only"


def parse_database_url(url: str) -> URL:
    """The URL, checked: ``sqlite+aiosqlite:///file`` or ``postgresql+asyncpg://…``."""
    try:
        parsed = make_url(url)
    except ArgumentError as error:
        raise InvalidDatabaseUrl(f"malformed database URL: {error}") from None
    driver = (parsed.get_backend_name(), parsed.get_driver_name())
    if driver not in SUPPORTED_DRIVERS:
        raise InvalidDatabaseUrl(
            f"unsupported database URL scheme {parsed.drivername!r}: use sqlite+aiosqlite:///PATH "
            "or postgresql+asyncpg://USER@HOST/DB"
        )
    if parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:"):
        raise InvalidDatabaseUrl(
            "in-memory SQLite is not supported (every connection would see its own empty "
            "database): give a file path, sqlite+aiosqlite:///PATH"
        )
    return parsed


def create_engine(url: str, *, pool_size: int = 10, pre_ping: bool = True) -> AsyncEngine:
    """An engine for ``url``. Connects lazily: an unreachable database shows on first use.

    ``pre_ping`` (PostgreSQL) checks each connection before handing it out, a round trip per
    transaction; a process whose every transaction is retried on ``DatabaseUnavailable`` (jobs,
    sweeps) does without: SQLAlchemy drops the whole pool on the first disconnect it sees, so a
    restarted PostgreSQL costs that process one failed, retried transaction."""
    parsed = parse_database_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_async_engine(
            parsed,
            pool_size=pool_size,
            max_overflow=0,
            insertmanyvalues_page_size=SQLITE_ROWS_PER_INSERT,
        )
        event.listen(engine.sync_engine, "connect", _configure_sqlite_connection)
        event.listen(engine.sync_engine, "begin", _begin_sqlite)
        return engine
    return create_async_engine(
        parsed,
        pool_size=pool_size,
        max_overflow=max(0, POSTGRES_MAX_CONNECTIONS - pool_size),
        # A restarted PostgreSQL leaves dead connections in the pool; check before handing out.
        pool_pre_ping=pre_ping,
        connect_args={"timeout": POSTGRES_CONNECT_TIMEOUT_S},
    )


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    # Take transaction control away from the driver, which would otherwise start a transaction
    # lazily on the first write; ``_begin_sqlite`` emits BEGIN itself.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
        # In WAL mode NORMAL syncs at checkpoints, not at every commit: a commit survives a
        # crash of the process (it is in the WAL file), and a power loss or an OS crash may
        # roll back the last commits before a checkpoint. https://sqlite.org/pragma.html#pragma_synchronous
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    finally:
        cursor.close()


def _begin_sqlite(connection: Connection) -> None:
    # BEGIN IMMEDIATE takes the write lock up front, so two writers queue behind each other
    # (waiting up to busy_timeout) instead of one failing with "database is locked" when its
    # read lock cannot be upgraded. This also serializes the apply path per database.
    if connection.get_execution_options().get(READ_ONLY_OPTION):
        connection.exec_driver_sql("BEGIN")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
