"""The status page in a real headless browser (Debian's chromium, driven by Playwright): it
loads, shows a pull request with its check runs, and follows a change a webhook brings."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
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
WAIT_MS = 15_000  # the page polls every 3 s


@dataclass
class Served:
    sim: Simulator
    context: ProcessContext
    web_url: str
    token: str


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
        yield Served(sim, context, web_url, await create_token(context.store))
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


async def test_the_page_shows_pull_requests_and_checks_and_follows_a_webhook(
    served: Served, browser: Any
) -> None:
    from playwright.async_api import expect

    world = served.sim.world
    repo = next(r for r in world.repositories.values() if r.installation_id is not None)
    pr = next(p for p in repo.pulls if p.state == "open" and not p.draft)
    runs = world.check_runs_for_sha(repo.id, pr.head_sha)
    assert runs, "the generated world gives open PRs check runs"

    session = await browser.new_context(extra_http_headers=bearer(served.token))
    page = await session.new_page()
    response = await page.goto(f"{served.web_url}/")
    assert response is not None and response.status == 200
    await expect(page).to_have_title("prwatch")
    row = page.locator(f'[data-testid="pull-request"][data-pr="{repo.full_name}#{pr.number}"]')
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text(pr.title)
    badges = row.locator('[data-testid="check-run"]')
    await expect(badges).to_have_count(len(runs))
    for run in runs:
        await expect(badges.filter(has_text=run.name)).to_have_count(1)
    await expect(page.locator('[data-testid="sweep"]')).to_have_count(1)

    # A change arrives as a signed webhook; the open page picks it up without a reload.
    label = "page-test-label"
    assert label not in pr.labels
    world.add_label(repo.id, pr.number, label)
    await expect(row.locator('[data-testid="label"]', has_text=label)).to_have_count(
        1, timeout=WAIT_MS
    )
    await expect(page.locator('[data-testid="change"]').first).to_contain_text(
        "pr labels changed", timeout=WAIT_MS
    )
    unfinished = next((run for run in runs if run.status != "completed"), None)
    if unfinished is not None:
        world.update_check_run(unfinished.id, status="completed", conclusion="failure")
        await expect(badges.filter(has_text=unfinished.name)).to_have_class(
            "badge badge-failure", timeout=WAIT_MS
        )
    await page.close()
