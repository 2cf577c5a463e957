"""Equal `updated_at` ties: two versions of one second that the fence cannot order."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st
from snapshot_factories import at, make_pr, pr_snapshots

from prwatch.domain.changes import detect_changes, detect_pr_ties
from prwatch.domain.models import PullRequestSnapshot
from prwatch.domain.ordering import is_pr_tie


def test_same_second_other_title_is_a_tie() -> None:
    stored = make_pr(updated_at=at(10))
    assert is_pr_tie(stored, replace(stored, title="edited within the second"))


def test_same_second_same_content_is_no_tie() -> None:
    stored = make_pr(updated_at=at(10))
    assert not is_pr_tie(stored, replace(stored))


@pytest.mark.parametrize("seconds", [9, 11])
def test_another_second_is_no_tie(seconds: int) -> None:
    stored = make_pr(updated_at=at(10))
    assert not is_pr_tie(stored, replace(stored, updated_at=at(seconds), title="other"))


def test_unknown_merge_queue_state_is_no_tie() -> None:
    """A snapshot that does not know the merge queue keeps the stored state: no difference."""
    stored = make_pr(updated_at=at(10), enqueued_at=at(10), merge_queue_known=True)
    assert not is_pr_tie(stored, replace(stored, enqueued_at=None, merge_queue_known=False))


def test_known_merge_queue_state_can_tie() -> None:
    stored = make_pr(updated_at=at(10), enqueued_at=at(10), merge_queue_known=True)
    assert is_pr_tie(stored, replace(stored, enqueued_at=None, merge_queue_known=True))


def test_another_pr_cannot_be_compared() -> None:
    with pytest.raises(ValueError, match="cannot compare"):
        is_pr_tie(make_pr(number=1), make_pr(number=2))


def test_ties_are_reported_by_number_against_the_stored_rows() -> None:
    stored = {
        1: make_pr(number=1, updated_at=at(10)),
        2: make_pr(number=2, updated_at=at(10)),
        3: make_pr(number=3, updated_at=at(10)),
    }
    observed = [
        replace(stored[3], title="tie"),
        replace(stored[1], title="tie"),
        replace(stored[1], title="tie again"),
        replace(stored[2], updated_at=at(11), title="newer"),
        make_pr(number=4, updated_at=at(10)),  # first sight
    ]
    assert detect_pr_ties(stored, observed) == (1, 3)


def _apply(
    stored: PullRequestSnapshot | None, observed: PullRequestSnapshot
) -> tuple[PullRequestSnapshot | None, bool]:
    """What the apply path does with one arrival: the stored PR after it, and whether it tied."""
    current = {} if stored is None else {stored.number: stored}
    tied = bool(detect_pr_ties(current, [observed]))
    change_set = detect_changes(
        stored_prs=current, observed_prs=[observed], stored_check_runs={}, observed_check_runs=[]
    )
    rows = {pr.number: pr for pr in change_set.pull_requests}
    return rows.get(observed.number, stored), tied


@given(
    st.lists(pr_snapshots(number=7, updated_at=at(10)), min_size=1, max_size=6),
    st.data(),
)
def test_a_tie_is_reported_whenever_arrivals_of_one_second_disagree(
    versions: list[PullRequestSnapshot], data: st.DataObject
) -> None:
    """Arrivals of one second in any order: if they disagree, some apply reports a tie, and
    GitHub's answer (any of the versions, applied after) then leaves exactly that answer."""
    truth = data.draw(st.sampled_from(versions))
    arrivals = data.draw(st.permutations(versions))
    stored: PullRequestSnapshot | None = None
    tied = False
    for arrival in arrivals:
        stored, tie = _apply(stored, arrival)
        tied = tied or tie
    assert tied == (len(set(versions)) > 1)
    if tied:
        settled, _ = _apply(stored, truth)
        assert settled == truth


@given(pr_snapshots(number=7), pr_snapshots(number=7))
def test_a_tie_does_not_depend_on_the_order(a: PullRequestSnapshot, b: PullRequestSnapshot) -> None:
    assert is_pr_tie(a, b) == is_pr_tie(b, a) == (a.updated_at == b.updated_at and a != b)
