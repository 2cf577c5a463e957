from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.services import fresh_postgres_database, fresh_redis, unavailable

PAYLOADS_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "github-payloads"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """SQLAlchemy URL of a new, empty PostgreSQL database for this test."""
    async with fresh_postgres_database() as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'prwatch.db'}"


@pytest.fixture(params=["sqlite", "postgres"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """Runs the test once on SQLite and once on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'prwatch.db'}"
    else:
        async with fresh_postgres_database() as url:
            yield url


@pytest.fixture
async def redis_url() -> AsyncIterator[str]:
    async with fresh_redis() as url:
        yield url


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    """A headless Chromium (Debian's, driven by Playwright), for the page and sign-in tests."""
    if shutil.which(CHROMIUM) is None:
        unavailable("chromium", FileNotFoundError(CHROMIUM))
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()
