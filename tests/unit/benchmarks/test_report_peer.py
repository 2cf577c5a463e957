"""The peer's cell beside each sweep scenario: cold beside cold, its incremental sync beside
the no-change sweep, its sync after the same churn beside churn; check runs marked missing."""

from __future__ import annotations

from typing import Any

from bench.report import sweep_rows
from tests.unit.benchmarks.test_report_scale_up import figures


def peer_run(wall: float, requests: int, records: int) -> dict[str, Any]:
    return {"wall_seconds": wall, "requests": requests, "points": requests, "records": records}


PEER = {
    "package": "tap-github",
    "check_runs": False,
    "cold": peer_run(1200.0, 3400, 100_000),
    "incremental": peer_run(50.0, 190, 3820),
    "churn": peer_run(48.0, 200, 4160),
}


def test_each_scenario_has_the_peer_run_of_the_same_work() -> None:
    rows = sweep_rows(
        "sqlite",
        [figures(name, 10.0, 1.0, 100) for name in ("cold", "no-change", "churn")],
        PEER,
    )
    cold, unchanged, churn = rows
    assert "1200.0 s · 3400 req" in cold
    assert "50.0 s · 190 req" in unchanged
    assert "48.0 s · 200 req · 200 pts · 4160 PR records" in churn
    assert all("**no check runs**" in row for row in rows)


def test_a_peer_that_did_not_run_says_why() -> None:
    (row,) = sweep_rows("sqlite", [figures("cold", 10.0, 1.0, 100)], {"error": "no network"})
    assert "tap-github did not run: no network" in row
