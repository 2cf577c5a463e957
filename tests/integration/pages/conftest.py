"""Fixtures of the page tests: prwatch on a real socket beside the GitHub simulator (after one
sweep); the headless Chromium is the suite's `browser`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from prwatch.context import ProcessContext
from prwatch.sim.app import Simulator
from prwatch.sim.config import SimConfig
from tests.credentials import bearer, create_token
from tests.integration.served import serve_beside_simulator

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
    config = SimConfig(repos=1, prs=6, open_ratio=1.0, seed=3)
    async with serve_beside_simulator(sqlite_url, config) as beside:
        sim, context, web_url = beside.sim, beside.context, beside.web_url
        sim.configure({"hook_url": f"{web_url}/webhooks"})
        yield Served(sim, context, web_url, beside.sim_url, await create_token(context.store))


SCREENSHOTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "screenshots"


@pytest.fixture
def screenshots() -> Path:
    """Where the page tests save their screenshots (kept after the run, to look at)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
