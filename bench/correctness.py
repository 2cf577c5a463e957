"""Correctness of a sweep against the simulator's truth.

A *view* maps each watched entity to its fields, the same way for the simulator's truth and
for the store: ("repo", id) → full name, ("pr", repository id, number) → the PR's fields,
("run", id) → the latest check runs (per suite and name) of open PRs' head commits.
Expected changes are the keys whose value differs between the truth before and after a
scenario; detected changes are the keys the sweep wrote to the change log.
"""

from __future__ import annotations

from collections.abc import Hashable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from prwatch.store.schema import (
    changes,
    check_runs,
    commit_statuses,
    pull_request_reviews,
    pull_requests,
    repositories,
)

View = dict[tuple[Hashable, ...], Any]

REPOSITORIES_PER_READ = 50
CHANGES_PER_READ = 100_000

PR_FIELDS = (
    "github_id", "node_id", "state", "draft", "merged", "merged_at", "closed_at", "title",
    "author", "labels", "head_sha", "head_ref", "base_sha", "base_ref", "created_at",
    "updated_at", "auto_merge",
)  # fmt: skip
# Stored, but their change alone is not a logged change: a PR assigned, locked or put on a
# milestone moves only its updated_at; the base branch moving only its base_sha.
UNLOGGED_PR_FIELDS = frozenset({"updated_at", "base_sha"})
_LOGGED_AT = tuple(i for i, name in enumerate(PR_FIELDS) if name not in UNLOGGED_PR_FIELDS)
RUN_FIELDS = (
    "repository_id", "head_sha", "name", "status", "conclusion", "started_at", "completed_at",
    "app_slug", "check_suite_id",
)  # fmt: skip


def truth_view(truth: dict[str, Any]) -> View:
    live_installations = {
        inst["id"]
        for inst in truth["installations"]
        if not inst["deleted"] and not inst["suspended"]
    }
    watched = {
        repo["id"]: repo["full_name"]
        for repo in truth["repositories"]
        if not repo["deleted"] and repo["installation_id"] in live_installations
    }
    view: View = {("repo", repo_id): name for repo_id, name in watched.items()}
    open_heads: set[tuple[int, str]] = set()
    for pr in truth["pull_requests"]:
        if pr["repository_id"] not in watched:
            continue
        view[("pr", pr["repository_id"], pr["number"])] = tuple(pr[f] for f in PR_FIELDS)
        if pr["state"] == "open":
            open_heads.add((pr["repository_id"], pr["head_sha"]))
    latest: dict[tuple[int, str], dict[str, Any]] = {}
    for run in truth["check_runs"]:
        if (run["repository_id"], run["head_sha"]) not in open_heads:
            continue
        key = (run["check_suite_id"], run["name"])
        if key not in latest or run["id"] > latest[key]["id"]:
            latest[key] = run
    for run in latest.values():
        view[("run", run["id"])] = tuple(run[f] for f in RUN_FIELDS)
    # Commit statuses of open heads, by the PR whose head it is; reviews of open PRs (the
    # latest per reviewer). Derived signals (review decision, merge signal) are not entities.
    head_numbers = {
        (pr["repository_id"], pr["head_sha"]): pr["number"]
        for pr in truth["pull_requests"]
        if pr["state"] == "open" and pr["repository_id"] in watched
    }
    for status in truth.get("commit_statuses", ()):
        number = head_numbers.get((status["repository_id"], status["sha"]))
        if number is not None:
            key = ("status", status["repository_id"], number, status["context"])
            view[key] = status["state"]
    open_prs = {(repository_id, number) for (repository_id, _), number in head_numbers.items()}
    for entry in truth.get("reviews", ()):
        if (entry["repository_id"], entry["number"]) in open_prs:
            for review in entry["reviews"]:
                view[("review", review["id"])] = review["state"]
    return view


def _pr_field(row: Any, name: str) -> Any:
    if name == "labels":
        return sorted(row[name])
    if name == "auto_merge":  # as the truth spells it
        if row["auto_merge_method"] is None:
            return None
        return {
            "merge_method": row["auto_merge_method"],
            "enabled_by": row["auto_merge_enabled_by"],
        }
    return _iso(row[name])


def _iso(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value


async def store_view(engine: AsyncEngine, truth: View, *, digest: bool = False) -> View:
    """The store's view, restricted to check runs the truth names (older runs may be kept).
    Read a few repositories at a time, so that a million PRs never sit in memory as rows;
    with ``digest`` each value is kept as its digest (see ``digest_value``)."""
    keep = digest_value if digest else _same
    view: View = {}
    wanted = {key[1] for key in truth if key[0] == "run"}
    wanted_statuses = {key for key in truth if key[0] == "status"}
    wanted_reviews = {key[1] for key in truth if key[0] == "review"}
    async with engine.connect() as conn:
        result = await conn.execute(
            select(repositories.c.id, repositories.c.full_name, repositories.c.removed_at)
        )
        repository_ids = []
        for row in result:
            if row.removed_at is None:
                view[("repo", row.id)] = keep(row.full_name)
            repository_ids.append(row.id)
        for start in range(0, len(repository_ids), REPOSITORIES_PER_READ):
            group = repository_ids[start : start + REPOSITORIES_PER_READ]
            result = await conn.execute(
                select(pull_requests).where(
                    pull_requests.c.removed_at.is_(None), pull_requests.c.repository_id.in_(group)
                )
            )
            for row in result.mappings():
                fields = tuple(_pr_field(row, f) for f in PR_FIELDS)
                view[("pr", row["repository_id"], row["number"])] = (
                    digest_pr(fields) if digest else fields
                )
            runs = await conn.execute(
                select(check_runs).where(check_runs.c.repository_id.in_(group))
            )
            for row in runs.mappings():
                if row["id"] in wanted:
                    view[("run", row["id"])] = keep(tuple(_iso(row[f]) for f in RUN_FIELDS))
            await _statuses_and_reviews(conn, group, view, wanted_statuses, wanted_reviews, keep)
    return view


async def _statuses_and_reviews(
    conn: Any,
    group: list[int],
    view: View,
    wanted_statuses: set[tuple[Hashable, ...]],
    wanted_reviews: set[Hashable],
    keep: Any,
) -> None:
    """The stored statuses of the open heads and reviews the truth names (older reviews are
    kept by prwatch, shown as the latest per reviewer)."""
    heads = await conn.execute(
        select(pull_requests.c.repository_id, pull_requests.c.head_sha, pull_requests.c.number)
        .where(pull_requests.c.repository_id.in_(group))
        .where(pull_requests.c.state == "open", pull_requests.c.removed_at.is_(None))
    )
    numbers = {(row.repository_id, row.head_sha): row.number for row in heads}
    statuses = await conn.execute(
        select(commit_statuses).where(commit_statuses.c.repository_id.in_(group))
    )
    for row in statuses:
        number = numbers.get((row.repository_id, row.sha))
        key = ("status", row.repository_id, number, row.context)
        if number is not None and key in wanted_statuses:
            view[key] = keep(row.state)
    if wanted_reviews:
        reviews = await conn.execute(
            select(pull_request_reviews.c.id, pull_request_reviews.c.state).where(
                pull_request_reviews.c.repository_id.in_(group)
            )
        )
        for row in reviews:
            if row.id in wanted_reviews:
                view[("review", row.id)] = keep(row.state)


def digest_value(value: Any) -> int:
    """A value's digest: equal values (as the truth and the store spell them) give equal
    digests within one process, and a view of a million PRs fits in a few hundred MB."""
    return hash(repr(value))


def digest_pr(fields: tuple[Any, ...]) -> tuple[int, int]:
    """A PR's digest: of its logged fields (for expected changes), and of all (for equality)."""
    return digest_value(logged_part(fields)), digest_value(fields)


def logged_part(value: Any) -> Any:
    """The part of a PR's view value whose change is a logged change (a digest's first half)."""
    if len(value) == 2 and all(isinstance(v, int) for v in value):
        return value[0]
    return tuple(value[i] for i in _LOGGED_AT if i < len(value))


def digest_view(view: View) -> View:
    return {
        key: digest_pr(value) if key[0] == "pr" else digest_value(value)
        for key, value in view.items()
    }


def _same(value: Any) -> Any:
    return value


_CURRENT_ONLY = frozenset({"run", "status", "review"})
# Change kinds derived from others (a review decision read, a merge signal computed): no entity.
_DERIVED_KINDS = frozenset({"review_decision_changed", "merge_signal_changed"})


def changed_keys(before: View, after: View) -> set[tuple[Hashable, ...]]:
    """Entities that appeared, changed or left the watched set (check runs that merely
    stopped being current are not changes)."""
    keys = {
        key
        for key, value in after.items()
        if key not in before
        or (
            logged_part(before[key]) != logged_part(value)
            if key[0] == "pr"
            else before[key] != value
        )
    }
    # Check runs, statuses and reviews that merely stopped being current (a push, a close) are
    # not changes either.
    keys |= {key for key in before if key not in after and key[0] not in _CURRENT_ONLY}
    # A repository that left takes its PRs with it: one change, the repository's removal.
    return {key for key in keys if not (key[0] == "pr" and ("repo", key[1]) not in after)}


async def change_cursor(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.coalesce(func.max(changes.c.id), 0)))).scalar())


async def logged_keys(engine: AsyncEngine, after_id: int) -> tuple[set[tuple[Hashable, ...]], int]:
    """Entities named by change-log rows after the cursor, and the number of rows (read in
    ranges of ids: a cold sweep at scale logs millions)."""
    keys: set[tuple[Hashable, ...]] = set()
    rows = 0
    last = await change_cursor(engine)
    async with engine.connect() as conn:
        for start in range(after_id, last, CHANGES_PER_READ):
            result = await conn.execute(
                select(
                    changes.c.kind,
                    changes.c.repository_id,
                    changes.c.pr_number,
                    changes.c.check_run_id,
                    changes.c.status_context,
                    changes.c.review_id,
                ).where(changes.c.id > start, changes.c.id <= min(last, start + CHANGES_PER_READ))
            )
            for row in result:
                rows += 1
                if row.kind in _DERIVED_KINDS:
                    continue
                if row.status_context is not None:
                    keys.add(("status", row.repository_id, row.pr_number, row.status_context))
                elif row.review_id is not None:
                    keys.add(("review", row.review_id))
                elif row.check_run_id is not None:
                    keys.add(("run", row.check_run_id))
                elif row.pr_number is not None:
                    keys.add(("pr", row.repository_id, row.pr_number))
                elif row.kind.startswith("repository_"):
                    keys.add(("repo", row.repository_id))
    return keys, rows


async def rows_synced_since(engine: AsyncEngine, since: datetime) -> dict[str, int]:
    """PR and check-run rows the sweep upserted (their last_synced_at moved)."""
    async with engine.connect() as conn:
        prs = await conn.execute(
            select(func.count()).where(pull_requests.c.last_synced_at >= since)
        )
        runs = await conn.execute(select(func.count()).where(check_runs.c.last_synced_at >= since))
        return {"pull_requests": int(prs.scalar() or 0), "check_runs": int(runs.scalar() or 0)}


def judge(
    expected: set[tuple[Hashable, ...]],
    detected: set[tuple[Hashable, ...]],
    truth: View,
    stored: View,
) -> dict[str, Any]:
    mismatched = sorted(
        str(key) for key in set(truth) | set(stored) if truth.get(key) != stored.get(key)
    )
    found = expected & detected
    invented = detected - expected
    return {
        "expected_changes": len(expected),
        "found": len(found),
        "missed": len(expected - detected),
        "invented": len(invented),
        "invented_examples": sorted(str(k) for k in invented)[:5],
        "missed_examples": sorted(str(k) for k in expected - detected)[:5],
        "store_mismatches": len(mismatched),
        "mismatch_examples": mismatched[:5],
    }
