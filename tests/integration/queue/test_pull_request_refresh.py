"""The read that settles a tie, on arq: one job per PR at a time, none kept once it ran."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from prwatch.domain.models import Source
from prwatch.queue.arq_queue import ArqQueue
from prwatch.queue.keys import refresh_pull_request_job_id, rerun_mark_key
from prwatch.queue.port import REFRESH_PULL_REQUEST, SWEEP
from prwatch.sync.apply import Observation, apply_observation
from tests.integration.held_responses import HeldResponses
from tests.integration.queue.harness import queue_env


async def test_a_tie_is_settled_by_one_read_on_arq(postgres_url: str, redis_url: str) -> None:
    async with queue_env(postgres_url, redis_url, repos=1, prs=3, open_ratio=1.0) as env:
        context = await env.context()
        assert await context.queue.enqueue(SWEEP, job_id="sweep-test")
        await asyncio.wait_for((await env.worker()).async_run(), 30)
        truth = env.sim.world.truth()["pull_requests"][0]
        repository_id, number = truth["repository_id"], truth["number"]

        # An older version of the same second overwrites the stored row (the later arrival).
        async with context.store.transaction() as tx:
            stored = (await tx.load_pull_requests(repository_id, [number]))[number]
            older = replace(stored, title=f"{stored.title} (older)")
            applied = await apply_observation(
                tx, Observation(repository_id, pull_requests=(older,)), source=Source.WEBHOOK
            )
        assert applied.pr_ties == (number,)

        job_id = refresh_pull_request_job_id(repository_id, number)
        assert await context.queue.enqueue(
            REFRESH_PULL_REQUEST, repository_id, number, job_id=job_id
        )
        assert not await context.queue.enqueue(
            REFRESH_PULL_REQUEST, repository_id, number, job_id=job_id
        )
        worker = await env.worker()
        await asyncio.wait_for(worker.async_run(), 30)
        assert (worker.jobs_complete, worker.jobs_failed) == (1, 0)

        async with context.store.transaction(read_only=True) as tx:
            settled = (await tx.load_pull_requests(repository_id, [number]))[number]
        assert settled.title == truth["title"] == stored.title
        # Its result is not kept: the next tie of the PR may ask again.
        assert await context.queue.enqueue(
            REFRESH_PULL_REQUEST, repository_id, number, job_id=job_id
        )


async def test_a_tie_while_its_read_runs_is_read_again_once_on_arq(
    postgres_url: str, redis_url: str
) -> None:
    """A read that left GitHub before the tie it is asked for again by: once more after it,
    one however many ask (arq refuses the running job's id; the ask is kept beside it)."""
    async with queue_env(postgres_url, redis_url, repos=1, prs=3, open_ratio=1.0) as env:
        context = await env.context()
        assert await context.queue.enqueue(SWEEP, job_id="sweep-test")
        await asyncio.wait_for((await env.worker()).async_run(), 30)
        truth = env.sim.world.truth()["pull_requests"][0]
        repository_id, number = truth["repository_id"], truth["number"]
        simulated = env.sim.world.pull_request(repository_id, number)

        async def tie(title: str) -> None:
            async with context.store.transaction() as tx:
                stored = (await tx.load_pull_requests(repository_id, [number]))[number]
                applied = await apply_observation(
                    tx,
                    Observation(repository_id, pull_requests=(replace(stored, title=title),)),
                    source=Source.WEBHOOK,
                )
            assert applied.pr_ties == (number,)

        held = HeldResponses(env.counting.app, rf"/repos/[^/]+/[^/]+/pulls/{number}")
        env.counting.app = held
        job_id = refresh_pull_request_job_id(repository_id, number)
        await tie("older")
        assert await context.queue.enqueue_or_rerun(
            REFRESH_PULL_REQUEST, repository_id, number, job_id=job_id
        )
        running = asyncio.create_task((await env.worker()).async_run())
        async with asyncio.timeout(30):
            await held.arrived.wait()  # GitHub answered the first read: its truth of then
        for n in range(5):  # GitHub changes within the same second; each delivery ties
            simulated.title = f"newer {n}"
            await tie(simulated.title)
            assert not await context.queue.enqueue_or_rerun(
                REFRESH_PULL_REQUEST, repository_id, number, job_id=job_id
            )
        held.release()
        await asyncio.wait_for(running, 30)
        # The burst worker may stop before the read asked again is queued: one more burst.
        await asyncio.wait_for((await env.worker()).async_run(), 30)

        async with context.store.transaction(read_only=True) as tx:
            settled = (await tx.load_pull_requests(repository_id, [number]))[number]
        assert settled.title == "newer 4"
        assert held.hits == 2  # the held read and one more, not one per ask
        # Nothing left behind: no mark, and the next tie queues a read at once.
        assert isinstance(context.queue, ArqQueue)
        assert not await context.queue.redis.exists(rerun_mark_key(job_id))
        assert await context.queue.enqueue_or_rerun(
            REFRESH_PULL_REQUEST, repository_id, number, job_id=job_id
        )
