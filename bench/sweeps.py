"""The sweep scenarios on one database: cold sync, no-change sweep, sweep after 1% churn (PRs,
check runs, commit statuses, reviews), and a no-change sweep after it whose GraphQL points per
query are compared with the first one's."""

from __future__ import annotations

import asyncio
import json
import os
import re
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


class FreshProcessSweeper:
    """``prwatch sweep`` as cron runs it: a new process each time, which must reuse the
    installation token the previous process stored (GitHub's ETags are per token).

    Requests and points are the simulator's count (the scenario resets it before each sweep);
    wall, CPU and peak RSS are the child process's own, measured by ``bench.child_usage``
    (``wait4`` from here would report this process's RSS as the child's)."""

    def __init__(self, sim: SimulatorProcess, database_url: str, extra_env: dict[str, str]):
        self.sim = sim
        self.env = {**os.environ, **sim.env(), "PRWATCH_DATABASE_URL": database_url, **extra_env}

    def sweep(self) -> dict[str, Any]:
        with (
            tempfile.TemporaryFile("w+") as out,
            tempfile.TemporaryFile("w+") as err,
            tempfile.NamedTemporaryFile("r") as usage_file,
        ):
            command = [sys.executable, "-m", "prwatch.cli", "sweep", "--no-progress"]
            process = subprocess.run(
                [sys.executable, "-m", "bench.child_usage", usage_file.name, *command],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=err,
                check=False,
            )
            usage = json.loads(usage_file.read())
            out.seek(0)
            err.seek(0)
            summary, errors = out.read(), err.read()
        stats = self.sim.stats()
        by_outcome: dict[str, int] = {}
        for outcomes in stats["requests"].values():
            for outcome, count in outcomes.items():
                by_outcome[outcome] = by_outcome.get(outcome, 0) + count
        ok = process.returncode == 0
        repositories = re.search(r"repositories ok / failed\W+(\d+) / (\d+)", summary)
        return {
            "status": "ok" if ok else "failed",
            "error": None if ok else errors[-2000:],
            "summary": summary[-3000:],
            "repositories": sum(map(int, repositories.groups())) if repositories else None,
            "requests_by_outcome": by_outcome,
            "requests_by_route": stats["requests"],
            "points_core": stats["points"].get("core", 0),
            "points_graphql": stats["points"].get("graphql", 0),
            "wall_seconds": usage["wall_seconds"],
            "cpu_seconds": usage["cpu_seconds"],
            "peak_rss_mb": usage["peak_rss_mb"],
        }


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


# Consecutive no-change sweeps in one process, to see whether its memory stays flat.
SWEEPS_FOR_MEMORY = 15


def run_sweep_scenarios(
    sim: SimulatorProcess,
    url: str,
    *,
    seed: int,
    extra_env: dict[str, str] | None = None,
    notes: list[str] | None = None,
    label: str = "",
) -> list[dict[str, Any]]:
    """Cold, no-change and churn sweeps in one resident process, then a no-change sweep as a
    process of its own (``prwatch sweep``, as cron runs it), then the resident process's
    memory over consecutive no-change sweeps (a note)."""
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
        fresh = FreshProcessSweeper(sim, url, extra_env)
        figures, view, cursor = scenario(sim, fresh, url, "fresh-process", view, cursor)  # type: ignore[arg-type]
        print(_line(figures), flush=True)
        results.append(figures)
        if notes is not None:
            notes.append(memory_note(sweeper, label))
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


def memory_note(sweeper: SweepProcess, label: str) -> str:
    """RSS of the resident process after each of SWEEPS_FOR_MEMORY no-change sweeps."""
    series = [sweeper.sweep() for _ in range(SWEEPS_FOR_MEMORY)]
    rss = [s["rss_mb"] for s in series]
    peaks = [s["peak_rss_mb"] for s in series]
    cpu = [1000 * s["cpu_seconds"] / max(1, s["repositories"]) for s in series]
    print(f"  memory over {len(series)} sweeps: " + " ".join(f"{r:.0f}" for r in rss), flush=True)
    return (
        f"- memory ({label}): RSS after each of {len(series)} consecutive no-change sweeps in "
        f"one process {' '.join(f'{r:.0f}' for r in rss)} MB (growth "
        f"{rss[-1] - rss[0]:+.1f} MB, {(rss[-1] - rss[0]) / (len(rss) - 1):+.2f} MB per sweep); "
        f"peak RSS per sweep {min(peaks):.0f} to {max(peaks):.0f} MB; CPU per repository "
        f"{min(cpu):.1f} to {max(cpu):.1f} ms (median {sorted(cpu)[len(cpu) // 2]:.1f} ms)"
    )


def _line(f: dict[str, Any]) -> str:
    p, k = f["prwatch"], f["correctness"]
    return (
        f"  {f['scenario']:<10} {p['wall_seconds']:7.2f} s  status={p['status']}  "
        f"requests={sum(p['requests_by_outcome'].values())} "
        f"points={p['points_core']}+{p['points_graphql']}gql  rss={p['peak_rss_mb']:.0f} MB  "
        f"cpu={p['cpu_seconds']:.2f} s ({cpu_ms_per_repository(p):.1f} ms/repo)  "
        f"found {k['found']}/{k['expected_changes']} invented {k['invented']} "
        f"mismatches {k['store_mismatches']}"
    )


def cpu_ms_per_repository(prwatch: dict[str, Any]) -> float:
    return 1000 * prwatch["cpu_seconds"] / max(1, prwatch.get("repositories") or 1)
