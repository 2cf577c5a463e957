"""Changes no webhook brings are labelled sweep-only, in the demo feed and on the pages."""

from __future__ import annotations

from datetime import UTC, datetime

from prwatch.demo.feed import describe
from prwatch.domain.models import Change, ChangeKind, Source
from prwatch.domain.webhook_coverage import is_sweep_only
from prwatch.store import StoredChange


def status_change(new: str, source: Source = Source.SWEEP) -> StoredChange:
    return StoredChange(
        cursor=1,
        kind=ChangeKind.CHECK_RUN_STATUS_CHANGED,
        installation_id=1,
        repository_id=2,
        pr_number=3,
        check_run_id=4,
        field="status",
        old="queued",
        new=new,
        detected_at=datetime(2026, 1, 1, tzinfo=UTC),
        source=source,
        delivery_id=None,
    )


def test_only_a_check_run_starting_is_sweep_only() -> None:
    assert is_sweep_only(status_change("in_progress").change)
    assert not is_sweep_only(status_change("completed").change)
    assert not is_sweep_only(Change(ChangeKind.PR_TITLE_CHANGED, 2, 3, field="title", new="x"))


def test_the_demo_feed_labels_it() -> None:
    assert "sweep-only" in describe(status_change("in_progress"), {2: "octo/app"})
    assert "sweep-only" not in describe(status_change("completed"), {2: "octo/app"})
