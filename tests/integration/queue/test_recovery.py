from __future__ import annotations

import asyncio
import socket
from datetime import timedelta

import httpx

from prwatch.context import ProcessContext
from prwatch.queue.arq_queue import ArqQueue
from prwatch.queue.recovery import recover_jobs
from prwatch.sim.churn import churn
from prwatch.store import DeliveryStatus
from prwatch.sync.processor import run_sweep
from prwatch.web.app import create_app
from tests.integration.queue.harness import queue_env


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_deliveries_stored_while_redis_was_down_are_applied_once_it_is_back(
    postgres_url: str, redis_url: str
) -> None:
    async with queue_env(postgres_url, redis_url, repos=2, prs=8) as env:
        context = await env.context()
        await run_sweep(context.store, context.github)  # the inventory the events refer to
        # The receiving web process: its Redis is unreachable.
        down = await ArqQueue.connect(f"redis://127.0.0.1:{closed_port()}/0")
        settings = env.settings.model_copy(
            update={"webhook_secret": (env.sim.config.webhook_secret,)}
        )
        receiver = ProcessContext(
            settings=settings,
            engine=context.engine,
            store=context.store,
            queue=down,
            _github=context.github,
        )
        env.sim.configure({"hook_url": "http://prwatch.test/webhooks"})
        env.sim.webhooks.transport = httpx.ASGITransport(app=create_app(settings, context=receiver))
        churn(env.sim.world, seed=2, pr_fraction=0.5, check_fraction=0.3)
        await env.sim.webhooks.drain()
        await down.aclose()
        attempts = env.sim.webhooks.attempts
        assert attempts and all(200 <= a.status_code < 300 for a in attempts), "stored and acked"
        async with context.store.transaction(read_only=True) as tx:
            counts = await tx.delivery_counts()
        assert counts[DeliveryStatus.PENDING] == len({a.delivery.guid for a in attempts})

        # Redis is back: recovery queues every stored delivery once; a worker applies them.
        report = await recover_jobs(context.store, context.queue, delivery_grace=timedelta(0))
        assert report.deliveries_enqueued == counts[DeliveryStatus.PENDING]
        again = await recover_jobs(context.store, context.queue, delivery_grace=timedelta(0))
        assert again.deliveries_found == report.deliveries_found
        assert again.deliveries_enqueued == 0  # still queued: not twice

        worker = await env.worker()
        await asyncio.wait_for(worker.async_run(), 30)
        assert worker.jobs_complete == report.deliveries_enqueued
        assert worker.jobs_failed == worker.jobs_retried == 0
        async with context.store.transaction(read_only=True) as tx:
            after = await tx.delivery_counts()
        assert after[DeliveryStatus.PENDING] == after[DeliveryStatus.PROCESSING] == 0
        assert after[DeliveryStatus.FAILED] == 0
