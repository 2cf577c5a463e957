"""The shapes of the read API's answers, as types: the serializers are checked against them
(mypy) and the OpenAPI document's schemas are generated from them (pydantic), so the two
cannot drift apart."""

from __future__ import annotations

from typing import Any, Literal, NotRequired

# pydantic reads TypedDicts from typing_extensions on Python < 3.12.
from typing_extensions import TypedDict

ErrorCode = Literal[
    "invalid_parameter",
    "unauthorized",
    "forbidden",
    "not_found",
    "method_not_allowed",
    "not_acceptable",
    "too_many_requests",
    "internal_error",
    "database_unavailable",
]


class ErrorJson(TypedDict):
    error: ErrorCode
    message: str
    parameter: NotRequired[str]  # the query or path parameter at fault


class RepositoryJson(TypedDict):
    id: int
    full_name: str
    installation_id: int
    private: bool
    removed: bool


class RepositoryPage(TypedDict):
    repositories: list[RepositoryJson]
    next: str | None  # pass as ?after= for the next page; null on the last page


class StatusJson(TypedDict):
    """The latest commit status of one context on the PR's head commit."""

    context: str
    state: Literal["error", "failure", "pending", "success"]
    description: str | None
    target_url: str | None
    updated_at: str


class ReviewJson(TypedDict):
    """The latest review of one reviewer."""

    id: int
    user: str
    state: Literal["approved", "changes_requested", "commented", "dismissed"]
    submitted_at: str | None
    commit_id: str | None


class AutoMergeJson(TypedDict):
    merge_method: str  # merge | squash | rebase
    enabled_by: str | None  # the login of who turned it on


class MergeQueueJson(TypedDict):
    enqueued_at: str  # since when the PR waits in its base branch's merge queue


class PullJson(TypedDict):
    number: int
    state: Literal["open", "closed"]
    draft: bool
    merged: bool
    title: str
    labels: list[str]
    head_sha: str
    head_ref: str
    base_ref: str
    author: str
    created_at: str
    updated_at: str
    closed_at: str | None
    merged_at: str | None
    statuses: list[StatusJson]  # of the head commit, by context
    reviews: list[ReviewJson]  # the latest per reviewer, by reviewer
    # GraphQL's reviewDecision as last read; null when no review is required (or not read yet).
    review_decision: Literal["approved", "changes_requested", "review_required"] | None
    # GitHub's rollup state over the head's check runs and statuses; null when none reported.
    merge_signal: Literal["success", "pending", "failure"] | None
    auto_merge: AutoMergeJson | None  # null while auto-merge is off
    merge_queue: MergeQueueJson | None  # null while the PR is not in a merge queue


class PullPage(TypedDict):
    pulls: list[PullJson]
    next: str | None


class CheckRunJson(TypedDict):
    id: int
    name: str
    status: str
    conclusion: str | None
    started_at: str | None
    completed_at: str | None
    latest: bool  # the latest run of its suite and name; false for one a re-run superseded


class PullDetailJson(PullJson):
    check_runs: list[CheckRunJson]


class ChangeJson(TypedDict):
    cursor: int
    kind: str
    installation_id: int | None
    repository_id: int | None
    repository: str | None  # the repository's current full name
    pr_number: int | None
    check_run_id: int | None
    status_context: str | None  # a commit status's context, for the status kinds
    review_id: int | None  # for the review kinds
    field: str | None
    old: Any
    new: Any
    detected_at: str
    source: Literal["webhook", "sweep"]
    delivery_id: str | None


class ChangePage(TypedDict):
    changes: list[ChangeJson]
    next: int  # the cursor to pass as ?after= next; the same one when nothing is new
