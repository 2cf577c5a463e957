"""``prwatch serve``: the web app (and, in the embedded mode, the worker and the scheduler)."""

from __future__ import annotations

import argparse
import asyncio
import logging
from typing import Any

from prwatch.config import Settings, load_settings


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "serve", help="run the web app: webhook endpoint, read API, status page"
    )
    parser.add_argument("--host", help="listen address (default: PRWATCH_HOST or 127.0.0.1)")
    parser.add_argument("--port", type=int, help="listen port (default: PRWATCH_PORT or 8000)")
    parser.set_defaults(handler=run)


def is_embedded(settings: Settings) -> bool:
    """SQLite and no Redis: one process owns everything, so it may also migrate on start."""
    return settings.database_url.startswith("sqlite") and settings.redis_url is None


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from prwatch.store.migrations import upgrade_database
    from prwatch.web.app import create_app

    overrides: dict[str, object] = {}
    if args.host:
        overrides["host"] = args.host
    if args.port is not None:
        overrides["port"] = args.port
    settings = load_settings(**overrides)
    if settings.public_read:
        logging.getLogger("prwatch.serve").warning(
            "PRWATCH_PUBLIC_READ is on: the pages and the read API answer without a credential "
            "(public repositories only)"
        )
    if is_embedded(settings):
        asyncio.run(upgrade_database(settings.database_url))
    else:
        from prwatch.commands.preflight import check_services

        asyncio.run(check_services(settings.database_url, settings.redis_url))
    app = create_app(settings)
    # No access log: a line per delivery costs the hot path more than it tells (the metrics
    # count deliveries by outcome, and refusals are logged by the receiver).
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level="info",
        access_log=False,
        # Stalled or piled-up connections cannot pin the process: past the bound, 503 at once.
        limit_concurrency=settings.max_connections,
        timeout_keep_alive=5,
    )
    return 0
