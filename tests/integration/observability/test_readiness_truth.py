"""/readyz says what keeps prwatch from working: no App, no live worker, sweeps that fail
everywhere."""

from __future__ import annotations

from datetime import UTC, datetime

from prwatch.context import ProcessContext
from prwatch.queue import heartbeat
from prwatch.queue.arq_queue import ArqQueue
from prwatch.queue.keys import WORKER_HEARTBEATS_KEY
from prwatch.store import DeliveryStatus, SweepResult, SweepStatus
from prwatch.web.readiness_checks import workers_check
from tests.integration.webhooks.harness import payload, webhook_env


async def test_without_an_app_not_ready_naming_its_settings_and_deliveries_still_stored(
    database_url: str,
) -> None:
    async with webhook_env(database_url, start_queue=False) as env:
        response = await env.client.get("/readyz")
        assert response.status_code == 503
        reason = response.json()["checks"]["app"]["reason"]
        assert "PRWATCH_APP_ID" in reason and "PRWATCH_PRIVATE_KEY" in reason
        assert (
            await env.send("pull_request", payload("pull_request", "opened"))
        ).status_code == 202
        assert (await env.counts())[DeliveryStatus.PENDING] == 1


async def test_two_sweeps_failing_everywhere_make_it_not_ready(database_url: str) -> None:
    async with webhook_env(database_url, app_configured=True) as env:

        async def sweep(ok: int) -> None:
            async with env.store.transaction() as tx:
                sweep_id = await tx.start_sweep(datetime.now(UTC))
                result = SweepResult(
                    status=SweepStatus.OK if ok else SweepStatus.FAILED,
                    repositories_total=3,
                    repositories_ok=ok,
                    repositories_failed=3 - ok,
                    error=None if ok else "GitHub answered 401 for every repository",
                )
                await tx.finish_sweep(sweep_id, result)

        await sweep(ok=0)
        assert (await env.client.get("/readyz")).status_code == 200  # once is a blip
        await sweep(ok=0)
        response = await env.client.get("/readyz")
        assert response.status_code == 503
        assert "401" in response.json()["checks"]["sweep_failures"]["reason"]
        await sweep(ok=1)
        assert (await env.client.get("/readyz")).status_code == 200


async def test_in_redis_mode_not_ready_once_the_last_worker_stops_beating(
    redis_url: str, sqlite_url: str
) -> None:
    async with webhook_env(sqlite_url, start_queue=False) as env:
        queue = await ArqQueue.connect(redis_url)
        context = ProcessContext(
            settings=env.context.settings, engine=env.context.engine, store=env.store, queue=queue
        )
        try:
            check = await workers_check(context)
            assert check["ok"] is False and "prwatch worker" in str(check["reason"])
            await heartbeat.beat(queue.redis, "worker-a")
            assert await workers_check(context) == {"ok": True, "workers": 1}
            # Its last beat ages past the limit: gone (killed, hung or cut off).
            now = await heartbeat.redis_now(queue.redis)
            stale = now - heartbeat.HEARTBEAT_TTL_SECONDS - 1
            await queue.redis.zadd(WORKER_HEARTBEATS_KEY, {"worker-a": stale})
            assert (await workers_check(context))["ok"] is False
            await heartbeat.beat(queue.redis, "worker-b")
            await heartbeat.leave(queue.redis, "worker-b")  # a clean exit says so at once
            assert (await workers_check(context))["ok"] is False
        finally:
            await queue.aclose()
