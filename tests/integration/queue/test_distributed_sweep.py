from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import func, select

from prwatch.queue.port import SWEEP
from prwatch.store import SweepStatus
from prwatch.store.schema import changes
from prwatch.store.sweep_jobs import SweepRepositoryStatus
from prwatch.web.operator_app import create_operator_app
from tests.integration.queue.harness import queue_env


async def test_two_workers_share_one_sweep_each_repository_once(
    postgres_url: str, redis_url: str
) -> None:
    async with queue_env(postgres_url, redis_url, latency_ms=5) as env:
        planner = await env.context()
        assert await planner.queue.enqueue(SWEEP, job_id="sweep-test")
        first, second = await env.worker(max_jobs=3), await env.worker(max_jobs=3)

        await asyncio.wait_for(asyncio.gather(first.async_run(), second.async_run()), 30)

        # One SWEEP job and ten SWEEP_REPOSITORY jobs, none retried or failed, both workers busy.
        assert first.jobs_complete + second.jobs_complete == 11
        assert first.jobs_failed + second.jobs_failed == 0
        assert first.jobs_retried + second.jobs_retried == 0
        assert first.jobs_complete > 0 and second.jobs_complete > 0
        # Each worker's context timed its jobs (the job latency metric): 11 successful runs.
        timed = sum(
            sample.value
            for context in env.contexts
            for metric in context.metrics.registry.collect()
            if metric.name == "prwatch_job_duration_seconds"
            for sample in metric.samples
            if sample.name.endswith("_count") and sample.labels["outcome"] == "ok"
        )
        assert timed == 11
        listings = env.counting.pull_listings()
        truth = env.sim.world.truth()
        names = sorted(repo["full_name"] for repo in truth["repositories"])
        assert len(names) == 10
        assert sorted(listings) == names
        assert set(listings.values()) == {1}  # each repository's PRs listed exactly once

        async with planner.store.transaction(read_only=True) as tx:
            (sweep,) = await tx.recent_sweeps()
            rows = await tx.list_sweep_repositories(sweep.id)
            logged = await tx.connection.execute(
                select(changes.c.kind, func.count()).group_by(changes.c.kind)
            )
            logged_by_kind = {kind: count for kind, count in logged}
        assert [row.status for row in rows] == [SweepRepositoryStatus.OK] * 10
        result = sweep.result
        assert result.status is SweepStatus.OK and sweep.finished_at is not None
        assert (result.repositories_total, result.repositories_ok) == (10, 10)
        assert result.repositories_failed == 0
        assert result.prs_seen == len(truth["pull_requests"]) == sum(r.tally.prs_seen for r in rows)
        assert dict(result.changes_by_kind) == logged_by_kind
        first_seen = result.changes_by_kind["pr_opened"] + result.changes_by_kind["pr_discovered"]
        assert first_seen == len(truth["pull_requests"])
        assert result.changes_by_kind["repository_added"] == 10
        # Requests: one installations listing, one repositories listing, one PR listing and at
        # most one check query per repository; GraphQL spent what the simulator charged.
        assert result.requests_by_outcome["200"] >= 2 + 10
        assert result.points_spent_graphql == env.sim.stats.points["graphql"]
        assert (
            result.points_spent_core == sum(r.tally.points_spent_core for r in rows) + 1
        )  # the installation's repository listing


async def test_a_second_sweep_is_skipped_while_one_runs(postgres_url: str, redis_url: str) -> None:
    from prwatch.sync.distributed import plan_sweep

    async with queue_env(postgres_url, redis_url, repos=2) as env:
        context = await env.context()
        planned = await plan_sweep(context.store, context.github, context.queue)
        assert planned.sweep_id is not None and planned.enqueued == 2
        again = await plan_sweep(context.store, context.github, context.queue)
        assert again.sweep_id is None and again.skipped_because == planned.sweep_id
        # A job that runs twice records once.
        from prwatch.sync.distributed import sweep_planned_repository
        from prwatch.sync.options import SweepOptions

        repository_id = planned.repositories[0]
        done = await sweep_planned_repository(
            context.store, context.github, planned.sweep_id, repository_id, options=SweepOptions()
        )
        twice = await sweep_planned_repository(
            context.store, context.github, planned.sweep_id, repository_id, options=SweepOptions()
        )
        assert done.recorded and done.finished is None
        assert not twice.recorded


async def test_a_workers_listener_counts_what_its_sweep_jobs_skipped(
    postgres_url: str, redis_url: str
) -> None:
    async with queue_env(postgres_url, redis_url, repos=1, prs=2, open_ratio=1.0) as env:
        world = env.sim.world
        (repository_id,) = world.repositories
        head = world.repositories[repository_id].pulls[0].head_sha
        # GraphQL's EXPECTED: a rollup state no status was posted with; skipped, reported.
        odd = world.create_status(repository_id, head, state="pending", context="required/ci")
        odd.state = "expected"
        planner = await env.context()
        assert await planner.queue.enqueue(SWEEP, job_id="sweep-test")
        await asyncio.wait_for((await env.worker()).async_run(), 30)

        _, worker_context = env.contexts  # the planner's, then the worker's own
        operator = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_operator_app(worker_context)),
            base_url="http://metrics.test",
        )
        async with operator:
            scraped = (await operator.get("/metrics")).text
        counted = [
            line
            for line in scraped.splitlines()
            if line.startswith("prwatch_sweep_skipped_items_total")
        ]
        assert counted == [
            'prwatch_sweep_skipped_items_total{kind="commit_status",reason="unknown_state"} 1.0'
        ]
        async with planner.store.transaction(read_only=True) as tx:
            (sweep,) = await tx.recent_sweeps()
            (row,) = await tx.list_sweep_repositories(sweep.id)
        assert row.status is SweepRepositoryStatus.OK
        assert (row.tally.error or "").startswith("skipped 1 unreadable item(s): ")
