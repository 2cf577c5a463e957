"""Start-up recovery: deliveries stored but never processed are processed on the next start."""

from __future__ import annotations

import json
import uuid

from prwatch.store import DeliveryStatus
from tests.integration.webhooks.harness import payload, webhook_env


async def test_stored_deliveries_are_processed_when_the_queue_starts(database_url: str) -> None:
    body = json.dumps(payload("pull_request", "opened")).encode()
    stuck = str(uuid.uuid4())
    async with webhook_env(database_url, start_queue=False) as env:
        assert (await env.send("pull_request", body)).status_code == 202
        async with env.store.transaction() as tx:  # a crash mid-job left this one claimed
            await tx.record_delivery(stuck, "pull_request", "opened", 1, 186853002, body)
            await tx.claim_delivery(stuck)
        # the process dies here: its queue (and what it held) is gone
    async with webhook_env(database_url, migrate=False) as env:
        await env.queue.drain()
        counts = await env.counts()
        assert counts[DeliveryStatus.DONE] == 2
        assert counts[DeliveryStatus.PENDING] == counts[DeliveryStatus.PROCESSING] == 0
        assert (await env.pull(2))["state"] == "open"
