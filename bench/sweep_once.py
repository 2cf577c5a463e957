"""Reconcile sweeps in a process of their own, so that peak RSS and CPU are prwatch's.

Reads the PRWATCH_* environment like ``prwatch sweep`` and keeps one process context, as
``prwatch serve`` does between its periodic sweeps (the installation token, and with it the
token-specific ETags, stay valid for an hour). Each line ``sweep`` on stdin runs
``run_sweep`` once and answers one JSON line: the sweep's report, wall time, CPU time and
the peak RSS during that sweep. End of input ends the process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

from prwatch.config import load_settings
from prwatch.context import ProcessContext, create_context, sweep_options
from prwatch.sync.processor import run_sweep


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def reset_peak_rss() -> None:
    """Start a new peak (VmHWM) for the next sweep (Linux: clear_refs value 5)."""
    # Without it the peak covers the process's whole life: an upper bound.
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


async def sweep(context: ProcessContext) -> dict[str, Any]:
    reset_peak_rss()
    cpu_before = _cpu()
    started = time.monotonic()
    report = await run_sweep(context.store, context.github, options=sweep_options(context.settings))
    wall = time.monotonic() - started
    return {
        "sweep_id": report.sweep_id,
        "status": report.status.value,
        "error": report.error,
        "failed": [f"{o.full_name}: {o.error}" for o in report.failed],
        "repositories": len(report.repositories),
        "prs_seen": report.prs_seen,
        "changes_by_kind": dict(report.changes_by_kind),
        "requests_by_outcome": report.requests_by_outcome,
        "requests_by_route": report.requests_by_route,
        "points_core": report.points_core,
        "points_graphql": report.points_graphql,
        "conditional_misses_token_changed": report.conditional_misses_token_changed,
        "wall_seconds": wall,
        "cpu_seconds": _cpu() - cpu_before,
        "peak_rss_mb": peak_rss_mb(),
        "rss_mb": rss_mb(),  # after the sweep: what the process keeps between sweeps
    }


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def serve_commands() -> None:
    context = await create_context(load_settings())
    loop = asyncio.get_running_loop()
    try:
        while line := await loop.run_in_executor(None, sys.stdin.readline):
            if line.strip() != "sweep":
                raise SystemExit(f"unknown command {line.strip()!r}: only 'sweep'")
            print(json.dumps(await sweep(context)), flush=True)
    finally:
        await context.aclose()


def main() -> int:
    asyncio.run(serve_commands())
    return 0


if __name__ == "__main__":
    sys.exit(main())
