"""The scale-up rows of the bench table and the notes on what the simulator bounds."""

from __future__ import annotations

from typing import Any

from bench.report import scale_up_row, simulator_bound_notes


def figures(scenario: str, wall: float, sim_cpu: float, points_graphql: int) -> dict[str, Any]:
    return {
        "scenario": scenario,
        "prwatch": {
            "wall_seconds": wall,
            "status": "ok",
            "repositories": 1000,
            "requests_by_outcome": {"200": 1001, "304": 1010},
            "points_core": 0,
            "points_graphql": points_graphql,
            "peak_rss_mb": 250.0,
            "peak_rss_mb_sum": 900.0,
            "peak_rss_mb_by_worker": [250.0, 220.0, 215.0, 215.0],
            "cpu_seconds": 40.0,
        },
        "simulator": {
            "cpu_seconds": sim_cpu,
            "stats": {"requests": {"GET /repos/{owner}/{repo}/pulls": {"304": 1000}}},
        },
        "postgres": {"cpu_seconds": 3.0},
        "rows_written": {"change_log": 0, "pull_requests": 0, "check_runs": 0},
        "correctness": {
            "expected_changes": 0,
            "found": 0,
            "missed": 0,
            "invented": 0,
            "store_mismatches": 0,
        },
        "limit": {"requests": 2011, "points": 1000},
        "open_prs": 100_000,
    }


def test_no_change_target_is_60_seconds_and_a_point_per_100_open_prs() -> None:
    met = scale_up_row("scale-up, 4 workers", figures("no-change", 59.0, 10.0, 1000))
    slow = scale_up_row("scale-up, 4 workers", figures("no-change", 61.0, 10.0, 1000))
    costly = scale_up_row("scale-up, 4 workers", figures("no-change", 30.0, 10.0, 1001))
    assert "≤ 60 s, ≤ 1 pt / 100 open PRs: met" in met
    assert "**missed**" in slow and "**missed**" in costly
    assert "RSS max 250 MB / sum 900 MB (4 workers)" in met
    assert "CPU workers 40.0 s / sim 10.0 s / postgres 3.0 s" in met
    assert "GET pulls 304: 1000" in met
    assert "1.00x req · 1.00x pts" in met


def test_a_busy_simulator_is_named_as_the_bound() -> None:
    run = {
        "label": "scale-up",
        "scenarios": [figures("no-change", 100.0, 90.0, 1000), figures("cold", 100.0, 20.0, 1)],
    }
    busy, idle = simulator_bound_notes(run)
    assert "90% of its one core" in busy and "the simulator bounds this wall time" in busy
    assert "does not bound" in idle
