"""The GitHub client against the simulator over HTTP (in process, through ASGITransport)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from prwatch.github.auth import AppCredentials
from prwatch.github.client import GitHubClient
from prwatch.github.errors import BudgetReserved, GitHubUnavailable, RateLimited
from prwatch.github.limits import ClientLimits
from prwatch.github.pagination import iterate_pages
from prwatch.sim.app import Simulator, create_simulator
from prwatch.sim.config import SimConfig
from prwatch.sim.graphql import graphql_routes

SIM_URL = "http://sim.test"
PULLS = "GET /repos/{owner}/{repo}/pulls"

MakeClient = Callable[..., GitHubClient]


async def no_wait(seconds: float) -> None:
    return None


def make_simulator(**config: Any) -> Simulator:
    return create_simulator(SimConfig(repos=2, prs=30, open_ratio=0.5, seed=3, **config))


def serve(sim: Simulator) -> httpx.ASGITransport:
    """The simulator's app, with its GraphQL endpoint mounted if the app does not route it."""
    app: Any = sim.app
    if not any(getattr(route, "path", None) == "/graphql" for route in app.routes):
        app = Starlette(routes=[*graphql_routes(sim), Mount("/", app=sim.app)])
    return httpx.ASGITransport(app=app)


@pytest.fixture
def sim() -> Simulator:
    return make_simulator()


@pytest.fixture
async def make_client(sim: Simulator) -> AsyncIterator[MakeClient]:
    made: list[GitHubClient] = []

    def make(
        sleep: Callable[[float], Awaitable[None]] | None = None, **limits: Any
    ) -> GitHubClient:
        client = GitHubClient(
            AppCredentials(sim.config.app_id, sim.private_key_pem),
            base_url=SIM_URL,
            limits=ClientLimits(**limits),
            transport=serve(sim),
            **({"sleep": sleep} if sleep else {}),
        )
        made.append(client)
        return client

    yield make
    for client in made:
        await client.aclose()


async def first_repository(client: GitHubClient) -> tuple[int, dict[str, Any]]:
    installations = (await client.app_get("/app/installations")).json()
    installation_id = installations[0]["id"]
    listing = await client.get(
        "/installation/repositories",
        installation_id=installation_id,
        route="GET /installation/repositories",
    )
    return installation_id, listing.json()["repositories"][0]


async def test_jwt_token_etag_304_and_a_new_token_misses(make_client: MakeClient) -> None:
    client = make_client()
    installation_id, repo = await first_repository(client)
    path = f"/repos/{repo['full_name']}/pulls"
    params = {"state": "all", "per_page": 100}

    first = await client.get(path, installation_id=installation_id, route=PULLS, params=params)
    assert first.status == 200 and first.etag and first.json()
    assert first.token_fingerprint == client.token_fingerprint(installation_id)
    again = await client.get(
        path, installation_id=installation_id, route=PULLS, params=params, etag=first.etag
    )
    assert again.not_modified
    assert client.stats.snapshot().requests[(PULLS, "304")] == 1

    other = make_client()  # a second process: another installation token
    fresh = await other.get(
        path, installation_id=installation_id, route=PULLS, params=params, etag=first.etag
    )
    assert fresh.status == 200  # ETags are specific to the token
    assert fresh.token_fingerprint != first.token_fingerprint
    assert fresh.json() == first.json()


async def test_renamed_repository_answers_301_which_is_followed(
    sim: Simulator, make_client: MakeClient
) -> None:
    client = make_client()
    installation_id, repo = await first_repository(client)
    old_path = f"/repos/{repo['full_name']}/pulls"
    sim.world.rename_repository(repo["id"], "renamed-repo")

    moved = await client.get(
        old_path, installation_id=installation_id, route=PULLS, params={"state": "all"}
    )
    assert moved.status == 200
    assert moved.redirected_from == f"{SIM_URL}{old_path}?state=all"
    assert moved.url == f"{SIM_URL}/repositories/{repo['id']}/pulls?state=all"
    assert {pr["base"]["repo"]["full_name"] for pr in moved.json()} == {
        f"{repo['owner']['login']}/renamed-repo"
    }


async def test_pages_follow_link_next_to_the_end(sim: Simulator, make_client: MakeClient) -> None:
    client = make_client()
    installation_id, repo = await first_repository(client)
    numbers: list[int] = []
    pages = 0
    async for page in iterate_pages(
        client,
        f"/repos/{repo['full_name']}/pulls",
        installation_id=installation_id,
        route=PULLS,
        params={"state": "all", "per_page": 4},
    ):
        assert page.status == 200
        numbers.extend(pr["number"] for pr in page.json())
        pages += 1
    expected = len(sim.world.pull_requests_sorted(repo["id"], "all", "created", "desc"))
    assert len(numbers) == len(set(numbers)) == expected
    assert pages == -(-expected // 4)


async def test_reserve_then_primary_limit_end_to_end(make_client: MakeClient) -> None:
    sim = make_simulator(rate_limit=8)
    client = GitHubClient(
        AppCredentials(sim.config.app_id, sim.private_key_pem),
        base_url=SIM_URL,
        limits=ClientLimits(reserve_points=4, max_wait_seconds=5),
        transport=serve(sim),
    )
    async with client:
        installation_id, repo = await first_repository(client)  # 1 point
        path = f"/repos/{repo['full_name']}"
        route = "GET /repos/{owner}/{repo}"
        for _ in range(3):
            await client.get(path, installation_id=installation_id, route=route)
        assert client.remaining(installation_id) == 4
        with pytest.raises(BudgetReserved):
            await client.get(path, installation_id=installation_id, route=route)
        for _ in range(4):  # webhook-driven traffic may spend the reserve
            await client.get(path, installation_id=installation_id, route=route, spend_reserve=True)
        assert client.remaining(installation_id) == 0
        with pytest.raises(RateLimited) as raised:
            await client.get(path, installation_id=installation_id, route=route, spend_reserve=True)
        assert raised.value.retry_after > 5


async def test_server_errors_end_in_github_unavailable(
    sim: Simulator, make_client: MakeClient
) -> None:
    client = make_client(sleep=no_wait)
    installation_id, repo = await first_repository(client)
    sim.configure({"fault_5xx_rate": 1.0, "fault_repositories": [repo["id"]]})
    client.stats.snapshot_and_reset()
    with pytest.raises(GitHubUnavailable):
        await client.get(
            f"/repositories/{repo['id']}/pulls", installation_id=installation_id, route=PULLS
        )
    outcomes = client.stats.snapshot().by_outcome()
    assert sum(outcomes.get(status, 0) for status in ("502", "503")) == 3


PULLS_QUERY = """
query($owner: String!, $name: String!) {
  repository(owner: $owner, name: $name) {
    pullRequests(first: 50, states: [OPEN]) { nodes { number } }
  }
  rateLimit { cost remaining }
}
"""


async def test_graphql_query_reports_its_cost_and_budget(
    sim: Simulator, make_client: MakeClient
) -> None:
    client = make_client()
    installation_id, repo = await first_repository(client)
    variables = {"owner": repo["owner"]["login"], "name": repo["name"]}
    response = await client.graphql(
        PULLS_QUERY, installation_id=installation_id, variables=variables
    )
    assert response.errors == ()
    numbers = {node["number"] for node in response.data["repository"]["pullRequests"]["nodes"]}
    assert numbers == {pr.number for pr in sim.world.open_pull_requests_by_updated(repo["id"])}
    assert response.cost >= 1
    assert client.remaining(installation_id, "graphql") == response.data["rateLimit"]["remaining"]
    assert client.stats.snapshot().points["graphql"] == response.cost


async def test_graphql_budget_exhausted_raises_rate_limited(make_client: MakeClient) -> None:
    sim = make_simulator(graphql_rate_limit=1)

    def client() -> GitHubClient:
        return GitHubClient(
            AppCredentials(sim.config.app_id, sim.private_key_pem),
            base_url=SIM_URL,
            limits=ClientLimits(reserve_points=0),
            transport=serve(sim),
        )

    async with client() as first, client() as second:
        installation_id, repo = await first_repository(first)
        variables = {"owner": repo["owner"]["login"], "name": repo["name"]}
        await first.graphql(PULLS_QUERY, installation_id=installation_id, variables=variables)
        # The first client knows the budget is spent and does not ask again.
        with pytest.raises(RateLimited):
            await first.graphql(PULLS_QUERY, installation_id=installation_id, variables=variables)
        assert sim.stats.snapshot()["requests"]["POST /graphql"] == {"200": 1}
        # The second does not know: GitHub answers 200 with a RATE_LIMITED error.
        with pytest.raises(RateLimited) as raised:
            await second.graphql(PULLS_QUERY, installation_id=installation_id, variables=variables)
    assert raised.value.resource == "graphql" and raised.value.retry_after > 0
    assert second.remaining(installation_id, "graphql") == 0
