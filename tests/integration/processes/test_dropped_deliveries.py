"""Deliveries the simulator drops, with the delivery ledger off, are caught by the next sweep."""

from __future__ import annotations

from pathlib import Path

from tests.integration.processes.harness import (
    base_environment,
    differences,
    free_port,
    processes,
    run_prwatch,
    settle,
    start_serve,
    start_simulator,
)
from tests.integration.processes.test_worker_killed import complete_open_check_runs


async def test_dropped_deliveries_are_recovered_by_the_next_sweep_with_the_ledger_off(
    postgres_url: str, redis_url: str, tmp_path: Path
) -> None:
    port = free_port()
    with processes(tmp_path) as group:
        sim = start_simulator(
            group,
            hook_url=f"http://127.0.0.1:{port}/webhooks",
            extra=("--repos", "2", "--prs", "10", "--open-ratio", "0.6", "--seed", "9"),
        )
        env = base_environment(
            **sim.settings,
            PRWATCH_DATABASE_URL=postgres_url,
            PRWATCH_REDIS_URL=redis_url,
            PRWATCH_SWEEP_BACKOFF_SECONDS="0",
        )
        for command in (["db", "upgrade"], ["sweep", "--no-progress"]):
            done = run_prwatch(command, env, tmp_path)
            assert done.returncode == 0, done.stdout + done.stderr
        url = start_serve(group, env, port)
        # No schedule: no ledger check (and no periodic sweep) from this worker.
        group.start("worker", ["worker", "--no-schedule", "--ledger-interval", "0"], env)

        sim.configure(webhook_drop_rate=0.8, webhook_seed=5)
        sim.churn(seed=6, pr_fraction=0.6, check_fraction=0.0, new_prs=3)
        assert complete_open_check_runs(sim) > 0
        sim.drain_webhooks()
        # What got through is applied; what was dropped is missing.
        missed = settle(url, sim, 3)
        assert missed, "the dropped deliveries left the store behind the truth"

        sweep = run_prwatch(["sweep", "--no-progress"], env, tmp_path)
        assert sweep.returncode == 0, sweep.stdout + sweep.stderr
        assert differences(url, sim.truth()) == []
