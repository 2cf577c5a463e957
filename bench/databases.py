"""A fresh database per run: a SQLite file in the run's folder, or a new PostgreSQL database."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import asyncpg

from prwatch.store.migrations import upgrade_database

POSTGRES_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def fresh_database(dialect: str, workdir: Path, label: str) -> str:
    if dialect == "sqlite":
        path = workdir / f"{label}.db"
        for leftover in workdir.glob(f"{label}.db*"):
            leftover.unlink()
        url = f"sqlite+aiosqlite:///{path}"
    elif dialect == "postgres":
        name = f"prwatch_bench_{label}_{int(time.time())}"
        asyncio.run(_create_postgres(name))
        url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    else:
        raise ValueError(f"unknown database {dialect!r}: sqlite or postgres")
    asyncio.run(upgrade_database(url))
    return url


async def _create_postgres(name: str) -> None:
    conn = await asyncpg.connect(POSTGRES_ADMIN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


def drop_database(url: str) -> None:
    if url.startswith("postgresql"):
        asyncio.run(_drop_postgres(url.rsplit("/", 1)[1]))


async def _drop_postgres(name: str) -> None:
    conn = await asyncpg.connect(POSTGRES_ADMIN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()
