"""Snapshot builders and hypothesis strategies shared by the domain tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from prwatch.domain.models import CheckRunSnapshot, PullRequestSnapshot

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
REPOSITORY_ID = 42


def at(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


def make_pr(**overrides: Any) -> PullRequestSnapshot:
    values: dict[str, Any] = {
        "repository_id": REPOSITORY_ID,
        "number": 7,
        "github_id": 1007,
        "node_id": "PR_7",
        "state": "open",
        "draft": False,
        "merged": False,
        "merged_at": None,
        "closed_at": None,
        "title": "Add the thing",
        "author": "octocat",
        "labels": ("bug",),
        "head_sha": "a" * 40,
        "head_ref": "feature",
        "base_sha": "b" * 40,
        "base_ref": "main",
        "created_at": T0,
        "updated_at": at(10),
    }
    values.update(overrides)
    return PullRequestSnapshot(**values)


def make_run(**overrides: Any) -> CheckRunSnapshot:
    values: dict[str, Any] = {
        "id": 900,
        "repository_id": REPOSITORY_ID,
        "head_sha": "a" * 40,
        "name": "lint",
        "status": "queued",
        "conclusion": None,
        "started_at": None,
        "completed_at": None,
        "app_slug": "ci",
        "check_suite_id": 77,
    }
    values.update(overrides)
    return CheckRunSnapshot(**values)


# Small value pools, so that generated snapshots often collide and often differ in one field.
_LIFECYCLES = (("open", False), ("closed", False), ("closed", True))


@st.composite
def pr_snapshots(
    draw: st.DrawFn, number: int | None = None, updated_at: datetime | None = None
) -> PullRequestSnapshot:
    state, merged = draw(st.sampled_from(_LIFECYCLES))
    stamp = updated_at if updated_at is not None else at(draw(st.integers(0, 3)))
    return make_pr(
        number=number if number is not None else draw(st.integers(1, 4)),
        state=state,
        merged=merged,
        merged_at=stamp if merged else None,
        closed_at=stamp if state == "closed" else None,
        draft=draw(st.booleans()),
        title=draw(st.sampled_from(["Add the thing", "Fix the thing"])),
        labels=tuple(sorted(draw(st.sets(st.sampled_from(["bug", "docs", "ui"]))))),
        head_sha=draw(st.sampled_from(["a" * 40, "c" * 40])),
        base_sha=draw(st.sampled_from(["b" * 40, "d" * 40])),
        base_ref=draw(st.sampled_from(["main", "release"])),
        updated_at=stamp,
    )


_RUN_STATUSES = ("queued", "waiting", "in_progress", "completed")
_CONCLUSIONS = ("success", "failure", "cancelled")


@st.composite
def check_run_snapshots(draw: st.DrawFn, run_id: int | None = None) -> CheckRunSnapshot:
    status = draw(st.sampled_from(_RUN_STATUSES))
    completed = status == "completed"
    return make_run(
        id=run_id if run_id is not None else draw(st.integers(900, 903)),
        head_sha=draw(st.sampled_from(["a" * 40, "c" * 40])),
        status=status,
        conclusion=draw(st.sampled_from(_CONCLUSIONS)) if completed else None,
        started_at=None if status in ("queued", "waiting") else at(1),
        completed_at=at(draw(st.integers(2, 4))) if completed else None,
    )
