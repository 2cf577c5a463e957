from __future__ import annotations

from prwatch.domain.check_runs import latest_check_run_ids
from prwatch.domain.models import CheckRunSnapshot


def run(run_id: int, name: str, suite: int | None) -> CheckRunSnapshot:
    return CheckRunSnapshot(
        run_id, 1, "a" * 40, name, "completed", "success", None, None, None, suite
    )


def test_the_latest_run_per_suite_and_name_is_the_highest_id() -> None:
    runs = [run(1, "test", 7), run(5, "test", 7), run(3, "lint", 7), run(2, "test", 8)]
    assert latest_check_run_ids(runs) == {5, 3, 2}
    assert latest_check_run_ids(reversed(runs)) == {5, 3, 2}
    assert latest_check_run_ids([]) == frozenset()
