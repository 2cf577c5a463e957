"""Alembic environment: runs migrations over prwatch's own async engine (see LIBRARY-NOTES)."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from prwatch.store.engine import create_engine
from prwatch.store.migrations import URL_ATTRIBUTE
from prwatch.store.schema import metadata


def _database_url() -> str:
    url = context.config.attributes.get(URL_ATTRIBUTE) or context.config.get_main_option(
        "sqlalchemy.url"
    )
    if url:
        return str(url)
    from prwatch.config import load_settings  # the `alembic` CLI: take PRWATCH_DATABASE_URL

    return load_settings().database_url


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        compare_type=True,
        # SQLite can alter tables only by copying them: later revisions use batch operations.
        render_as_batch=connection.dialect.name == "sqlite",
        # SQLite runs DDL in transactions too: every upgrade is all or nothing on both dialects.
        transactional_ddl=True,
    )


def _run_migrations(connection: Connection) -> None:
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()


async def _run_online() -> None:
    engine = create_engine(_database_url(), pool_size=1)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run_migrations)
    finally:
        await engine.dispose()


def _run_offline() -> None:
    context.configure(url=_database_url(), target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    _run_offline()
else:
    asyncio.run(_run_online())
