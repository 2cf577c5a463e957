"""A repository whose sweep skipped unreadable items succeeds, and its sweep record says what
was skipped."""

from __future__ import annotations

from prwatch.sync.distributed import skipped_summary
from prwatch.sync.skipped import SkippedItem, SkippedKind, SkipReason


def test_the_record_counts_the_skipped_items_and_keeps_the_first_reasons() -> None:
    assert skipped_summary([]) is None
    reasons = [
        SkippedItem(
            SkippedKind.PULL_REQUEST, SkipReason.INVALID, f"#{n}: pull_request.head.sha: not a SHA"
        )
        for n in range(1, 9)
    ]
    summary = skipped_summary(reasons)
    assert summary is not None
    assert summary.startswith("skipped 8 unreadable item(s): #1: ")
    assert "#5:" in summary and "#6:" not in summary
