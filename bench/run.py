"""``make bench``: prwatch against the physical limit and against a peer, in one run.

Starts the GitHub simulator as its own process (100 ms latency per request, secondary limits
on, 304s counted toward them), runs prwatch's sweep in another process on SQLite and on
PostgreSQL (a fresh database each), then the webhook scenarios and the peer, and writes a
markdown table to bench/RESULTS.md, the JSON and a chart to bench/results/.
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from bench.databases import drop_database, fresh_database
from bench.report import write
from bench.scale_up import ScaleUpPlan, run_scale_up
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
    parser.add_argument(
        "--peer-from",
        type=Path,
        default=None,
        help="take the peer's figures from a recorded `python -m bench.peer` run (its JSON) "
        "instead of running it again (about 20 minutes at the default scale)",
    )
    parser.add_argument("--no-sweeps", action="store_true")
    parser.add_argument(
        "--scale-up",
        action="store_true",
        help="also 1,000 repositories x 1,000 PRs, 10 installations, 4 workers (Redis + Postgres)"
        "; with --quick 20 x 200, 2 installations, 2 workers",
    )
    parser.add_argument("--scale-up-repos", type=int, default=None)
    parser.add_argument("--scale-up-prs", type=int, default=None)
    parser.add_argument("--scale-up-installations", type=int, default=None)
    parser.add_argument("--workers", type=int, default=None, help="scale-up worker processes")
    parser.add_argument(
        "--profile-workers",
        action="store_true",
        help="py-spy every scale-up worker during each sweep (bench/.work/scale-up/profiles)",
    )
    args = parser.parse_args(argv)
    if args.repos is None:
        args.repos = 10 if args.quick else 100
    if args.prs is None:
        args.prs = 200 if args.quick else 1000
    return args


def scale_up_plan(args: argparse.Namespace) -> ScaleUpPlan:
    quick = args.quick
    return ScaleUpPlan(
        repos=args.scale_up_repos or (20 if quick else 1000),
        prs=args.scale_up_prs or (200 if quick else 1000),
        installations=args.scale_up_installations or (2 if quick else 10),
        workers=args.workers or (2 if quick else 4),
        latency_ms=args.latency_ms,
        seed=args.seed,
        profile_dir=WORK / "scale-up" / "profiles" if args.profile_workers else None,
    )


def scale_up_run(args: argparse.Namespace, notes: list[str]) -> dict[str, Any]:
    workdir = WORK / "scale-up"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    url = fresh_database("postgres", workdir, "scaleup")
    try:
        run = run_scale_up(scale_up_plan(args), workdir, url)
    finally:
        drop_database(url)
    notes.extend(run.pop("notes"))
    notes.append(
        "- scale-up: the workers keep no schedule, the bench asks for each sweep (a SWEEP "
        "job) and waits for its record; wall time is the sweep record's, from planning to the "
        "last repository recorded"
    )
    return run


def sweep_runs(args: argparse.Namespace, notes: list[str]) -> list[dict[str, Any]]:
    runs = []
    scale = Scale(repos=args.repos, prs=args.prs, latency_ms=args.latency_ms, seed=args.seed)
    for dialect in [d.strip() for d in args.databases.split(",") if d.strip()]:
        workdir = WORK / dialect
        shutil.rmtree(workdir, ignore_errors=True)
        workdir.mkdir(parents=True)
        print(f"sweeps on {dialect}: starting the simulator", flush=True)
        sim = SimulatorProcess(scale, workdir)
        notes.append(
            f"- simulator ({dialect} run): generated in {sim.startup_seconds:.1f} s, "
            f"RSS {sim.rss_mb():.0f} MB"
        )
        url = fresh_database(dialect, workdir, "sweeps")
        try:
            scenarios = run_sweep_scenarios(sim, url, seed=args.seed, notes=notes, label=dialect)
        finally:
            sim.stop()
            drop_database(url)
        runs.append({"label": dialect, "scenarios": scenarios})
    return runs


def recorded_peer(path: Path, args: argparse.Namespace, notes: list[str]) -> dict[str, Any]:
    """A recorded peer run, refused unless it was made at this run's scale."""
    peer: dict[str, Any] = json.loads(path.read_text())
    scale = peer.get("scale", {})
    wanted = {"repos": args.repos, "prs": args.prs, "latency_ms": args.latency_ms}
    if any(scale.get(key) != value for key, value in wanted.items()):
        raise SystemExit(f"{path}: recorded at {scale}, this run is {wanted}")
    notes.append(f"- peer: figures recorded by `python -m bench.peer` in {path.name}")
    return peer


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    # Each part empties its own folder under WORK: a bench run beside this one keeps its files.
    WORK.mkdir(parents=True, exist_ok=True)
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
    # After the webhooks: the scale-up leaves PostgreSQL busy for minutes (autovacuum over
    # millions of new rows), which would be measured as webhook latency on 2 cores.
    if args.scale_up:
        run = scale_up_run(args, notes)
        results["scale"] += f"; scale-up: {run['scale']}"
        results["sweeps"].append(run)
    if args.peer_from is not None:
        results["peer"] = recorded_peer(args.peer_from, args, notes)
    elif not args.no_peer:
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
