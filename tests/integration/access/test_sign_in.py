"""Sign in with GitHub against the simulator: the whole flow in headless Chromium, a person's
visibility following GitHub's answer, sign-out, and every bad answer to the callback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from sqlalchemy import update

from prwatch.context import ProcessContext
from prwatch.sim.app import Simulator
from prwatch.sim.config import SimConfig
from prwatch.store.schema import web_sessions
from prwatch.web.sessions import SESSION_COOKIE
from tests.integration.served import serve_beside_simulator


@dataclass
class Served:
    sim: Simulator
    context: ProcessContext
    web_url: str

    def repositories(self) -> list[Any]:
        return sorted(
            (r for r in self.sim.world.repositories.values() if r.installation_id is not None),
            key=lambda r: r.id,
        )

    async def age_sessions(self) -> None:
        """As if GitHub was last asked six minutes ago: the next request asks again."""
        async with self.context.store.transaction() as tx:
            await tx.connection.execute(
                update(web_sessions).values(
                    visibility_checked_at=datetime.now(UTC) - timedelta(minutes=6)
                )
            )


@pytest.fixture
async def served(sqlite_url: str) -> AsyncIterator[Served]:
    config = SimConfig(repos=3, prs=2, open_ratio=1.0, seed=5)
    async with serve_beside_simulator(sqlite_url, config, sign_in=True) as beside:
        yield Served(beside.sim, beside.context, beside.web_url)


async def test_sign_in_see_what_github_allows_and_sign_out(served: Served, browser: Any) -> None:
    from playwright.async_api import expect

    first, second, *_ = served.repositories()
    session = await browser.new_context()
    page = await session.new_page()
    response = await page.goto(f"{served.web_url}/")  # → /login → GitHub → callback → /
    assert response is not None and response.status == 200
    assert page.url == f"{served.web_url}/"
    await expect(page.locator('[data-testid="signed-in"]')).to_contain_text("octocat")
    for repo in (first, second):
        await expect(page.locator(f'[data-repository="{repo.full_name}"]')).to_have_count(1)
    (cookie,) = [c for c in await session.cookies() if c["name"] == SESSION_COOKIE]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and not cookie["secure"]

    # GitHub now lets octocat see one repository only; prwatch follows at its next check.
    served.sim.oauth.person("octocat").repository_ids = {first.id}
    await served.age_sessions()
    await page.reload()
    await expect(page.locator(f'[data-repository="{first.full_name}"]')).to_have_count(1)
    await expect(page.locator(f'[data-repository="{second.full_name}"]')).to_have_count(0)
    api = await page.request.get(f"{served.web_url}/api/repos/{second.full_name}/pulls")
    assert api.status == 404

    await page.locator('[data-testid="sign-out"]').click()
    await expect(page.locator("h1")).to_have_text("Signed out")
    jar = {SESSION_COOKIE: cookie["value"]}
    async with httpx.AsyncClient(cookies=jar) as http:  # the old cookie no longer works
        after = await http.get(f"{served.web_url}/api/changes")
    assert after.status_code == 401
    await session.close()


async def start_sign_in(http: httpx.AsyncClient, served: Served) -> tuple[str, str]:
    """/login's redirect to GitHub, followed by hand: (state, GitHub's redirect to us)."""
    login = await http.get(f"{served.web_url}/login")
    assert login.status_code == 303
    authorize = urlparse(login.headers["location"])
    state = parse_qs(authorize.query)["state"][0]
    github = await http.get(login.headers["location"])
    assert github.status_code == 302
    return state, github.headers["location"]


async def test_bad_callbacks_are_refused_and_change_nothing(served: Served) -> None:
    async with httpx.AsyncClient() as http:
        state, back = await start_sign_in(http, served)
        callback = f"{served.web_url}/login/callback"
        assert (await http.get(callback)).status_code == 400  # no state, no code
        assert (await http.get(f"{callback}?code=x&state=forged")).status_code == 400
        # A refused code (GitHub answers with an error) with a good state: 401.
        refused = await http.get(f"{callback}?code=not-a-code&state={state}")
        assert refused.status_code == 401
        # The state was used up by that attempt: the real answer now fails too.
        assert (await http.get(back)).status_code == 400
        async with served.context.store.transaction(read_only=True) as tx:
            assert await tx.get_web_session("0" * 64) is None

        state, back = await start_sign_in(http, served)
        signed_in = await http.get(back)
        assert signed_in.status_code == 303 and SESSION_COOKIE in signed_in.cookies
        replay = await http.get(back)  # the same state and code again
        assert replay.status_code == 400

    async with httpx.AsyncClient() as stranger:  # GitHub's answer without /login's cookie
        state, back = await start_sign_in(stranger, served)
        stranger.cookies.clear()
        assert (await stranger.get(back)).status_code == 400


async def test_tampered_and_ended_sessions_are_refused(served: Served) -> None:
    async with httpx.AsyncClient() as http:
        _, back = await start_sign_in(http, served)
        cookie = (await http.get(back)).cookies[SESSION_COOKIE]
    base = served.web_url
    async with httpx.AsyncClient(cookies={SESSION_COOKIE: cookie}) as http:
        assert (await http.get(f"{base}/api/changes")).status_code == 200
        # A form without this session's CSRF token signs nobody out.
        assert (await http.post(f"{base}/logout", data={"csrf": "x"})).status_code == 403
        assert (await http.get(f"{base}/api/changes")).status_code == 200
    value, _, signature = cookie.rpartition(".")
    other = "B" if value.endswith("A") else "A"
    for tampered in (f"{value[:-1]}{other}.{signature}", f"{value}.{signature[::-1]}", "garbage"):
        async with httpx.AsyncClient(cookies={SESSION_COOKIE: tampered}) as http:
            assert (await http.get(f"{base}/api/changes")).status_code == 401
            page = await http.get(f"{base}/")
            assert (page.status_code, page.headers["location"]) == (303, "/login")
            assert f'{SESSION_COOKIE}=""' in page.headers["set-cookie"]
    # GitHub revokes the person's token: the session ends at its next check.
    served.sim.oauth.revoke("octocat")
    await served.age_sessions()
    async with httpx.AsyncClient(cookies={SESSION_COOKIE: cookie}) as http:
        assert (await http.get(f"{base}/api/changes")).status_code == 401
