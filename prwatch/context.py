"""The process context: everything a web process, a worker or a CLI command shares.

Built once by ``create_context`` and closed by ``aclose``; nothing of it exists at import.
"""

from __future__ import annotations

import importlib
import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncEngine

from prwatch.config import Settings
from prwatch.github.auth import AppCredentials, TokenSharing
from prwatch.github.client import GitHubClient
from prwatch.github.limits import ClientLimits
from prwatch.github.stored_tokens import StoredTokenSharing
from prwatch.observability.metrics import Metrics, bind_metrics
from prwatch.observability.recording import ErrorCounter, MeteredRequestStats, time_transactions
from prwatch.queue.inprocess import InProcessQueue
from prwatch.queue.port import JobQueue
from prwatch.store import Store, StoreError, create_engine
from prwatch.store.token_vault import StoreTokenVault
from prwatch.sync.options import SweepOptions
from prwatch.sync.shared_check_queries import SharedCheckQueries


@dataclass(slots=True)
class ProcessContext:
    settings: Settings
    engine: AsyncEngine
    store: Store
    queue: JobQueue  # InProcessQueue when embedded (no Redis URL), else the arq queue
    _github: GitHubClient | None = field(default=None, repr=False)
    metrics: Metrics = field(default_factory=Metrics, repr=False)
    started_monotonic: float = field(default_factory=time.monotonic, repr=False)
    _error_counter: ErrorCounter | None = field(default=None, repr=False)
    _token_sharing: SharedTokens | None = field(default=None, repr=False)
    # The repository sweeps this process runs at once share check queries.
    check_queries: SharedCheckQueries = field(default_factory=SharedCheckQueries, repr=False)

    def __post_init__(self) -> None:
        # Metrics are wired where the context is built, never at import (see Metrics).
        time_transactions(self.engine, self.metrics)
        if isinstance(self.queue, InProcessQueue):
            self.queue.job_observer = self.metrics.observe_job
        if self._github is not None:
            meter_github_client(self._github, self.metrics)
        self._error_counter = ErrorCounter(self.metrics)
        logging.getLogger("prwatch").addHandler(self._error_counter)
        bind_metrics(self.metrics)  # tasks started from here on (queue workers) inherit it

    @property
    def github(self) -> GitHubClient:
        """The GitHub client, built on first use (commands that never call GitHub need no key)."""
        if self._github is None:
            self._token_sharing = create_token_sharing(self.settings, self.store)
            client = create_github_client(self.settings, shared_tokens=self._token_sharing)
            self._github = meter_github_client(client, self.metrics)
        return self._github

    async def aclose(self) -> None:
        if self._error_counter is not None:
            logging.getLogger("prwatch").removeHandler(self._error_counter)
        await self.queue.aclose()  # first: running jobs still need the engine and the client
        if self._github is not None:
            await self._github.aclose()
        if self._token_sharing is not None:
            await self._token_sharing.aclose()
        await self.engine.dispose()


# Connections beyond the sweep's repositories in flight: webhook intake, jobs, the scheduler.
EXTRA_DATABASE_CONNECTIONS = 4


async def create_context(settings: Settings, *, pre_ping: bool = True) -> ProcessContext:
    """``pre_ping=False`` for processes that retry every transaction (workers, ``prwatch
    sweep``): see ``prwatch.store.create_engine``."""
    queue = await create_queue(settings)
    engine = create_engine(
        settings.database_url,
        # Each repository swept at once holds a connection at times; fewer would queue them.
        pool_size=settings.sweep_max_concurrent_repositories + EXTRA_DATABASE_CONNECTIONS,
        pre_ping=pre_ping,
    )
    return ProcessContext(settings=settings, engine=engine, store=Store(engine), queue=queue)


async def create_job_context(settings: Settings) -> ProcessContext:
    """The context of a process that runs only jobs and sweeps, each retried when the
    database fails it."""
    return await create_context(settings, pre_ping=False)


async def create_queue(settings: Settings) -> JobQueue:
    """arq on Redis when a Redis URL is set; else the embedded in-process queue, whose
    workers the web app starts (``InProcessQueue.start``)."""
    if settings.redis_url is None:
        return InProcessQueue()
    # Imported here so that only processes using Redis import arq (by name: the module's
    # type-checked interface is ``JobQueue``).
    arq_queue = importlib.import_module("prwatch.queue.arq_queue")
    queue: JobQueue = await arq_queue.ArqQueue.connect(settings.redis_url)
    return queue


class SharedTokens(TokenSharing, Protocol):
    async def aclose(self) -> None: ...


def create_github_client(
    settings: Settings, *, shared_tokens: TokenSharing | None = None, **overrides: object
) -> GitHubClient:
    app_id, key = settings.require_app_credentials()
    return GitHubClient(
        AppCredentials(app_id=app_id, private_key_pem=key),
        base_url=settings.github_api_url,
        graphql_url=settings.github_graphql_url,
        limits=client_limits(settings),
        shared_tokens=shared_tokens,
        **overrides,  # type: ignore[arg-type]
    )


def create_token_sharing(settings: Settings, store: Store) -> SharedTokens:
    """Every process of the App sends the same installation token, so that the ETags stored
    with it stay valid: with Redis (several worker processes) through Redis; embedded, through
    the database, so that successive processes (``prwatch sweep`` from cron) reuse it."""
    app_id, key = settings.require_app_credentials()
    credentials = AppCredentials(app_id=app_id, private_key_pem=key)
    margin = client_limits(settings).token_refresh_margin_seconds
    if settings.redis_url is None:
        return StoredTokenSharing(
            StoreTokenVault(store),
            credentials,
            unavailable=(StoreError,),
            refresh_margin_seconds=margin,
        )
    # Imported here so that the embedded mode never imports the Redis client.
    from prwatch.github.shared_tokens import RedisTokenSharing

    return RedisTokenSharing.from_url(
        settings.redis_url, credentials, refresh_margin_seconds=margin
    )


def meter_github_client(client: GitHubClient, metrics: Metrics) -> GitHubClient:
    """Count the client's requests, conditional hits and rate-limit readings in `metrics`."""
    if not isinstance(client.stats, MeteredRequestStats):
        client.stats = MeteredRequestStats(metrics)
    client.on_response = metrics.observe_api_response
    return client


def client_limits(settings: Settings) -> ClientLimits:
    return ClientLimits(
        request_timeout_seconds=settings.github_request_timeout_seconds,
        max_concurrency=settings.github_max_concurrency,
        route_limit=settings.github_route_limit_per_minute,
        reserve_points=settings.github_rate_limit_reserve,
        conditional_requests=settings.sweep_conditional_requests,
    )


def sweep_options(settings: Settings) -> SweepOptions:
    return SweepOptions(
        max_concurrent_repositories=settings.sweep_max_concurrent_repositories,
        retry_attempts=settings.sweep_retry_attempts,
        backoff_factor_seconds=settings.sweep_backoff_seconds,
        transaction_timeout_seconds=settings.sweep_transaction_timeout_seconds,
        use_etags=settings.sweep_conditional_requests,
        full_listing_interval=timedelta(seconds=settings.sweep_full_listing_interval_seconds),
    )
