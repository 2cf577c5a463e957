"""``GET /_sim/truth?installation_id=N``: one installation's part of the whole truth."""

from __future__ import annotations

import httpx

from tests.unit.sim.conftest import make_sim


async def test_truth_of_one_installation_is_its_part_of_the_whole() -> None:
    sim = make_sim(installations=2, repos=4, prs=6)
    transport = httpx.ASGITransport(app=sim.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sim.test") as client:
        first, second = sorted(sim.world.installations)
        # A repository leaves the first installation: it is in neither part afterwards.
        leaving = sorted(sim.world.installations[first].repository_ids)[0]
        await client.delete(f"/_sim/installations/{first}/repositories/{leaving}")
        whole = (await client.get("/_sim/truth")).json()
        parts = [
            (await client.get("/_sim/truth", params={"installation_id": i})).json()
            for i in (first, second)
        ]
    for part, installation_id in zip(parts, (first, second), strict=True):
        assert part["installations"] == whole["installations"]
        ids = {repo["id"] for repo in part["repositories"]}
        assert ids and all(r["installation_id"] == installation_id for r in part["repositories"])
        assert part["pull_requests"] == [
            pr for pr in whole["pull_requests"] if pr["repository_id"] in ids
        ]
        assert part["check_runs"] == [
            run for run in whole["check_runs"] if run["repository_id"] in ids
        ]
    in_parts = {repo["id"] for part in parts for repo in part["repositories"]}
    assert leaving not in in_parts
    assert in_parts == {r["id"] for r in whole["repositories"] if r["installation_id"]}
