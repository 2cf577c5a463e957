"""The operators' listener (``PRWATCH_METRICS_PORT``): ``/metrics`` and ``/readyz`` with its
details, without a credential, on an address of its own (``PRWATCH_METRICS_HOST``, loopback by
default) that only the monitoring network reaches, for web and worker processes alike."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator

import uvicorn
from starlette.applications import Starlette
from starlette.routing import Route

from prwatch.context import ProcessContext
from prwatch.web.hardening import SecurityHeaders
from prwatch.web.health import healthz, metrics, readyz_details

log = logging.getLogger(__name__)


def create_operator_app(context: ProcessContext) -> Starlette:
    app = Starlette(
        routes=[
            Route("/metrics", metrics),
            Route("/readyz", readyz_details),
            Route("/healthz", healthz),
        ]
    )
    app.add_middleware(SecurityHeaders)
    app.state.context = context
    return app


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # The process's own server (or arq) handles SIGINT and SIGTERM; this one is stopped by
        # its owner.
        yield


class OperatorListener:
    """The operators' listener of one process, beside its web app or its queue worker."""

    def __init__(self, context: ProcessContext, host: str, port: int) -> None:
        config = uvicorn.Config(
            create_operator_app(context),
            host=host,
            port=port,
            lifespan="off",
            access_log=False,
            log_level="warning",
        )
        self._server = _Server(config)
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def from_settings(cls, context: ProcessContext) -> OperatorListener | None:
        settings = context.settings
        if settings.metrics_port is None:
            return None
        return cls(context, settings.metrics_host, settings.metrics_port)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._server.serve(), name="prwatch-operator-listener")
        while not self._server.started:
            if self._task.done():
                self._task.result()  # the bind failed: raise why
                raise OSError("the metrics listener stopped before it started")
            await asyncio.sleep(0.01)
        log.info("metrics listener started", extra={"url": self.url})

    @property
    def url(self) -> str:
        host, port = self._server.servers[0].sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    async def stop(self) -> None:
        if self._task is None:
            return
        self._server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
