"""Embedded mode end to end: ``prwatch serve`` on SQLite without Redis, the simulator process
posting its webhooks into it; what the read API answers is the simulator's truth."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from tests.integration.processes.harness import (
    SimProcess,
    api_headers,
    base_environment,
    differences,
    free_port,
    processes,
    run_prwatch,
    settle,
    start_serve,
    start_simulator,
)


def all_changes(prwatch_url: str) -> list[dict[str, Any]]:
    changes: list[dict[str, Any]] = []
    cursor = 0
    while True:
        response = httpx.get(
            f"{prwatch_url}/api/changes",
            params={"after": cursor, "limit": 1000},
            headers=api_headers(prwatch_url),
            timeout=10,
        )
        assert response.status_code == 200, response.text
        page = response.json()
        changes += page["changes"]
        if not page["changes"]:
            return changes
        cursor = page["next"]


def complete_some_check_runs(sim: SimProcess, truth: dict[str, Any], count: int) -> list[int]:
    heads = {
        (pr["repository_id"], pr["head_sha"])
        for pr in truth["pull_requests"]
        if pr["state"] == "open"
    }
    pending = [
        run["id"]
        for run in truth["check_runs"]
        if run["status"] != "completed" and (run["repository_id"], run["head_sha"]) in heads
    ][:count]
    for run_id in pending:
        sim.admin(
            "PATCH", f"/_sim/check-runs/{run_id}", {"status": "completed", "conclusion": "failure"}
        )
    return pending


def test_webhooks_into_embedded_serve_read_back_as_the_truth(tmp_path: Path) -> None:
    port = free_port()
    with processes(tmp_path) as group:
        sim = start_simulator(
            group,
            hook_url=f"http://127.0.0.1:{port}/webhooks",
            extra=("--repos", "2", "--prs", "10", "--open-ratio", "0.6", "--seed", "3"),
        )
        env = base_environment(
            **sim.settings,
            PRWATCH_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'prwatch.db'}",
            # No periodic sweep during the test: only the webhooks may bring the changes.
            PRWATCH_SWEEP_INTERVAL_SECONDS="86400",
        )
        inventory = run_prwatch(["sweep", "--no-progress"], env, tmp_path)  # migrates, too
        assert inventory.returncode == 0, inventory.stdout + inventory.stderr
        url = start_serve(group, env, port)
        assert differences(url, sim.truth()) == []
        swept = len(all_changes(url))

        # GitHub sends no webhook when a check run goes from queued to in progress (the sweep
        # catches that), so the check runs change only in ways a delivery announces.
        changed = sim.churn(seed=8, pr_fraction=0.5, check_fraction=0.0, new_prs=3)
        assert changed["pull_requests"] and changed["opened"]
        completed = complete_some_check_runs(sim, sim.truth(), 6)
        assert completed
        attempts = sim.drain_webhooks()
        assert attempts > 0

        left = settle(url, sim, 20)
        assert not left, "\n".join(left)
        later = all_changes(url)[swept:]
        assert later, "the webhooks brought changes"
        assert {change["source"] for change in later} == {"webhook"}
        assert all(change["delivery_id"] for change in later)
        opened = {(change["repository_id"], change["pr_number"]) for change in later}
        assert {(int(r), int(n)) for r, n in changed["opened"]} <= opened
