"""Review fencing, the latest review per reviewer, and the merge signal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prwatch.domain.models import (
    ChangeKind,
    CheckRunSnapshot,
    CommitStatusSnapshot,
    PullRequestSignal,
    ReviewSnapshot,
)
from prwatch.domain.reviews import (
    detect_signal_changes,
    fold_reviews,
    latest_reviews,
    merge_signal,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
SHA = "b" * 40


def review(id: int, state: str, user: str = "ana", minutes: int = 0) -> ReviewSnapshot:
    return ReviewSnapshot(id, 1, 7, user, state, T0 + timedelta(minutes=minutes), SHA)


def run(status: str, conclusion: str | None = None, id: int = 1) -> CheckRunSnapshot:
    return CheckRunSnapshot(id, 1, SHA, f"c{id}", status, conclusion, T0, None, "ci", 3)


def status(state: str, context: str = "ci") -> CommitStatusSnapshot:
    return CommitStatusSnapshot(1, SHA, context, state, None, None, T0, T0)


def test_a_dismissal_is_final_whatever_the_order() -> None:
    for order in ([review(1, "approved"), review(1, "dismissed")],
                  [review(1, "dismissed"), review(1, "approved")]):  # fmt: skip
        rows, _ = fold_reviews({}, order)
        assert [r.state for r in rows] == ["dismissed"]
    rows, changes = fold_reviews({1: review(1, "approved")}, [review(1, "dismissed")])
    assert [(c.kind, c.old, c.new, c.review_id) for c in changes] == [
        (ChangeKind.REVIEW_DISMISSED, "approved", "dismissed", 1)
    ]
    assert fold_reviews({1: review(1, "approved")}, [review(1, "approved")]) == ([], [])


def test_the_latest_review_of_each_reviewer() -> None:
    reviews = [review(1, "changes_requested"), review(2, "approved", minutes=5),
               review(3, "commented", user="bo")]  # fmt: skip
    assert [(r.user, r.id) for r in latest_reviews(reviews)] == [("ana", 2), ("bo", 3)]


def test_the_merge_signal_follows_githubs_rollup() -> None:
    assert merge_signal([], []) is None
    assert merge_signal([run("completed", "success")], [status("success")]) == "success"
    assert merge_signal([run("completed", "neutral")], [status("success")]) == "success"
    assert merge_signal([run("in_progress")], [status("success")]) == "pending"
    assert merge_signal([run("completed", "success")], [status("pending")]) == "pending"
    assert merge_signal([run("in_progress")], [status("error")]) == "failure"
    assert merge_signal([run("completed", "timed_out")], []) == "failure"


def test_signal_changes_are_logged_once_each() -> None:
    before = PullRequestSignal(1, 7, None, "pending")
    after = PullRequestSignal(1, 7, "approved", "success")
    changes = detect_signal_changes(before, after)
    assert [(c.kind, c.old, c.new) for c in changes] == [
        (ChangeKind.REVIEW_DECISION_CHANGED, None, "approved"),
        (ChangeKind.MERGE_SIGNAL_CHANGED, "pending", "success"),
    ]
    assert detect_signal_changes(after, after) == []
