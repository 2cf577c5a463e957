"""The read API v1 over HTTP: paging, filters, visibility in SQL, JSON errors, OpenAPI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from starlette.routing import Route

from prwatch.config import Settings
from prwatch.context import ProcessContext
from prwatch.queue.inprocess import InProcessQueue
from prwatch.store import Store, create_engine, upgrade_database
from prwatch.web.app import create_app
from prwatch.web.openapi import openapi_path
from tests.integration.api.seed import (
    PULLS,
    REMOVED,
    TEST_CLIENT_SECRET,
    WORLD,
    seed,
    with_test_scope,
)

Client = httpx.AsyncClient


@asynccontextmanager
async def api(database_url: str) -> AsyncIterator[Client]:
    """The app on a seeded store. A test header stands in for authentication: it sets the
    request's visibility the way the access-control middleware does."""
    await upgrade_database(database_url)
    engine = create_engine(database_url)
    store = Store(engine)
    await seed(store)
    settings = Settings(database_url=database_url, client_secret=TEST_CLIENT_SECRET)
    context = ProcessContext(settings=settings, engine=engine, store=store, queue=InProcessQueue())
    app = create_app(settings, context=context)

    scoped = with_test_scope(app, store)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=scoped), base_url="http://prwatch.test"
        ) as client:
            client.app = app  # type: ignore[attr-defined]
            yield client
    finally:
        await context.aclose()


async def every_page(client: Client, path: str, key: str, **params: Any) -> list[list[Any]]:
    pages: list[list[Any]] = []
    headers = params.pop("headers", {})
    query = dict(params)
    while True:
        response = await client.get(path, params=query, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {key, "next"}
        pages.append(body[key])
        if body["next"] is None:
            return pages
        query["after"] = body["next"]


async def test_repositories_page_through_every_one(database_url: str) -> None:
    async with api(database_url) as client:
        pages = await every_page(client, "/api/repos", "repositories", limit=2)
        assert [len(page) for page in pages] == [2, 2, 1]
        listed = [repo for page in pages for repo in page]
        expected = sorted((rid, name, iid) for iid, repos in WORLD.items() for rid, name in repos)
        assert [(r["id"], r["full_name"], r["installation_id"]) for r in listed] == expected
        assert {r["id"] for r in listed if r["removed"]} == {REMOVED}
        assert {r["id"] for r in listed if r["private"]} == {103}
        assert set(listed[0]) == {"id", "full_name", "installation_id", "private", "removed"}
        whole = (await client.get("/api/repos")).json()
        assert len(whole["repositories"]) == 5 and whole["next"] is None


async def test_visibility_is_applied_before_the_page_is_cut(database_url: str) -> None:
    async with api(database_url) as client:
        only_beta = {"x-test-scope": "2;"}
        pages = await every_page(client, "/api/repos", "repositories", limit=1, headers=only_beta)
        assert [[r["id"] for r in page] for page in pages] == [[201], [202]]
        two_repos = {"x-test-scope": "*;103,201"}
        pages = await every_page(client, "/api/repos", "repositories", limit=1, headers=two_repos)
        assert [[r["id"] for r in page] for page in pages] == [[103], [201]]
        hidden = await client.get("/api/repos/alpha/one/pulls", headers=only_beta)
        assert (hidden.status_code, hidden.json()["error"]) == (404, "not_found")
        hidden_pr = await client.get("/api/repos/alpha/one/pulls/1", headers=only_beta)
        assert hidden_pr.status_code == 404
        seen = await client.get("/api/repos/BETA/One/pulls/1", headers=only_beta)
        assert seen.status_code == 200
        changes = (await client.get("/api/changes", headers=only_beta)).json()["changes"]
        assert [(c["repository"], c["pr_number"]) for c in changes] == [("beta/one", 1)]


async def test_pulls_page_and_filter(database_url: str) -> None:
    async with api(database_url) as client:
        path = "/api/repos/alpha/one/pulls"
        opened = sorted(n for n, (state, _) in PULLS.items() if state == "open")
        pages = await every_page(client, path, "pulls", limit=2)
        assert [[p["number"] for p in page] for page in pages] == [opened[:2], opened[2:4], [7]]
        everything = await every_page(client, path, "pulls", state="all", limit=1000)
        assert [p["number"] for p in everything[0]] == sorted(PULLS)
        closed = await every_page(client, path, "pulls", state="closed")
        assert [p["number"] for p in closed[0]] == [2, 6]

        def numbers(pages: list[list[Any]]) -> list[int]:
            return [p["number"] for page in pages for p in page]

        assert numbers(await every_page(client, path, "pulls", label="bug", state="all")) == [
            1,
            2,
            5,
        ]
        odd = await every_page(client, path, "pulls", label='we"ird %_')
        assert numbers(odd) == [4]
        assert numbers(await every_page(client, path, "pulls", label="%")) == []
        since = await every_page(
            client, path, "pulls", updated_since="2026-01-01T12:04:00Z", label="bug", limit=1
        )
        assert numbers(since) == [5]
        naive = await every_page(client, path, "pulls", updated_since="2026-01-01T12:05:00")
        assert numbers(naive) == [5, 7]
        offset = await every_page(client, path, "pulls", updated_since="2026-01-01T13:05:00+01:00")
        assert numbers(offset) == [5, 7]
        passing = await every_page(client, path, "pulls", merge_signal="success", limit=1)
        assert numbers(passing) == [1, 5]
        assert [p["merge_signal"] for page in passing for p in page] == ["success", "success"]
        failing = await every_page(client, path, "pulls", merge_signal="failure", label="bug")
        assert numbers(failing) == []
        assert numbers(await every_page(client, path, "pulls", merge_signal="pending")) == [4]


@pytest.mark.parametrize(
    ("path", "status", "parameter"),
    [
        ("/api/repos?limit=0", 400, "limit"),
        ("/api/repos?limit=1001", 400, "limit"),
        ("/api/repos?limit=99999999999999999999999999", 400, "limit"),
        ("/api/repos?after=nonsense", 400, "after"),
        ("/api/repos?after=" + "A" * 500, 400, "after"),
        ("/api/repos/alpha/one/pulls?state=merged", 400, "state"),
        ("/api/repos/alpha/one/pulls?updated_since=yesterday", 400, "updated_since"),
        ("/api/repos/alpha/one/pulls?label=", 400, "label"),
        ("/api/repos/alpha/one/pulls?merge_signal=green", 400, "merge_signal"),
        ("/api/repos/alpha/one/pulls/abc", 400, "number"),
        ("/api/repos/alpha/one/pulls/0", 400, "number"),
        ("/api/repos/alpha/one/pulls/-3", 400, "number"),
        ("/api/repos/alpha/one/pulls/99999999999999999999999999", 404, None),
        ("/api/repos/alpha/one/pulls/2147483648", 404, None),
        ("/api/repos/alpha/one/pulls/99", 404, None),
        ("/api/repos/nobody/nothing/pulls", 404, None),
        ("/api/changes?after=-1", 400, "after"),
        ("/api/changes?after=99999999999999999999999999", 400, "after"),
        ("/api/changes?limit=ten", 400, "limit"),
        ("/api/nothing/here", 404, None),
        ("/api", 404, None),
        ("/api/repos/alpha", 404, None),
    ],
)
async def test_every_api_error_is_json(
    sqlite_url: str, path: str, status: int, parameter: str | None
) -> None:
    async with api(sqlite_url) as client:
        response = await client.get(path)
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/json"
        body = response.json()
        assert body["error"] == {400: "invalid_parameter", 404: "not_found"}[status]
        assert isinstance(body["message"], str) and body["message"]
        assert body.get("parameter") == parameter


async def test_a_cursor_of_another_listing_is_refused(sqlite_url: str) -> None:
    async with api(sqlite_url) as client:
        repos_next = (await client.get("/api/repos?limit=1")).json()["next"]
        wrong = await client.get("/api/repos/alpha/one/pulls", params={"after": repos_next})
        assert (wrong.status_code, wrong.json()["parameter"]) == (400, "after")


async def test_wrong_methods_answer_json(sqlite_url: str) -> None:
    async with api(sqlite_url) as client:
        response = await client.post("/api/repos", json={})
        assert response.status_code == 405
        assert response.json()["error"] == "method_not_allowed"
        assert "GET" in response.headers["allow"]
        page = await client.get("/no/such/page")
        assert page.status_code == 404 and page.headers["content-type"].startswith("text/plain")


async def test_changes_carry_the_repository_name(sqlite_url: str) -> None:
    async with api(sqlite_url) as client:
        body = (await client.get("/api/changes?limit=1000")).json()
        names = {(c["repository_id"], c["repository"]) for c in body["changes"]}
        assert names == {(101, "alpha/one"), (102, "alpha/two"), (201, "beta/one")}
        assert body["next"] == body["changes"][-1]["cursor"]


async def test_openapi_describes_every_route(sqlite_url: str) -> None:
    async with api(sqlite_url) as client:
        document = (await client.get("/api/openapi.json")).json()
        app = client.app  # type: ignore[attr-defined]
    assert document["openapi"] == "3.1.0"
    routes = [route for route in app.routes if isinstance(route, Route)]
    assert len(routes) >= 8
    for route in routes:
        operations = document["paths"][openapi_path(route.path)]
        for method in route.methods - {"HEAD"}:
            assert method.lower() in operations, (route.path, method)
    pulls = document["paths"]["/api/repos/{owner}/{repo}/pulls"]["get"]
    names = {parameter["name"] for parameter in pulls["parameters"]}
    assert names == {
        "owner",
        "repo",
        "state",
        "label",
        "merge_signal",
        "updated_since",
        "limit",
        "after",
    }
    limit = next(p for p in pulls["parameters"] if p["name"] == "limit")
    assert limit["schema"] == {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}
    schemas = document["components"]["schemas"]
    page = schemas["PullPage"]
    assert page["properties"]["pulls"]["items"] == {"$ref": "#/components/schemas/PullJson"}
    assert set(schemas["RepositoryJson"]["required"]) == {
        "id",
        "full_name",
        "installation_id",
        "private",
        "removed",
    }
    assert "repository" in schemas["ChangeJson"]["properties"]
    refs = _refs(document)
    assert refs and all(ref.removeprefix("#/components/schemas/") in schemas for ref in refs)


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"]} if "$ref" in node else set()
        return found.union(*(_refs(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(_refs(value) for value in node))
    return set()
