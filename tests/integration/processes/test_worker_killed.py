"""A worker killed (SIGKILL) in the middle of its jobs loses nothing: ``prwatch serve`` with
Redis, ``prwatch worker`` processes, the simulator process posting its webhooks, Postgres."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from prwatch.store import DeliveryStatus, Store, create_engine
from prwatch.store.schema import webhook_deliveries
from tests.integration.processes.harness import (
    SimProcess,
    base_environment,
    free_port,
    processes,
    run_prwatch,
    settle,
    start_serve,
    start_simulator,
)

WORKER = ["worker", "--no-schedule", "--max-jobs", "4", "--job-timeout", "3"]


def complete_open_check_runs(sim: SimProcess) -> int:
    """Complete every unfinished check run of the open PRs' heads: each suite that completes
    sends a check_suite delivery whose job reads the suite's runs from GitHub (slow here)."""
    truth = sim.truth()
    heads = {
        (p["repository_id"], p["head_sha"]) for p in truth["pull_requests"] if p["state"] == "open"
    }
    runs = [
        run["id"]
        for run in truth["check_runs"]
        if run["status"] != "completed" and (run["repository_id"], run["head_sha"]) in heads
    ]
    for run_id in runs:
        sim.admin(
            "PATCH", f"/_sim/check-runs/{run_id}", {"status": "completed", "conclusion": "success"}
        )
    return len(runs)


async def delivery_counts(store: Store) -> dict[DeliveryStatus, int]:
    async with store.transaction(read_only=True) as tx:
        return await tx.delivery_counts()


async def wait_for_counts(store: Store, done: Any, within: float) -> dict[DeliveryStatus, int]:
    deadline = time.monotonic() + within
    while True:
        counts = await delivery_counts(store)
        if done(counts) or time.monotonic() > deadline:
            return counts
        await asyncio.sleep(0.02)


async def wait_for_stuck_suite(store: Store, within: float) -> int:
    """How many check_suite deliveries are being processed, once there is one (or 0)."""
    deadline = time.monotonic() + within
    while True:
        async with store.engine.connect() as connection:
            result = await connection.execute(
                select(func.count()).where(
                    webhook_deliveries.c.event == "check_suite",
                    webhook_deliveries.c.status == DeliveryStatus.PROCESSING.value,
                )
            )
            processing = int(result.scalar_one())
        if processing or time.monotonic() > deadline:
            return processing
        await asyncio.sleep(0.05)


async def test_killing_a_worker_mid_job_loses_nothing_and_applies_nothing_twice(
    postgres_url: str, redis_url: str, tmp_path: Path
) -> None:
    port = free_port()
    engine = create_engine(postgres_url)
    store = Store(engine)
    try:
        with processes(tmp_path) as group:
            sim = start_simulator(
                group,
                hook_url=f"http://127.0.0.1:{port}/webhooks",
                extra=("--repos", "2", "--prs", "10", "--open-ratio", "0.7", "--seed", "21"),
            )
            env = base_environment(
                **sim.settings,
                PRWATCH_DATABASE_URL=postgres_url,
                PRWATCH_REDIS_URL=redis_url,
                # A claim whose worker died is claimable again soon (10 minutes by default).
                PRWATCH_DELIVERY_CLAIM_TIMEOUT_SECONDS="2",
            )
            for command in (["db", "upgrade"], ["sweep", "--no-progress"]):
                done = run_prwatch(command, env, tmp_path)
                assert done.returncode == 0, done.stdout + done.stderr
            url = start_serve(group, env, port)
            first = group.start("worker-1", WORKER, env)

            # GitHub answers nothing for now: a check_suite job (it reads the suite's runs)
            # cannot finish before the kill, whatever the machine's speed.
            sim.configure(latency_ms=60_000)
            sim.churn(seed=4, pr_fraction=0.4, check_fraction=0.0, new_prs=2)
            assert complete_open_check_runs(sim) > 0

            stuck = await wait_for_stuck_suite(store, within=30)
            assert stuck > 0, "no check_suite job ever started"
            first.kill()
            left = await delivery_counts(store)
            assert left[DeliveryStatus.PROCESSING] > 0, "the worker died in the middle of a job"
            sim.configure(latency_ms=100)

            attempts = sim.drain_webhooks()
            group.start("worker-2", WORKER, env)
            counts = await wait_for_counts(
                store,
                lambda c: c[DeliveryStatus.DONE] + c[DeliveryStatus.IGNORED] == attempts,
                within=40,
            )
            assert counts[DeliveryStatus.DONE] + counts[DeliveryStatus.IGNORED] == attempts, counts
            assert counts[DeliveryStatus.PENDING] == counts[DeliveryStatus.PROCESSING] == 0
            assert counts[DeliveryStatus.FAILED] == 0

            async with store.transaction(read_only=True) as tx:
                changes = await tx.changes_after(0, 10_000)
            from_webhooks = [change for change in changes if change.delivery_id]
            assert from_webhooks
            seen = Counter(
                (
                    c.delivery_id,
                    c.kind,
                    c.repository_id,
                    c.pr_number,
                    c.check_run_id,
                    c.field,
                    repr(c.new),
                )
                for c in from_webhooks
            )
            assert [key for key, n in seen.items() if n > 1] == [], "a delivery applied twice"
            left_over = settle(url, sim, 10)
            assert not left_over, "\n".join(left_over)
    finally:
        await engine.dispose()
