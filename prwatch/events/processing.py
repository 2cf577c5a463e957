"""The delivery job: apply one stored webhook delivery, exactly once in effect.

``process_delivery(context, guid)`` claims the delivery (a delivery already done, ignored or
being processed is skipped), plans its handling from the payload (at most one GitHub request,
for ``check_suite.completed``), then applies it and marks it done in ONE transaction, and
finally enqueues the jobs that follow it (an installation sweep).

Delivery jobs running at the same time in one process are handled together
(``prwatch.events.batching``): one transaction claims them all, and one applies them all —
each through the same apply path, with the same fences, as alone — and marks each. When that
transaction fails, each delivery is applied again in a transaction of its own, so that one
delivery's failure is its own. Events about the inventory (installations, repositories) are
always applied alone.

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
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import timedelta

from prwatch.events.activity import (
    ApplyObservation,
    plan_check_run,
    plan_check_suite,
    plan_pull_request,
    plan_status,
)
from prwatch.events.envelope import decode_payload
from prwatch.events.errors import RetryableJobError, is_retryable, retry_after
from prwatch.events.inventory import (
    plan_installation,
    plan_installation_repositories,
    plan_repository,
)
from prwatch.events.outcome import Apply, Delivery, EventContext, Outcome, finished
from prwatch.events.reviews import plan_pull_request_review
from prwatch.queue.port import QueueUnavailable
from prwatch.store import (
    DeliveryStatus,
    RepositoryRecord,
    Store,
    StoredDelivery,
)
from prwatch.store.base import writer_turn
from prwatch.store.deliveries import DEFAULT_CLAIM_TIMEOUT
from prwatch.store.outages import is_database_outage
from prwatch.sync.apply import ReadAheadKeys, read_ahead_keys

log = logging.getLogger(__name__)

Planner = Callable[[EventContext, Delivery], Awaitable[Apply]]

PLANNERS: Mapping[str, Planner] = {
    "pull_request": plan_pull_request,
    "check_run": plan_check_run,
    "check_suite": plan_check_suite,
    "status": plan_status,
    "pull_request_review": plan_pull_request_review,
    "installation": plan_installation,
    "installation_repositories": plan_installation_repositories,
    "repository": plan_repository,
}

MAX_ERROR_LENGTH = 1_000

# Events whose deliveries may share a transaction: each touches one repository's PRs or checks.
BATCHED_EVENTS = frozenset(
    {"pull_request", "check_run", "check_suite", "status", "pull_request_review"}
)

Planned = tuple[StoredDelivery, Delivery, Apply]


async def process_delivery(
    context: EventContext, *guids: str, claim_timeout: timedelta = DEFAULT_CLAIM_TIMEOUT
) -> None:
    """The PROCESS_DELIVERY job, for one delivery or several (the receiver queues the
    deliveries it stored in one transaction as one job). Raises only RetryableJobError (see the
    module docstring), once every delivery of the job ended: a retry runs the job again, and
    skips those already done. ``claim_timeout``: how long another job's claim on a delivery
    holds before the job presumes that claimant dead and claims the delivery itself."""
    from prwatch.events.batching import delivery_lane  # the lane calls back into this module

    await delivery_lane(context.store, claim_timeout).process(context, *guids)


async def process_deliveries(
    context: EventContext, guids: Sequence[str], *, claim_timeout: timedelta = DEFAULT_CLAIM_TIMEOUT
) -> dict[str, RetryableJobError]:
    """Handle the deliveries ``guids`` together: what ``process_delivery`` does for one. Every
    delivery ends done, ignored or failed, except those returned: each with the retryable
    error its job must raise (it was put back to pending)."""
    failures: dict[str, RetryableJobError] = {}
    try:
        claimed, unknown = await _claim(context.store, guids, claim_timeout)
    except Exception as error:
        if is_retryable(error):
            return {
                guid: _caused(RetryableJobError(f"cannot claim delivery {guid}: {error}"), error)
                for guid in guids
            }
        raise
    for guid in unknown:
        log.error("delivery job for an unknown delivery", extra={"delivery_id": guid})
    if len(claimed) < len(set(guids)) - len(unknown):
        log.debug("deliveries already processed or in progress", extra={"deliveries": len(guids)})
    together: list[Planned] = []
    alone: list[Planned] = []
    for stored, repository in claimed:
        try:
            delivery = _delivery(stored, repository)
            apply = await _plan(context, delivery)
        except Exception as error:  # the job boundary
            if failure := await _failed(context.store, stored, error):
                failures[stored.guid] = failure
            continue
        (together if stored.event in BATCHED_EVENTS else alone).append((stored, delivery, apply))
    outcomes: list[tuple[StoredDelivery, Outcome]] = []
    if len(together) > 1:
        try:
            outcomes += await _apply(context.store, together)
            together = []
        except Exception as error:
            log.log(
                _level(error),
                "applying deliveries together failed: applying each alone",
                extra={"deliveries": len(together), "error": f"{type(error).__name__}: {error}"},
            )
    for planned in [*together, *alone]:
        try:
            outcomes += await _apply(context.store, [planned])
        except Exception as error:  # the job boundary
            if failure := await _failed(context.store, planned[0], error):
                failures[planned[0].guid] = failure
    for stored, outcome in outcomes:
        await _follow_up(context, stored, outcome)
    return failures


async def _claim(
    store: Store, guids: Sequence[str], claim_timeout: timedelta
) -> tuple[list[tuple[StoredDelivery, RepositoryRecord | None]], list[str]]:
    """Claim the deliveries and read their repositories, in one short transaction: the claimed
    ones with their repository, and the GUIDs never recorded."""
    async with writer_turn(store.engine), store.transaction() as tx:
        claimed = await tx.claim_deliveries(guids, claim_timeout=claim_timeout)
        unknown: list[str] = []
        if len(claimed) < len(set(guids)):
            taken = {stored.guid for stored in claimed}
            statuses = await tx.delivery_statuses(g for g in guids if g not in taken)
            unknown = [g for g in dict.fromkeys(guids) if g not in taken and g not in statuses]
        repositories: dict[int, RepositoryRecord | None] = {}
        for repository_id in sorted({s.repository_id for s in claimed if s.repository_id}):
            repositories[repository_id] = await tx.get_repository(repository_id)
    return [
        (stored, None if stored.repository_id is None else repositories[stored.repository_id])
        for stored in claimed
    ], unknown


def _delivery(stored: StoredDelivery, repository: RepositoryRecord | None) -> Delivery:
    return Delivery(
        guid=stored.guid,
        event=stored.event,
        action=stored.action,
        payload=decode_payload(stored.payload, stored.event) if stored.event in PLANNERS else {},
        repository=repository,
    )


async def _plan(context: EventContext, delivery: Delivery) -> Apply:
    planner = PLANNERS.get(delivery.event)
    if planner is None:
        return finished(Outcome.ignored(f"event {delivery.event!r}"))
    return await planner(context, delivery)


async def _apply(store: Store, planned: Sequence[Planned]) -> list[tuple[StoredDelivery, Outcome]]:
    """Apply and mark ``planned`` in one transaction; every repository it names is locked
    first, in id order, so that applies taking the same repositories never deadlock."""
    outcomes: list[tuple[StoredDelivery, Outcome]] = []
    async with writer_turn(store.engine), store.transaction() as tx:
        if len(planned) > 1:
            for repository_id in sorted(
                {s.repository_id for s, _, _ in planned if s.repository_id}
            ):
                await tx.lock_repository(repository_id)
            # What the deliveries load, read once per repository instead of once per delivery.
            for repository_id, keys in _read_ahead_keys(planned).items():
                await tx.read_ahead(repository_id, **keys)
            # Each delivery's rows and log entries are sent with the batch's, in one statement
            # per table.
            async with tx.deferred_writes():
                for stored, _, apply in planned:
                    outcomes.append((stored, await apply(tx)))
        else:
            for stored, _, apply in planned:
                outcomes.append((stored, await apply(tx)))
        by_status: dict[DeliveryStatus, list[str]] = {}
        for stored, outcome in outcomes:
            by_status.setdefault(outcome.status, []).append(stored.guid)
        for status, guids in by_status.items():
            await tx.mark_deliveries(guids, status)
    return outcomes


def _read_ahead_keys(planned: Sequence[Planned]) -> dict[int, ReadAheadKeys]:
    """What the observations of ``planned`` will load, by repository."""
    return read_ahead_keys(
        apply.observation for _, _, apply in planned if isinstance(apply, ApplyObservation)
    )


async def _follow_up(context: EventContext, stored: StoredDelivery, outcome: Outcome) -> None:
    where = {"delivery_id": stored.guid, "event": stored.event, "action": stored.action or ""}
    if outcome.note:
        log.info("delivery ignored", extra=where | {"reason": outcome.note})
    for follow_up in outcome.follow_ups:
        try:
            queue = context.queue
            enqueue = queue.enqueue_or_rerun if follow_up.rerun else queue.enqueue
            await enqueue(follow_up.job, *follow_up.args, job_id=follow_up.job_id)
        except QueueUnavailable:  # the periodic sweep will do it
            log.warning("could not queue a follow-up job", extra=where | {"job": follow_up.job})


async def _failed(
    store: Store, stored: StoredDelivery, error: Exception
) -> RetryableJobError | None:
    """Record a failed attempt: back to pending with the retryable error its job raises, or
    failed for good."""
    where = {"delivery_id": stored.guid, "event": stored.event, "action": stored.action or ""}
    message = f"{type(error).__name__}: {error}"[:MAX_ERROR_LENGTH]
    if is_retryable(error):
        await _mark_quietly(store, stored.guid, DeliveryStatus.PENDING, message)
        log.log(_level(error), "delivery failed, will retry", extra=where | {"error": message})
        retry = RetryableJobError(message, retry_after=retry_after(error), reported=True)
        return _caused(retry, error)
    await _mark_quietly(store, stored.guid, DeliveryStatus.FAILED, message)
    log.error("delivery failed", exc_info=error, extra=where)
    return None


def _caused(failure: RetryableJobError, cause: Exception) -> RetryableJobError:
    failure.__cause__ = cause
    return failure


async def _mark_quietly(store: Store, guid: str, status: DeliveryStatus, error: str) -> None:
    """Record how the attempt ended; when even that fails (database down) the delivery stays
    in processing, and its claim times out so that recovery picks it up again."""
    try:
        async with writer_turn(store.engine), store.transaction() as tx:
            await tx.mark_delivery(guid, status, error)
    except Exception as failure:
        log.log(
            _level(failure), "could not record a delivery's failure", extra={"delivery_id": guid}
        )


def _level(error: BaseException) -> int:
    """An unreachable database is logged once, by the queue's database gate, not per delivery."""
    return logging.DEBUG if is_database_outage(error) else logging.WARNING
