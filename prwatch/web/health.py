"""``/healthz`` (the process is up), ``/readyz`` (it can do its work) and ``/metrics``."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from prwatch.context import ProcessContext
from prwatch.observability.recording import refresh
from prwatch.store import current_revision, head_revision
from prwatch.web.access import caller
from prwatch.web.readiness_checks import app_check, sweep_failures_check, workers_check
from prwatch.web.webhooks import request_context

METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    """Anyone learns whether the process is ready; only operators (an unscoped API token) why."""
    return await readiness(request, details=caller(request).operator)


async def readyz_details(request: Request) -> JSONResponse:
    """``/readyz`` with its details, on the operators' listener (``prwatch.web.operator_app``)."""
    return await readiness(request, details=True)


async def readiness(request: Request, *, details: bool) -> JSONResponse:
    context = request_context(request)
    checks = {
        "database": await database_check(context),
        "queue": await queue_check(context),
        "sweep": await sweep_check(context),
        "workers": await workers_check(context),
        "app": app_check(context),
        "sweep_failures": await sweep_failures_check(context),
    }
    ready = all(check["ok"] for check in checks.values())
    status = 200 if ready else 503
    if not details:
        return JSONResponse({"ready": ready}, status_code=status)
    return JSONResponse({"ready": ready, "checks": checks}, status_code=status)


async def database_check(context: ProcessContext) -> dict[str, object]:
    try:
        current = await current_revision(context.settings.database_url)
    except Exception as error:
        return {"ok": False, "reason": f"database unreachable: {_describe(error)}"}
    head = head_revision()
    if current != head:
        return {
            "ok": False,
            "reason": f"database at migration {current or 'none'}, head is {head}: run "
            "`prwatch db upgrade`",
        }
    return {"ok": True, "revision": current}


async def queue_check(context: ProcessContext) -> dict[str, object]:
    try:
        depth = await context.queue.depth()
    except Exception as error:
        return {"ok": False, "reason": f"queue unreachable: {_describe(error)}"}
    return {"ok": True, "depth": depth}


async def sweep_check(context: ProcessContext) -> dict[str, object]:
    """The last sweep must have started within two sweep intervals; before any sweep, the
    process gets two intervals of grace from its start."""
    allowed = 2 * context.settings.sweep_interval_seconds
    try:
        async with context.store.transaction(read_only=True) as tx:
            sweeps = await tx.recent_sweeps(1)
    except Exception as error:
        return {"ok": False, "reason": f"cannot read sweeps: {_describe(error)}"}
    if not sweeps:
        waited = time.monotonic() - context.started_monotonic
        if waited <= allowed:
            return {"ok": True, "last_sweep": None}
        return {"ok": False, "reason": f"no sweep has run in {waited:.0f} s (allowed {allowed:g})"}
    last = sweeps[0]
    age = (datetime.now(UTC) - _aware(last.started_at)).total_seconds()
    if age > allowed:
        return {
            "ok": False,
            "reason": f"last sweep started {age:.0f} s ago (allowed {allowed:g})",
            "last_sweep": last.started_at.isoformat(),
        }
    return {"ok": True, "last_sweep": last.started_at.isoformat()}


async def metrics(request: Request) -> Response:
    context = request_context(request)
    await refresh(context.metrics, context.store, context.queue)
    return Response(context.metrics.exposition(), media_type=METRICS_CONTENT_TYPE)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _describe(error: Exception) -> str:
    # Only the type and first line: driver messages can be long (never a secret: URLs in
    # them carry no password here, and the log redaction covers logs).
    first_line = str(error).splitlines()[0] if str(error) else ""
    return f"{type(error).__name__}: {first_line}"[:300]


HEALTH_ROUTES = [
    Route("/healthz", healthz),
    Route("/readyz", readyz),
    Route("/metrics", metrics),
]
