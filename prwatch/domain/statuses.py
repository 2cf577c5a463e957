"""Commit statuses: which observation of a (commit, context) is current, and what its arrival
logs.

GitHub keeps every status ever posted, but a commit's combined status (and its rollup) shows
the latest per context; prwatch keeps exactly that. A status is never edited: a CI posting
`pending` then `success` creates two statuses. So the newer `updated_at` wins; within one
second (GitHub's resolution) the higher status id, when both sources gave one.
https://docs.github.com/en/rest/commits/statuses#get-the-combined-status-for-a-specific-reference
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from prwatch.domain.folding import fold_observations
from prwatch.domain.models import Change, ChangeKind, CommitStatusSnapshot

# GitHub's commit status states (REST and webhooks, lower case). GraphQL's StatusState also
# has EXPECTED: a required context nobody reported yet, which is not a posted status.
# https://docs.github.com/en/rest/commits/statuses#create-a-commit-status
STATUS_STATES: frozenset[str] = frozenset({"error", "failure", "pending", "success"})

StatusKey = tuple[str, str]  # (sha, context)


def status_key(status: CommitStatusSnapshot) -> StatusKey:
    return (status.sha, status.context)


def is_status_current(stored: CommitStatusSnapshot, observed: CommitStatusSnapshot) -> bool:
    """True when `observed` may replace `stored` (the same commit and context)."""
    if status_key(stored) != status_key(observed):
        raise ValueError(f"cannot compare status {status_key(stored)} with {status_key(observed)}")
    if observed.updated_at != stored.updated_at:
        return observed.updated_at > stored.updated_at
    if observed.status_id is None or stored.status_id is None:
        return True  # a later look at the same second
    return observed.status_id >= stored.status_id


def detect_status_changes(
    stored: CommitStatusSnapshot | None,
    observed: CommitStatusSnapshot,
    *,
    pr_number: int | None = None,
) -> list[Change]:
    """The log entries for replacing `stored` by `observed` (already judged current): a new
    context, or a new state. A new description or link alone is stored, not logged."""
    if stored is not None and stored.state == observed.state:
        return []
    return [
        Change(
            kind=ChangeKind.STATUS_CREATED if stored is None else ChangeKind.STATUS_STATE_CHANGED,
            repository_id=observed.repository_id,
            pr_number=pr_number,
            field="state",
            old=None if stored is None else stored.state,
            new=observed.state,
            status_context=observed.context,
        )
    ]


def fold_statuses(
    stored: Mapping[StatusKey, CommitStatusSnapshot],
    observed: Iterable[CommitStatusSnapshot],
    pr_number_by_head_sha: Mapping[str, int],
) -> tuple[list[CommitStatusSnapshot], list[Change]]:
    """The rows to write and the log entries (see ``fold_observations``)."""
    return fold_observations(
        stored,
        observed,
        key=status_key,
        accepts=is_status_current,
        detect=lambda current, status: detect_status_changes(
            current, status, pr_number=pr_number_by_head_sha.get(status.sha)
        ),
    )


def latest_statuses(statuses: Iterable[CommitStatusSnapshot]) -> list[CommitStatusSnapshot]:
    """One status per context, the current one, ordered by context."""
    latest: dict[StatusKey, CommitStatusSnapshot] = {}
    for status in statuses:
        key = status_key(status)
        kept = latest.get(key)
        if kept is None or is_status_current(kept, status):
            latest[key] = status
    return sorted(latest.values(), key=lambda status: (status.sha, status.context))
