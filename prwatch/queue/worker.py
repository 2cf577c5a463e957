"""The arq worker: job functions wrapped for arq, the periodic jobs as arq cron jobs.

arq hands every job an untyped ``ctx`` dict; it stays here: ``on_startup`` builds the
ProcessContext and keeps it under one key, the wrappers take it out and call the typed job
functions of ``prwatch.queue.jobs``. Transient errors become ``arq.Retry`` with exponential
backoff; SIGTERM cancels running jobs (arq's own handling), whose transactions roll back and
which arq runs again — no job is half applied.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from arq import Retry
from arq.connections import ArqRedis, RedisSettings
from arq.constants import retry_key_prefix
from arq.cron import CronJob, cron
from arq.typing import WorkerCoroutine
from arq.worker import Function, Worker, func

from prwatch.backoff import Backoff
from prwatch.config import Settings
from prwatch.context import ProcessContext, create_job_context
from prwatch.events.errors import already_reported, is_retryable, retry_after
from prwatch.queue.database_gate import (
    GATE_CONTEXT_KEY,
    DatabaseGate,
    database_probe,
    release_claims,
)
from prwatch.queue.jobs import job_functions
from prwatch.queue.keys import HEALTH_CHECK_KEY, QUEUE_NAME
from prwatch.queue.port import (
    CHECK_DELIVERY_LEDGER,
    PROCESS_DELIVERY,
    RECOVER_DELIVERIES,
    REFRESH_PULL_REQUEST,
    RERUNNABLE_JOBS,
    SWEEP,
    SWEEP_INSTALLATION,
    SWEEP_REPOSITORY,
    JobRunner,
)
from prwatch.queue.reruns import rerun_if_asked, run_starting
from prwatch.queue.scheduler import Schedule
from prwatch.store.types import utc_now
from prwatch.web.operator_app import OperatorListener

log = logging.getLogger(__name__)

CONTEXT_KEY = "prwatch_context"
RERUN_KEY = "prwatch_rerun"  # (job, args) of a RERUNNABLE_JOBS run, for after_job_end
LISTENER_KEY = "prwatch_operator_listener"
ContextFactory = Callable[[Settings], Awaitable[ProcessContext]]


@dataclass(frozen=True, slots=True)
class WorkerOptions:
    schedule: Schedule = field(default_factory=Schedule)
    cron: bool = True  # run the schedule's periodic jobs (tests drive jobs themselves)
    max_jobs: int = 10  # jobs one worker runs at once
    max_tries: int = 5
    backoff_seconds: float = 1.0  # first retry delay; doubles with each try
    max_backoff_seconds: float = 300.0
    job_timeout_seconds: float = 300.0
    # arq keeps a running job's id marked in progress for its timeout plus this margin: a job
    # whose worker was killed runs again after that.
    in_progress_margin_seconds: float = 10.0
    # How long a finished job's id keeps an equal one from being queued. A delivery is applied
    # once whatever happens; a sweep repository's id names its sweep.
    delivery_keep_result_seconds: float = 300.0
    sweep_keep_result_seconds: float = 3600.0
    # Per-tick cron ids are kept this long, so a slower worker does not queue a finished tick.
    cron_keep_result_seconds: float = 60.0
    # How the worker probes a database it lost (``prwatch.queue.database_gate``).
    database_backoff: Backoff = field(default_factory=Backoff)

    def __post_init__(self) -> None:
        if self.max_jobs < 1 or self.max_tries < 1:
            raise ValueError("max_jobs and max_tries must be at least 1")
        if self.job_timeout_seconds <= 0 or self.in_progress_margin_seconds <= 0:
            raise ValueError("job timeout and in-progress margin must be positive")

    def backoff(self, job_try: int, requested: float | None = None) -> float:
        delay = min(self.max_backoff_seconds, self.backoff_seconds * 2.0 ** max(0, job_try - 1))
        if requested is not None:
            delay = max(delay, min(requested, self.max_backoff_seconds))
        return delay


def worker_settings(
    settings: Settings,
    options: WorkerOptions | None = None,
    *,
    context_factory: ContextFactory = create_job_context,
) -> dict[str, Any]:
    """Keyword arguments for ``arq.worker.Worker``: functions, cron jobs, start and stop."""
    options = options or WorkerOptions(schedule=Schedule.from_settings(settings))
    runners = job_functions()

    async def on_startup(ctx: dict[str, Any]) -> None:
        context = ctx[CONTEXT_KEY] = await context_factory(settings)
        # Workers have no web app: their metrics (GitHub, rate limits, jobs) are scraped here.
        listener = OperatorListener.from_settings(context)
        if listener is not None:
            await listener.start()
            ctx[LISTENER_KEY] = listener
        log.info("worker started", extra={"jobs": sorted(runners)})

    async def on_shutdown(ctx: dict[str, Any]) -> None:
        gate: DatabaseGate | None = ctx.get(GATE_CONTEXT_KEY)
        if gate is not None:
            await gate.aclose()
        listener: OperatorListener | None = ctx.pop(LISTENER_KEY, None)
        if listener is not None:
            await listener.stop()
        context: ProcessContext | None = ctx.pop(CONTEXT_KEY, None)
        if context is not None:
            await context.aclose()

    kwargs: dict[str, Any] = {
        "functions": arq_functions(runners, options),
        "cron_jobs": cron_jobs(runners, options) if options.cron else [],
        "on_startup": on_startup,
        "on_shutdown": on_shutdown,
        "after_job_end": after_job_end,
        "queue_name": QUEUE_NAME,
        "max_jobs": options.max_jobs,
        "max_tries": options.max_tries,
        "job_timeout": options.job_timeout_seconds,
        "health_check_key": HEALTH_CHECK_KEY,
    }
    if settings.redis_url is not None:
        redis_settings = RedisSettings.from_dsn(settings.redis_url)
        # No retries of arq's own (one log line each): the supervisor reconnects with backoff.
        redis_settings.conn_retries = 0
        kwargs["redis_settings"] = redis_settings
    return kwargs


async def after_job_end(ctx: dict[str, Any]) -> None:
    """arq calls this once a run ended and its id is released: the run asked for meanwhile."""
    asked: tuple[str, tuple[Any, ...]] | None = ctx.get(RERUN_KEY)
    if asked is not None:
        job, args = asked
        await rerun_if_asked(ctx["redis"], job, args, ctx["job_id"], queue_name=QUEUE_NAME)


def create_worker(
    settings: Settings,
    options: WorkerOptions | None = None,
    *,
    context_factory: ContextFactory = create_job_context,
    redis_pool: ArqRedis | None = None,
    burst: bool = False,
    poll_delay: float = 0.05,
    handle_signals: bool = True,
) -> Worker:
    """An arq worker running prwatch's jobs (``await worker.async_run()`` or ``worker.run()``).

    ``poll_delay``: arq reads at most ``max_jobs`` job ids per poll and sleeps this long after
    each; its default of 0.5 s capped a worker near 20 deliveries/s. A poll is one cheap Redis
    command."""
    options = options or WorkerOptions(schedule=Schedule.from_settings(settings))
    kwargs = worker_settings(settings, options, context_factory=context_factory)
    if redis_pool is not None:
        kwargs.pop("redis_settings", None)
    worker = Worker(
        redis_pool=redis_pool,
        burst=burst,
        poll_delay=poll_delay,
        handle_signals=handle_signals,
        **kwargs,
    )
    # arq adds a fixed 10 s; the margin is ours to choose (a killed worker's job waits for it).
    worker.in_progress_timeout_s = options.job_timeout_seconds + options.in_progress_margin_seconds

    async def probe() -> None:
        context: ProcessContext = worker.ctx[CONTEXT_KEY]
        await database_probe(context.store)()

    def pick_jobs(database_answers: bool) -> None:
        worker.allow_pick_jobs = database_answers

    worker.ctx[GATE_CONTEXT_KEY] = DatabaseGate(
        probe, backoff=options.database_backoff, on_change=pick_jobs
    )
    return worker


def arq_functions(runners: Mapping[str, JobRunner], options: WorkerOptions) -> list[Function]:
    keep = {
        PROCESS_DELIVERY: options.delivery_keep_result_seconds,
        SWEEP_REPOSITORY: options.sweep_keep_result_seconds,
        SWEEP_INSTALLATION: options.cron_keep_result_seconds,
        # Not kept: a kept result would refuse the read that a later tie of the PR asks for.
        REFRESH_PULL_REQUEST: 0.0,
    }
    return [
        func(
            arq_job(name, runner, options),
            name=name,
            keep_result=keep.get(name, options.cron_keep_result_seconds),
            max_tries=options.max_tries,
            timeout=options.job_timeout_seconds,
        )
        for name, runner in runners.items()
    ]


def cron_jobs(runners: Mapping[str, JobRunner], options: WorkerOptions) -> list[CronJob]:
    """The schedule as arq cron jobs. arq queues each tick under an id made of its name and the
    tick's time, so however many workers run, each tick is queued once."""
    schedule = options.schedule
    periodic: list[tuple[str, float, bool]] = [
        (SWEEP, schedule.sweep_interval_seconds, False),
        (RECOVER_DELIVERIES, schedule.recover_interval_seconds, True),
    ]
    if schedule.ledger_interval_seconds is not None:
        periodic.append((CHECK_DELIVERY_LEDGER, schedule.ledger_interval_seconds, False))
    return [
        cron(
            arq_job(name, runners[name], options),
            name=f"cron:{name}",
            run_at_startup=at_startup,
            keep_result=options.cron_keep_result_seconds,
            timeout=options.job_timeout_seconds,
            **cron_fields(interval),
        )
        for name, interval, at_startup in periodic
    ]


def cron_fields(interval_seconds: float) -> dict[str, Any]:
    """arq cron's second/minute/hour sets for "every ``interval_seconds``". arq's cron names
    clock positions, so the interval must divide a minute, an hour or a day evenly."""
    seconds = int(interval_seconds)
    if seconds != interval_seconds or seconds < 1:
        raise ValueError(
            f"a periodic interval must be a whole number of seconds, got {interval_seconds}"
        )
    if seconds < 60 and 60 % seconds == 0:
        return {"second": set(range(0, 60, seconds))}
    if seconds < 3600 and seconds % 60 == 0 and 3600 % seconds == 0:
        return {"minute": set(range(0, 60, seconds // 60)), "second": 0}
    if seconds <= 86400 and seconds % 3600 == 0 and 86400 % seconds == 0:
        return {"hour": set(range(0, 24, seconds // 3600)), "minute": 0, "second": 0}
    raise ValueError(
        f"a periodic interval of {seconds}s does not divide a minute, an hour or a day evenly "
        "(use for example 30, 60, 300, 600, 900, 1800 or 3600)"
    )


def arq_job(name: str, runner: JobRunner, options: WorkerOptions) -> WorkerCoroutine:
    """``runner`` as an arq job: the context out of ``ctx``, transient errors as ``Retry``."""

    async def run(ctx: dict[Any, Any], *args: Any, **kwargs: Any) -> None:
        context: ProcessContext = ctx[CONTEXT_KEY]
        job_try = int(ctx.get("job_try", 1))
        if name in RERUNNABLE_JOBS:  # ``ctx`` is this run's own: after_job_end gets it too
            ctx[RERUN_KEY] = (name, args)
            await run_starting(ctx["redis"], ctx["job_id"])
        started = time.perf_counter()
        outcome = "failed"
        try:
            await runner(context, *args)
            outcome = "ok"
        except Exception as error:  # the job's boundary: retry what is transient
            if await _hand_back_on_outage(ctx, name, args, error):
                outcome = "retry"
                raise Retry(defer=_outage_defer(ctx)) from error
            if not is_retryable(error):
                log.exception("job failed", extra={"job": name, "job_args": list(args)})
                raise
            if job_try < options.max_tries:
                outcome = "retry"
            if job_try >= options.max_tries:
                log.error(
                    "job failed after its last try",
                    extra={"job": name, "job_args": list(args), "error": str(error)},
                )
                raise
            delay = options.backoff(job_try, retry_after(error))
            # Once per failure: a job that logged it already is retried quietly.
            log.log(
                logging.DEBUG if already_reported(error) else logging.WARNING,
                "job failed, retrying",
                extra={"job": name, "try": job_try, "delay": delay, "error": str(error)},
            )
            raise Retry(defer=delay) from error
        finally:  # job latency, as the in-process queue reports it too
            context.metrics.observe_job(name, time.perf_counter() - started, outcome)

    run.__name__ = run.__qualname__ = name
    job: WorkerCoroutine = run
    return job


async def _hand_back_on_outage(
    ctx: dict[Any, Any], name: str, args: tuple[Any, ...], error: Exception
) -> bool:
    """When ``error`` says the database is unreachable: close the worker's gate (it stops
    picking jobs until the database answers) and hand the job back without counting the try,
    so that an outage of any length never uses up a job's tries. The gate logs the outage
    once; the job itself only at debug level."""
    gate: DatabaseGate | None = ctx.get(GATE_CONTEXT_KEY)
    if gate is None:
        return False
    context: ProcessContext = ctx[CONTEXT_KEY]
    recovery = None
    if name == PROCESS_DELIVERY and args:
        recovery = release_claims(context.store, [str(guid) for guid in args], utc_now())
    if not gate.report(error, on_recovery=recovery):
        return False
    log.debug("job handed back: database unreachable", extra={"job": name, "error": str(error)})
    redis = ctx.get("redis")
    job_id = ctx.get("job_id")
    if redis is not None and job_id is not None:
        try:  # arq counted this try when the job started: uncount it
            await redis.decr(retry_key_prefix + str(job_id))
        except Exception:  # Redis away too: the try stays counted
            log.debug("could not uncount the try of a handed-back job", extra={"job": name})
    return True


def _outage_defer(ctx: dict[Any, Any]) -> float:
    gate: DatabaseGate = ctx[GATE_CONTEXT_KEY]
    return gate.backoff.first_seconds
