"""The read API v1: repositories, their pull requests, and the change log. A public interface:
keep these paths and field names. Everything is filtered through the caller's visibility (in
SQL); what the caller may not see answers 404 like what does not exist."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, cast

from starlette.requests import Request
from starlette.responses import JSONResponse

from prwatch.domain.check_runs import latest_check_run_ids
from prwatch.domain.models import (
    CheckRunSnapshot,
    CommitStatusSnapshot,
    PullRequestSignal,
    PullRequestSnapshot,
    ReviewSnapshot,
)
from prwatch.domain.reviews import latest_reviews
from prwatch.domain.statuses import StatusKey, latest_statuses
from prwatch.store import RepositoryRecord, StoredChange, StoreTransaction
from prwatch.store.listings import MERGE_SIGNALS, PullFilter
from prwatch.web.access import visibility
from prwatch.web.api_errors import NotFound
from prwatch.web.api_params import (
    ChoiceQuery,
    CursorQuery,
    FilterQuery,
    IntegerQuery,
    NumberPath,
    TextPath,
    TextQuery,
    TimestampQuery,
)
from prwatch.web.api_schema import (
    ChangeJson,
    ChangePage,
    CheckRunJson,
    PullDetailJson,
    PullJson,
    PullPage,
    RepositoryJson,
    RepositoryPage,
    ReviewJson,
    StatusJson,
)
from prwatch.web.endpoint import Endpoint, read_transaction

DEFAULT_LIMIT = 100
MAX_LIMIT = 1_000

OWNER = TextPath("owner", "The repository's owner (any case).")
REPO = TextPath("repo", "The repository's name (any case).")
NUMBER = NumberPath("number", "The pull request's number.")
LIMIT = IntegerQuery("limit", "Items per page.", DEFAULT_LIMIT, minimum=1, maximum=MAX_LIMIT)
REPOS_AFTER = CursorQuery("after", "The `next` of the previous page.", kind="r")
PULLS_AFTER = CursorQuery("after", "The `next` of the previous page.", kind="p")
STATE = ChoiceQuery("state", "Pull requests in this state.", ("open", "closed", "all"), "open")
LABEL = TextQuery("label", "Only pull requests carrying this label (exact name).")
MERGE_SIGNAL = FilterQuery(
    "merge_signal",
    "Only pull requests whose merge signal (GitHub's rollup over the head commit's check runs "
    "and statuses) is this.",
    MERGE_SIGNALS,
)
UPDATED_SINCE = TimestampQuery(
    "updated_since", "Only pull requests updated at or after this time (UTC without an offset)."
)
CHANGES_AFTER = IntegerQuery("after", "Changes with a cursor above this one.", 0)
CHANGES_LIMIT = IntegerQuery(
    "limit", "Changes per page.", DEFAULT_LIMIT, minimum=1, maximum=MAX_LIMIT
)


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a 'Z' (fractions of a second only when there are some)."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def repository_json(repository: RepositoryRecord) -> RepositoryJson:
    return {
        "id": repository.id,
        "full_name": repository.full_name,
        "installation_id": repository.installation_id,
        "private": repository.private,
        "removed": repository.removed,
    }


@dataclass(frozen=True, slots=True)
class PullExtras:
    """What a page of PRs shows beside their rows, read in one query each for the page."""

    statuses: Mapping[StatusKey, CommitStatusSnapshot]
    reviews: Mapping[int, list[ReviewSnapshot]]  # by PR number
    signals: Mapping[int, PullRequestSignal]  # by PR number


def pull_request_json(pr: PullRequestSnapshot, extras: PullExtras) -> PullJson:
    """A PR with the statuses of its head commit, its reviews and its signals."""
    signal = extras.signals.get(pr.number)
    return {
        "number": pr.number,
        "state": "open" if pr.state == "open" else "closed",
        "draft": pr.draft,
        "merged": pr.merged,
        "title": pr.title,
        "labels": list(pr.labels),
        "head_sha": pr.head_sha,
        "head_ref": pr.head_ref,
        "base_ref": pr.base_ref,
        "author": pr.author,
        "created_at": iso(pr.created_at) or "",
        "updated_at": iso(pr.updated_at) or "",
        "closed_at": iso(pr.closed_at),
        "merged_at": iso(pr.merged_at),
        "statuses": statuses_json(extras.statuses.values(), pr.head_sha),
        "reviews": [review_json(r) for r in latest_reviews(extras.reviews.get(pr.number, []))],
        "review_decision": cast(
            Literal["approved", "changes_requested", "review_required"] | None,
            None if signal is None else signal.review_decision,
        ),
        "merge_signal": cast(
            Literal["success", "pending", "failure"] | None,
            None if signal is None else signal.merge_signal,
        ),
        "auto_merge": None
        if pr.auto_merge_method is None
        else {"merge_method": pr.auto_merge_method, "enabled_by": pr.auto_merge_enabled_by},
        "merge_queue": None
        if pr.enqueued_at is None
        else {"enqueued_at": iso(pr.enqueued_at) or ""},
    }


def review_json(review: ReviewSnapshot) -> ReviewJson:
    state = cast(Literal["approved", "changes_requested", "commented", "dismissed"], review.state)
    return {
        "id": review.id,
        "user": review.user,
        "state": state,
        "submitted_at": iso(review.submitted_at),
        "commit_id": review.commit_id,
    }


def commit_status_json(status: CommitStatusSnapshot) -> StatusJson:
    state = cast(Literal["error", "failure", "pending", "success"], status.state)
    return {
        "context": status.context,
        "state": state,
        "description": status.description,
        "target_url": status.target_url,
        "updated_at": iso(status.updated_at) or "",
    }


def statuses_json(statuses: Iterable[CommitStatusSnapshot], sha: str) -> list[StatusJson]:
    """The latest status per context of commit ``sha``, by context."""
    return [commit_status_json(s) for s in latest_statuses(statuses) if s.sha == sha]


async def pull_extras(
    tx: StoreTransaction, repository_id: int, prs: Sequence[PullRequestSnapshot]
) -> PullExtras:
    """The statuses of these PRs' head commits, their reviews and signals."""
    numbers = {pr.number for pr in prs}
    reviews: dict[int, list[ReviewSnapshot]] = {}
    for review in (await tx.load_reviews(repository_id, numbers)).values():
        reviews.setdefault(review.pr_number, []).append(review)
    return PullExtras(
        statuses=await tx.load_commit_statuses(repository_id, {pr.head_sha for pr in prs}),
        reviews=reviews,
        signals=await tx.load_signals(repository_id, numbers),
    )


def check_run_json(run: CheckRunSnapshot, latest: frozenset[int]) -> CheckRunJson:
    return {
        "id": run.id,
        "name": run.name,
        "status": run.status,
        "conclusion": run.conclusion,
        "started_at": iso(run.started_at),
        "completed_at": iso(run.completed_at),
        "latest": run.id in latest,
    }


def change_json(change: StoredChange, names: dict[int, str]) -> ChangeJson:
    repository = None if change.repository_id is None else names.get(change.repository_id)
    return {
        "cursor": change.cursor,
        "kind": change.kind.value,
        "installation_id": change.installation_id,
        "repository_id": change.repository_id,
        "repository": repository,
        "pr_number": change.pr_number,
        "check_run_id": change.check_run_id,
        "status_context": change.status_context,
        "review_id": change.review_id,
        "field": change.field,
        "old": change.old,
        "new": change.new,
        "detected_at": iso(change.detected_at) or "",
        "source": "webhook" if change.source.value == "webhook" else "sweep",
        "delivery_id": change.delivery_id,
    }


async def changes_json(tx: StoreTransaction, changes: list[StoredChange]) -> list[ChangeJson]:
    """The changes with their repositories' current names (one query for the page)."""
    names = await tx.repository_names({c.repository_id for c in changes if c.repository_id})
    return [change_json(change, names) for change in changes]


async def visible_repository(request: Request, tx: StoreTransaction) -> RepositoryRecord:
    full_name = f"{OWNER.read(request)}/{REPO.read(request)}"
    repository = await tx.visible_repository(full_name, visibility(request))
    if repository is None:
        raise NotFound("no such repository")
    return repository


async def list_repositories(request: Request) -> JSONResponse:
    """Every repository the caller may see, removed ones too, by id."""
    limit, after = LIMIT.read(request), REPOS_AFTER.read(request)
    async with read_transaction(request) as tx:
        found = await tx.page_repositories(
            after_id=after, limit=limit + 1, scope=visibility(request)
        )
    page = found[:limit]
    more = len(found) > limit
    body: RepositoryPage = {
        "repositories": [repository_json(repository) for repository in page],
        "next": REPOS_AFTER.encode(page[-1].id) if more else None,
    }
    return JSONResponse(body)


async def list_pulls(request: Request) -> JSONResponse:
    """A repository's pull requests, by number, filtered."""
    pull_filter = PullFilter(
        state=STATE.read(request),
        label=LABEL.read(request),
        merge_signal=MERGE_SIGNAL.read(request),
        updated_since=UPDATED_SINCE.read(request),
    )
    limit, after = LIMIT.read(request), PULLS_AFTER.read(request)
    async with read_transaction(request) as tx:
        repository = await visible_repository(request, tx)
        found = await tx.page_pull_requests(
            repository.id, pull_filter, after_number=after, limit=limit + 1
        )
        page = found[:limit]
        extras = await pull_extras(tx, repository.id, page)
    more = len(found) > limit
    body: PullPage = {
        "pulls": [pull_request_json(pr, extras) for pr in page],
        "next": PULLS_AFTER.encode(page[-1].number) if more else None,
    }
    return JSONResponse(body)


async def get_pull(request: Request) -> JSONResponse:
    """One pull request with the check runs and statuses of its head commit."""
    number = NUMBER.read(request)
    async with read_transaction(request) as tx:
        repository = await visible_repository(request, tx)
        found = await tx.get_pull_request_by_id(repository.id, number)
        if found is None:
            raise NotFound("no such pull request")
        extras = await pull_extras(tx, repository.id, [found[0]])
    pr, runs = found
    latest = latest_check_run_ids(runs)
    body: PullDetailJson = {
        **pull_request_json(pr, extras),
        "check_runs": [check_run_json(run, latest) for run in runs],
    }
    return JSONResponse(body)


async def list_changes(request: Request) -> JSONResponse:
    """The change log in cursor order; loop with ``after=next``."""
    after, limit = CHANGES_AFTER.read(request), CHANGES_LIMIT.read(request)
    async with read_transaction(request) as tx:
        changes = await tx.changes_after(after, limit, scope=visibility(request))
        items = await changes_json(tx, changes)
    body: ChangePage = {"changes": items, "next": changes[-1].cursor if changes else after}
    return JSONResponse(body)


API_ENDPOINTS = (
    Endpoint(
        "/api/repos",
        list_repositories,
        "List repositories",
        (LIMIT, REPOS_AFTER),
        RepositoryPage,
        errors=(400, 503),
    ),
    Endpoint(
        "/api/repos/{owner}/{repo}/pulls",
        list_pulls,
        "List a repository's pull requests",
        (OWNER, REPO, STATE, LABEL, MERGE_SIGNAL, UPDATED_SINCE, LIMIT, PULLS_AFTER),
        PullPage,
        errors=(400, 404, 503),
    ),
    Endpoint(
        "/api/repos/{owner}/{repo}/pulls/{number}",
        get_pull,
        "Get a pull request with its check runs, statuses and reviews",
        (OWNER, REPO, NUMBER),
        PullDetailJson,
        errors=(400, 404, 503),
    ),
    Endpoint(
        "/api/changes",
        list_changes,
        "Read the change log",
        (CHANGES_AFTER, CHANGES_LIMIT),
        ChangePage,
        errors=(400, 503),
    ),
)
