from __future__ import annotations

import asyncio
import signal

from sqlalchemy import func, select

from prwatch.queue.port import SWEEP
from prwatch.store import SweepStatus
from prwatch.store.schema import changes
from prwatch.store.sweep_jobs import SweepRepositoryStatus
from tests.integration.queue.harness import queue_env


async def test_jobs_cancelled_by_sigterm_run_again_elsewhere_and_apply_once(
    postgres_url: str, redis_url: str
) -> None:
    async with queue_env(postgres_url, redis_url, repos=6, latency_ms=150) as env:
        planner = await env.context()
        assert await planner.queue.enqueue(SWEEP, job_id="sweep-test")
        # A job whose worker died mid-start stays marked in progress until its timeout and margin.
        timing = {"job_timeout_seconds": 5.0, "in_progress_margin_seconds": 1.0}
        first = await env.worker(max_jobs=2, **timing)
        running = asyncio.create_task(first.async_run())
        # Wait until the sweep is planned and repositories are being swept, then stop the
        # worker as SIGTERM does: its running jobs are cancelled mid-way and queued again.
        for _ in range(200):
            await asyncio.sleep(0.05)
            if first.jobs_complete >= 1 and first.job_tasks:
                break
        assert first.job_tasks, "a repository job should be running"
        first.handle_sig(signal.SIGTERM)
        await asyncio.gather(running, return_exceptions=True)
        # A job was cut short: arq counts it as retried when the cancel reached the job itself,
        # else it is one the first worker did not finish. Which worker runs it again is arq's
        # business (its poll loop has been seen to carry on after the signal and take it
        # itself); that it applies once is ours.
        assert first.jobs_retried >= 1 or first.jobs_complete < 7

        second = await env.worker(max_jobs=4, **timing)
        await asyncio.wait_for(second.async_run(), 30)
        assert second.jobs_failed == 0

        async with planner.store.transaction(read_only=True) as tx:
            (sweep,) = await tx.recent_sweeps()
            rows = await tx.list_sweep_repositories(sweep.id)
            logged = await tx.connection.execute(
                select(changes.c.kind, func.count()).group_by(changes.c.kind)
            )
            by_kind = {kind: count for kind, count in logged}
        assert [row.status for row in rows] == [SweepRepositoryStatus.OK] * 6
        assert sweep.result.status is SweepStatus.OK
        assert sweep.result.repositories_total == 6
        truth = env.sim.world.truth()
        # Every pull request entered the change log once, however often its job started.
        assert by_kind["pr_opened"] + by_kind.get("pr_discovered", 0) == len(truth["pull_requests"])
        assert dict(sweep.result.changes_by_kind) == by_kind
