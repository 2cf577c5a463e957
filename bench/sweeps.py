"""The sweep scenarios on one database: cold sync, no-change sweep, sweep after 1% churn (PRs,
check runs, commit statuses, reviews), and a no-change sweep after it whose GraphQL points per
query are compared with the first one's."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import correctness as c
from bench.limits import Limit, cold_limit, later_limit
from bench.simulator import SimulatorProcess
from prwatch.store import create_engine

ROOT = Path(__file__).resolve().parent.parent


class SweepProcess:
    """prwatch's sweeps in their own long-lived process (bench/sweep_once.py)."""

    def __init__(self, sim: SimulatorProcess, database_url: str, extra_env: dict[str, str]):
        env = {**os.environ, **sim.env(), "PRWATCH_DATABASE_URL": database_url, **extra_env}
        self.stderr = tempfile.TemporaryFile("w+")  # noqa: SIM115 (closed in close())
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.sweep_once"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            text=True,
        )

    def sweep(self) -> dict[str, Any]:
        assert self.process.stdin and self.process.stdout
        self.process.stdin.write("sweep\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            self.stderr.seek(0)
            raise RuntimeError(f"sweep process died: {self.stderr.read()[-3000:]}")
        result: dict[str, Any] = json.loads(line)
        return result

    def close(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.stderr.close()


def churn(sim: SimulatorProcess, seed: int) -> dict[str, Any]:
    """1% of PRs updated, check runs changed on 2% of open PRs, one repository removed from
    the installation and one renamed."""
    summary = sim.admin(
        "POST", "/_sim/churn", {"seed": seed, "pr_fraction": 0.01, "check_fraction": 0.02}
    )
    truth = sim.truth()
    live = [
        r for r in truth["repositories"] if not r["deleted"] and r["installation_id"] is not None
    ]
    removed, renamed = live[-1], live[0]
    sim.admin(
        "DELETE",
        f"/_sim/installations/{removed['installation_id']}/repositories/{removed['id']}",
    )
    owner, name = renamed["full_name"].split("/")
    sim.admin("POST", f"/_sim/repos/{owner}/{name}/rename", {"name": f"{name}-renamed"})
    return {
        "counts": summary["counts"],
        "removed": removed["full_name"],
        "renamed": renamed["full_name"],
    }


async def _measure_store(url: str, truth: c.View, cursor: int, since: datetime) -> dict[str, Any]:
    engine = create_engine(url)
    try:
        stored = await c.store_view(engine, truth)
        detected, rows = await c.logged_keys(engine, cursor)
        upserts = await c.rows_synced_since(engine, since)
        next_cursor = await c.change_cursor(engine)
    finally:
        await engine.dispose()
    return {
        "stored": stored,
        "detected": detected,
        "rows": {"change_log": rows, **upserts},
        "cursor": next_cursor,
    }


def scenario(
    sim: SimulatorProcess,
    sweeper: SweepProcess,
    url: str,
    name: str,
    before: c.View,
    cursor: int,
) -> tuple[dict[str, Any], c.View, int]:
    sim.reset_stats()
    time.sleep(1.1)  # rows synced by the previous sweep fall before `since`, at any resolution
    since = datetime.now(UTC)
    sim_cpu = sim.cpu_seconds()
    result = sweeper.sweep()
    sim_cpu = sim.cpu_seconds() - sim_cpu
    stats = sim.stats()
    after = c.truth_view(sim.truth())
    measured = asyncio.run(_measure_store(url, after, cursor, since))
    expected = c.changed_keys(before, after)
    installations = sim.scale.installations
    limit: Limit = (
        cold_limit(after, installations)
        if name == "cold"
        else later_limit(before, after, expected, installations)
    )
    figures = {
        "scenario": name,
        "prwatch": result,
        "simulator": {"stats": stats, "cpu_seconds": sim_cpu},
        "rows_written": measured["rows"],
        "correctness": c.judge(expected, measured["detected"], after, measured["stored"]),
        "limit": limit.as_dict(),
        "open_prs": sum(1 for key, value in after.items() if key[0] == "pr" and value[2] == "open"),
    }
    return figures, after, measured["cursor"]


def run_sweep_scenarios(
    sim: SimulatorProcess, url: str, *, seed: int, extra_env: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    extra_env = extra_env or {}
    results = []
    view: c.View = {}
    cursor = 0
    sweeper = SweepProcess(sim, url, extra_env)
    try:
        for name in ("cold", "no-change", "churn", NO_CHANGE_AFTER):
            churned = None
            if name == "churn":
                churned = churn(sim, seed)
            figures, view, cursor = scenario(sim, sweeper, url, name, view, cursor)
            if churned:
                figures["churn"] = churned
            if name == NO_CHANGE_AFTER:
                figures["graphql_points_per_query"] = compare_quiet_points(results[1], figures)
            print(_line(figures), flush=True)
            results.append(figures)
    finally:
        sweeper.close()
    return results


# A quiet sweep once churn added commit statuses and reviews (and took one repository away):
# the check query reads statuses in the same rollups, so each query must cost what it did.
NO_CHANGE_AFTER = "no-change after churn"


def _graphql(f: dict[str, Any]) -> tuple[int, int]:
    """(points, queries) of a sweep's GraphQL."""
    p = f["prwatch"]
    queries = sum(p["requests_by_route"].get("POST /graphql", {}).values())
    return int(p["points_graphql"]), int(queries)


def compare_quiet_points(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The quiet sweep's GraphQL before and after churn added statuses and reviews: points,
    queries, and whether each query still costs the same."""
    (points_before, queries_before), (points_after, queries_after) = (
        _graphql(before),
        _graphql(after),
    )
    per_before = points_before / queries_before if queries_before else 0.0
    per_after = points_after / queries_after if queries_after else 0.0
    return {
        "before": {"points": points_before, "queries": queries_before},
        "after": {"points": points_after, "queries": queries_after},
        "same": per_before == per_after,
    }


def _line(f: dict[str, Any]) -> str:
    p, k = f["prwatch"], f["correctness"]
    return (
        f"  {f['scenario']:<10} {p['wall_seconds']:7.2f} s  status={p['status']}  "
        f"requests={sum(p['requests_by_outcome'].values())} "
        f"points={p['points_core']}+{p['points_graphql']}gql  rss={p['peak_rss_mb']:.0f} MB  "
        f"found {k['found']}/{k['expected_changes']} invented {k['invented']} "
        f"mismatches {k['store_mismatches']}"
    )
