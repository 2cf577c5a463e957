from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from snapshot_factories import REPOSITORY_ID, at, make_pr, make_run

from prwatch.domain.changes import (
    apply_change_set,
    detect_changes,
    detect_check_run_changes,
    detect_pr_changes,
)
from prwatch.domain.models import Change, ChangeKind, ChangeSet, PullRequestSnapshot

OPEN_PR = make_pr(state="open", updated_at=at(10))


def later(**changes: Any) -> PullRequestSnapshot:
    return replace(OPEN_PR, updated_at=at(20), **changes)


def kinds(changes: list[Change] | tuple[Change, ...]) -> list[ChangeKind]:
    return [change.kind for change in changes]


# --- pull requests -----------------------------------------------------------------------


def test_new_open_pr_is_opened_with_its_title() -> None:
    assert detect_pr_changes(None, OPEN_PR) == [
        Change(
            kind=ChangeKind.PR_OPENED,
            repository_id=REPOSITORY_ID,
            pr_number=7,
            new="Add the thing",
        )
    ]


@pytest.mark.parametrize(("merged", "expected"), [(False, "closed"), (True, "merged")])
def test_new_closed_pr_is_discovered(merged: bool, expected: str) -> None:
    pr = replace(OPEN_PR, state="closed", merged=merged, closed_at=at(5))
    assert detect_pr_changes(None, pr) == [
        Change(
            kind=ChangeKind.PR_DISCOVERED,
            repository_id=REPOSITORY_ID,
            pr_number=7,
            new=expected,
        )
    ]


def test_open_to_closed_is_closed() -> None:
    changes = detect_pr_changes(OPEN_PR, later(state="closed", closed_at=at(20)))
    assert changes == [
        Change(
            kind=ChangeKind.PR_CLOSED,
            repository_id=REPOSITORY_ID,
            pr_number=7,
            field="state",
            old="open",
            new="closed",
        )
    ]


def test_open_to_merged_is_merged() -> None:
    changes = detect_pr_changes(OPEN_PR, later(state="closed", merged=True, merged_at=at(20)))
    assert [(c.kind, c.old, c.new) for c in changes] == [(ChangeKind.PR_MERGED, "open", "merged")]


def test_closed_to_open_is_reopened() -> None:
    closed = replace(OPEN_PR, state="closed", closed_at=at(10))
    changes = detect_pr_changes(closed, later())
    assert [(c.kind, c.old, c.new) for c in changes] == [(ChangeKind.PR_REOPENED, "closed", "open")]


def test_closed_to_merged_is_merged() -> None:
    closed = replace(OPEN_PR, state="closed", closed_at=at(10))
    changes = detect_pr_changes(closed, later(state="closed", merged=True, merged_at=at(20)))
    assert [(c.kind, c.old, c.new) for c in changes] == [(ChangeKind.PR_MERGED, "closed", "merged")]


def test_head_change() -> None:
    changes = detect_pr_changes(OPEN_PR, later(head_sha="c" * 40))
    assert changes == [
        Change(
            kind=ChangeKind.PR_HEAD_CHANGED,
            repository_id=REPOSITORY_ID,
            pr_number=7,
            field="head_sha",
            old="a" * 40,
            new="c" * 40,
        )
    ]


def test_title_change() -> None:
    changes = detect_pr_changes(OPEN_PR, later(title="Better title"))
    assert [(c.kind, c.field, c.old, c.new) for c in changes] == [
        (ChangeKind.PR_TITLE_CHANGED, "title", "Add the thing", "Better title")
    ]


def test_draft_change() -> None:
    changes = detect_pr_changes(OPEN_PR, later(draft=True))
    assert [(c.kind, c.field, c.old, c.new) for c in changes] == [
        (ChangeKind.PR_DRAFT_CHANGED, "draft", False, True)
    ]


def test_labels_change_logs_sorted_lists() -> None:
    changes = detect_pr_changes(OPEN_PR, later(labels=("ui", "bug", "docs")))
    assert [(c.kind, c.field, c.old, c.new) for c in changes] == [
        (ChangeKind.PR_LABELS_CHANGED, "labels", ["bug"], ["bug", "docs", "ui"])
    ]


def test_base_ref_change() -> None:
    changes = detect_pr_changes(OPEN_PR, later(base_ref="release", base_sha="d" * 40))
    assert [(c.kind, c.field, c.old, c.new) for c in changes] == [
        (ChangeKind.PR_BASE_CHANGED, "base_ref", "main", "release")
    ]


def test_base_sha_only_move_writes_the_row_but_logs_nothing() -> None:
    moved = later(base_sha="d" * 40)
    assert detect_pr_changes(OPEN_PR, moved) == []
    change_set = detect_changes(
        stored_prs={7: OPEN_PR}, observed_prs=[moved], stored_check_runs={}, observed_check_runs=[]
    )
    assert change_set == ChangeSet(pull_requests=(moved,))


def test_reopen_comes_before_and_close_after_other_changes() -> None:
    closed = replace(OPEN_PR, state="closed", closed_at=at(10))
    assert kinds(detect_pr_changes(closed, later(head_sha="c" * 40))) == [
        ChangeKind.PR_REOPENED,
        ChangeKind.PR_HEAD_CHANGED,
    ]
    merged = later(head_sha="c" * 40, state="closed", merged=True)
    assert kinds(detect_pr_changes(OPEN_PR, merged)) == [
        ChangeKind.PR_HEAD_CHANGED,
        ChangeKind.PR_MERGED,
    ]


def test_identical_pr_yields_nothing() -> None:
    assert detect_pr_changes(OPEN_PR, OPEN_PR) == []
    change_set = detect_changes(
        stored_prs={7: OPEN_PR},
        observed_prs=[OPEN_PR],
        stored_check_runs={},
        observed_check_runs=[],
    )
    assert not change_set


def test_unlogged_fields_write_a_row_without_a_change() -> None:
    touched = later()  # only updated_at moved, e.g. a comment
    change_set = detect_changes(
        stored_prs={7: OPEN_PR},
        observed_prs=[touched],
        stored_check_runs={},
        observed_check_runs=[],
    )
    assert change_set.pull_requests == (touched,)
    assert change_set.changes == ()


def test_stale_pr_yields_neither_row_nor_change() -> None:
    stale = replace(OPEN_PR, updated_at=at(5), title="Old title", state="closed")
    assert detect_pr_changes(OPEN_PR, stale) == []
    change_set = detect_changes(
        stored_prs={7: OPEN_PR}, observed_prs=[stale], stored_check_runs={}, observed_check_runs=[]
    )
    assert not change_set


def test_pr_with_unknown_state_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown state"):
        detect_pr_changes(None, replace(OPEN_PR, state="locked"))


# --- check runs --------------------------------------------------------------------------

QUEUED = make_run(status="queued")


def test_new_check_run_is_created_with_its_status() -> None:
    assert detect_check_run_changes(None, QUEUED) == [
        Change(
            kind=ChangeKind.CHECK_RUN_CREATED,
            repository_id=REPOSITORY_ID,
            check_run_id=900,
            field="status",
            new="queued",
        )
    ]


def test_check_run_created_completed_is_also_concluded() -> None:
    done = replace(QUEUED, status="completed", conclusion="success", completed_at=at(3))
    changes = detect_check_run_changes(None, done, pr_number=7)
    assert [(c.kind, c.field, c.old, c.new, c.pr_number) for c in changes] == [
        (ChangeKind.CHECK_RUN_CREATED, "status", None, "completed", 7),
        (ChangeKind.CHECK_RUN_CONCLUDED, "conclusion", None, "success", 7),
    ]


def test_check_run_status_change() -> None:
    running = replace(QUEUED, status="in_progress", started_at=at(1))
    changes = detect_check_run_changes(QUEUED, running)
    assert [(c.kind, c.field, c.old, c.new) for c in changes] == [
        (ChangeKind.CHECK_RUN_STATUS_CHANGED, "status", "queued", "in_progress")
    ]


def test_check_run_completion_is_status_change_and_conclusion() -> None:
    running = replace(QUEUED, status="in_progress", started_at=at(1))
    done = replace(running, status="completed", conclusion="failure", completed_at=at(2))
    changes = detect_check_run_changes(running, done)
    assert [(c.kind, c.field, c.old, c.new) for c in changes] == [
        (ChangeKind.CHECK_RUN_STATUS_CHANGED, "status", "in_progress", "completed"),
        (ChangeKind.CHECK_RUN_CONCLUDED, "conclusion", None, "failure"),
    ]


def test_corrected_conclusion_is_concluded_again() -> None:
    done = replace(QUEUED, status="completed", conclusion="failure", completed_at=at(2))
    corrected = replace(done, conclusion="success", completed_at=at(3))
    changes = detect_check_run_changes(done, corrected)
    assert [(c.kind, c.old, c.new) for c in changes] == [
        (ChangeKind.CHECK_RUN_CONCLUDED, "failure", "success")
    ]


def test_check_run_going_backwards_yields_nothing() -> None:
    done = replace(QUEUED, status="completed", conclusion="success", completed_at=at(2))
    assert detect_check_run_changes(done, QUEUED) == []
    change_set = detect_changes(
        stored_prs={}, observed_prs=[], stored_check_runs={900: done}, observed_check_runs=[QUEUED]
    )
    assert not change_set


def test_identical_check_run_yields_nothing() -> None:
    assert detect_check_run_changes(QUEUED, QUEUED) == []


def test_check_run_unlogged_fields_write_a_row_without_a_change() -> None:
    renamed = replace(QUEUED, name="lint (3.12)", app_slug="other")
    change_set = detect_changes(
        stored_prs={},
        observed_prs=[],
        stored_check_runs={900: QUEUED},
        observed_check_runs=[renamed],
    )
    assert change_set == ChangeSet(check_runs=(renamed,))


def test_check_run_changes_name_their_pr_through_the_head_sha() -> None:
    change_set = detect_changes(
        stored_prs={},
        observed_prs=[],
        stored_check_runs={},
        observed_check_runs=[QUEUED, replace(QUEUED, id=901, head_sha="f" * 40)],
        pr_number_by_head_sha={"a" * 40: 7},
    )
    assert [(c.check_run_id, c.pr_number) for c in change_set.changes] == [(900, 7), (901, None)]


# --- detect_changes as a whole -----------------------------------------------------------


def test_change_set_is_ordered_prs_by_number_then_runs_by_id() -> None:
    prs = [make_pr(number=n, node_id=f"PR_{n}") for n in (9, 2, 5)]
    runs = [make_run(id=i) for i in (30, 10, 20)]
    change_set = detect_changes(
        stored_prs={}, observed_prs=prs, stored_check_runs={}, observed_check_runs=runs
    )
    assert [pr.number for pr in change_set.pull_requests] == [2, 5, 9]
    assert [run.id for run in change_set.check_runs] == [10, 20, 30]
    assert [(c.pr_number, c.check_run_id) for c in change_set.changes] == [
        (2, None),
        (5, None),
        (9, None),
        (None, 10),
        (None, 20),
        (None, 30),
    ]


def test_repeated_observations_fold_in_order_with_fencing() -> None:
    closed = later(state="closed", closed_at=at(20))
    reopened = replace(OPEN_PR, updated_at=at(30))
    stale = replace(OPEN_PR, updated_at=at(15), title="stale")
    change_set = detect_changes(
        stored_prs={7: OPEN_PR},
        observed_prs=[closed, stale, reopened],
        stored_check_runs={},
        observed_check_runs=[],
    )
    assert change_set.pull_requests == (reopened,)
    assert kinds(change_set.changes) == [ChangeKind.PR_CLOSED, ChangeKind.PR_REOPENED]


def test_stored_mapping_must_be_keyed_by_number_and_id() -> None:
    with pytest.raises(ValueError, match="PR number"):
        detect_changes(
            stored_prs={8: OPEN_PR}, observed_prs=[], stored_check_runs={}, observed_check_runs=[]
        )
    with pytest.raises(ValueError, match="check run id"):
        detect_changes(
            stored_prs={}, observed_prs=[], stored_check_runs={1: QUEUED}, observed_check_runs=[]
        )


def test_prs_of_several_repositories_are_refused() -> None:
    with pytest.raises(ValueError, match="several repositories"):
        detect_changes(
            stored_prs={7: OPEN_PR},
            observed_prs=[replace(OPEN_PR, repository_id=43, number=8)],
            stored_check_runs={},
            observed_check_runs=[],
        )


def test_apply_change_set_overwrites_rows_and_keeps_the_rest() -> None:
    other = make_pr(number=3)
    changed = later(title="New")
    new_run = make_run(id=5)
    prs, runs = apply_change_set(
        {7: OPEN_PR, 3: other},
        {900: QUEUED},
        ChangeSet(pull_requests=(changed,), check_runs=(new_run,)),
    )
    assert prs == {7: changed, 3: other}
    assert runs == {900: QUEUED, 5: new_run}
