"""The GitHub simulator's CPU cost per request, by kind, for the requests a prwatch sweep sends.

    .venv/bin/python -m bench.sim_cost [--repos 100] [--prs 1000] [--open-ratio 0.1]
                                       [--rounds 2] [--profile KIND] [--json FILE]

The simulator is built in-process (latency 0, secondary limits on as in the benchmark) and
prwatch's own client and sweep code talk to it through an ASGI transport: the pulls listing is
`prwatch.sync.pull_listing.list_pull_requests` (page 1 with `If-None-Match`), the check query
is `prwatch.sync.check_discovery.discover_check_runs` (one GraphQL query per repository's open
heads, built by `build_check_query`), REST check runs use the route and parameters of the
REST fallback. Requests go one at a time, so the process CPU time spent inside the
simulator's ASGI app during a request is that request's cost (prwatch's client work happens
outside the app call and is not counted). Round 1 includes first-use costs (schema build,
parse caches); later rounds are the steady state a periodic sweep sees.

`--profile KIND` profiles that kind's requests of the last round with pyinstrument and prints
the top frames. The garbage collector is tuned as `prwatch sim` tunes it
(`--no-settle-heap` to compare); the time spent collecting during the measured requests is
printed too.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from starlette.types import ASGIApp, Receive, Scope, Send

from prwatch.github.auth import AppCredentials
from prwatch.github.client import GitHubClient
from prwatch.sim.app import Simulator, create_simulator
from prwatch.sim.config import SimConfig
from prwatch.sim.main import settle_heap
from prwatch.sync.check_discovery import CHECK_RUNS_ROUTE, discover_check_runs
from prwatch.sync.check_query import RepositoryCommits
from prwatch.sync.inventory import INSTALLATION_REPOSITORIES_ROUTE, INSTALLATIONS_ROUTE
from prwatch.sync.pull_listing import ListingOutcome, list_pull_requests

BASE_URL = "http://sim.test"
KINDS = (
    "graphql check query",
    "pulls page 304",
    "pulls page 200",
    "check-runs REST 200",
    "installation repos 200",
    "app installations 200",
    "access token 201",
)


@dataclass
class Meter:
    """CPU seconds spent inside the app, per request kind, and in garbage collection."""

    samples: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    profile_kind: str | None = None
    profiler: Any = None
    gc_seconds: float = 0.0
    _gc_started: float = 0.0

    def on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._gc_started = time.process_time()
        else:
            self.gc_seconds += time.process_time() - self._gc_started

    def restart(self) -> None:
        self.samples.clear()
        self.gc_seconds = 0.0

    def wrap(self, app: ASGIApp) -> ASGIApp:
        async def measured(scope: Scope, receive: Receive, send: Send) -> None:
            status = 0

            async def watch(message: Any) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                await send(message)

            profiling = self.profiler is not None and _expected_kind(scope) == self.profile_kind
            if profiling:
                self.profiler.start()
            started = time.process_time()
            try:
                await app(scope, receive, watch)
            finally:
                spent = time.process_time() - started
                if profiling:
                    self.profiler.stop()
            self.samples[_kind(scope, status)].append(spent)

        return measured


def _expected_kind(scope: Scope) -> str:
    """The kind before the answer is known: conditional requests are expected to be 304s."""
    conditional = any(name == b"if-none-match" for name, _ in scope["headers"])
    expected = {"POST": 201, "GET": 304 if conditional else 200}.get(scope["method"], 200)
    return _kind(scope, expected)


def _kind(scope: Scope, status: int) -> str:
    path: str = scope["path"]
    if path == "/graphql":
        return "graphql check query"
    if path.endswith("/pulls"):
        return f"pulls page {status}"
    if path.endswith("/check-runs"):
        return f"check-runs REST {status}"
    if path == "/installation/repositories":
        return f"installation repos {status}"
    if path == "/app/installations":
        return f"app installations {status}"
    if path.endswith("/access_tokens"):
        return f"access token {status}"
    return f"{scope['method']} {path} {status}"


async def sweep_requests(sim: Simulator, client: GitHubClient, rounds: int, meter: Meter) -> None:
    """`rounds` times: the inventory, page 1 of every repository's pulls (200, then 304 with
    its ETag), every repository's GraphQL check query, and one REST check-run listing per
    repository."""
    world = sim.world
    installations = sorted(world.installations)
    repos = [repo for inst in installations for repo in world.installation_repositories(inst)]
    # A watermark after every PR: the listing stops after page 1, as an incremental sweep does.
    future = datetime.now(UTC) + timedelta(days=3650)
    etags: dict[int, str | None] = {}
    for round_number in range(1, rounds + 1):
        if round_number == rounds and meter.profile_kind is not None:
            from pyinstrument import Profiler

            meter.profiler = Profiler(interval=0.0005, async_mode="disabled")
        await client.app_get("/app/installations", {"per_page": 100}, route=INSTALLATIONS_ROUTE)
        for inst in installations:
            await client.get(
                "/installation/repositories",
                installation_id=inst,
                route=INSTALLATION_REPOSITORIES_ROUTE,
                params={"per_page": 100},
            )
        for repo in repos:
            assert repo.installation_id is not None
            for etag in (None, "stored"):
                listing = await list_pull_requests(
                    client,
                    installation_id=repo.installation_id,
                    repository_id=repo.id,
                    full_name=repo.full_name,
                    etag=etags.get(repo.id) if etag else None,
                    watermark=future,
                    overlap=timedelta(0),
                    full=False,
                )
                if etag is None:
                    etags[repo.id] = listing.etag
                else:
                    assert listing.outcome is ListingOutcome.UNCHANGED, listing.outcome
        for repo in repos:
            assert repo.installation_id is not None
            heads = tuple(pr.head_sha for pr in world.pull_requests_sorted(repo.id, "open"))
            if not heads:
                continue
            commits = RepositoryCommits(repo.id, repo.owner.login, repo.name, heads)
            found = await discover_check_runs(
                client, installation_id=repo.installation_id, commits=commits
            )
            assert len(found) == len(heads)
        for repo in repos:
            assert repo.installation_id is not None
            open_prs = world.pull_requests_sorted(repo.id, "open")
            if not open_prs:
                continue
            response = await client.get(
                f"/repos/{repo.full_name}/commits/{open_prs[0].head_sha}/check-runs",
                installation_id=repo.installation_id,
                route=CHECK_RUNS_ROUTE,
                params={"per_page": 100},
            )
            assert response.status == 200, response.status
        if round_number < rounds:
            meter.restart()


def report(meter: Meter, *, generated_s: float, args: argparse.Namespace) -> dict[str, Any]:
    rows = []
    print(
        f"simulator CPU per request · {args.repos} repositories x {args.prs} PRs, "
        f"{args.open_ratio:.0%} open, {args.installations} installation(s), latency 0, "
        f"round {args.rounds} of {args.rounds} · world generated in {generated_s:.1f} s"
    )
    print(f"{'kind':<24} {'requests':>8} {'CPU s':>8} {'mean ms':>9} {'median ms':>10}")
    kinds = [k for k in KINDS if k in meter.samples] + sorted(set(meter.samples) - set(KINDS))
    for kind in kinds:
        samples = meter.samples[kind]
        total = sum(samples)
        mean_ms = 1000 * total / len(samples)
        median_ms = 1000 * statistics.median(samples)
        print(f"{kind:<24} {len(samples):>8} {total:>8.3f} {mean_ms:>9.2f} {median_ms:>10.2f}")
        rows.append(
            {
                "kind": kind,
                "requests": len(samples),
                "cpu_s": total,
                "mean_ms": mean_ms,
                "median_ms": median_ms,
            }
        )
    total = sum(sum(s) for s in meter.samples.values())
    count = sum(len(s) for s in meter.samples.values())
    print(f"{'all':<24} {count:>8} {total:>8.3f} {1000 * total / count:>9.2f}")
    print(f"of which garbage collection: {meter.gc_seconds:.3f} s")
    print(f"process RSS (world, simulator caches, client): {_rss_mb():.0f} MB")
    return {
        "scale": vars(args),
        "generated_s": generated_s,
        "kinds": rows,
        "cpu_s": total,
        "gc_s": meter.gc_seconds,
        "rss_mb": _rss_mb(),
    }


def _rss_mb() -> float:
    """This process's resident memory: the world, the simulator's caches (and the client)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    started = time.perf_counter()
    config = SimConfig(
        repos=args.repos,
        prs=args.prs,
        open_ratio=args.open_ratio,
        seed=args.seed,
        installations=args.installations,
        latency_ms=0.0,
        secondary_limits=True,
        secondary_counts_304=True,
    )
    sim = create_simulator(config)
    generated_s = time.perf_counter() - started
    if args.settle_heap:
        settle_heap()  # as `prwatch sim` does
    else:
        gc.collect()
    meter = Meter(profile_kind=args.profile)
    gc.callbacks.append(meter.on_gc)
    client = GitHubClient(
        AppCredentials(config.app_id, sim.private_key_pem),
        base_url=BASE_URL,
        transport=httpx.ASGITransport(app=meter.wrap(sim.app)),
    )
    async with client:
        await sweep_requests(sim, client, args.rounds, meter)
    result = report(meter, generated_s=generated_s, args=args)
    if meter.profiler is not None:
        print(meter.profiler.output_text(unicode=False, color=False, show_all=False))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sim_cost", description=__doc__)
    parser.add_argument("--repos", type=int, default=100)
    parser.add_argument("--prs", type=int, default=1000)
    parser.add_argument("--open-ratio", type=float, default=0.1)
    parser.add_argument("--installations", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=2, help="sweeps; the last one is reported")
    parser.add_argument("--profile", choices=KINDS, help="profile this kind with pyinstrument")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument(
        "--settle-heap",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="tune the garbage collector as `prwatch sim` does (prwatch.sim.main.settle_heap)",
    )
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    result = asyncio.run(main_async(args))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
