"""The Starlette app factory. Dependencies enter through the lifespan, never at import."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from prwatch.config import Settings
from prwatch.context import ProcessContext, create_context


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


def create_app(settings: Settings, *, context: ProcessContext | None = None) -> Starlette:
    """Build the web app. A given `context` is used as is (and not closed): tests share one."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if context is not None:
            app.state.context = context
            yield
            return
        owned = await create_context(settings)
        app.state.context = owned
        try:
            yield
        finally:
            await owned.aclose()

    routes = [Route("/healthz", healthz)]
    return Starlette(routes=routes, lifespan=lifespan)
