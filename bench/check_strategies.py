"""The sweep's check-run strategy against one REST request per open PR head, and ETags across a
token rotation, measured in process: `.venv/bin/python -m bench.check_strategies`."""

from __future__ import annotations

import asyncio
import json
import tempfile
import time

import httpx

from prwatch.github.auth import AppCredentials
from prwatch.github.client import GitHubClient
from prwatch.github.limits import ClientLimits
from prwatch.sim.app import create_simulator
from prwatch.sim.config import SimConfig
from prwatch.store import Store, create_engine, upgrade_database
from prwatch.sync.options import SweepOptions
from prwatch.sync.processor import SweepReport, run_sweep

CHECK_RUNS = "GET /repos/{owner}/{repo}/commits/{ref}/check-runs"


async def no_wait(seconds: float) -> None:
    return None


def show(name: str, report: SweepReport) -> None:
    requests = json.dumps(report.requests_by_route, sort_keys=True)
    print(
        f"{name}: status={report.status.value} repos={len(report.repositories)} "
        f"prs_seen={report.prs_seen} changes={sum(report.changes_by_kind.values())} "
        f"points core={report.points_core} graphql={report.points_graphql} "
        f"requests={requests} {report.duration_seconds:.2f}s"
    )


async def main() -> None:
    config = SimConfig(repos=20, prs=500, open_ratio=0.1, seed=1, secondary_limits=False)
    sim = create_simulator(config)
    url = f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/strategies.db"
    await upgrade_database(url)
    engine = create_engine(url)
    store = Store(engine)
    client = GitHubClient(
        AppCredentials(sim.config.app_id, sim.private_key_pem),
        base_url="http://sim.test",
        transport=httpx.ASGITransport(app=sim.app),
        sleep=no_wait,
        limits=ClientLimits(route_limit=100_000),
    )
    options = SweepOptions()
    show("cold", await run_sweep(store, client, options=options))
    show("no-change", await run_sweep(store, client, options=options))
    sim.tokens.expire_all(sim.clock.now())
    show("after token rotation", await run_sweep(store, client, options=options))
    show("next", await run_sweep(store, client, options=options))

    # The alternative: one REST request per open PR head, with ETags.
    truth = sim.world.truth()
    names = {repo["id"]: repo["full_name"] for repo in truth["repositories"]}
    heads = [
        (names[pr["repository_id"]], pr["head_sha"])
        for pr in truth["pull_requests"]
        if pr["state"] == "open"
    ]
    installation_id = next(iter(sim.world.installations))
    etags: dict[str, str | None] = {}
    for round_ in ("first", "repeat"):
        before = client.stats.snapshot()
        started = time.monotonic()
        for name, sha in heads:
            response = await client.get(
                f"/repos/{name}/commits/{sha}/check-runs",
                installation_id=installation_id,
                route=CHECK_RUNS,
                params={"per_page": 100},
                etag=etags.get(sha),
            )
            etags[sha] = response.etag
        after = client.stats.snapshot()
        requests = after.total_requests - before.total_requests
        points = after.points.get("core", 0) - before.points.get("core", 0)
        print(
            f"REST per ref ({round_}): open PRs={len(heads)} requests={requests} "
            f"core points={points} {time.monotonic() - started:.2f}s; at 900/min per route "
            f"that is >= {requests / 900:.1f} min"
        )
    await client.aclose()
    await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
