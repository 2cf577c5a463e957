from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from store_factories import T0, FakeClock

from prwatch.store.engine import create_engine
from prwatch.store.schema import metadata
from prwatch.store.store import Store


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
async def store(database_url: str, clock: FakeClock) -> AsyncIterator[Store]:
    """A Store on an empty schema (built from the metadata, which the migration test proves
    equal to the migrated schema), on SQLite and on PostgreSQL."""
    engine = create_engine(database_url, pool_size=4)
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    try:
        yield Store(engine, clock=clock)
    finally:
        await engine.dispose()
