"""The embedded mode on PostgreSQL (in-process queue and scheduler, no Redis) through a
PostgreSQL outage: a private server killed and started again on the same port."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from prwatch.backoff import Backoff
from prwatch.config import Settings
from prwatch.context import ProcessContext
from prwatch.queue.inprocess import InProcessQueue, delivery_job_id
from prwatch.queue.jobs import job_functions
from prwatch.queue.port import PROCESS_DELIVERY, RECOVER_DELIVERIES, SWEEP
from prwatch.queue.scheduler import Schedule, run_periodic
from prwatch.store import DeliveryStatus, Store, create_engine, upgrade_database
from prwatch.store.schema import pull_requests
from prwatch.web.app import create_app
from tests.integration.webhooks.harness import SECRET, payload, signed_headers
from tests.private_services import private_postgres

REPOSITORY_ID = 186853002  # the fixture payloads' repository


def pull_request_body(number: int) -> bytes:
    body = payload("pull_request", "opened")
    body["pull_request"]["number"] = number
    body["pull_request"]["id"] = 70_000 + number
    return json.dumps(body).encode()


async def applied(store: Store) -> set[int]:
    async with store.engine.connect() as connection:
        result = await connection.execute(select(pull_requests.c.number))
        return {int(n) for n in result.scalars()}


async def eventually(condition: Callable[[], bool], what: str, within: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def post(client: httpx.AsyncClient, number: int) -> int:
    raw = pull_request_body(number)
    response = await client.post(
        "/webhooks", content=raw, headers=signed_headers("pull_request", raw)
    )
    return response.status_code


async def test_the_embedded_queue_and_scheduler_outlive_a_postgres_outage(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    with private_postgres() as (server, database_url):
        await upgrade_database(database_url)
        settings = Settings(database_url=database_url, webhook_secret=(SECRET,))
        engine = create_engine(database_url)  # with pre-ping, as the web process has it
        queue = InProcessQueue(
            backoff_seconds=0.01,
            max_backoff_seconds=0.05,
            max_tries=2,
            database_backoff=Backoff(first_seconds=0.05, cap_seconds=0.3),
        )
        context = ProcessContext(settings=settings, engine=engine, store=Store(engine), queue=queue)
        everything = job_functions()
        functions = {
            name: everything[name] for name in (PROCESS_DELIVERY, RECOVER_DELIVERIES, SWEEP)
        }
        await queue.start(context, functions)
        schedule = Schedule(sweep_interval_seconds=3600, recover_interval_seconds=1)
        scheduler = asyncio.create_task(run_periodic(context, schedule=schedule))
        app = create_app(settings, context=context)
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://prwatch.test"
        )
        try:
            assert await post(client, 1) == 202
            await queue.drain()
            assert await applied(context.store) == {1}

            # Acknowledged before the outage: one still pending, one whose job had claimed it
            # when the server died (its failure could not be recorded).
            pending, claimed = str(uuid.uuid4()), str(uuid.uuid4())
            async with context.store.transaction() as tx:
                for guid, number in ((pending, 2), (claimed, 3)):
                    await tx.record_delivery(
                        guid, "pull_request", "opened", 1, REPOSITORY_ID, pull_request_body(number)
                    )
                await tx.claim_delivery(claimed)
            server.kill()
            for guid in (pending, claimed):  # as the intake queues them after its commit
                await queue.enqueue(PROCESS_DELIVERY, guid, job_id=delivery_job_id(guid))
            gate = queue.database_gate
            assert gate is not None
            await eventually(lambda: not gate.is_open, "the queue to notice the outage")

            assert await post(client, 4) == 503  # not stored: redelivered later
            await asyncio.sleep(1.5)  # a periodic recovery tick runs into the outage too
            assert not scheduler.done()
            assert not gate.is_open and await queue.depth() >= 2

            server.start()
            await eventually(lambda: gate.is_open, "the database back")
            assert await post(client, 5) == 202
            await asyncio.wait_for(queue.drain(), 30)
            assert await applied(context.store) == {1, 2, 3, 5}
            async with context.store.transaction(read_only=True) as tx:
                counts = await tx.delivery_counts()
            assert counts[DeliveryStatus.PENDING] == counts[DeliveryStatus.PROCESSING] == 0
            assert counts[DeliveryStatus.FAILED] == 0
            assert not scheduler.done()

            gate_lines = [
                r.getMessage() for r in caplog.records if r.name == "prwatch.queue.database_gate"
            ]
            assert [line for line in gate_lines if line.startswith("database")] == [
                "database unreachable: waiting",
                "database back",
            ]
            errors: list[Any] = [r for r in caplog.records if r.levelno >= logging.ERROR]
            assert errors == []
            retries = [r for r in caplog.records if r.getMessage() == "job failed, retrying"]
            assert retries == []
        finally:
            scheduler.cancel()
            await asyncio.gather(scheduler, return_exceptions=True)
            await client.aclose()
            await context.aclose()
