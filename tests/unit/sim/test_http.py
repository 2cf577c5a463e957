"""HTTP behaviour of the simulator over httpx: auth, paging, ETags, limits, moves, faults."""

from __future__ import annotations

import re

import httpx
import pytest

from prwatch.sim.app import Simulator
from prwatch.sim.clock import ManualClock
from prwatch.sim.gateway import ConnectionDroppedError
from tests.unit.sim.conftest import app_jwt, installation_token, make_sim


async def authed(sim: Simulator, client: httpx.AsyncClient) -> dict[str, str]:
    return {"Authorization": f"token {await installation_token(sim, client)}"}


def first_repo(sim: Simulator) -> str:
    return sorted(sim.world.repositories.values(), key=lambda r: r.id)[0].full_name


async def test_bad_or_expired_credentials_are_401(
    sim: Simulator, client: httpx.AsyncClient
) -> None:
    inst = next(iter(sim.world.installations))
    url = f"/app/installations/{inst}/access_tokens"
    assert (await client.post(url)).status_code == 401
    assert (await client.post(url, headers={"Authorization": "Bearer a.b.c"})).status_code == 401
    too_long = app_jwt(sim, exp_offset=3600)
    assert (
        await client.post(url, headers={"Authorization": f"Bearer {too_long}"})
    ).status_code == 401
    expired = app_jwt(sim, iat_offset=-700, exp_offset=-10)
    assert (
        await client.post(url, headers={"Authorization": f"Bearer {expired}"})
    ).status_code == 401
    ok = await client.post(url, headers={"Authorization": f"Bearer {app_jwt(sim)}"})
    assert ok.status_code == 201
    assert set(ok.json()) == {"token", "expires_at", "permissions", "repository_selection"}
    auth = {"Authorization": f"token {ok.json()['token']}"}
    assert (await client.get("/installation/repositories", headers=auth)).status_code == 200
    assert isinstance(sim.clock, ManualClock)
    sim.clock.advance(3600)
    expired_token = await client.get("/installation/repositories", headers=auth)
    assert expired_token.status_code == 401
    assert expired_token.json()["message"] == "Bad credentials"


async def test_app_routes_need_a_jwt(sim: Simulator, client: httpx.AsyncClient) -> None:
    auth = await authed(sim, client)
    assert (await client.get("/app/installations", headers=auth)).status_code == 401
    jwt_auth = {"Authorization": f"Bearer {app_jwt(sim)}"}
    listing = await client.get("/app/installations", headers=jwt_auth)
    assert listing.status_code == 200 and len(listing.json()) == 1
    assert (await client.get("/app", headers=jwt_auth)).json()["id"] == sim.config.app_id


async def test_suspended_installation_gets_no_token(
    sim: Simulator, client: httpx.AsyncClient
) -> None:
    inst = next(iter(sim.world.installations))
    sim.world.suspend_installation(inst)
    response = await client.post(
        f"/app/installations/{inst}/access_tokens",
        headers={"Authorization": f"Bearer {app_jwt(sim)}"},
    )
    assert response.status_code == 403


async def test_pagination_follows_absolute_links(sim: Simulator, client: httpx.AsyncClient) -> None:
    auth = await authed(sim, client)
    url: str | None = (
        f"/repos/{first_repo(sim)}/pulls?state=all&per_page=7&sort=updated&direction=desc"
    )
    seen: list[int] = []
    while url:
        response = await client.get(url, headers=auth)
        seen.extend(pr["number"] for pr in response.json())
        match = re.search(r'<([^>]+)>; rel="next"', response.headers.get("link", ""))
        url = match.group(1) if match else None
        if url:
            assert url.startswith("http://sim.test/repos/")
    assert sorted(seen) == list(range(1, 31))
    repo = sim.world.repository_by_name(*first_repo(sim).split("/"))
    updated = [repo.pulls[n - 1].updated_at for n in seen]
    assert updated == sorted(updated, reverse=True)
    single = await client.get(
        f"/repos/{first_repo(sim)}/pulls?state=all&per_page=100", headers=auth
    )
    assert "link" not in single.headers
    bad = await client.get(f"/repos/{first_repo(sim)}/pulls?state=weird", headers=auth)
    assert bad.status_code == 422


async def test_etag_is_specific_to_the_token(sim: Simulator, client: httpx.AsyncClient) -> None:
    auth_a = await authed(sim, client)
    auth_b = await authed(sim, client)
    url = f"/repos/{first_repo(sim)}/pulls"
    first = await client.get(url, headers=auth_a)
    etag = first.headers["etag"]
    assert etag.startswith('W/"')
    used = int(first.headers["x-ratelimit-used"])
    again = await client.get(url, headers={**auth_a, "If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert int(again.headers["x-ratelimit-used"]) == used  # an authorised 304 is free
    other = await client.get(url, headers={**auth_b, "If-None-Match": etag})
    assert other.status_code == 200
    repo = sim.world.repository_by_name(*first_repo(sim).split("/"))
    sim.world.add_label(repo.id, 1, "bug")
    changed = await client.get(url, headers={**auth_a, "If-None-Match": etag})
    assert changed.status_code == 200
    assert sim.stats.snapshot()["requests"]["GET /repos/{owner}/{repo}/pulls"]["304"] == 1


async def test_primary_rate_limit_per_installation(client: httpx.AsyncClient) -> None:
    sim = make_sim(rate_limit=3)
    transport = httpx.ASGITransport(app=sim.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sim.test") as c:
        auth = await authed(sim, c)
        url = f"/repos/{first_repo(sim)}"
        for remaining in (2, 1, 0):
            response = await c.get(url, headers=auth)
            assert response.status_code == 200
            assert response.headers["x-ratelimit-remaining"] == str(remaining)
            assert response.headers["x-ratelimit-resource"] == "core"
        auth_new = await authed(sim, c)  # a new token shares the installation's budget
        limited = await c.get(url, headers=auth_new)
        assert limited.status_code == 403
        assert limited.headers["x-ratelimit-remaining"] == "0"
        assert "API rate limit exceeded" in limited.json()["message"]
        assert (await c.get("/rate_limit", headers=auth)).json()["resources"]["core"][
            "remaining"
        ] == 0
        sim.configure({"rate_limit_status": 429, "rate_limit": 3})
        assert (await c.get(url, headers=auth)).status_code == 429


async def test_secondary_limit_per_route(client: httpx.AsyncClient) -> None:
    sim = make_sim(per_route_per_minute=2)
    transport = httpx.ASGITransport(app=sim.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sim.test") as c:
        auth = await authed(sim, c)
        url = f"/repos/{first_repo(sim)}/pulls"
        assert (await c.get(url, headers=auth)).status_code == 200
        assert (await c.get(url, headers=auth)).status_code == 200
        blocked = await c.get(url, headers=auth)
        assert blocked.status_code == 403
        assert "secondary rate limit" in blocked.json()["message"]
        assert int(blocked.headers["retry-after"]) > 0
        assert (await c.get(f"/repos/{first_repo(sim)}", headers=auth)).status_code == 200
        assert isinstance(sim.clock, ManualClock)
        sim.clock.advance(61)
        assert (await c.get(url, headers=auth)).status_code == 200
        sim.configure({"secondary_limits": False})
        for _ in range(4):
            assert (await c.get(url, headers=auth)).status_code == 200


async def test_rename_and_transfer_answer_301(sim: Simulator, client: httpx.AsyncClient) -> None:
    auth = await authed(sim, client)
    old = first_repo(sim)
    repo = sim.world.repository_by_name(*old.split("/"))
    sim.world.rename_repository(repo.id, "new-name")
    moved = await client.get(f"/repos/{old}/pulls?state=all&per_page=5", headers=auth)
    assert moved.status_code == 301
    location = moved.headers["location"]
    assert location == f"http://sim.test/repositories/{repo.id}/pulls?state=all&per_page=5"
    followed = await client.get(location, headers=auth)
    assert followed.status_code == 200 and len(followed.json()) == 5
    assert (await client.get(f"/repos/{repo.full_name}/pulls/1", headers=auth)).status_code == 200
    sim.world.transfer_repository(repo.id, "another-org")
    assert (await client.get(f"/repos/{old}/pulls/2", headers=auth)).status_code == 301
    gone = await client.get(
        f"/repos/{sim.world.users['org-001'].login}/new-name/pulls/2", headers=auth
    )
    assert gone.status_code == 301
    assert gone.headers["location"].endswith(f"/repositories/{repo.id}/pulls/2")


async def test_deleted_or_removed_repository_is_404(
    sim: Simulator, client: httpx.AsyncClient
) -> None:
    auth = await authed(sim, client)
    repos = sorted(sim.world.repositories.values(), key=lambda r: r.id)
    sim.world.delete_repository(repos[0].id)
    deleted = await client.get(f"/repos/{repos[0].full_name}/pulls", headers=auth)
    assert deleted.status_code == 404
    assert deleted.json()["message"] == "Not Found"
    assert (await client.get(f"/repositories/{repos[0].id}/pulls", headers=auth)).status_code == 404
    sim.world.remove_repository_from_installation(repos[1].installation_id or 0, repos[1].id)
    assert (await client.get(f"/repos/{repos[1].full_name}", headers=auth)).status_code == 404
    listing = (await client.get("/installation/repositories", headers=auth)).json()
    assert listing["total_count"] == 1


async def test_check_runs_latest_and_all(sim: Simulator, client: httpx.AsyncClient) -> None:
    auth = await authed(sim, client)
    repo = sim.world.repository_by_name(*first_repo(sim).split("/"))
    pr = sim.world.open_pull_request(repo.id, title="x")
    suite = sim.world.create_check_suite(repo.id, pr.head_sha, ["build", "lint"])
    sim.world.update_check_run(suite.runs[0].id, status="completed", conclusion="failure")
    sim.world.update_check_run(suite.runs[1].id, status="completed", conclusion="success")
    rerun = sim.world.rerun_check_run(suite.runs[0].id)  # GitHub re-runs only completed suites
    url = f"/repos/{repo.full_name}/commits/{pr.head_sha}/check-runs"
    latest = (await client.get(url, headers=auth)).json()
    assert latest["total_count"] == 2
    assert rerun.id in {run["id"] for run in latest["check_runs"]}
    every = (await client.get(url + "?filter=all", headers=auth)).json()
    assert every["total_count"] == 3
    named = (await client.get(url + "?check_name=lint", headers=auth)).json()
    assert [run["name"] for run in named["check_runs"]] == ["lint"]
    by_branch = await client.get(
        f"/repos/{repo.full_name}/commits/{pr.head_ref}/check-runs", headers=auth
    )
    assert by_branch.json()["total_count"] == 2
    suites = (
        await client.get(
            f"/repos/{repo.full_name}/commits/{pr.head_sha}/check-suites", headers=auth
        )
    ).json()
    assert suites["total_count"] == 1
    before = pr.updated_at
    sim.world.update_check_run(rerun.id, status="in_progress")
    assert pr.updated_at == before  # check runs never touch the PR's updated_at


async def test_faults_5xx_and_dropped_connections(client: httpx.AsyncClient) -> None:
    sim = make_sim()
    transport = httpx.ASGITransport(app=sim.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sim.test") as c:
        auth = await authed(sim, c)
        sim.configure({"fault_5xx_rate": 1.0})
        repos = sorted(sim.world.repositories.values(), key=lambda r: r.id)
        assert (await c.get(f"/repos/{repos[0].full_name}", headers=auth)).status_code in (502, 503)
        sim.configure({"fault_repositories": [repos[1].id]})
        assert (await c.get(f"/repos/{repos[0].full_name}", headers=auth)).status_code == 200
        assert (await c.get(f"/repos/{repos[1].full_name}", headers=auth)).status_code >= 500
        sim.configure({"fault_5xx_rate": 0.0, "fault_drop_rate": 1.0})
        with pytest.raises(ConnectionDroppedError):
            await c.get(f"/repos/{repos[1].full_name}", headers=auth)
        assert sim.stats.snapshot()["requests"]["GET /repos/{owner}/{repo}"]["5xx"] == 2


async def test_stats_count_and_reset(sim: Simulator, client: httpx.AsyncClient) -> None:
    auth = await authed(sim, client)
    await client.get(f"/repos/{first_repo(sim)}/pulls", headers=auth)
    stats = (await client.get("/_sim/stats")).json()
    assert stats["requests"]["GET /repos/{owner}/{repo}/pulls"] == {"200": 1}
    assert stats["points"]["core"] == 2  # the token request and the listing
    await client.post("/_sim/stats/reset")
    assert (await client.get("/_sim/stats")).json()["total"] == 0


def test_same_seed_same_world() -> None:
    one, two, other = (
        make_sim().world.truth(),
        make_sim().world.truth(),
        make_sim(seed=8).world.truth(),
    )
    assert one == two
    assert one["pull_requests"] != other["pull_requests"]
