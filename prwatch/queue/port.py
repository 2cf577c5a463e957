"""The queue port: what the web app and the scheduler need of a job queue."""

from __future__ import annotations

from typing import Any, Protocol

# Job names: the job functions registered under these names in both queue implementations.
PROCESS_DELIVERY = "process_delivery"  # (guid: str, ...) apply stored webhook deliveries
SWEEP = "sweep"  # () start a reconcile sweep: enqueue one SWEEP_REPOSITORY job per repository
SWEEP_REPOSITORY = "sweep_repository"  # (sweep_id: int, repository_id: int)
SWEEP_INSTALLATION = "sweep_installation"  # (installation_id: int) sweep one now (webhook)
RECOVER_DELIVERIES = "recover_deliveries"  # () re-enqueue deliveries left unprocessed
CHECK_DELIVERY_LEDGER = "check_delivery_ledger"  # () redeliver failed GitHub deliveries
# (repository_id: int, number: int) read one PR from GitHub and apply it: settles a tie
REFRESH_PULL_REQUEST = "refresh_pull_request"

# Jobs that may be asked for with ``JobQueue.enqueue_or_rerun``: their runs clear the ask when
# they start (the arq worker does it for these only, to spare every other job a Redis call).
RERUNNABLE_JOBS = frozenset({REFRESH_PULL_REQUEST})


class QueueUnavailable(Exception):
    """The queue cannot take a job now (Redis down). What was stored stays stored."""


class JobQueue(Protocol):
    async def enqueue(
        self, job: str, *args: str | int, job_id: str, defer_seconds: float = 0.0
    ) -> bool:
        """Queue `job(*args)` unless a job with `job_id` is queued or running: True if queued.

        Raises QueueUnavailable when the job could not be queued.
        """
        ...

    async def enqueue_or_rerun(self, job: str, *args: str | int, job_id: str) -> bool:
        """Make sure a run of `job(*args)` starts after this call: queue it; or, while the job
        with `job_id` is running (it may have read what this call is about too early), have
        it run once more once it ends. A job queued and not started yet is run as it is. Many
        calls coalesce: one run at a time and one more waiting, at most. True if queued now.

        Only for RERUNNABLE_JOBS; raises QueueUnavailable when the job could not be asked for.
        """
        ...

    async def depth(self) -> int:
        """Jobs waiting to run."""
        ...

    async def aclose(self) -> None: ...


class JobRunner(Protocol):
    """A job function: ``await job(context, *args)``; ``context`` is the ProcessContext.

    ``prwatch.queue.jobs.job_functions()`` maps every job name above to its function; the
    in-process queue calls them directly, the arq worker through thin wrappers.
    """

    async def __call__(self, context: Any, *args: str | int) -> None: ...
