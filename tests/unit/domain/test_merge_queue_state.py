"""Merge-queue state: told only by `enqueued`/`dequeued` deliveries, kept through snapshots
that cannot see it (REST, other actions), cleared when the PR closes; auto-merge is logged."""

from __future__ import annotations

from dataclasses import replace

from snapshot_factories import at, make_pr

from prwatch.domain.changes import detect_changes, detect_pr_changes, with_merge_queue
from prwatch.domain.models import ChangeKind

STORED = make_pr(state="open", updated_at=at(10))
QUEUED = replace(STORED, updated_at=at(20), enqueued_at=at(20), merge_queue_known=True)


def test_joining_and_leaving_the_queue_is_logged() -> None:
    joined = detect_pr_changes(STORED, QUEUED)
    assert [(c.kind, c.old, c.new) for c in joined] == [
        (ChangeKind.PR_MERGE_QUEUE_CHANGED, False, True)
    ]
    left = replace(QUEUED, updated_at=at(30), enqueued_at=None)
    assert [c.kind for c in detect_pr_changes(QUEUED, left)] == [ChangeKind.PR_MERGE_QUEUE_CHANGED]


def test_a_snapshot_that_cannot_see_the_queue_keeps_the_stored_state() -> None:
    swept = replace(STORED, updated_at=at(25), title="Renamed")  # merge_queue_known False
    assert with_merge_queue(QUEUED, swept).enqueued_at == at(20)
    change_set = detect_changes(
        stored_prs={STORED.number: QUEUED},
        observed_prs=[swept],
        stored_check_runs={},
        observed_check_runs=[],
    )
    assert [c.kind for c in change_set.changes] == [ChangeKind.PR_TITLE_CHANGED]
    assert change_set.pull_requests[0].enqueued_at == at(20)


def test_a_closed_pr_is_never_queued() -> None:
    merged = replace(STORED, updated_at=at(30), state="closed", merged=True, merged_at=at(30))
    settled = with_merge_queue(QUEUED, merged)
    assert settled.enqueued_at is None
    kinds = [c.kind for c in detect_pr_changes(QUEUED, merged)]
    assert kinds == [ChangeKind.PR_MERGE_QUEUE_CHANGED, ChangeKind.PR_MERGED]


def test_auto_merge_on_and_off_is_logged_with_its_method() -> None:
    on = replace(STORED, updated_at=at(20), auto_merge_method="squash", auto_merge_enabled_by="a")
    off = replace(on, updated_at=at(30), auto_merge_method=None, auto_merge_enabled_by=None)
    changes = [*detect_pr_changes(STORED, on), *detect_pr_changes(on, off)]
    assert [(c.kind, c.old, c.new) for c in changes] == [
        (ChangeKind.PR_AUTO_MERGE_CHANGED, None, "squash"),
        (ChangeKind.PR_AUTO_MERGE_CHANGED, "squash", None),
    ]
