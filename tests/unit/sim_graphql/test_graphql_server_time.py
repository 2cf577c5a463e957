"""GraphQL's secondary limits as GitHub counts them: 1 point per query, 60 s of server time
per minute, and a 502 past the 10 s timeout."""

from __future__ import annotations

from sim_graphql_support import checks_query, connect, make_sim

from prwatch.sim.graphql_limits import TIMEOUT_MESSAGE
from prwatch.sim.limits import installation_subject


async def test_a_query_counts_one_secondary_point_whatever_its_cost() -> None:
    sim = make_sim()
    async with connect(sim) as client:
        repo = sim.world.installation_repositories(client.installation_id)[0]
        shas = ([pr.head_sha for pr in repo.pulls] * 3)[:200]  # costs 2 primary points
        answer = await client.query(checks_query([(repo.full_name, shas)]))
        assert answer["data"]["rateLimit"]["cost"] == 2
        waits = client.endpoint.points_per_minute
        subject = installation_subject(client.installation_id)
        now = sim.clock.now()
        assert waits.wait(subject, 1999, now, 2000) is None  # one point spent, not two
        assert waits.wait(subject, 2000, now, 2000) is not None


async def test_a_slow_query_is_cut_with_a_502_and_server_time_is_capped() -> None:
    sim = make_sim(graphql_ms_per_node=1.0, graphql_cpu_seconds_per_minute=25.0)
    async with connect(sim) as client:
        repo = sim.world.installation_repositories(client.installation_id)[0]
        shas = [pr.head_sha for pr in repo.pulls][:60]  # 6,000 nodes: 6 s
        big = ([pr.head_sha for pr in repo.pulls] * 3)[:149]  # 14,900 nodes: 14.9 s
        cut = await client.post(checks_query([(repo.full_name, big)]))
        assert cut.status_code == 502
        assert cut.json() == {"data": None, "errors": [{"message": TIMEOUT_MESSAGE}]}
        for _ in range(3):  # 10 s (the cut one) + 3 x 6 s = 28 s: past the 25 s cap
            assert (await client.post(checks_query([(repo.full_name, shas)]))).status_code == 200
        refused = await client.post(checks_query([(repo.full_name, shas)]))
        assert refused.status_code == 403
        assert "secondary rate limit" in refused.json()["message"]
        assert int(refused.headers["retry-after"]) >= 1
        sim.clock.advance(60)
        assert (await client.post(checks_query([(repo.full_name, shas)]))).status_code == 200
