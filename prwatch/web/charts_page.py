"""``GET /charts``: how prwatch did over the last 24 hours, drawn server-side as SVG from the
stored deliveries and sweeps."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from prwatch.store import RetryableStoreError
from prwatch.web.access import visibility
from prwatch.web.charts import render_chart
from prwatch.web.page_render import not_found_page, render_page, unavailable_page
from prwatch.web.system_charts import WINDOW, system_charts
from prwatch.web.webhooks import request_context

REFRESH_SECONDS = 30


async def charts_page(request: Request) -> HTMLResponse:
    """Deliveries per minute, delivery latency, sweeps and the API budget over 24 hours."""
    if not visibility(request).unrestricted:
        # Deliveries and sweeps are process-wide: only a caller who sees everything sees them.
        return not_found_page(request, "page")
    now = datetime.now(UTC)
    try:
        async with request_context(request).store.transaction(read_only=True) as tx:
            charts = await system_charts(tx, now)
    except RetryableStoreError:
        return unavailable_page(request)
    start = now - WINDOW
    drawn = [(chart, render_chart(chart, start, now)) for chart in charts]
    return render_page(
        request,
        "charts.html",
        {"charts": drawn, "now": now, "start": start, "refresh_seconds": REFRESH_SECONDS},
    )


CHARTS_PAGE_ROUTES = [Route("/charts", charts_page, methods=["GET"])]
