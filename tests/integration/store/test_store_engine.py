from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text

from prwatch.store import (
    DatabaseUnavailable,
    InvalidDatabaseUrl,
    RetryableStoreError,
    Store,
    StoreError,
    create_engine,
)


@pytest.mark.parametrize(
    "url",
    [
        "not a url",
        "mysql+aiomysql://localhost/prwatch",
        "postgresql+psycopg2://localhost/prwatch",
        "sqlite:///prwatch.db",
        "sqlite+aiosqlite://",
        "sqlite+aiosqlite:///:memory:",
    ],
)
def test_bad_urls_are_refused_clearly(url: str) -> None:
    with pytest.raises(InvalidDatabaseUrl):
        create_engine(url)


@pytest.mark.parametrize(
    "url",
    [
        "sqlite+aiosqlite:////nonexistent-directory/prwatch.db",
        # Port 1 (tcpmux) is privileged and never served here: the connection is refused.
        "postgresql+asyncpg://postgres@127.0.0.1:1/test",
    ],
)
async def test_an_unreachable_database_is_unavailable(url: str) -> None:
    engine = create_engine(url)
    store = Store(engine)
    try:
        with pytest.raises(DatabaseUnavailable):
            await store.ping()
        with pytest.raises(DatabaseUnavailable) as caught:
            async with store.transaction():
                pass
        assert isinstance(caught.value, RetryableStoreError)
    finally:
        await engine.dispose()


async def test_ping_and_sqlite_settings(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await Store(engine).ping()
        if engine.dialect.name == "sqlite":
            async with engine.connect() as connection:
                pragmas = [
                    (await connection.execute(text(f"PRAGMA {name}"))).scalar()
                    for name in ("journal_mode", "foreign_keys", "busy_timeout", "cache_size")
                ]
            # a bounded page cache per connection, in KiB when negative
            # (https://sqlite.org/pragma.html#pragma_cache_size)
            assert pragmas == ["wal", 1, 30000, -512]
    finally:
        await engine.dispose()


async def test_database_errors_come_out_as_store_errors(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        with pytest.raises(StoreError, match="database error"):
            async with Store(engine).transaction() as tx:
                await tx.connection.execute(text("SELECT * FROM no_such_table"))
    finally:
        await engine.dispose()


async def test_a_reader_does_not_wait_for_a_writer_on_sqlite(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    store = Store(engine)
    try:
        async with store.transaction() as tx:
            await tx.connection.execute(text("CREATE TABLE t (x INTEGER)"))
        writer_inside = asyncio.Event()
        release = asyncio.Event()

        async def writer() -> None:
            async with store.transaction() as tx:
                await tx.connection.execute(text("INSERT INTO t VALUES (1)"))
                writer_inside.set()
                await release.wait()

        async def reader() -> int:
            await writer_inside.wait()
            async with store.transaction(read_only=True) as tx:
                count = (await tx.connection.execute(text("SELECT count(*) FROM t"))).scalar()
            release.set()
            return int(count or 0)

        _, seen = await asyncio.wait_for(asyncio.gather(writer(), reader()), timeout=5)
        assert seen == 0
    finally:
        await engine.dispose()
