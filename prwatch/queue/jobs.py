"""The job functions: every job name of ``prwatch.queue.port`` mapped to what it runs.

Each takes the ProcessContext and the job's arguments, and is queue-agnostic: the arq worker
calls it through a thin wrapper, the embedded in-process queue directly. Transient failures are
raised (the queue retries them); a job's own outcome is logged and recorded in the database.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TYPE_CHECKING, cast

from prwatch.config import ConfigError
from prwatch.ledger.check import check_delivery_ledger
from prwatch.queue.port import (
    CHECK_DELIVERY_LEDGER,
    PROCESS_DELIVERY,
    RECOVER_DELIVERIES,
    REFRESH_PULL_REQUEST,
    SWEEP,
    SWEEP_INSTALLATION,
    SWEEP_REPOSITORY,
    JobRunner,
)
from prwatch.queue.recovery import recover_jobs
from prwatch.sync.distributed import plan_sweep, sweep_installation, sweep_planned_repository
from prwatch.sync.pull_refresh import refresh_pull_request

if TYPE_CHECKING:
    from prwatch.context import ProcessContext

log = logging.getLogger(__name__)


class JobArgumentError(ValueError):
    """A job was queued with arguments its function cannot take (a programming error)."""


def job_functions() -> dict[str, JobRunner]:
    return {
        PROCESS_DELIVERY: process_delivery_job,
        SWEEP: sweep_job,
        SWEEP_REPOSITORY: sweep_repository_job,
        SWEEP_INSTALLATION: sweep_installation_job,
        RECOVER_DELIVERIES: recover_deliveries_job,
        CHECK_DELIVERY_LEDGER: check_delivery_ledger_job,
        REFRESH_PULL_REQUEST: refresh_pull_request_job,
    }


async def process_delivery_job(context: ProcessContext, *args: str | int) -> None:
    """``process_delivery(guid, ...)``: one delivery, or the several one transaction stored."""
    if not args or not all(isinstance(arg, str) and arg for arg in args):
        raise JobArgumentError(f"{PROCESS_DELIVERY} takes one or more GUIDs, got {args!r}")
    # The webhook side's module; imported when first used so that the queue does not depend on
    # the events package at import.
    processing = importlib.import_module("prwatch.events.processing")
    process = cast(Callable[..., Awaitable[object]], processing.process_delivery)
    claim_timeout = timedelta(seconds=context.settings.delivery_claim_timeout_seconds)
    await process(context, *(str(arg) for arg in args), claim_timeout=claim_timeout)


async def sweep_job(context: ProcessContext, *args: str | int) -> None:
    _arguments(SWEEP, args)
    try:
        context.settings.require_app_credentials()
    except ConfigError as error:  # one line, no traceback: /readyz says the same
        log.warning("sweep skipped: no GitHub App configured", extra={"error": str(error)})
        return
    await plan_sweep(context.store, context.github, context.queue)


async def sweep_repository_job(context: ProcessContext, *args: str | int) -> None:
    sweep_id, repository_id = _arguments(SWEEP_REPOSITORY, args, int, int)
    from prwatch.context import sweep_options

    await sweep_planned_repository(
        context.store,
        context.github,
        int(sweep_id),
        int(repository_id),
        options=sweep_options(context.settings),
        checks=context.check_queries,
    )


async def sweep_installation_job(context: ProcessContext, *args: str | int) -> None:
    (installation_id,) = _arguments(SWEEP_INSTALLATION, args, int)
    from prwatch.context import sweep_options

    outcomes = await sweep_installation(
        context.store,
        context.github,
        int(installation_id),
        options=sweep_options(context.settings),
    )
    failed = [outcome for outcome in outcomes if not outcome.ok]
    log.info(
        "installation swept",
        extra={
            "installation_id": installation_id,
            "repositories": len(outcomes),
            "failed": len(failed),
        },
    )


async def recover_deliveries_job(context: ProcessContext, *args: str | int) -> None:
    _arguments(RECOVER_DELIVERIES, args)
    await recover_jobs(context.store, context.queue)


async def check_delivery_ledger_job(context: ProcessContext, *args: str | int) -> None:
    _arguments(CHECK_DELIVERY_LEDGER, args)
    await check_delivery_ledger(context.store, context.github)


async def refresh_pull_request_job(context: ProcessContext, *args: str | int) -> None:
    repository_id, number = _arguments(REFRESH_PULL_REQUEST, args, int, int)
    await refresh_pull_request(context.store, context.github, int(repository_id), int(number))


def _arguments(job: str, args: tuple[str | int, ...], *types: type) -> tuple[str | int, ...]:
    if len(args) != len(types):
        raise JobArgumentError(f"job {job} takes {len(types)} argument(s), got {len(args)}")
    for position, (value, wanted) in enumerate(zip(args, types, strict=True)):
        if isinstance(value, bool) or not isinstance(value, wanted):
            raise JobArgumentError(
                f"job {job}: argument {position + 1} must be {wanted.__name__}, got {value!r}"
            )
    return args
