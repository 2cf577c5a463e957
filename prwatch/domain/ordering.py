"""Fencing rules: when may a newly observed snapshot replace the stored one?

Webhook deliveries arrive out of order and twice, and a sweep may read a listing that is
older than a delivery already applied. Every writer asks these rules first, so that a stale
observation can never move the stored picture backwards.
"""

from __future__ import annotations

from dataclasses import replace

from prwatch.domain.models import CheckRunSnapshot, PullRequestSnapshot

# GitHub's documented check run statuses. waiting, requested and pending belong to Actions'
# deployment protection and concurrency; they all mean "not started yet".
# https://docs.github.com/en/rest/checks/runs#get-a-check-run (status enum)
_STATUS_RANKS: dict[str, int] = {
    "queued": 0,
    "waiting": 0,
    "requested": 0,
    "pending": 0,
    "in_progress": 1,
    "completed": 2,
}

CHECK_RUN_STATUSES: frozenset[str] = frozenset(_STATUS_RANKS)
COMPLETED = "completed"


def check_status_rank(status: str) -> int:
    """How far along a check run with this status is: 0 not started, 1 running, 2 completed."""
    try:
        return _STATUS_RANKS[status]
    except KeyError:
        known = ", ".join(sorted(_STATUS_RANKS))
        raise ValueError(f"unknown check run status {status!r} (known: {known})") from None


def is_pr_snapshot_current(stored: PullRequestSnapshot, observed: PullRequestSnapshot) -> bool:
    """True when `observed` may replace `stored`.

    GitHub's `updated_at` has one-second resolution, so an equal timestamp is accepted: it is
    a later look at the same second, and refusing it could pin an outdated row forever.
    """
    _require_same_pull_request(stored, observed)
    return observed.updated_at >= stored.updated_at


def is_pr_tie(stored: PullRequestSnapshot, observed: PullRequestSnapshot) -> bool:
    """True when `observed` has the stored `updated_at` but says something else.

    The fence cannot order two versions of one second: whichever arrives last wins, and that
    may be the older one. Only GitHub can say which is current. The merge-queue state counts
    only when `observed` knows it (a snapshot that does not know keeps the stored one).
    """
    _require_same_pull_request(stored, observed)
    if observed.updated_at != stored.updated_at:
        return False
    if not observed.merge_queue_known and observed.enqueued_at != stored.enqueued_at:
        observed = replace(observed, enqueued_at=stored.enqueued_at)
    return observed != stored


def is_check_run_progress(stored: CheckRunSnapshot, observed: CheckRunSnapshot) -> bool:
    """True unless `observed` would move the check run backwards.

    A check run's changes do not touch any `updated_at`, so progress is judged by status rank,
    and between two completed observations by `completed_at` (a re-run is a new check run id,
    so a later `completed_at` on the same id is a correction of the conclusion).
    """
    if stored.id != observed.id:
        raise ValueError(f"cannot compare check run {stored.id} with check run {observed.id}")
    stored_rank = check_status_rank(stored.status)
    observed_rank = check_status_rank(observed.status)
    if observed_rank != stored_rank:
        return observed_rank > stored_rank
    if observed.status != COMPLETED or stored.status != COMPLETED:
        return True
    if stored.completed_at is None:
        return True
    if observed.completed_at is None:
        return False
    return observed.completed_at >= stored.completed_at


def _require_same_pull_request(stored: PullRequestSnapshot, observed: PullRequestSnapshot) -> None:
    if (stored.repository_id, stored.number) != (observed.repository_id, observed.number):
        raise ValueError(
            f"cannot compare PR {stored.repository_id}#{stored.number} "
            f"with PR {observed.repository_id}#{observed.number}"
        )
