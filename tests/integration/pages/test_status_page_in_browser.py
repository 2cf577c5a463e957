"""The status page in a real headless browser (Debian's chromium, driven by Playwright): it
loads, shows a pull request with its check runs, and follows a change a webhook brings."""

from __future__ import annotations

from typing import Any

from tests.integration.pages.conftest import WAIT_MS, Served


async def test_the_page_shows_pull_requests_and_checks_and_follows_a_webhook(
    served: Served, browser: Any
) -> None:
    from playwright.async_api import expect

    world = served.sim.world
    repo = next(r for r in world.repositories.values() if r.installation_id is not None)
    pr = next(p for p in repo.pulls if p.state == "open" and not p.draft)
    runs = world.check_runs_for_sha(repo.id, pr.head_sha)
    assert runs, "the generated world gives open PRs check runs"

    page = await served.open_page(browser)
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
