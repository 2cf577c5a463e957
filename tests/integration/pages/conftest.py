"""Fixtures of the page tests: prwatch on a real socket beside the GitHub simulator (after one
sweep), and a headless Chromium (Debian's, driven by Playwright)."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from prwatch.config import Settings
from prwatch.context import ProcessContext, create_context
from prwatch.demo.servers import bind, serve, url_of
from prwatch.sim.app import Simulator, create_simulator
from prwatch.sim.config import SimConfig
from prwatch.store import upgrade_database
from prwatch.sync.processor import run_sweep
from prwatch.web.app import create_app
from tests.credentials import bearer, create_token
from tests.services import unavailable

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WAIT_MS = 15_000  # generous: the page follows the change stream and updates within a second or two


@dataclass
class Served:
    sim: Simulator
    context: ProcessContext
    web_url: str
    sim_url: str
    token: str  # an operator's API token: sees everything

    async def open_page(self, browser: Any, width: int = 1366, height: int = 900) -> Any:
        """A new page in a browser context that sends the token on every request."""
        session = await browser.new_context(
            extra_http_headers=bearer(self.token), viewport={"width": width, "height": height}
        )
        return await session.new_page()


@pytest.fixture
async def served(sqlite_url: str) -> AsyncIterator[Served]:
    sim_socket, web_socket = bind("127.0.0.1", 0), bind("127.0.0.1", 0)
    sim_url, web_url = url_of(sim_socket), url_of(web_socket)
    sim = create_simulator(SimConfig(repos=1, prs=6, open_ratio=1.0, seed=3, api_url=sim_url))
    await upgrade_database(sqlite_url)
    settings = Settings(
        database_url=sqlite_url,
        redis_url=None,
        github_api_url=sim_url,
        app_id=sim.config.app_id,
        private_key=sim.private_key_pem,
        webhook_secret=(sim.config.webhook_secret,),
    )
    context = await create_context(settings)
    sim_server = await serve(sim.app, sim_socket, name="simulator")
    web_server = await serve(create_app(settings, context=context), web_socket, name="prwatch")
    try:
        report = await run_sweep(context.store, context.github)
        assert not report.failed and report.error is None
        sim.configure({"hook_url": f"{web_url}/webhooks"})
        yield Served(sim, context, web_url, sim_url, await create_token(context.store))
    finally:
        await web_server.stop()
        await sim_server.stop()
        await context.aclose()
        sim_socket.close()
        web_socket.close()


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    if shutil.which(CHROMIUM) is None:
        unavailable("chromium", FileNotFoundError(CHROMIUM))
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


SCREENSHOTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "screenshots"


@pytest.fixture
def screenshots() -> Path:
    """Where the page tests save their screenshots (kept after the run, to look at)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
