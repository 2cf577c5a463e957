"""The operators' listener (``PRWATCH_METRICS_PORT``): ``/metrics`` and ``/readyz`` with its
details, without a credential, on an address of its own (``PRWATCH_METRICS_HOST``, loopback by
default) that only the monitoring network reaches, for web and worker processes alike."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import Route

from prwatch.context import ProcessContext
from prwatch.web.hardening import SecurityHeaders
from prwatch.web.health import healthz, metrics, readyz_details


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
