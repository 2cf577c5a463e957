"""Schema migrations (Alembic), usable from an installed package: no alembic.ini needed.

The Alembic ``Config`` is built in code with this folder as the script location; the database
URL travels in ``config.attributes``. Alembic's commands call ``asyncio.run()`` in ``env.py``,
which cannot nest inside a running loop, so they run in a worker thread.

Alembic is imported only when a migration may run: a database already at ``HEAD_REVISION``
(every ``prwatch sweep`` from cron but the first) is checked with one SELECT.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from prwatch.store.engine import create_engine, parse_database_url
from prwatch.store.errors import DatabaseUnavailable, StoreError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent
URL_ATTRIBUTE = "database_url"
# The newest revision in versions/ (a test holds it equal to Alembic's head): with it, a
# database at head is recognised without loading Alembic and every revision script.
HEAD_REVISION = "0007_pull_request_merging"
VERSION_TABLE = "alembic_version"


def alembic_config(url: str | None = None) -> Config:
    """An Alembic configuration for this package's migrations (and ``url``, when given)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        config.attributes[URL_ATTRIBUTE] = url
    return config


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships its initial revision
        raise StoreError(f"no migration revisions found in {MIGRATIONS_DIR}")
    return head


async def upgrade_database(url: str, revision: str = "head") -> None:
    """Migrate the database at ``url`` to ``revision`` (the newest by default)."""
    parse_database_url(url)  # a bad URL fails here, clearly, not deep inside Alembic
    # Reach the database from this loop first: a connection failing inside Alembic's own short
    # loop is reported as clearly, but leaves the driver's thread calling into a closed loop.
    current = await current_revision(url)
    if revision == "head" and current == HEAD_REVISION:
        return  # nothing to migrate
    from alembic import command

    try:
        await asyncio.to_thread(command.upgrade, alembic_config(url), revision)
    except (DBAPIError, OSError) as error:
        raise DatabaseUnavailable(f"could not migrate the database: {error}") from error


async def current_revision(url: str) -> str | None:
    """The revision the database at ``url`` is at; None for a database never migrated."""
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(_revision_of)
    except (DBAPIError, OSError) as error:
        raise DatabaseUnavailable(f"could not read the schema revision: {error}") from error
    finally:
        await engine.dispose()


def _revision_of(connection: Connection) -> str | None:
    """Alembic's version row, read directly; Alembic itself only for what is not one plain
    row (no version table, several heads), which it reports as it always does."""
    if inspect(connection).has_table(VERSION_TABLE):
        rows = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).all()
        if len(rows) == 1 and isinstance(rows[0][0], str):
            return rows[0][0]
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()
