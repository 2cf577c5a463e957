"""The GraphQL route as the assembled simulator serves it: tokens from its App auth flow."""

from __future__ import annotations

import httpx
from sim_graphql_support import checks_query

from prwatch.sim.app import create_simulator
from prwatch.sim.clock import ManualClock
from prwatch.sim.config import SimConfig


async def test_the_simulator_serves_graphql_with_its_own_tokens_limits_and_stats() -> None:
    config = SimConfig(repos=2, prs=10, open_ratio=1.0, seed=3)
    sim = create_simulator(config, clock=ManualClock(1_700_000_000))
    installation_id = min(sim.world.installations)
    token = sim.tokens.issue(installation_id, sim.clock.now(), 3600).token
    repo = sim.world.installation_repositories(installation_id)[0]
    shas = [pr.head_sha for pr in repo.pulls]
    transport = httpx.ASGITransport(app=sim.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sim.test") as http:
        response = await http.post(
            "/graphql",
            json={"query": checks_query([(repo.full_name, shas)])},
            headers={"Authorization": f"token {token}"},
        )
        rest = await http.get("/rate_limit", headers={"Authorization": f"token {token}"})

    assert response.status_code == 200
    data = response.json()["data"]
    assert data["rateLimit"]["cost"] == 1
    for index, sha in enumerate(shas):
        runs = sim.world.check_runs_for_sha(repo.id, sha)
        contexts = data["r0"][f"c{index}"]["statusCheckRollup"]["contexts"]
        assert {node["databaseId"] for node in contexts["nodes"]} == {run.id for run in runs}
    assert response.headers["x-ratelimit-resource"] == "graphql"
    assert rest.json()["resources"]["graphql"]["used"] == 1
    assert sim.stats.snapshot()["requests"]["POST /graphql"] == {"200": 1}
    assert sim.stats.points["graphql"] == 1
