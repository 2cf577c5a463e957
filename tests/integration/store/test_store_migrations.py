from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from prwatch.store.engine import create_engine
from prwatch.store.errors import DatabaseUnavailable, InvalidDatabaseUrl
from prwatch.store.migrations import current_revision, head_revision, upgrade_database
from prwatch.store.schema import metadata


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


def _table_names(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_upgrade_to_head_matches_the_schema_exactly(database_url: str) -> None:
    assert await current_revision(database_url) is None

    await upgrade_database(database_url)

    assert await current_revision(database_url) == head_revision()
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(_differences) == []
            tables = await connection.run_sync(_table_names)
    finally:
        await engine.dispose()
    assert set(metadata.tables) <= tables


async def test_upgrade_is_idempotent(sqlite_url: str) -> None:
    await upgrade_database(sqlite_url)
    await upgrade_database(sqlite_url)
    assert await current_revision(sqlite_url) == head_revision()


async def test_bad_url_is_a_clear_error() -> None:
    with pytest.raises(InvalidDatabaseUrl, match="unsupported"):
        await upgrade_database("mysql://localhost/prwatch")


async def test_unreachable_database_is_reported_as_unavailable(tmp_path: object) -> None:
    url = "sqlite+aiosqlite:////nonexistent-directory/prwatch.db"
    with pytest.raises(DatabaseUnavailable):
        await current_revision(url)
    with pytest.raises(DatabaseUnavailable):
        await upgrade_database(url)
