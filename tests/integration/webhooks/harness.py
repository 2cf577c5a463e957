"""prwatch's web app over httpx.ASGITransport, with a migrated store and a started queue."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from starlette.types import ASGIApp

from prwatch.config import Settings
from prwatch.context import ProcessContext
from prwatch.github.auth import AppCredentials
from prwatch.github.client import GitHubClient
from prwatch.queue.inprocess import InProcessQueue
from prwatch.queue.port import PROCESS_DELIVERY, REFRESH_PULL_REQUEST, SWEEP_INSTALLATION
from prwatch.sim.app import Simulator, create_simulator
from prwatch.sim.config import SimConfig
from prwatch.sim.entities import Repository
from prwatch.sim.signing import sign
from prwatch.sim.world import World
from prwatch.store import (
    DeliveryStatus,
    Store,
    StoredChange,
    StoreError,
    create_engine,
    upgrade_database,
)
from prwatch.web.app import create_app, embedded_job_functions
from tests.credentials import bearer, create_token
from tests.keys import sample_private_key

PAYLOADS = Path(__file__).resolve().parents[3] / "fixtures" / "github-payloads"
SECRET = "It's a Secret to Everybody"
REPO = "Codertocat/Hello-World"
SIM_URL = "http://sim.test"
# The fields of a pull request that the read API and the simulator's truth both spell alike.
PULL_KEYS: tuple[str, ...] = ("number", "state", "draft", "merged", "title", "labels")
PULL_KEYS += ("head_sha", "head_ref", "base_ref", "author", "created_at", "updated_at")
PULL_KEYS += ("closed_at", "merged_at", "auto_merge", "merge_queue")


def payload(event: str, action: str) -> dict[str, Any]:
    name = "payload.json" if event == "ping" else f"{action}.payload.json"
    data: dict[str, Any] = json.loads((PAYLOADS / event / name).read_text())
    return copy.deepcopy(data)


def signed_headers(
    event: str, body: bytes, *, guid: str | None = None, secret: str = SECRET
) -> dict[str, str]:
    return {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": guid or str(uuid.uuid4()),
        "X-Hub-Signature-256": sign(secret, body),
        "Content-Type": "application/json",
    }


@dataclass
class WebhookEnv:
    context: ProcessContext
    client: httpx.AsyncClient
    queue: InProcessQueue
    app: Any = None  # the prwatch Starlette app, for senders that post into it
    sweeps: list[int] = field(default_factory=list)  # installations a sweep was queued for
    # PRs a tie asked GitHub about (repository id, number), where no GitHub is reached
    refreshes: list[tuple[int, int]] = field(default_factory=list)

    async def record_sweep(self, context: Any, *args: str | int) -> None:
        self.sweeps.append(int(args[0]))

    async def record_refresh(self, context: Any, *args: str | int) -> None:
        self.refreshes.append((int(args[0]), int(args[1])))

    @property
    def store(self) -> Store:
        return self.context.store

    async def send(
        self,
        event: str,
        body: dict[str, Any] | bytes,
        *,
        guid: str | None = None,
        secret: str = SECRET,
    ) -> httpx.Response:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers = signed_headers(event, raw, guid=guid, secret=secret)
        return await self.client.post("/webhooks", content=raw, headers=headers)

    async def deliver(self, event: str, body: dict[str, Any], **kwargs: Any) -> httpx.Response:
        """Send and wait until it (and whatever it queued) was processed."""
        response = await self.send(event, body, **kwargs)
        assert response.status_code in (200, 202), response.text
        await self.queue.drain()
        return response

    async def pull(self, number: int, repo: str = REPO) -> dict[str, Any]:
        response = await self.client.get(f"/api/repos/{repo}/pulls/{number}")
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    async def counts(self) -> dict[DeliveryStatus, int]:
        async with self.store.transaction(read_only=True) as tx:
            return await tx.delivery_counts()

    async def changes(self) -> list[StoredChange]:
        async with self.store.transaction(read_only=True) as tx:
            return await tx.changes_after(0, 10_000)


@asynccontextmanager
async def webhook_env(
    database_url: str,
    *,
    secrets: tuple[str, ...] = (SECRET,),
    github: GitHubClient | None = None,
    migrate: bool = True,
    start_queue: bool = True,
    app_configured: bool = False,
    overrides: dict[str, Any] | None = None,
) -> AsyncIterator[WebhookEnv]:
    if migrate:
        await upgrade_database(database_url)
    settings = Settings(database_url=database_url, webhook_secret=secrets)
    if app_configured:  # an App id and key, for what checks them (no GitHub is reached here)
        settings = settings.model_copy(update={"app_id": 1, "private_key": sample_private_key()})
    if overrides:
        settings = settings.model_copy(update=overrides)
    engine = create_engine(database_url)
    queue = InProcessQueue(backoff_seconds=0.01, max_backoff_seconds=0.05)
    context = ProcessContext(
        settings=settings, engine=engine, store=Store(engine), queue=queue, _github=github
    )
    app = create_app(settings, context=context)
    # The read routes need a credential: the client carries an operator's token (when the
    # database has the tokens' table).
    try:
        headers = bearer(await create_token(context.store, f"tests-{uuid.uuid4()}"))
    except StoreError:
        headers = {}
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://prwatch.test", headers=headers
    )
    env = WebhookEnv(context, client, queue, app)
    if start_queue:
        # The real delivery job; installation sweeps are recorded, not run (no GitHub here);
        # the read that settles a tie runs when there is a GitHub to read from.
        jobs = embedded_job_functions()
        functions = {
            PROCESS_DELIVERY: jobs[PROCESS_DELIVERY],
            SWEEP_INSTALLATION: env.record_sweep,
            REFRESH_PULL_REQUEST: env.record_refresh
            if github is None
            else jobs[REFRESH_PULL_REQUEST],
        }
        await queue.start(context, functions)
    try:
        yield env
    finally:
        await client.aclose()
        await context.aclose()


async def no_wait(seconds: float) -> None:
    return None


@asynccontextmanager
async def simulated_env(
    database_url: str,
    config: SimConfig,
    *,
    around_github: Callable[[ASGIApp], ASGIApp] | None = None,
) -> AsyncIterator[tuple[Simulator, WebhookEnv]]:
    """The simulator and prwatch calling it with its App's client (`env.context.github`), the
    simulator's webhooks posted into prwatch. ``around_github`` wraps the simulator's app as
    prwatch's client reaches it."""
    sim = create_simulator(config)
    github = GitHubClient(
        AppCredentials(sim.config.app_id, sim.private_key_pem),
        base_url=SIM_URL,
        transport=httpx.ASGITransport(
            app=sim.app if around_github is None else around_github(sim.app)
        ),
        sleep=no_wait,
    )
    try:
        async with webhook_env(
            database_url, secrets=(config.webhook_secret,), github=github
        ) as env:
            sim.webhooks.transport = httpx.ASGITransport(app=env.app)  # the hook posts into prwatch
            yield sim, env
    finally:
        await github.aclose()


def installed_repository(world: World, name: str = "widgets") -> Repository:
    """A repository of octo-org, on a new installation of the App."""
    installation = world.create_installation("octo-org")
    return world.create_repository("octo-org", name, installation_id=installation.id)


async def settle(sim: Simulator, env: WebhookEnv) -> None:
    """Until the simulator's webhooks were posted and everything they queued was processed."""
    await sim.webhooks.drain()
    await env.queue.drain()
