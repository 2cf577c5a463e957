"""A head SHA stored before the intake checked SHAs no longer blocks a repository's sweep:
it is left out of the check query, the other heads are still verified."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prwatch.sync.check_query import RepositoryCommits, build_check_query
from prwatch.sync.repository_sweep import _open_heads
from tests.unit.domain.snapshot_factories import make_pr

GOOD = "a" * 40


def test_a_stored_head_that_is_not_a_sha_is_left_out_of_the_check_query() -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    stored = {1: (GOOD, at), 2: ("NOT-A-SHA", at), 3: ("B" * 40, at)}
    heads = _open_heads(stored, [])
    assert heads == {GOOD}
    _query, variables = build_check_query([RepositoryCommits(1, "o", "r", tuple(sorted(heads)))])
    assert GOOD in variables.values()


def test_the_listing_moves_heads_on_and_closes_pull_requests() -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    later = at + timedelta(minutes=1)
    stored = {1: (GOOD, at), 2: ("b" * 40, at), 3: ("c" * 40, later)}
    listed = [
        make_pr(number=1, head_sha="d" * 40, state="open", updated_at=later),  # pushed to
        make_pr(number=2, head_sha="b" * 40, state="closed", updated_at=later),  # closed
        make_pr(number=3, head_sha="e" * 40, state="open", updated_at=at),  # older than stored
        make_pr(number=4, head_sha="f" * 40, state="open", updated_at=at),  # new
    ]
    assert _open_heads(stored, listed) == {"d" * 40, "c" * 40, "f" * 40}
