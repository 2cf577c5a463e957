"""A head SHA stored before the intake checked SHAs no longer blocks a repository's sweep:
it is left out of the check query, the other heads are still verified."""

from __future__ import annotations

from prwatch.sync.check_query import RepositoryCommits, build_check_query
from prwatch.sync.repository_sweep import _open_heads
from tests.unit.domain.snapshot_factories import make_pr

GOOD = "a" * 40


def test_a_stored_head_that_is_not_a_sha_is_left_out_of_the_check_query() -> None:
    stored = {
        1: make_pr(number=1, head_sha=GOOD, state="open"),
        2: make_pr(number=2, head_sha="NOT-A-SHA", state="open"),
        3: make_pr(number=3, head_sha="B" * 40, state="open"),
    }
    heads = _open_heads(stored, [])
    assert heads == {GOOD}
    _query, variables = build_check_query([RepositoryCommits(1, "o", "r", tuple(sorted(heads)))])
    assert GOOD in variables.values()
