"""``prwatch demo``: the simulator and prwatch together, with live activity and a summary."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "demo",
        help="run prwatch against a simulated GitHub with live activity (no setup needed)",
    )
    parser.add_argument(
        "--duration",
        type=float,
        default=None,
        help="seconds the demo runs (default 60: 45 s of live activity, then recovery, the "
        "sweeps and the summary, then it stays up); given: exit after the summary",
    )
    parser.add_argument("--host", default="127.0.0.1", help="listen address (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="prwatch's port (8000; 0: any)")
    parser.add_argument("--sim-port", type=int, default=0, help="the simulator's port (any)")
    parser.add_argument("--repos", type=int, default=5, help="simulated repositories (5)")
    parser.add_argument("--prs", type=int, default=200, help="pull requests per repository (200)")
    parser.add_argument(
        "--drop-rate", type=float, default=0.1, help="share of deliveries dropped (0.1)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the world and activity")
    parser.add_argument(
        "--data-dir", type=Path, default=None, help="keep the SQLite database here (temporary)"
    )
    parser.add_argument(
        "--exit", action="store_true", help="exit after the summary (implied by --duration)"
    )
    parser.add_argument(
        "--summary-json", type=Path, default=None, help="also write the summary here as JSON"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from prwatch.demo.run import DemoOptions, run_demo
    from prwatch.demo.servers import PortUnavailable

    try:
        options = DemoOptions(
            duration=60.0 if args.duration is None else args.duration,
            host=args.host,
            port=args.port,
            sim_port=args.sim_port,
            repos=args.repos,
            prs=args.prs,
            drop_rate=args.drop_rate,
            seed=args.seed,
            data_dir=args.data_dir,
            stay_up=not (args.exit or args.duration is not None),
        )
    except ValueError as problem:
        print(f"prwatch demo: {problem}", file=sys.stderr)
        return 2
    try:
        summary = asyncio.run(run_demo(options, Console()))
    except PortUnavailable as problem:
        print(
            f"prwatch demo: {problem} (choose another with --port or --sim-port)", file=sys.stderr
        )
        return 1
    if args.summary_json is not None:
        args.summary_json.write_text(json.dumps(summary.as_json(), indent=2) + "\n")
    return 0
