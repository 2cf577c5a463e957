"""The read API: pull requests as stored, and the change log feed. A public interface: keep
these paths and field names."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from prwatch.domain.models import CheckRunSnapshot, PullRequestSnapshot
from prwatch.store import RetryableStoreError, StoredChange, UnknownRepositoryName
from prwatch.web.webhooks import error, request_context

PR_STATES = ("open", "closed", "all")
DEFAULT_CHANGES_LIMIT = 100
MAX_CHANGES_LIMIT = 1_000


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a 'Z' (fractions of a second only when there are some)."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def pull_request_json(pr: PullRequestSnapshot) -> dict[str, Any]:
    return {
        "number": pr.number,
        "state": pr.state,
        "draft": pr.draft,
        "merged": pr.merged,
        "title": pr.title,
        "labels": list(pr.labels),
        "head_sha": pr.head_sha,
        "head_ref": pr.head_ref,
        "base_ref": pr.base_ref,
        "author": pr.author,
        "created_at": iso(pr.created_at),
        "updated_at": iso(pr.updated_at),
        "closed_at": iso(pr.closed_at),
        "merged_at": iso(pr.merged_at),
    }


def check_run_json(run: CheckRunSnapshot) -> dict[str, Any]:
    return {
        "id": run.id,
        "name": run.name,
        "status": run.status,
        "conclusion": run.conclusion,
        "started_at": iso(run.started_at),
        "completed_at": iso(run.completed_at),
    }


def change_json(change: StoredChange) -> dict[str, Any]:
    return {
        "cursor": change.cursor,
        "kind": change.kind.value,
        "installation_id": change.installation_id,
        "repository_id": change.repository_id,
        "pr_number": change.pr_number,
        "check_run_id": change.check_run_id,
        "field": change.field,
        "old": change.old,
        "new": change.new,
        "detected_at": iso(change.detected_at),
        "source": change.source.value,
        "delivery_id": change.delivery_id,
    }


async def list_pulls(request: Request) -> JSONResponse:
    state = request.query_params.get("state", "open")
    if state not in PR_STATES:
        return error(400, f"state must be one of {', '.join(PR_STATES)}")
    full_name = _full_name(request.path_params)
    try:
        async with request_context(request).store.transaction(read_only=True) as tx:
            pulls = await tx.list_pull_requests(full_name, state)
    except UnknownRepositoryName:
        return error(404, "not found")
    except RetryableStoreError:
        return error(503, "database unavailable")
    return JSONResponse([pull_request_json(pr) for pr in pulls])


async def get_pull(request: Request) -> JSONResponse:
    number: int = request.path_params["number"]
    try:
        async with request_context(request).store.transaction(read_only=True) as tx:
            found = await tx.get_pull_request(_full_name(request.path_params), number)
    except RetryableStoreError:
        return error(503, "database unavailable")
    if found is None:
        return error(404, "not found")
    pr, runs = found
    return JSONResponse(pull_request_json(pr) | {"check_runs": [check_run_json(r) for r in runs]})


async def list_changes(request: Request) -> JSONResponse:
    try:
        after = _integer(request, "after", 0, minimum=0)
        limit = _integer(request, "limit", DEFAULT_CHANGES_LIMIT, minimum=1)
    except ValueError as problem:
        return error(400, str(problem))
    if limit > MAX_CHANGES_LIMIT:
        return error(400, f"limit must be at most {MAX_CHANGES_LIMIT}")
    try:
        async with request_context(request).store.transaction(read_only=True) as tx:
            changes = await tx.changes_after(after, limit)
    except RetryableStoreError:
        return error(503, "database unavailable")
    return JSONResponse(
        {
            "changes": [change_json(change) for change in changes],
            "next": changes[-1].cursor if changes else after,
        }
    )


def _full_name(params: Mapping[str, Any]) -> str:
    return f"{params['owner']}/{params['repo']}"


def _integer(request: Request, name: str, default: int, *, minimum: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be an integer") from None
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}")
    return value


API_ROUTES = [
    Route("/api/repos/{owner}/{repo}/pulls", list_pulls),
    Route("/api/repos/{owner}/{repo}/pulls/{number:int}", get_pull),
    Route("/api/changes", list_changes),
]
