from __future__ import annotations

import asyncio
import sys
from asyncio.subprocess import PIPE

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from prwatch.store.engine import create_engine
from prwatch.store.errors import DatabaseUnavailable, InvalidDatabaseUrl
from prwatch.store.migrations import (
    HEAD_REVISION,
    current_revision,
    head_revision,
    upgrade_database,
)
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


def test_the_head_revision_constant_is_alembic_s_head() -> None:
    assert head_revision() == HEAD_REVISION  # a new revision updates HEAD_REVISION too


async def test_a_database_at_head_is_recognised_without_loading_alembic(sqlite_url: str) -> None:
    await upgrade_database(sqlite_url)
    code = (
        "import asyncio, sys\n"
        "from prwatch.store.migrations import current_revision, upgrade_database\n"
        "asyncio.run(upgrade_database(sys.argv[1]))\n"
        "print(asyncio.run(current_revision(sys.argv[1])))\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('alembic', 'mako')))\n"
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, sqlite_url, stdout=PIPE, stderr=PIPE
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    assert out.decode().splitlines() == [head_revision(), "[]"]


async def test_a_database_behind_head_is_still_migrated(sqlite_url: str) -> None:
    await upgrade_database(sqlite_url, "0006_reviews_and_signals")
    assert await current_revision(sqlite_url) == "0006_reviews_and_signals"
    await upgrade_database(sqlite_url)
    assert await current_revision(sqlite_url) == head_revision()
