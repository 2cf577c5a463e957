"""Recovery: queue again what a crash or a Redis outage left without a job.

Deliveries are stored before they are acknowledged and sweep repositories are planned before
they are queued, so the database knows every piece of work; a job that was never queued, or
died with its worker, is found here and queued again. Job ids make this safe to repeat: a job
still queued or running is not queued twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from prwatch.queue.keys import delivery_job_id, sweep_repository_job_id
from prwatch.queue.port import PROCESS_DELIVERY, SWEEP_REPOSITORY, JobQueue
from prwatch.store.records import DeliveryStatus
from prwatch.store.store import Store

log = logging.getLogger(__name__)

# A delivery this fresh is most likely on its way through the queue: leave it be.
DELIVERY_GRACE = timedelta(seconds=30)
# A planned repository not recorded after this long lost its job (longer than a job may run).
SWEEP_REPOSITORY_GRACE = timedelta(minutes=10)
PAGE = 500


@dataclass(frozen=True, slots=True)
class RecoveryReport:
    deliveries_found: int = 0
    deliveries_enqueued: int = 0
    sweep_repositories_found: int = 0
    sweep_repositories_enqueued: int = 0


async def recover_jobs(
    store: Store,
    queue: JobQueue,
    *,
    delivery_grace: timedelta = DELIVERY_GRACE,
    sweep_repository_grace: timedelta = SWEEP_REPOSITORY_GRACE,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> RecoveryReport:
    """Queue every delivery left pending or processing and every planned sweep repository
    whose job was lost. Raises ``QueueUnavailable`` when the queue cannot take them (the next
    run tries again)."""
    at = now()
    async with store.transaction(read_only=True) as tx:
        # A delivery left "processing" by a dead worker is claimable again once its claim times
        # out; queueing it earlier is harmless (the job finds it claimed and stops).
        deliveries = await tx.pending_deliveries(
            at - delivery_grace,
            PAGE,
            statuses=(DeliveryStatus.PENDING, DeliveryStatus.PROCESSING),
        )
        planned = await tx.stale_sweep_repositories(at - sweep_repository_grace, PAGE)
    enqueued_deliveries = 0
    for delivery in deliveries:
        if await queue.enqueue(
            PROCESS_DELIVERY, delivery.guid, job_id=delivery_job_id(delivery.guid)
        ):
            enqueued_deliveries += 1
    enqueued_repositories = 0
    for sweep_id, repository_id in planned:
        if await queue.enqueue(
            SWEEP_REPOSITORY,
            sweep_id,
            repository_id,
            job_id=sweep_repository_job_id(sweep_id, repository_id),
        ):
            enqueued_repositories += 1
    report = RecoveryReport(
        deliveries_found=len(deliveries),
        deliveries_enqueued=enqueued_deliveries,
        sweep_repositories_found=len(planned),
        sweep_repositories_enqueued=enqueued_repositories,
    )
    if enqueued_deliveries or enqueued_repositories:
        log.info(
            "recovered jobs",
            extra={
                "deliveries": enqueued_deliveries,
                "sweep_repositories": enqueued_repositories,
            },
        )
    return report
