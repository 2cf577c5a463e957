from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx

from prwatch.config import Settings
from prwatch.context import ProcessContext
from prwatch.github.auth import AppCredentials
from prwatch.github.client import GitHubClient
from prwatch.ledger.check import check_delivery_ledger, ledger_totals
from prwatch.queue.inprocess import InProcessQueue
from prwatch.sim.app import Simulator, create_simulator
from prwatch.sim.churn import churn
from prwatch.sim.config import SimConfig
from prwatch.store import Store, create_engine, upgrade_database
from prwatch.web.app import create_app

SIM_URL = "http://sim.test"


async def no_wait(seconds: float) -> None:
    return None


@dataclass
class LedgerEnv:
    sim: Simulator
    context: ProcessContext

    async def stored_guids(self) -> set[str]:
        guids = {attempt.delivery.guid for attempt in self.sim.webhooks.attempts}
        async with self.context.store.transaction(read_only=True) as tx:
            return {guid for guid in guids if await tx.get_delivery(guid) is not None}


@asynccontextmanager
async def ledger_env(database_url: str, drop_rate: float) -> AsyncIterator[LedgerEnv]:
    sim = create_simulator(
        SimConfig(
            repos=2,
            prs=10,
            seed=5,
            hook_url="http://prwatch.test/webhooks",
            webhook_drop_rate=drop_rate,
            webhook_seed=9,
        )
    )
    await upgrade_database(database_url)
    settings = Settings(
        database_url=database_url,
        github_api_url=SIM_URL,
        app_id=sim.config.app_id,
        private_key=sim.private_key_pem,
        webhook_secret=(sim.config.webhook_secret,),
    )
    engine = create_engine(database_url)
    client = GitHubClient(
        AppCredentials(sim.config.app_id, sim.private_key_pem),
        base_url=SIM_URL,
        transport=httpx.ASGITransport(app=sim.app),
        sleep=no_wait,
    )
    context = ProcessContext(
        settings=settings,
        engine=engine,
        store=Store(engine),
        queue=InProcessQueue(),
        _github=client,
    )
    # Deliveries are only stored here (the queue is not started): the ledger cares about that.
    sim.webhooks.transport = httpx.ASGITransport(app=create_app(settings, context=context))
    try:
        yield LedgerEnv(sim, context)
    finally:
        await context.aclose()


async def test_dropped_deliveries_are_redelivered_once_and_counted_recovered(
    database_url: str,
) -> None:
    async with ledger_env(database_url, drop_rate=0.4) as env:
        churn(env.sim.world, seed=3, pr_fraction=0.5, check_fraction=0.3)
        await env.sim.webhooks.drain()
        all_guids = {attempt.delivery.guid for attempt in env.sim.webhooks.attempts}
        stored = await env.stored_guids()
        dropped = all_guids - stored
        assert dropped and stored, "the drop rate should lose some deliveries, not all"

        env.sim.configure({"webhook_drop_rate": 0.0})
        report = await check_delivery_ledger(env.context.store, env.context.github)
        assert report.failed_seen == len(dropped)
        assert report.redelivered == len(dropped) and report.recovered == 0
        assert report.attempts_read == len(env.sim.webhooks.attempts)

        await env.sim.webhooks.drain()
        assert await env.stored_guids() == all_guids
        redeliveries = [a for a in env.sim.webhooks.attempts if a.redelivery]
        assert sorted(a.delivery.guid for a in redeliveries) == sorted(dropped)

        second = await check_delivery_ledger(env.context.store, env.context.github)
        assert second.redelivered == 0  # once per GUID
        assert second.recovered == len(dropped)
        totals = await ledger_totals(env.context.store)
        assert totals["redelivered"] == len(dropped) == totals["recovered"]
        assert totals["checks"] == 2

        third = await check_delivery_ledger(env.context.store, env.context.github)
        assert (third.redelivered, third.recovered) == (0, 0)


async def test_a_redelivery_that_fails_again_is_not_repeated(sqlite_url: str) -> None:
    async with ledger_env(sqlite_url, drop_rate=1.0) as env:
        churn(env.sim.world, seed=4, pr_fraction=0.3, check_fraction=0.0)
        await env.sim.webhooks.drain()
        guids = {attempt.delivery.guid for attempt in env.sim.webhooks.attempts}
        assert guids and not await env.stored_guids()

        first = await check_delivery_ledger(env.context.store, env.context.github)
        assert first.redelivered == len(guids)
        await env.sim.webhooks.drain()  # dropped again
        second = await check_delivery_ledger(env.context.store, env.context.github)
        assert second.failed_seen == len(guids)
        assert (second.redelivered, second.recovered) == (0, 0)


async def test_a_malformed_row_of_the_log_fails_alone(database_url: str) -> None:
    async with ledger_env(database_url, drop_rate=1.0) as env:
        churn(env.sim.world, seed=4, pr_fraction=0.3, check_fraction=0.0)
        await env.sim.webhooks.drain()
        attempts = env.sim.webhooks.attempts
        guids = {attempt.delivery.guid for attempt in attempts}
        assert len(guids) >= 2
        # A GUID no delivery has (a NUL is refused by PostgreSQL, so by the ledger first).
        attempts[0].delivery.guid = "bad\x00guid"

        report = await check_delivery_ledger(env.context.store, env.context.github)
        assert report.attempts_read == len(attempts) - 1
        assert report.redelivered == len(guids) - 1
