from __future__ import annotations

from dataclasses import replace

import pytest
from snapshot_factories import at, make_pr, make_run

from prwatch.domain.ordering import check_status_rank, is_check_run_progress, is_pr_snapshot_current


@pytest.mark.parametrize(
    ("status", "rank"),
    [
        ("queued", 0),
        ("waiting", 0),
        ("requested", 0),
        ("pending", 0),
        ("in_progress", 1),
        ("completed", 2),
    ],
)
def test_check_status_rank(status: str, rank: int) -> None:
    assert check_status_rank(status) == rank


@pytest.mark.parametrize("status", ["", "COMPLETED", "done", "in progress"])
def test_unknown_check_status_is_an_error(status: str) -> None:
    with pytest.raises(ValueError, match="unknown check run status"):
        check_status_rank(status)


def test_newer_pr_snapshot_is_current() -> None:
    stored = make_pr(updated_at=at(10))
    assert is_pr_snapshot_current(stored, replace(stored, updated_at=at(11), title="x"))


def test_pr_snapshot_at_the_same_second_is_current() -> None:
    stored = make_pr(updated_at=at(10))
    assert is_pr_snapshot_current(stored, replace(stored, title="edited within the second"))


def test_older_pr_snapshot_is_stale() -> None:
    stored = make_pr(updated_at=at(10))
    assert not is_pr_snapshot_current(stored, replace(stored, updated_at=at(9)))


def test_pr_fencing_refuses_to_compare_different_prs() -> None:
    with pytest.raises(ValueError, match="cannot compare PR"):
        is_pr_snapshot_current(make_pr(number=1), make_pr(number=2))
    with pytest.raises(ValueError, match="cannot compare PR"):
        is_pr_snapshot_current(make_pr(repository_id=1), make_pr(repository_id=2))


def test_check_run_moving_forward_is_progress() -> None:
    queued = make_run(status="queued")
    running = make_run(status="in_progress", started_at=at(1))
    done = make_run(status="completed", conclusion="success", completed_at=at(2))
    assert is_check_run_progress(queued, running)
    assert is_check_run_progress(running, done)
    assert is_check_run_progress(queued, done)


def test_check_run_moving_backwards_is_refused() -> None:
    queued = make_run(status="queued")
    running = make_run(status="in_progress", started_at=at(1))
    done = make_run(status="completed", conclusion="success", completed_at=at(2))
    assert not is_check_run_progress(running, queued)
    assert not is_check_run_progress(done, running)
    assert not is_check_run_progress(done, queued)


def test_check_run_same_rank_is_progress() -> None:
    assert is_check_run_progress(make_run(status="queued"), make_run(status="waiting"))
    assert is_check_run_progress(make_run(status="queued"), make_run(status="queued"))


def test_completed_check_run_accepts_same_or_later_completion() -> None:
    done = make_run(status="completed", conclusion="failure", completed_at=at(5))
    assert is_check_run_progress(done, replace(done, conclusion="success"))
    assert is_check_run_progress(done, replace(done, conclusion="success", completed_at=at(6)))


def test_completed_check_run_refuses_earlier_completion() -> None:
    done = make_run(status="completed", conclusion="failure", completed_at=at(5))
    assert not is_check_run_progress(done, replace(done, conclusion="success", completed_at=at(4)))


def test_missing_completed_at_never_wins_over_a_present_one() -> None:
    with_time = make_run(status="completed", conclusion="success", completed_at=at(5))
    without_time = replace(with_time, completed_at=None, conclusion="failure")
    assert not is_check_run_progress(with_time, without_time)
    assert is_check_run_progress(without_time, with_time)
    assert is_check_run_progress(without_time, replace(without_time, conclusion="neutral"))


def test_check_run_fencing_refuses_to_compare_different_runs() -> None:
    with pytest.raises(ValueError, match="cannot compare check run"):
        is_check_run_progress(make_run(id=1), make_run(id=2))


def test_check_run_fencing_rejects_unknown_status() -> None:
    with pytest.raises(ValueError, match="unknown check run status"):
        is_check_run_progress(make_run(), make_run(status="finished"))
