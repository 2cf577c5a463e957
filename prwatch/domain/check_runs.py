"""Check runs as rows, and which of a commit's check runs are the latest.

A re-run creates a new check run (a new, higher id) beside the one it supersedes, and GitHub's
rollup, like prwatch's store, can hold both. prwatch keeps every run by id and says which is
the latest per check suite and name, as GitHub's `filter=latest` does.
https://docs.github.com/en/rest/checks/runs#list-check-runs-for-a-git-reference
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import NamedTuple

from prwatch.domain.models import CheckRunSnapshot


class CheckRunRow(NamedTuple):
    """A check run's values in ``CheckRunSnapshot``'s field order, which is also the order in
    which the store compares its rows: a sweep compares what it observed with what is stored
    as tuples, and builds snapshots only for what it is going to apply."""

    id: int
    repository_id: int
    head_sha: str
    name: str
    status: str
    conclusion: str | None
    started_at: datetime | None
    completed_at: datetime | None
    app_slug: str | None
    check_suite_id: int | None

    @classmethod
    def of(cls, run: CheckRunSnapshot) -> CheckRunRow:
        return cls(
            run.id,
            run.repository_id,
            run.head_sha,
            run.name,
            run.status,
            run.conclusion,
            run.started_at,
            run.completed_at,
            run.app_slug,
            run.check_suite_id,
        )

    def snapshot(self) -> CheckRunSnapshot:
        return CheckRunSnapshot(*self)


def latest_check_run_ids(runs: Iterable[CheckRunSnapshot]) -> frozenset[int]:
    """The ids of the latest run per (check suite, name): the highest id of each."""
    latest: dict[tuple[int | None, str], int] = {}
    for run in runs:
        key = (run.check_suite_id, run.name)
        if run.id > latest.get(key, -1):
            latest[key] = run.id
    return frozenset(latest.values())
