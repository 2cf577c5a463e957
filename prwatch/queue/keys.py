"""Every Redis key and job id prwatch uses, in one place.

arq's own keys (``arq:job:``, ``arq:result:``, ``arq:in-progress:``, ``arq:queue``) are arq's;
what prwatch adds is named here so that no two parts of the code invent the same key twice.
"""

from __future__ import annotations

# The arq queue every prwatch worker reads (arq's default name, spelled out so that a second
# application on the same Redis can be told apart by changing one constant).
QUEUE_NAME = "arq:queue"

# arq writes the worker's health line here (`arq --check` reads it).
HEALTH_CHECK_KEY = "prwatch:worker:health"

# Live workers: a sorted set of worker ids scored by their last heartbeat (Redis time).
WORKER_HEARTBEATS_KEY = "prwatch:workers:heartbeats"

# "Run once more": set by ``ArqQueue.enqueue_or_rerun`` for a job id, cleared when a run of
# that id starts, read by the worker once a run has ended (``prwatch.queue.reruns``).
RERUN_MARK_PREFIX = "prwatch:rerun:"

# Job id prefixes. A job id is queued at most once at a time (arq refuses a second one while
# the first is queued, running, or its result is kept).
DELIVERY_JOB_PREFIX = "delivery:"
SWEEP_REPOSITORY_JOB_PREFIX = "sweep:"
SWEEP_INSTALLATION_JOB_PREFIX = "sweep-installation:"
SWEEP_TICK_JOB_PREFIX = "sweep-tick:"
SWEEP_NOW_JOB_PREFIX = "sweep-now:"  # a sweep asked for outside the schedule
RECOVER_TICK_JOB_PREFIX = "recover-tick:"
LEDGER_TICK_JOB_PREFIX = "ledger-tick:"
REFRESH_PULL_REQUEST_JOB_PREFIX = "refresh-pr:"


def delivery_job_id(guid: str) -> str:
    """One job per webhook delivery: a GUID is applied once, redelivered or not."""
    return f"{DELIVERY_JOB_PREFIX}{guid}"


def sweep_repository_job_id(sweep_id: int, repository_id: int) -> str:
    """One job per repository of one sweep: each is swept once per sweep, by one worker."""
    return f"{SWEEP_REPOSITORY_JOB_PREFIX}{sweep_id}:{repository_id}"


def sweep_installation_job_id(installation_id: int) -> str:
    return f"{SWEEP_INSTALLATION_JOB_PREFIX}{installation_id}"


def refresh_pull_request_job_id(repository_id: int, number: int) -> str:
    """One read of a PR queued or running at a time, however many ties ask for it, and one
    more asked for while it runs (``enqueue_or_rerun``). Its result is not kept (see the
    worker), so a tie after it finished queues the next read."""
    return f"{REFRESH_PULL_REQUEST_JOB_PREFIX}{repository_id}:{number}"


def rerun_mark_key(job_id: str) -> str:
    return f"{RERUN_MARK_PREFIX}{job_id}"


def sweep_now_job_id(requested_at_ms: int) -> str:
    """A sweep asked for at this millisecond, outside the schedule."""
    return f"{SWEEP_NOW_JOB_PREFIX}{requested_at_ms}"


def tick_job_id(prefix: str, interval_seconds: float, now: float) -> str:
    """The same id for every scheduler that ticks within one interval: one job per tick,
    however many processes schedule it."""
    return f"{prefix}{int(now // interval_seconds)}"
