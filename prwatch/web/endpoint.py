"""A read API route together with what the OpenAPI document says about it: its parameters
(the same objects that parse them) and the type of its answer."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from prwatch.store import RetryableStoreError, StoreTransaction
from prwatch.web.api_errors import ApiError
from prwatch.web.api_params import Parameter
from prwatch.web.webhooks import request_context

Handler = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True, slots=True)
class Endpoint:
    path: str
    handler: Handler
    summary: str
    parameters: tuple[Parameter, ...] = ()
    response: Any = None  # the TypedDict of a 200 answer's JSON body
    media_type: str = "application/json"
    errors: tuple[int, ...] = (503,)
    name: str = ""

    def route(self) -> Route:
        return Route(self.path, self.handler, methods=["GET"], name=self.name or None)


@asynccontextmanager
async def read_transaction(request: Request) -> AsyncIterator[StoreTransaction]:
    """A read-only transaction for one request; a database that is not reachable is a 503."""
    try:
        async with request_context(request).store.transaction(read_only=True) as tx:
            yield tx
    except RetryableStoreError:
        raise ApiError(503, "the database is not reachable right now") from None
