"""The delivery job: apply one stored webhook delivery, exactly once in effect.

``process_delivery(context, guid)`` claims the delivery (a delivery already done, ignored or
being processed is skipped), plans its handling from the payload (at most one GitHub request,
for ``check_suite.completed``), then applies it and marks it done in ONE transaction, and
finally enqueues the jobs that follow it (an installation sweep).

What the queue must know (arq and the in-process queue alike):

* ``RetryableJobError`` — retry with backoff (``retry_after`` seconds at least, when set). The
  delivery was put back to pending with the error, so recovery finds it even when every try
  fails. It wraps the store's ``RetryableStoreError`` (database down, transaction conflict),
  the GitHub client's ``RetryableGitHubError`` (5xx, timeouts, rate limits) and timeouts.
* Nothing else escapes: a permanent problem (malformed payload, GitHub 4xx, a store rule)
  marks the delivery failed with the error and the job returns normally.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta

from prwatch.events.activity import plan_check_run, plan_check_suite, plan_pull_request
from prwatch.events.envelope import decode_payload
from prwatch.events.errors import RetryableJobError, is_retryable, retry_after
from prwatch.events.inventory import (
    plan_installation,
    plan_installation_repositories,
    plan_repository,
)
from prwatch.events.outcome import Apply, Delivery, EventContext, Outcome, finished
from prwatch.queue.port import QueueUnavailable
from prwatch.store import (
    DeliveryStatus,
    RepositoryRecord,
    Store,
    StoredDelivery,
    UnknownDelivery,
)
from prwatch.store.deliveries import DEFAULT_CLAIM_TIMEOUT

log = logging.getLogger(__name__)

Planner = Callable[[EventContext, Delivery], Awaitable[Apply]]

PLANNERS: Mapping[str, Planner] = {
    "pull_request": plan_pull_request,
    "check_run": plan_check_run,
    "check_suite": plan_check_suite,
    "installation": plan_installation,
    "installation_repositories": plan_installation_repositories,
    "repository": plan_repository,
}

MAX_ERROR_LENGTH = 1_000


async def process_delivery(
    context: EventContext, guid: str, *, claim_timeout: timedelta = DEFAULT_CLAIM_TIMEOUT
) -> None:
    """The PROCESS_DELIVERY job. Raises only RetryableJobError (see the module docstring).
    ``claim_timeout``: how long another job's claim on this delivery holds before the job
    presumes that claimant dead and claims the delivery itself."""
    where = {"delivery_id": guid}
    try:
        claimed = await _claim(context.store, guid, claim_timeout)
    except UnknownDelivery:
        log.error("delivery job for an unknown delivery", extra=where)
        return
    except Exception as error:
        if is_retryable(error):
            raise RetryableJobError(f"cannot claim delivery {guid}: {error}") from error
        raise
    if claimed is None:
        log.debug("delivery already processed or in progress", extra=where)
        return
    stored, repository = claimed
    where |= {"event": stored.event, "action": stored.action or ""}
    try:
        outcome = await _handle(context, _delivery(stored, repository))
    except Exception as error:  # the job boundary
        message = f"{type(error).__name__}: {error}"[:MAX_ERROR_LENGTH]
        if is_retryable(error):
            await _mark_quietly(context.store, guid, DeliveryStatus.PENDING, message)
            log.warning("delivery failed, will retry", extra=where | {"error": message})
            raise RetryableJobError(message, retry_after=retry_after(error)) from error
        await _mark_quietly(context.store, guid, DeliveryStatus.FAILED, message)
        log.error("delivery failed", exc_info=error, extra=where)
        return
    if outcome.note:
        log.info("delivery ignored", extra=where | {"reason": outcome.note})
    for follow_up in outcome.follow_ups:
        try:
            await context.queue.enqueue(follow_up.job, *follow_up.args, job_id=follow_up.job_id)
        except QueueUnavailable:  # the periodic sweep will do it
            log.warning("could not queue a follow-up job", extra=where | {"job": follow_up.job})


async def _claim(
    store: Store, guid: str, claim_timeout: timedelta
) -> tuple[StoredDelivery, RepositoryRecord | None] | None:
    """Claim the delivery and read its repository, in one short transaction."""
    async with store.transaction() as tx:
        stored = await tx.claim_delivery(guid, claim_timeout=claim_timeout)
        if stored is None:
            return None
        repository = (
            None if stored.repository_id is None else await tx.get_repository(stored.repository_id)
        )
    return stored, repository


def _delivery(stored: StoredDelivery, repository: RepositoryRecord | None) -> Delivery:
    return Delivery(
        guid=stored.guid,
        event=stored.event,
        action=stored.action,
        payload=decode_payload(stored.payload) if stored.event in PLANNERS else {},
        repository=repository,
    )


async def _handle(context: EventContext, delivery: Delivery) -> Outcome:
    planner = PLANNERS.get(delivery.event)
    apply = (
        finished(Outcome.ignored(f"event {delivery.event!r}"))
        if planner is None
        else await planner(context, delivery)
    )
    async with context.store.transaction() as tx:
        outcome = await apply(tx)
        await tx.mark_delivery(delivery.guid, outcome.status)
    return outcome


async def _mark_quietly(store: Store, guid: str, status: DeliveryStatus, error: str) -> None:
    """Record how the attempt ended; when even that fails (database down) the delivery stays
    in processing, and its claim times out so that recovery picks it up again."""
    try:
        async with store.transaction() as tx:
            await tx.mark_delivery(guid, status, error)
    except Exception:
        log.warning("could not record a delivery's failure", extra={"delivery_id": guid})
