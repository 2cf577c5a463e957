"""Reviews and the merge signal: which observation of a review is current, what a review's
arrival logs, and the per-PR signals (review decision, merge signal) and their changes.

A review's id is its identity. Submitted, it may be edited (its body: nothing prwatch keeps)
or dismissed, after which it stays dismissed; so a dismissed observation always wins, and
between two others the later one.
https://docs.github.com/en/webhooks/webhook-events-and-payloads#pull_request_review
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from prwatch.domain.folding import fold_observations
from prwatch.domain.models import (
    Change,
    ChangeKind,
    CheckRunSnapshot,
    CommitStatusSnapshot,
    PullRequestSignal,
    ReviewSnapshot,
)

# As the webhook spells them; GraphQL's PullRequestReviewState is their upper case (and has
# PENDING, a draft only its author sees: never stored).
REVIEW_STATES: frozenset[str] = frozenset(
    {"approved", "changes_requested", "commented", "dismissed"}
)
# GraphQL's PullRequestReviewDecision, lower case.
REVIEW_DECISIONS: frozenset[str] = frozenset({"approved", "changes_requested", "review_required"})
DISMISSED = "dismissed"

# A check conclusion that fails the rollup (neutral and skipped pass), as GitHub's
# `statusCheckRollup.state` counts them.
FAILING_CONCLUSIONS = frozenset(
    {"failure", "timed_out", "cancelled", "action_required", "startup_failure", "stale"}
)
FAILING_STATUS_STATES = frozenset({"error", "failure"})


def is_review_current(stored: ReviewSnapshot, observed: ReviewSnapshot) -> bool:
    if stored.id != observed.id:
        raise ValueError(f"cannot compare review {stored.id} with review {observed.id}")
    return stored.state != DISMISSED or observed.state == DISMISSED


def detect_review_changes(stored: ReviewSnapshot | None, observed: ReviewSnapshot) -> list[Change]:
    """submitted for a review first seen (in whatever state it is seen), dismissed when it
    becomes so; an edit changes nothing prwatch keeps."""
    if stored is None:
        return [_review_change(ChangeKind.REVIEW_SUBMITTED, None, observed)]
    if stored.state != DISMISSED and observed.state == DISMISSED:
        return [_review_change(ChangeKind.REVIEW_DISMISSED, stored.state, observed)]
    return []


def _review_change(kind: ChangeKind, old: str | None, review: ReviewSnapshot) -> Change:
    return Change(
        kind=kind,
        repository_id=review.repository_id,
        pr_number=review.pr_number,
        field="state",
        old=old,
        new=review.state,
        review_id=review.id,
    )


def fold_reviews(
    stored: Mapping[int, ReviewSnapshot], observed: Iterable[ReviewSnapshot]
) -> tuple[list[ReviewSnapshot], list[Change]]:
    """The review rows to write and the log entries (see ``fold_observations``)."""
    return fold_observations(
        stored,
        observed,
        key=lambda review: review.id,
        accepts=is_review_current,
        detect=detect_review_changes,
    )


def latest_reviews(reviews: Iterable[ReviewSnapshot]) -> list[ReviewSnapshot]:
    """The latest review of each reviewer (by submission, then id), ordered by reviewer."""
    latest: dict[str, ReviewSnapshot] = {}
    for review in reviews:
        kept = latest.get(review.user)
        if kept is None or _order(review) > _order(kept):
            latest[review.user] = review
    return sorted(latest.values(), key=lambda review: (review.user, review.id))


def _order(review: ReviewSnapshot) -> tuple[float, int]:
    at = review.submitted_at.timestamp() if review.submitted_at is not None else float("-inf")
    return (at, review.id)


def merge_signal(
    runs: Sequence[CheckRunSnapshot], statuses: Sequence[CommitStatusSnapshot]
) -> str | None:
    """GitHub's rollup state over the head's latest check runs and statuses: failure if any
    failed, else pending if any is still running, else success; None when nothing reported."""
    if not runs and not statuses:
        return None
    if any(run.conclusion in FAILING_CONCLUSIONS for run in runs) or any(
        status.state in FAILING_STATUS_STATES for status in statuses
    ):
        return "failure"
    if any(run.status != "completed" for run in runs) or any(
        status.state == "pending" for status in statuses
    ):
        return "pending"
    return "success"


def detect_signal_changes(
    stored: PullRequestSignal | None, observed: PullRequestSignal
) -> list[Change]:
    """decision changed and merge signal changed entries, from `stored` (None: nothing yet)."""
    before = stored or PullRequestSignal(observed.repository_id, observed.number, None, None)
    changes: list[Change] = []
    for field, kind in (
        ("review_decision", ChangeKind.REVIEW_DECISION_CHANGED),
        ("merge_signal", ChangeKind.MERGE_SIGNAL_CHANGED),
    ):
        old, new = getattr(before, field), getattr(observed, field)
        if old != new:
            changes.append(
                Change(
                    kind=kind,
                    repository_id=observed.repository_id,
                    pr_number=observed.number,
                    field=field,
                    old=old,
                    new=new,
                )
            )
    return changes
