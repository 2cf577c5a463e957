"""A simulator reached in process, a migrated store, and arq workers on the test Redis."""

from __future__ import annotations

import re
import warnings
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from arq.worker import Worker
from starlette.types import ASGIApp, Receive, Scope, Send

from prwatch.config import Settings
from prwatch.context import ProcessContext
from prwatch.github.auth import AppCredentials
from prwatch.github.client import GitHubClient
from prwatch.queue.arq_queue import ArqQueue
from prwatch.queue.scheduler import Schedule
from prwatch.queue.worker import WorkerOptions, create_worker
from prwatch.sim.app import Simulator, create_simulator
from prwatch.sim.config import SimConfig
from prwatch.store import Store, create_engine, upgrade_database

SIM_URL = "http://sim.test"
PULLS_PATH = re.compile(r"^/repos/([^/]+/[^/]+)/pulls$")


class CountingApp:
    """Counts the simulator's requests by path."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.paths: Counter[str] = Counter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.paths[scope["path"]] += 1
        await self.app(scope, receive, send)

    def pull_listings(self) -> Counter[str]:
        """Requests for each repository's pull request listing, by full name."""
        found: Counter[str] = Counter()
        for path, count in self.paths.items():
            if match := PULLS_PATH.match(path):
                found[match.group(1)] += count
        return found


async def close_worker(worker: Worker) -> None:
    """Run the worker's shutdown (arq closes its pool through a call redis deprecated)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        await worker.close()


async def no_wait(seconds: float) -> None:
    return None


@dataclass
class QueueEnv:
    sim: Simulator
    counting: CountingApp
    settings: Settings
    redis_url: str
    stack: AsyncExitStack
    contexts: list[ProcessContext] = field(default_factory=list)

    async def context(self) -> ProcessContext:
        """A process context of its own (engine, GitHub client, queue), as a worker has."""
        engine = create_engine(self.settings.database_url)
        client = GitHubClient(
            AppCredentials(self.sim.config.app_id, self.sim.private_key_pem),
            base_url=SIM_URL,
            transport=httpx.ASGITransport(app=self.counting),
            sleep=no_wait,
        )
        queue = await ArqQueue.connect(self.redis_url)
        context = ProcessContext(
            settings=self.settings, engine=engine, store=Store(engine), queue=queue, _github=client
        )
        self.contexts.append(context)
        return context

    async def worker(self, **options: Any) -> Worker:
        """A burst worker on the test Redis with a context of its own."""
        queue = await ArqQueue.connect(self.redis_url)
        self.stack.push_async_callback(queue.aclose)

        async def factory(settings: Settings) -> ProcessContext:
            return await self.context()

        worker = create_worker(
            self.settings,
            WorkerOptions(schedule=Schedule(), cron=False, **options),
            context_factory=factory,
            redis_pool=queue.redis,
            burst=True,
            poll_delay=0.05,
            handle_signals=False,
        )
        self.stack.push_async_callback(close_worker, worker)
        return worker


@asynccontextmanager
async def queue_env(database_url: str, redis_url: str, **config: Any) -> AsyncIterator[QueueEnv]:
    settings_ = {"repos": 10, "prs": 12, "open_ratio": 0.4, "seed": 11, **config}
    sim = create_simulator(SimConfig(**settings_))
    await upgrade_database(database_url)
    settings = Settings(
        database_url=database_url,
        redis_url=redis_url,
        github_api_url=SIM_URL,
        app_id=sim.config.app_id,
        private_key=sim.private_key_pem,
        sweep_backoff_seconds=0,
    )
    async with AsyncExitStack() as stack:
        env = QueueEnv(sim, CountingApp(sim.app), settings, redis_url, stack)
        try:
            yield env
        finally:
            await stack.aclose()
            for context in env.contexts:
                await context.aclose()
