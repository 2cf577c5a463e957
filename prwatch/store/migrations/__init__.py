"""Schema migrations (Alembic), usable from an installed package: no alembic.ini needed.

The Alembic ``Config`` is built in code with this folder as the script location; the database
URL travels in ``config.attributes``. Alembic's commands call ``asyncio.run()`` in ``env.py``,
which cannot nest inside a running loop, so they run in a worker thread.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from prwatch.store.engine import create_engine, parse_database_url
from prwatch.store.errors import DatabaseUnavailable, StoreError

MIGRATIONS_DIR = Path(__file__).resolve().parent
URL_ATTRIBUTE = "database_url"


def alembic_config(url: str | None = None) -> Config:
    """An Alembic configuration for this package's migrations (and ``url``, when given)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        config.attributes[URL_ATTRIBUTE] = url
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships its initial revision
        raise StoreError(f"no migration revisions found in {MIGRATIONS_DIR}")
    return head


async def upgrade_database(url: str, revision: str = "head") -> None:
    """Migrate the database at ``url`` to ``revision`` (the newest by default)."""
    parse_database_url(url)  # a bad URL fails here, clearly, not deep inside Alembic
    # Reach the database from this loop first: a connection failing inside Alembic's own short
    # loop is reported as clearly, but leaves the driver's thread calling into a closed loop.
    await current_revision(url)
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
    return MigrationContext.configure(connection).get_current_revision()
