"""The sweep against the shapes the real GitHub has and the simulator's defaults do not:
GitHub Enterprise Server's URLs, enterprise and null installation accounts, private
repositories under the manifest's permissions, GraphQL's own limits."""

from __future__ import annotations

import httpx

from prwatch.store.records import SweepStatus
from tests.integration.sweep.harness import SIM_URL, assert_converged, sweep_env


async def test_sweep_on_enterprise_server_layout(sqlite_url: str) -> None:
    """GHES serves REST under /api/v3 and GraphQL at /api/graphql, not /api/v3/graphql."""
    async with sweep_env(sqlite_url, layout="ghes") as env:
        report = await env.sweep()
        assert report.status is SweepStatus.OK, report.error
        assert env.sim.stats.requests.get("POST /graphql", {}).get("200")
        await assert_converged(env)


async def test_simulator_enterprise_layout_has_no_dotcom_urls(sqlite_url: str) -> None:
    async with sweep_env(sqlite_url, layout="ghes") as env:
        transport = httpx.ASGITransport(app=env.sim.app)
        async with httpx.AsyncClient(transport=transport, base_url=SIM_URL) as http:
            for path in ("/graphql", "/api/v3/graphql"):
                answer = await http.post(path, json={"query": "{ rateLimit { cost } }"})
                assert answer.status_code == 404
            assert (await http.get("/rate_limit")).status_code == 404
            assert (await http.get("/api/v3/rate_limit")).status_code == 401
