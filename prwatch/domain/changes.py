"""Change detection: compare what is stored with what was observed, and say what changed.

This is the single apply logic for every source: the sweep's REST/GraphQL snapshots and the
webhook payloads both end up here, so both produce the same rows and the same log entries.
Everything is pure; the caller writes the resulting ChangeSet in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import TypeVar

from prwatch.domain.folding import fold_observations
from prwatch.domain.models import (
    Change,
    ChangeKind,
    ChangeSet,
    CheckRunSnapshot,
    CommitStatusSnapshot,
    FieldValue,
    PullRequestSnapshot,
    ReviewSnapshot,
)
from prwatch.domain.ordering import (
    COMPLETED,
    is_check_run_progress,
    is_pr_snapshot_current,
    is_pr_tie,
)
from prwatch.domain.reviews import fold_reviews
from prwatch.domain.statuses import StatusKey, fold_statuses

# A PR's place in its life. GitHub reports it as `state` plus `merged`; the log speaks of one
# value so that closed → merged (a missed event) and open → merged read as one transition each.
OPEN = "open"
CLOSED = "closed"
MERGED = "merged"

_SnapshotT = TypeVar("_SnapshotT", PullRequestSnapshot, CheckRunSnapshot)


def pr_lifecycle(pr: PullRequestSnapshot) -> str:
    """The PR's lifecycle: open, closed or merged (a merged PR is always closed on GitHub)."""
    if pr.merged:
        return MERGED
    if pr.state in (OPEN, CLOSED):
        return pr.state
    raise ValueError(f"PR {pr.repository_id}#{pr.number} has unknown state {pr.state!r}")


def logged_pr_fields(pr: PullRequestSnapshot) -> dict[str, FieldValue]:
    """The PR fields whose every change reaches the log, as the log spells them."""
    return {
        "state": pr_lifecycle(pr),
        "head_sha": pr.head_sha,
        "title": pr.title,
        "draft": pr.draft,
        "labels": sorted(pr.labels),
        "base_ref": pr.base_ref,
        "auto_merge": pr.auto_merge_method,
        "merge_queue": pr.enqueued_at is not None,
    }


def with_merge_queue(
    stored: PullRequestSnapshot | None, observed: PullRequestSnapshot
) -> PullRequestSnapshot:
    """`observed` with its merge-queue state settled: as observed when its source knew it,
    else the stored one — except that a closed PR is never queued."""
    if observed.merge_queue_known:
        return observed
    enqueued_at = None if stored is None or observed.state != OPEN else stored.enqueued_at
    return (
        observed
        if enqueued_at == observed.enqueued_at
        else replace(observed, enqueued_at=enqueued_at)
    )


def logged_check_run_fields(run: CheckRunSnapshot) -> dict[str, FieldValue]:
    """The check run fields whose every change reaches the log."""
    return {"status": run.status, "conclusion": run.conclusion}


_LIFECYCLE_KINDS: dict[str, ChangeKind] = {
    OPEN: ChangeKind.PR_REOPENED,
    CLOSED: ChangeKind.PR_CLOSED,
    MERGED: ChangeKind.PR_MERGED,
}

# Field changes of an existing PR, in the order they are logged. base_sha is left out on
# purpose: it moves whenever the base branch gets a commit, which says nothing about the PR.
_PR_FIELD_KINDS: tuple[tuple[str, ChangeKind], ...] = (
    ("head_sha", ChangeKind.PR_HEAD_CHANGED),
    ("title", ChangeKind.PR_TITLE_CHANGED),
    ("draft", ChangeKind.PR_DRAFT_CHANGED),
    ("labels", ChangeKind.PR_LABELS_CHANGED),
    ("base_ref", ChangeKind.PR_BASE_CHANGED),
    ("auto_merge", ChangeKind.PR_AUTO_MERGE_CHANGED),
    ("merge_queue", ChangeKind.PR_MERGE_QUEUE_CHANGED),
)


def detect_pr_changes(
    stored: PullRequestSnapshot | None, observed: PullRequestSnapshot
) -> list[Change]:
    """The log entries for replacing `stored` by `observed`; none if `observed` is stale."""
    if stored is None:
        return [_first_sight(observed)]
    if not is_pr_snapshot_current(stored, observed):
        return []
    observed = with_merge_queue(stored, observed)

    def change(kind: ChangeKind, field: str, old: FieldValue, new: FieldValue) -> Change:
        return Change(
            kind=kind,
            repository_id=observed.repository_id,
            pr_number=observed.number,
            field=field,
            old=old,
            new=new,
        )

    before = logged_pr_fields(stored)
    after = logged_pr_fields(observed)
    field_changes = [
        change(kind, name, before[name], after[name])
        for name, kind in _PR_FIELD_KINDS
        if before[name] != after[name]
    ]
    if before["state"] == after["state"]:
        return field_changes
    lifecycle = change(
        _LIFECYCLE_KINDS[str(after["state"])], "state", before["state"], after["state"]
    )
    # Read in the order it happened: a reopened PR then gets new commits; a PR gets its last
    # commits, then is closed or merged.
    if after["state"] == OPEN:
        return [lifecycle, *field_changes]
    return [*field_changes, lifecycle]


def _first_sight(observed: PullRequestSnapshot) -> Change:
    lifecycle = pr_lifecycle(observed)
    if lifecycle == OPEN:
        kind, new = ChangeKind.PR_OPENED, observed.title
    else:
        kind, new = ChangeKind.PR_DISCOVERED, lifecycle
    return Change(
        kind=kind, repository_id=observed.repository_id, pr_number=observed.number, new=new
    )


def detect_pr_ties(
    stored_prs: Mapping[int, PullRequestSnapshot], observed_prs: Iterable[PullRequestSnapshot]
) -> tuple[int, ...]:
    """The numbers of the PRs an observation ties with: the stored `updated_at`, another
    content. The fence lets the observation win; which version is GitHub's is left to ask."""
    return tuple(
        sorted(
            {
                pr.number
                for pr in observed_prs
                if (stored := stored_prs.get(pr.number)) is not None and is_pr_tie(stored, pr)
            }
        )
    )


def detect_check_run_changes(
    stored: CheckRunSnapshot | None,
    observed: CheckRunSnapshot,
    *,
    pr_number: int | None = None,
) -> list[Change]:
    """The log entries for replacing `stored` by `observed`; none if it would go backwards."""

    def change(kind: ChangeKind, field: str, old: FieldValue, new: FieldValue) -> Change:
        return Change(
            kind=kind,
            repository_id=observed.repository_id,
            pr_number=pr_number,
            check_run_id=observed.id,
            field=field,
            old=old,
            new=new,
        )

    concluded = change(
        ChangeKind.CHECK_RUN_CONCLUDED,
        "conclusion",
        None if stored is None else stored.conclusion,
        observed.conclusion,
    )
    if stored is None:
        created = change(ChangeKind.CHECK_RUN_CREATED, "status", None, observed.status)
        # A conclusion only comes with completion; should one arrive early, log it anyway.
        if observed.status == COMPLETED or observed.conclusion is not None:
            return [created, concluded]
        return [created]
    if not is_check_run_progress(stored, observed):
        return []
    changes: list[Change] = []
    if stored.status != observed.status:
        changes.append(
            change(ChangeKind.CHECK_RUN_STATUS_CHANGED, "status", stored.status, observed.status)
        )
        if observed.status == COMPLETED:
            changes.append(concluded)
            return changes
    # Completed → completed with another conclusion is a correction; any other conclusion move
    # is logged too, so that the log never misses a value the row holds.
    if stored.conclusion != observed.conclusion:
        changes.append(concluded)
    return changes


def detect_changes(
    *,
    stored_prs: Mapping[int, PullRequestSnapshot],
    observed_prs: Iterable[PullRequestSnapshot],
    stored_check_runs: Mapping[int, CheckRunSnapshot],
    observed_check_runs: Iterable[CheckRunSnapshot],
    pr_number_by_head_sha: Mapping[str, int] | None = None,
    stored_statuses: Mapping[StatusKey, CommitStatusSnapshot] | None = None,
    observed_statuses: Iterable[CommitStatusSnapshot] = (),
    stored_reviews: Mapping[int, ReviewSnapshot] | None = None,
    observed_reviews: Iterable[ReviewSnapshot] = (),
) -> ChangeSet:
    """Everything one apply must write for one repository.

    `stored_prs` is keyed by PR number, `stored_check_runs` by check run id and
    `stored_statuses` by (sha, context). Observations
    may come in any order and may repeat a PR or check run: they are folded in the order
    given, each fenced against the newest accepted one. The result holds the rows that differ
    from what is stored (PRs by number, check runs by id) and the log entries, PRs first.
    """
    observed_pr_list = list(observed_prs)
    _require_keys(stored_prs, lambda pr: pr.number, "PR number")
    _require_one_repository(stored_prs.values(), observed_pr_list)
    _require_keys(stored_check_runs, lambda run: run.id, "check run id")
    head_to_number = pr_number_by_head_sha or {}

    pr_rows, pr_changes = fold_observations(
        stored_prs,
        observed_pr_list,
        key=lambda pr: pr.number,
        accepts=is_pr_snapshot_current,
        detect=detect_pr_changes,
        settle=with_merge_queue,
    )
    run_rows, run_changes = fold_observations(
        stored_check_runs,
        observed_check_runs,
        key=lambda run: run.id,
        accepts=is_check_run_progress,
        detect=lambda stored, observed: detect_check_run_changes(
            stored, observed, pr_number=head_to_number.get(observed.head_sha)
        ),
    )
    status_rows, status_changes = fold_statuses(
        stored_statuses or {}, observed_statuses, head_to_number
    )
    review_rows, review_changes = fold_reviews(stored_reviews or {}, observed_reviews)
    return ChangeSet(
        pull_requests=tuple(pr_rows),
        check_runs=tuple(run_rows),
        changes=(*pr_changes, *run_changes, *status_changes, *review_changes),
        commit_statuses=tuple(status_rows),
        reviews=tuple(review_rows),
    )


def _require_keys(
    stored: Mapping[int, _SnapshotT], key: Callable[[_SnapshotT], int], what: str
) -> None:
    for stored_key, snapshot in stored.items():
        if key(snapshot) != stored_key:
            raise ValueError(f"stored snapshot under key {stored_key} has {what} {key(snapshot)}")


def _require_one_repository(
    stored: Iterable[PullRequestSnapshot], observed: Iterable[PullRequestSnapshot]
) -> None:
    # PRs are keyed by number, which is only unique within one repository.
    repository_ids = {pr.repository_id for pr in stored} | {pr.repository_id for pr in observed}
    if len(repository_ids) > 1:
        raise ValueError(f"PRs of several repositories in one apply: {sorted(repository_ids)}")


def apply_change_set(
    stored_prs: Mapping[int, PullRequestSnapshot],
    stored_check_runs: Mapping[int, CheckRunSnapshot],
    change_set: ChangeSet,
) -> tuple[dict[int, PullRequestSnapshot], dict[int, CheckRunSnapshot]]:
    """The stored state after writing `change_set`'s rows: what the store does, without SQL."""
    prs = dict(stored_prs)
    prs.update((pr.number, pr) for pr in change_set.pull_requests)
    runs = dict(stored_check_runs)
    runs.update((run.id, run) for run in change_set.check_runs)
    return prs, runs
