"""``make bench``: prwatch against the physical limit and against a peer, in one run.

Starts the GitHub simulator as its own process (100 ms latency per request, secondary limits
on, 304s counted toward them), runs prwatch's sweep in another process on SQLite and on
PostgreSQL (a fresh database each), then the webhook scenarios and the peer, and writes a
markdown table to bench/RESULTS.md, the JSON and a chart to bench/results/.
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from bench.databases import drop_database, fresh_database
from bench.report import write
from bench.simulator import Scale, SimulatorProcess
from bench.sweeps import run_sweep_scenarios

WORK = Path(__file__).resolve().parent / ".work"


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="make bench ARGS=…", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="10 repositories x 200 PRs, short")
    parser.add_argument("--repos", type=int, default=None)
    parser.add_argument("--prs", type=int, default=None)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--databases", default="sqlite,postgres", help="comma-separated: sqlite, postgres"
    )
    parser.add_argument("--no-webhooks", action="store_true")
    parser.add_argument("--no-peer", action="store_true")
    parser.add_argument("--no-sweeps", action="store_true")
    parser.add_argument(
        "--scale-up",
        action="store_true",
        help="also 1,000 repositories x 1,000 PRs, 10 installations, 4 workers (Redis + Postgres)",
    )
    args = parser.parse_args(argv)
    if args.scale_up:
        parser.error("--scale-up (1,000 x 1,000, 10 installations, 4 workers) is not built yet")
    if args.repos is None:
        args.repos = 10 if args.quick else 100
    if args.prs is None:
        args.prs = 200 if args.quick else 1000
    return args


def sweep_runs(args: argparse.Namespace, notes: list[str]) -> list[dict[str, Any]]:
    runs = []
    scale = Scale(repos=args.repos, prs=args.prs, latency_ms=args.latency_ms, seed=args.seed)
    for dialect in [d.strip() for d in args.databases.split(",") if d.strip()]:
        workdir = WORK / dialect
        workdir.mkdir(parents=True, exist_ok=True)
        print(f"sweeps on {dialect}: starting the simulator", flush=True)
        sim = SimulatorProcess(scale, workdir)
        notes.append(
            f"- simulator ({dialect} run): generated in {sim.startup_seconds:.1f} s, "
            f"RSS {sim.rss_mb():.0f} MB"
        )
        url = fresh_database(dialect, workdir, "sweeps")
        try:
            scenarios = run_sweep_scenarios(sim, url, seed=args.seed)
        finally:
            sim.stop()
            drop_database(url)
        runs.append({"label": dialect, "scenarios": scenarios})
    return runs


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    started = time.monotonic()
    notes = [
        "- CPU: the simulator and prwatch share the machine's cores; when the simulator's CPU "
        "time nears the wall time it, not prwatch, bounds wall time and deliveries/s.",
        "- physical limit: see bench/limits.py for the model (a lower bound).",
    ]
    results: dict[str, Any] = {
        "scale": (
            f"1 installation, {args.repos} repositories x {args.prs} PRs, 10% open, "
            f"~5 check runs per open PR, {args.latency_ms:.0f} ms latency, secondary limits on "
            "(304s counted)"
        ),
        "sweeps": [],
        "webhooks": [],
        "peer": None,
        "notes": notes,
    }
    if not args.no_sweeps:
        results["sweeps"] = sweep_runs(args, notes)
    if not args.no_webhooks:
        from bench.webhooks import run_webhook_scenarios

        results["webhooks"] = run_webhook_scenarios(WORK, quick=args.quick)
    if not args.no_peer:
        from bench.peer import run_peer

        scale = Scale(repos=args.repos, prs=args.prs, latency_ms=args.latency_ms, seed=args.seed)
        results["peer"] = run_peer(WORK, scale)
    results["elapsed_seconds"] = time.monotonic() - started
    command = "make bench" + (f" ARGS='{shlex.join(sys.argv[1:])}'" if sys.argv[1:] else "")
    json_path, chart_path, table = write(results, command)
    print(table)
    print(f"\nJSON: {json_path}\nchart: {chart_path}\nappended to bench/RESULTS.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
