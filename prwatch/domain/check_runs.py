"""Which of a commit's check runs are the latest.

A re-run creates a new check run (a new, higher id) beside the one it supersedes, and GitHub's
rollup, like prwatch's store, can hold both. prwatch keeps every run by id and says which is
the latest per check suite and name, as GitHub's `filter=latest` does.
https://docs.github.com/en/rest/checks/runs#list-check-runs-for-a-git-reference
"""

from __future__ import annotations

from collections.abc import Iterable

from prwatch.domain.models import CheckRunSnapshot


def latest_check_run_ids(runs: Iterable[CheckRunSnapshot]) -> frozenset[int]:
    """The ids of the latest run per (check suite, name): the highest id of each."""
    latest: dict[tuple[int | None, str], int] = {}
    for run in runs:
        key = (run.check_suite_id, run.name)
        if run.id > latest.get(key, -1):
            latest[key] = run.id
    return frozenset(latest.values())
