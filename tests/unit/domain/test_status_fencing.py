"""Commit status fencing and logging: the latest per (commit, context), whatever the order."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from prwatch.domain.models import ChangeKind, CommitStatusSnapshot
from prwatch.domain.statuses import fold_statuses, is_status_current, latest_statuses

SHA = "a" * 40
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def status(
    state: str, seconds: int = 0, status_id: int | None = None, context: str = "ci"
) -> CommitStatusSnapshot:
    at = T0 + timedelta(seconds=seconds)
    return CommitStatusSnapshot(1, SHA, context, state, None, None, at, at, status_id)


def test_newer_wins_and_within_a_second_the_higher_id() -> None:
    assert is_status_current(status("pending", 0), status("success", 1))
    assert not is_status_current(status("success", 1), status("pending", 0))
    assert is_status_current(status("pending", 0, 5), status("success", 0, 6))
    assert not is_status_current(status("success", 0, 6), status("pending", 0, 5))
    assert is_status_current(status("success", 0, 6), status("pending", 0, None))  # GraphQL


def test_any_order_of_observations_ends_in_the_latest_with_one_entry_per_move() -> None:
    observed = [status("pending", 0, 1), status("failure", 5, 2), status("success", 9, 3)]
    for order in itertools.permutations(observed):
        rows, changes = fold_statuses({}, order, {SHA: 4})
        assert [row.state for row in rows] == ["success"]
        assert changes[0].kind is ChangeKind.STATUS_CREATED
        assert all(change.pr_number == 4 for change in changes)
        assert all(change.status_context == "ci" for change in changes)
        assert changes[-1].new == "success"
    stored = {(SHA, "ci"): status("success", 9, 3)}
    assert fold_statuses(stored, observed, {}) == ([], [])  # nothing newer: nothing to write


def test_a_new_description_alone_is_stored_not_logged() -> None:
    stored = status("pending", 0)
    newer = CommitStatusSnapshot(
        1, SHA, "ci", "pending", "half way", None, stored.created_at, T0 + timedelta(seconds=3)
    )
    rows, changes = fold_statuses({(SHA, "ci"): stored}, [newer], {})
    assert rows == [newer] and changes == []
    assert latest_statuses([stored, newer, status("x", 1, context="b")])[0].context == "b"
