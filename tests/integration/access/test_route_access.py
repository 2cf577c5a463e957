"""Every route, with every kind of credential: none, wrong, malformed, revoked, expired, scoped to
another installation, valid. Nothing answers differently for a repository outside the caller's
reach than for one that does not exist."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from starlette.routing import Mount, Route

from prwatch.access.tokens import new_token
from tests.credentials import bearer, create_token
from tests.integration.access.world import (
    OUR_REPO,
    OUR_TITLE,
    OURS,
    THEIR_REPO,
    THEIR_TITLE,
    THEIRS,
    AccessWorld,
    access_world,
)

# Each route of the app (by its path template) and the paths that exercise it. A new route must
# be added here, with what each caller may read of it.
OUR_PULLS = [f"/api/repos/{OUR_REPO}/pulls", f"/api/repos/{OUR_REPO}/pulls/7"]
THEIR_PULLS = [f"/api/repos/{THEIR_REPO}/pulls", f"/api/repos/{THEIR_REPO}/pulls/8"]
UNKNOWN_PULLS = ["/api/repos/nobody/nothing/pulls", "/api/repos/nobody/nothing/pulls/8"]
API_PATHS = [
    *OUR_PULLS,
    *THEIR_PULLS,
    *UNKNOWN_PULLS,
    "/api/changes",
    "/api/changes/stream",
    "/api/repos",
    "/api/openapi.json",
    "/api/no/such/route",
]
OUR_PAGES = [f"/repos/{OUR_REPO}", f"/repos/{OUR_REPO}/pulls/7"]
THEIR_PAGES = [f"/repos/{THEIR_REPO}", f"/repos/{THEIR_REPO}/pulls/8"]
UNKNOWN_PAGES = ["/repos/nobody/nothing", "/repos/nobody/nothing/pulls/8"]
PAGE_PATHS = ["/", "/fragments/status", "/charts", *OUR_PAGES, *THEIR_PAGES, "/no/such/page"]
ROUTES = {
    "/api/repos": "api",
    "/api/repos/{owner}/{repo}/pulls": "api",
    "/api/repos/{owner}/{repo}/pulls/{number}": "api",
    "/api/changes": "api",
    "/api/changes/stream": "api",
    "/api/openapi.json": "api",
    "/": "page",
    "/fragments/status": "page",
    "/repos/{owner}/{repo}": "page",
    "/repos/{owner}/{repo}/pulls/{number}": "page",
    "/charts": "page",
    "/metrics": "operator",
    "/readyz": "probe",
    "/healthz": "public",
    "/webhooks": "public",
    "/login": "public",
    "/login/callback": "public",
    "/logout": "public",
    "/static": "public",
}


def route_paths(world: AccessWorld) -> set[str]:
    return {route.path for route in world.app.routes if isinstance(route, Route | Mount)}


async def test_every_route_is_in_the_matrix(sqlite_url: str) -> None:
    async with access_world(sqlite_url) as world:
        assert route_paths(world) <= set(ROUTES), "add the new routes to ROUTES and the tests"


def assert_unauthorized(response: httpx.Response) -> None:
    assert response.status_code == 401, (response.request.url, response.text)
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["error"]
    assert OUR_TITLE not in response.text and THEIR_TITLE not in response.text


async def test_without_a_credential_nothing_is_readable(database_url: str) -> None:
    async with access_world(database_url) as world:
        for path in [*API_PATHS, "/metrics"]:
            response = await world.client.get(path)
            assert_unauthorized(response)
            assert response.headers["www-authenticate"] == "Bearer"
        for path in PAGE_PATHS:
            response = await world.client.get(path)
            assert (response.status_code, response.headers["location"]) == (303, "/login"), path
        ready = await world.client.get("/readyz")
        assert ready.json() == {"ready": True}
        assert (await world.client.get("/healthz")).json() == {"status": "ok"}
        assert (await world.client.post("/webhooks", content=b"{}")).status_code in (400, 401)


@pytest.mark.parametrize("kind", ["wrong", "malformed", "revoked", "expired", "not bearer"])
async def test_a_bad_credential_gets_401_everywhere(database_url: str, kind: str) -> None:
    async with access_world(database_url) as world:
        if kind == "wrong":
            headers = bearer(new_token())  # well formed, never issued
        elif kind == "malformed":
            headers = bearer("prwatch_' OR 1=1 --")
        elif kind == "not bearer":
            headers = {"Authorization": f"Basic {await create_token(world.store)}"}
        elif kind == "revoked":
            token = await create_token(world.store, "soon-revoked")
            assert (
                await world.client.get("/api/changes", headers=bearer(token))
            ).status_code == 200
            async with world.store.transaction() as tx:
                assert await tx.revoke_api_token("soon-revoked")
            headers = bearer(token)
        else:
            past = datetime.now(UTC) - timedelta(seconds=1)
            headers = bearer(await create_token(world.store, expires_at=past))
        for path in [*API_PATHS, *PAGE_PATHS, "/metrics", "/readyz"]:
            assert_unauthorized(await world.client.get(path, headers=headers))
        assert (await world.client.get("/healthz", headers=headers)).status_code == 200


async def test_a_token_scoped_to_an_installation_sees_only_it(database_url: str) -> None:
    async with access_world(database_url) as world:
        headers = bearer(await create_token(world.store, installation_ids=[OURS]))
        for path in OUR_PULLS:
            response = await world.client.get(path, headers=headers)
            assert response.status_code == 200 and OUR_TITLE in response.text, path
        # Outside the scope answers exactly like a repository that does not exist.
        for theirs, unknown in zip(THEIR_PULLS, UNKNOWN_PULLS, strict=True):
            hidden = await world.client.get(theirs, headers=headers)
            missing = await world.client.get(unknown, headers=headers)
            assert hidden.status_code == missing.status_code == 404
            assert hidden.content == missing.content and hidden.headers == missing.headers
        changes = (await world.client.get("/api/changes", headers=headers)).json()["changes"]
        assert changes and {change["installation_id"] for change in changes} == {OURS}
        repos = (await world.client.get("/api/repos", headers=headers)).json()["repositories"]
        assert [repo["full_name"] for repo in repos] == [OUR_REPO]
        for path in ["/", "/fragments/status"]:
            page = await world.client.get(path, headers=headers)
            assert page.status_code == 200 and OUR_TITLE in page.text
            assert THEIR_TITLE not in page.text and THEIR_REPO not in page.text
            assert "other-org" not in page.text
        for path in OUR_PAGES:
            page = await world.client.get(path, headers=headers)
            assert page.status_code == 200 and OUR_TITLE in page.text, path
        for theirs, unknown in zip(THEIR_PAGES, UNKNOWN_PAGES, strict=True):
            hidden = await world.client.get(theirs, headers=headers)
            missing = await world.client.get(unknown, headers=headers)
            assert hidden.status_code == missing.status_code == 404
            assert THEIR_TITLE not in hidden.text
        # The charts are of the whole system (every delivery, every sweep).
        assert (await world.client.get("/charts", headers=headers)).status_code == 404
        assert (await world.client.get("/metrics", headers=headers)).status_code == 404
        ready = await world.client.get("/readyz", headers=headers)
        assert ready.json() == {"ready": True}


async def test_a_valid_token_reads_everything(database_url: str) -> None:
    async with access_world(database_url) as world:
        headers = bearer(await create_token(world.store))
        for path in [*OUR_PULLS, *THEIR_PULLS]:
            response = await world.client.get(path, headers=headers)
            assert response.status_code == 200, path
        for path in UNKNOWN_PULLS:
            assert (await world.client.get(path, headers=headers)).status_code == 404
        changes = (await world.client.get("/api/changes", headers=headers)).json()["changes"]
        assert {change["installation_id"] for change in changes} == {OURS, THEIRS}
        page = await world.client.get("/", headers=headers)
        assert OUR_TITLE in page.text and THEIR_TITLE in page.text
        for path in [*OUR_PAGES, *THEIR_PAGES, "/charts"]:
            assert (await world.client.get(path, headers=headers)).status_code == 200, path
        metrics = await world.client.get("/metrics", headers=headers)
        assert metrics.status_code == 200 and "prwatch_" in metrics.text
        ready = (await world.client.get("/readyz", headers=headers)).json()
        assert set(ready) == {"ready", "checks"}
        async with world.store.transaction(read_only=True) as tx:
            (token,) = await tx.list_api_tokens()
        assert token.last_used_at is not None  # recorded, at most once a minute


async def test_changes_page_through_a_scope_without_gaps(database_url: str) -> None:
    """The scope is applied in SQL, before the limit: every page is full until the end."""
    async with access_world(database_url) as world:
        headers = bearer(await create_token(world.store, installation_ids=[THEIRS]))
        first = (await world.client.get("/api/changes?limit=1", headers=headers)).json()
        rest = await world.client.get(f"/api/changes?after={first['next']}", headers=headers)
        seen = first["changes"] + rest.json()["changes"]
        assert len(first["changes"]) == 1 and len(seen) == 2
        assert {change["installation_id"] for change in seen} == {THEIRS}


async def test_revocation_applies_at_once_in_every_process(database_url: str) -> None:
    async with access_world(database_url) as one, access_world(database_url) as other:
        token = await create_token(one.store, "shared")
        assert (await other.client.get("/api/changes", headers=bearer(token))).status_code == 200
        async with one.store.transaction() as tx:
            assert await tx.revoke_api_token("shared")
        assert_unauthorized(await other.client.get("/api/changes", headers=bearer(token)))


async def test_every_answer_carries_the_security_headers(sqlite_url: str) -> None:
    async with access_world(sqlite_url) as world:
        headers = bearer(await create_token(world.store))
        for path in ["/", "/api/changes", "/healthz", "/static/prwatch.js", "/login"]:
            response = await world.client.get(path, headers=headers)
            csp = response.headers["content-security-policy"]
            assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
            assert "unsafe-inline" not in csp
            assert response.headers["x-content-type-options"] == "nosniff"
            assert response.headers["referrer-policy"] == "no-referrer"
        page = await world.client.get("/", headers=headers)
        assert "<script>" not in page.text and "<style>" not in page.text
        assert page.headers["cache-control"] == "no-store"
