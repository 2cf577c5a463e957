"""The Starlette app factory. Dependencies enter through the lifespan, never at import."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from prwatch.config import Settings
from prwatch.context import ProcessContext, create_context
from prwatch.events.processing import process_delivery
from prwatch.queue.inprocess import InProcessQueue
from prwatch.queue.port import PROCESS_DELIVERY, JobRunner
from prwatch.queue.scheduler import run_periodic
from prwatch.web.api import API_ENDPOINTS
from prwatch.web.api_errors import EXCEPTION_HANDLERS
from prwatch.web.authentication import AccessControl
from prwatch.web.change_feed import ChangeFeed
from prwatch.web.charts_page import CHARTS_PAGE_ROUTES
from prwatch.web.hardening import SecurityHeaders
from prwatch.web.health import HEALTH_ROUTES
from prwatch.web.intake import DeliveryIntake
from prwatch.web.oauth import OAUTH_ROUTES, visibility_refresh
from prwatch.web.openapi import OPENAPI_ENDPOINT
from prwatch.web.operator_app import OperatorListener
from prwatch.web.pages import PAGE_ROUTES
from prwatch.web.pull_page import PULL_PAGE_ROUTES
from prwatch.web.repository_page import REPOSITORY_PAGE_ROUTES
from prwatch.web.sessions import SessionReader
from prwatch.web.stream import STREAM_ENDPOINTS
from prwatch.web.webhooks import receive_webhook


def embedded_job_functions() -> Mapping[str, JobRunner]:
    """Every job's function (``prwatch.queue.jobs.job_functions()``); only the delivery job
    where that registry is not part of this installation."""
    try:
        jobs = importlib.import_module("prwatch.queue.jobs")
    except ModuleNotFoundError as missing:
        if missing.name != "prwatch.queue.jobs":
            raise
        return {PROCESS_DELIVERY: _process_delivery_job}
    functions: Mapping[str, JobRunner] = jobs.job_functions()
    return functions


async def _process_delivery_job(context: Any, *args: str | int) -> None:
    await process_delivery(context, *(str(guid) for guid in args))


async def start_embedded_queue(context: ProcessContext) -> None:
    """In the embedded mode (no Redis) the web process runs the jobs itself."""
    if isinstance(context.queue, InProcessQueue) and not context.queue.started:
        await context.queue.start(context, embedded_job_functions())


async def close_intake(app: Starlette) -> None:
    """Let the deliveries being stored finish before the context closes under them; end the
    change streams."""
    intake = getattr(app.state, "intake", None)
    if isinstance(intake, DeliveryIntake):
        await intake.aclose()
    feed = getattr(app.state, "change_feed", None)
    if isinstance(feed, ChangeFeed):
        await feed.aclose()


def create_app(settings: Settings, *, context: ProcessContext | None = None) -> Starlette:
    """Build the web app. A given `context` is used as is (and not closed): tests share one;
    its in-process queue, if any, is started by the lifespan unless already running."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if context is not None:
            await start_embedded_queue(context)
            listener = OperatorListener.from_settings(context)
            if listener is not None:
                await listener.start()
            try:
                yield
            finally:
                await close_intake(app)
                if listener is not None:
                    await listener.stop()
            return
        owned = await create_context(settings)
        app.state.context = owned
        schedule: asyncio.Task[None] | None = None
        listener = OperatorListener.from_settings(owned)
        try:
            if listener is not None:
                await listener.start()
            await start_embedded_queue(owned)
            if isinstance(owned.queue, InProcessQueue):  # embedded: no worker runs the schedule
                schedule = asyncio.create_task(run_periodic(owned), name="prwatch-scheduler")
            yield
        finally:
            await close_intake(app)
            if listener is not None:
                await listener.stop()
            if schedule is not None:
                schedule.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await schedule
            await owned.aclose()

    endpoints = (*API_ENDPOINTS, *STREAM_ENDPOINTS, OPENAPI_ENDPOINT)
    routes = [
        *HEALTH_ROUTES,
        Route("/webhooks", receive_webhook, methods=["POST"]),
        *(endpoint.route() for endpoint in endpoints),
        *PAGE_ROUTES,
        *OAUTH_ROUTES,
        Mount("/static", StaticFiles(packages=[("prwatch.web", "static")]), name="static"),
        *REPOSITORY_PAGE_ROUTES,
        *PULL_PAGE_ROUTES,
        *CHARTS_PAGE_ROUTES,
    ]
    middleware = [
        Middleware(SecurityHeaders),
        Middleware(
            AccessControl,
            public_read=settings.public_read,
            sessions=_session_readers(settings),
        ),
    ]
    app = Starlette(
        routes=routes,
        middleware=middleware,
        lifespan=lifespan,
        exception_handlers=EXCEPTION_HANDLERS,
    )
    app.state.endpoints = endpoints  # what /api/openapi.json describes in detail
    if context is not None:
        app.state.context = context  # also without a lifespan (httpx.ASGITransport runs none)
    return app


def _session_readers(settings: Settings) -> Callable[[ProcessContext], SessionReader | None]:
    """Sessions exist only where Sign in with GitHub is configured (they are signed with a key
    derived from the App's client secret)."""

    def reader(context: ProcessContext) -> SessionReader | None:
        if settings.client_secret is None:
            return None
        refresh = visibility_refresh(settings, context.store)
        return SessionReader(context.store, settings.client_secret, refresh=refresh)

    return reader
