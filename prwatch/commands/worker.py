"""``prwatch worker``: an arq worker running prwatch's jobs and periodic sweeps from Redis."""

from __future__ import annotations

import argparse
import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from prwatch.config import ConfigError, load_settings

if TYPE_CHECKING:
    from arq.worker import Worker


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "worker", help="run a queue worker (needs PRWATCH_REDIS_URL); run as many as you like"
    )
    parser.add_argument(
        "--max-jobs", type=int, default=10, help="jobs this worker runs at once (default 10)"
    )
    parser.add_argument(
        "--ledger-interval",
        type=float,
        default=300.0,
        help="seconds between two delivery ledger checks (default 300); 0 turns the ledger off",
    )
    parser.add_argument(
        "--job-timeout", type=float, default=300.0, help="longest a job may run, in seconds"
    )
    parser.add_argument(
        "--no-schedule",
        action="store_true",
        help="run queued jobs only: no periodic sweep, recovery or ledger check from this worker",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from prwatch.queue.scheduler import Schedule
    from prwatch.queue.worker import WorkerOptions, create_worker, cron_fields

    settings = load_settings()
    if settings.redis_url is None:
        raise ConfigError("PRWATCH_REDIS_URL must be set to run a worker (redis://HOST:PORT/DB)")
    settings.require_app_credentials()  # fail before connecting to anything
    if args.max_jobs < 1:
        raise ConfigError("--max-jobs must be at least 1")
    if args.ledger_interval < 0 or args.job_timeout <= 0:
        raise ConfigError("--ledger-interval cannot be negative and --job-timeout must be positive")
    try:
        schedule = Schedule.from_settings(
            settings, ledger_interval_seconds=args.ledger_interval or None
        )
        for interval in (schedule.sweep_interval_seconds, schedule.ledger_interval_seconds):
            if interval is not None:
                cron_fields(interval)
    except ValueError as error:
        raise ConfigError(
            f"invalid configuration: PRWATCH_SWEEP_INTERVAL_SECONDS: {error}"
        ) from None
    options = WorkerOptions(
        schedule=schedule,
        cron=not args.no_schedule,
        max_jobs=args.max_jobs,
        job_timeout_seconds=args.job_timeout,
    )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    asyncio.run(
        _supervise(
            settings.database_url,
            settings.redis_url,
            lambda: create_worker(settings, options, handle_signals=False),
        )
    )
    return 0


async def _supervise(database_url: str, redis_url: str, make_worker: Callable[[], Worker]) -> None:
    """Wait for the database and Redis to answer (a misconfigured one fails the command), then
    run workers until SIGTERM or SIGINT, through any Redis or database outage."""
    from prwatch.commands.preflight import wait_for_services
    from prwatch.queue.supervisor import WorkerSupervisor, install_stop_signals

    stop = asyncio.Event()
    install_stop_signals(stop)
    if await wait_for_services(database_url, redis_url, stop=stop):
        await WorkerSupervisor(make_worker).run(stop)
