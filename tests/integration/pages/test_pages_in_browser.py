"""The pull request page, the repository page, the main page's search and the charts in a
real headless browser, at a desktop width (1366 px) and a phone's (400 px). Screenshots go to
test-artifacts/screenshots/."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prwatch.sync.processor import run_sweep
from tests.integration.pages.conftest import WAIT_MS, Served
from tests.integration.pages.history import seed_history

WIDTHS = {"desktop": (1366, 900), "phone": (400, 860)}


async def fits_width(page: Any, width: int) -> None:
    """Nothing runs off the side: no horizontal scrolling, every badge inside the viewport."""
    scroll_width = await page.evaluate("document.documentElement.scrollWidth")
    widest = await page.evaluate(
        """(width) => [...document.querySelectorAll('body *')]
             .filter(e => e.getBoundingClientRect().right > width + 0.5)
             .slice(0, 5)
             .map(e => `${e.tagName}.${e.className} ${e.getBoundingClientRect().right}`)""",
        width,
    )
    assert scroll_width <= width, f"the page is {scroll_width} px wide at {width} px: {widest}"
    overflowing = await page.evaluate(
        """(width) => [...document.querySelectorAll('.badge, .label, svg.chart')]
             .filter(e => e.getBoundingClientRect().right > width + 0.5).length""",
        width,
    )
    assert overflowing == 0


async def test_the_pull_request_page(served: Served, browser: Any, screenshots: Path) -> None:
    from playwright.async_api import expect

    world = served.sim.world
    repo = next(r for r in world.repositories.values() if r.installation_id is not None)
    pr = next(
        p
        for p in repo.pulls
        if p.state == "open"
        and any(r.status == "queued" for r in world.check_runs_for_sha(repo.id, p.head_sha))
    )
    queued = next(r for r in world.check_runs_for_sha(repo.id, pr.head_sha) if r.status == "queued")
    # A webhook change, then one only a sweep can see (GitHub sends nothing when a run starts).
    world.add_label(repo.id, pr.number, "from-a-webhook")
    world.create_status(
        repo.id, pr.head_sha, state="success", context="ci/deploy", description="Deployed"
    )
    world.update_check_run(queued.id, status="in_progress")

    page = await served.open_page(browser)
    url = f"{served.web_url}/repos/{repo.full_name}/pulls/{pr.number}"
    response = await page.goto(url)
    assert response is not None and response.status == 200
    await expect(page.get_by_test_id("pr-title")).to_contain_text(pr.title)
    await expect(page.get_by_test_id("pr-state")).to_have_text("open")
    link = page.get_by_test_id("github-link")
    assert await link.get_attribute("href") == f"{served.sim_url}/{repo.full_name}/pull/{pr.number}"
    runs = world.check_runs_for_sha(repo.id, pr.head_sha)
    await expect(page.get_by_test_id("check-run-row")).to_have_count(len(runs))
    await expect(
        page.locator('[data-testid="timeline-entry"][data-source="webhook"]').filter(
            has_text="pr labels changed"
        )
    ).to_have_count(1, timeout=WAIT_MS)

    status = page.get_by_test_id("status-row").filter(has_text="ci/deploy")
    await expect(status).to_have_count(1, timeout=WAIT_MS)
    await expect(status.get_by_test_id("status")).to_have_text("success")

    # The sweep finds the run that started; the open page shows it without a reload, labelled.
    report = await run_sweep(served.context.store, served.context.github)
    assert not report.failed
    swept = page.locator('[data-testid="timeline-entry"][data-source="sweep"]').filter(
        has_text="check run status changed"
    )
    await expect(swept).to_have_count(1, timeout=WAIT_MS)
    await expect(swept.get_by_test_id("sweep-only")).to_contain_text("no webhook")
    await expect(page.get_by_test_id("check-run").filter(has_text="in progress")).to_have_count(1)
    await page.screenshot(path=str(screenshots / "pull-request-1366.png"), full_page=True)

    # Keyboard: the first Tab reaches the skip link, which moves focus to the content.
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.textContent") == "Skip to the content"

    await page.set_viewport_size({"width": 400, "height": 860})
    await fits_width(page, 400)
    await page.screenshot(path=str(screenshots / "pull-request-400.png"), full_page=True)
    await page.close()

    missing = await served.open_page(browser)
    response = await missing.goto(f"{served.web_url}/repos/{repo.full_name}/pulls/99999999999")
    assert response is not None and response.status == 404
    await missing.close()


async def test_search_and_the_repository_page(served: Served, browser: Any) -> None:
    from playwright.async_api import expect

    world = served.sim.world
    repo = next(r for r in world.repositories.values() if r.installation_id is not None)
    target = next(p for p in repo.pulls if p.state == "open")
    page = await served.open_page(browser, 400, 860)
    await page.goto(f"{served.web_url}/")
    await fits_width(page, 400)
    rows = page.locator('[data-testid="pull-request"]')
    assert await rows.count() > 1
    await page.get_by_label("Search").fill(target.title)
    await page.get_by_role("button", name="Filter").click()
    await expect(rows).to_have_count(
        sum(1 for p in repo.pulls if p.state == "open" and target.title.lower() in p.title.lower())
    )
    await expect(rows.first).to_contain_text(target.title)

    await page.get_by_role("link", name=repo.full_name).first.click()
    await expect(page.locator("h1")).to_have_text(repo.full_name)
    listed = page.get_by_test_id("repository-pulls").locator('[data-testid="pull-request"]')
    await expect(listed).to_have_count(sum(1 for p in repo.pulls if p.state == "open"))
    await page.get_by_label("State").select_option("all")
    await page.get_by_role("button", name="Filter").click()
    await expect(listed).to_have_count(len(repo.pulls))
    await listed.first.get_by_role("link").click()
    await expect(page.get_by_test_id("pr-title")).to_be_visible()
    await page.close()


async def test_the_charts(served: Served, browser: Any, screenshots: Path) -> None:
    from playwright.async_api import expect

    history = await seed_history(served.context.store.engine, datetime.now(UTC))
    page = await served.open_page(browser)
    response = await page.goto(f"{served.web_url}/charts")
    assert response is not None and response.status == 200
    charts = page.get_by_test_id("chart")
    await expect(charts).to_have_count(5)
    for key in ("deliveries", "latency", "sweep-durations", "missed-changes", "api-budget"):
        await expect(page.get_by_test_id(f"chart-{key}")).to_be_visible()
    deliveries = page.get_by_test_id("chart-deliveries")
    # The seeded day plus what the served fixture's own sweep and webhooks stored.
    summary = await deliveries.locator("desc").text_content() or ""
    total = int(summary.split(" ", 1)[0].replace(",", ""))
    assert total >= history.deliveries
    budget = await page.get_by_test_id("chart-api-budget").locator("desc").text_content()
    assert f"{history.lowest_budget:,}" in (budget or "")
    sweeps = page.get_by_test_id("chart-sweep-durations").locator("circle")
    assert await sweeps.count() >= history.sweeps
    await page.screenshot(path=str(screenshots / "charts-1366.png"), full_page=True)
    await page.set_viewport_size({"width": 400, "height": 860})
    await fits_width(page, 400)
    await page.screenshot(path=str(screenshots / "charts-400.png"), full_page=True)
    await page.close()
