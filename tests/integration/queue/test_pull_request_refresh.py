"""The read that settles a tie, on arq: one job per PR at a time, none kept once it ran."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from prwatch.domain.models import Source
from prwatch.queue.keys import refresh_pull_request_job_id
from prwatch.queue.port import REFRESH_PULL_REQUEST, SWEEP
from prwatch.sync.apply import Observation, apply_observation
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
