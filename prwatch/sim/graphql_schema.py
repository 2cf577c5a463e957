"""The executable GraphQL schema: the SDL of `graphql_sdl` with resolvers over the world.

Resolvers read the world through its lookups and never change it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from graphql import (
    ExecutionContext,
    GraphQLError,
    GraphQLInt,
    GraphQLInterfaceType,
    GraphQLLeafType,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLUnionType,
    StringValueNode,
    ValueNode,
    build_schema,
)

from prwatch.sim.clock import iso
from prwatch.sim.entities import CheckApp, CheckRun, CheckSuite, PullRequest, Repository, User
from prwatch.sim.events import NotFoundError
from prwatch.sim.graphql_paging import Connection, QueryError, SortKey, paginate
from prwatch.sim.graphql_sdl import SDL
from prwatch.sim.permissions import FORBIDDEN_MESSAGE, FORBIDDEN_TYPE, grants
from prwatch.sim.render import latest_runs, node_id
from prwatch.sim.reviews import latest_reviews, review_decision
from prwatch.sim.statuses import CommitStatus, latest_statuses
from prwatch.sim.world import World

# A check conclusion that makes the rollup FAILURE (neutral and skipped count as passing).
FAILING_CONCLUSIONS = frozenset(
    {"failure", "timed_out", "cancelled", "action_required", "startup_failure", "stale"}
)
MAX_SAFE_INTEGER = 2**53 - 1  # what a JSON number carries exactly
_OID = re.compile(r"[0-9a-fA-F]{1,40}")


@dataclass(frozen=True, slots=True)
class RateLimitReport:
    """This query's cost and the graphql budget after charging it (the `rateLimit` field)."""

    cost: int
    node_count: int
    limit: int
    remaining: int
    used: int
    reset_at: int


@dataclass(frozen=True, slots=True)
class QueryContext:
    world: World
    installation_id: int
    rate_limit: RateLimitReport
    dry_run: bool = False  # `rateLimit(dryRun: true)`: report the cost, resolve nothing else
    permissions: Mapping[str, str] | None = None  # the installation's; None: everything

    def require(self, permission: str) -> None:
        """A FORBIDDEN error (the field comes back null) unless the permission is granted."""
        if self.permissions is not None and not grants(self.permissions, permission):
            raise QueryError(FORBIDDEN_MESSAGE, FORBIDDEN_TYPE)


@dataclass(frozen=True, slots=True)
class Commit:
    repo: Repository  # the repository it was resolved through (a fork PR's base repository)
    oid: str


@dataclass(frozen=True, slots=True)
class Rollup:
    commit: Commit
    runs: list[CheckRun]  # latest run per (suite, name), ascending id
    statuses: list[CommitStatus]  # latest status per context, ascending id


class GitHubExecutionContext(ExecutionContext):
    """Serializes `Int` results as GitHub does: database ids beyond 32 bits pass through.

    Check run and suite ids on github.com are already past 2**31 and GitHub returns them in
    `databaseId: Int`; graphql-core alone would turn each into an error.
    """

    @staticmethod
    def complete_leaf_value(return_type: GraphQLLeafType, result: Any) -> Any:
        if (
            return_type is GraphQLInt
            and type(result) is int
            and -MAX_SAFE_INTEGER <= result <= MAX_SAFE_INTEGER
        ):
            return result
        return ExecutionContext.complete_leaf_value(return_type, result)


def _context(info: GraphQLResolveInfo) -> QueryContext:
    context = info.context
    assert isinstance(context, QueryContext)
    return context


# ---- Query ------------------------------------------------------------------------------------
def _repository(
    _: object, info: GraphQLResolveInfo, owner: str, name: str, followRenames: bool = True
) -> Repository | None:
    context = _context(info)
    if context.dry_run:
        return None
    world = context.world
    repo: Repository | None
    try:
        repo = world.repository_by_name(owner, name)
    except NotFoundError:
        moved = world.moved_repository_id(owner, name) if followRenames else None
        repo = world.repositories.get(moved) if moved is not None else None
    # A repository outside the token's installation is as invisible as one that does not exist.
    if repo is None or repo.deleted or repo.installation_id != context.installation_id:
        raise QueryError(
            f"Could not resolve to a Repository with the name '{owner}/{name}'.", "NOT_FOUND"
        )
    return repo


def _rate_limit(_: object, info: GraphQLResolveInfo, dryRun: bool = False) -> RateLimitReport:
    return _context(info).rate_limit


# ---- Repository -------------------------------------------------------------------------------
def _object(
    repo: Repository,
    info: GraphQLResolveInfo,
    oid: str | None = None,
    expression: str | None = None,
) -> Commit | None:
    context = _context(info)
    if repo.private:
        # A private repository's commits are contents: metadata alone does not reach them
        # (reported against the real API by palantir/policy-bot and int128/argocd-commenter).
        context.require("contents")
    world = context.world
    sha = oid.lower() if oid is not None else _expression_oid(repo, expression)
    # Commits known to the world: every head a PR of this repository ever had (fork heads
    # included: GitHub resolves them through the base repository) and every commit with checks.
    if sha is None or (repo.id, sha) not in world.sha_rev:
        return None
    return Commit(repo, sha)


def _expression_oid(repo: Repository, expression: str | None) -> str | None:
    """A full oid, or the branch name of an open same-repository PR; other revisions are unknown."""
    if expression is None:
        return None
    if len(expression) == 40 and _OID.fullmatch(expression):
        return expression.lower()
    for pr in repo.pulls:
        if pr.state == "open" and not pr.is_fork and pr.head_ref == expression:
            return pr.head_sha
    return None


_PR_STATES = {"OPEN": "open", "CLOSED": "closed", "MERGED": "merged"}


def pull_request_state(pr: PullRequest) -> str:
    return "MERGED" if pr.merged else pr.state.upper()


def _pull_requests(repo: Repository, info: GraphQLResolveInfo, **arguments: Any) -> Connection:
    _context(info).require("pull_requests")
    world = _context(info).world
    states = set(arguments.get("states") or _PR_STATES)
    order = arguments.get("orderBy") or {"field": "CREATED_AT", "direction": "ASC"}
    field, descending = order["field"], order["direction"] == "DESC"
    key: Callable[[PullRequest], SortKey]
    if field == "COMMENTS":
        # The world keeps no comments: every PR ties at zero and the tie breaks by number.
        prs = list(repo.pulls)
        key = _number_key
    else:
        sort = "created" if field == "CREATED_AT" else "updated"
        world_state = "open" if states == {"OPEN"} else "all"
        prs = world.pull_requests_sorted(repo.id, world_state, sort, "asc")
        key = _created_key if sort == "created" else _updated_key
    if states != set(_PR_STATES):
        prs = [pr for pr in prs if pull_request_state(pr) in states]
    if descending:
        prs = prs[::-1]
        ascending_key = key
        key = lambda pr: tuple(-part for part in ascending_key(pr))  # noqa: E731
    return paginate(prs, key, "pullRequests", arguments)


def _pull_request(repo: Repository, info: GraphQLResolveInfo, number: int) -> PullRequest:
    if not 1 <= number <= len(repo.pulls):
        raise QueryError(
            f"Could not resolve to a PullRequest with the number of {number}.", "NOT_FOUND"
        )
    return repo.pulls[number - 1]


def _latest_reviews(pr: PullRequest, info: GraphQLResolveInfo, **arguments: Any) -> Connection:
    reviews = latest_reviews(_context(info).world, pr)
    return paginate(reviews, lambda review: (review.id,), "latestReviews", arguments)


def _number_key(pr: PullRequest) -> SortKey:
    return (pr.number,)


def _created_key(pr: PullRequest) -> SortKey:
    return (pr.created_at, pr.number)  # the world's `sort=created` order


def _updated_key(pr: PullRequest) -> SortKey:
    return (pr.updated_at, pr.number)  # the world's `sort=updated` order


# ---- commits and checks -----------------------------------------------------------------------
def _status_check_rollup(commit: Commit, info: GraphQLResolveInfo) -> Rollup | None:
    _context(info).require("checks")
    world = _context(info).world
    runs = world.check_runs_for_sha(
        commit.repo.id, commit.oid, latest=not world.rollup_keeps_superseded
    )
    statuses = latest_statuses(world, commit.repo.id, commit.oid)
    if not runs and not statuses:
        return None  # GitHub has no rollup for a commit without checks or statuses
    return Rollup(
        commit,
        sorted(runs, key=lambda run: run.id),
        sorted(statuses, key=lambda status: status.id),
    )


def rollup_state(runs: list[CheckRun], statuses: list[CommitStatus]) -> str:
    if any(run.conclusion in FAILING_CONCLUSIONS for run in runs):
        return "FAILURE"
    if any(status.state in ("error", "failure") for status in statuses):
        return "FAILURE"
    if any(run.status != "completed" for run in runs):
        return "PENDING"
    if any(status.state == "pending" for status in statuses):
        return "PENDING"
    return "SUCCESS"


def _contexts(rollup: Rollup, info: GraphQLResolveInfo, **arguments: Any) -> Connection:
    # Check runs first, then statuses; each in id order (the cursor encodes the kind too).
    items: list[CheckRun | CommitStatus] = [*rollup.runs, *rollup.statuses]
    return paginate(items, _context_key, "contexts", arguments)


def _context_key(item: CheckRun | CommitStatus) -> SortKey:
    return (0 if isinstance(item, CheckRun) else 1, item.id)


def _check_suites(commit: Commit, info: GraphQLResolveInfo, **arguments: Any) -> Connection:
    _context(info).require("checks")
    suites = _context(info).world.suites_for_sha(commit.repo.id, commit.oid)
    return paginate(sorted(suites, key=lambda suite: suite.id), _id_key, "checkSuites", arguments)


def _check_runs(suite: CheckSuite, info: GraphQLResolveInfo, **arguments: Any) -> Connection:
    return paginate(latest_runs(suite.runs), _id_key, "checkRuns", arguments)


def _id_key(item: CheckRun | CheckSuite) -> SortKey:
    return (item.id,)


def _labels(pr: PullRequest, info: GraphQLResolveInfo, **arguments: Any) -> Connection:
    names = sorted(pr.labels)
    return paginate(names, lambda name: (names.index(name),), "labels", arguments)


def _upper(value: str | None) -> str | None:
    return value.upper() if value is not None else None


def _app(suite: CheckSuite, info: GraphQLResolveInfo) -> CheckApp | None:
    return _context(info).world.check_apps.get(suite.app_id)


def _attribute(name: str) -> Callable[..., Any]:
    return lambda source, info, **_: getattr(source, name)


def _resolvers() -> dict[str, dict[str, Callable[..., Any]]]:
    connection = {
        "totalCount": _attribute("total_count"),
        "pageInfo": _attribute("page_info"),
        "nodes": _attribute("nodes"),
        "edges": _attribute("edges"),
    }
    return {
        "Query": {"repository": _repository, "rateLimit": _rate_limit},
        "RateLimit": {
            "nodeCount": _attribute("node_count"),
            "resetAt": lambda report, info: iso(report.reset_at),
        },
        "Repository": {
            "id": lambda repo, info: node_id("Repository", repo.id),
            "databaseId": _attribute("id"),
            "nameWithOwner": _attribute("full_name"),
            "object": _object,
            "pullRequests": _pull_requests,
            "pullRequest": _pull_request,
        },
        "Commit": {"statusCheckRollup": _status_check_rollup, "checkSuites": _check_suites},
        "StatusCheckRollup": {
            "state": lambda rollup, info: rollup_state(rollup.runs, rollup.statuses),
            "contexts": _contexts,
        },
        "CheckRun": {
            "id": lambda run, info: node_id("CheckRun", run.id),
            "databaseId": _attribute("id"),
            "status": lambda run, info: run.status.upper(),
            "conclusion": lambda run, info: _upper(run.conclusion),
            "startedAt": lambda run, info: iso(run.started_at),
            "completedAt": lambda run, info: iso(run.completed_at),
            "checkSuite": _attribute("suite"),
        },
        "StatusContext": {
            "id": lambda status, info: node_id("StatusContext", status.id),
            "state": lambda status, info: status.state.upper(),
            "targetUrl": _attribute("target_url"),
            "createdAt": lambda status, info: iso(status.created_at),
        },
        "CheckSuite": {
            "id": lambda suite, info: node_id("CheckSuite", suite.id),
            "databaseId": _attribute("id"),
            "app": _app,
            "status": lambda suite, info: suite.status.upper(),
            "conclusion": lambda suite, info: _upper(suite.conclusion),
            "checkRuns": _check_runs,
        },
        "App": {"id": lambda app, info: node_id("App", app.id), "databaseId": _attribute("id")},
        "Label": {"name": lambda label, info: label},
        "PullRequestReview": {
            "id": lambda review, info: node_id("PullRequestReview", review.id),
            "databaseId": _attribute("id"),
            "author": _attribute("user"),
            "state": lambda review, info: review.state.upper(),
            "submittedAt": lambda review, info: iso(review.submitted_at),
            "commit": lambda review, info: Commit(review.pr.repo, review.commit_id),
        },
        "PullRequest": {
            "reviewDecision": lambda pr, info: review_decision(_context(info).world, pr),
            "latestReviews": _latest_reviews,
            "id": lambda pr, info: node_id("PullRequest", pr.id),
            "databaseId": _attribute("id"),
            "state": lambda pr, info: pull_request_state(pr),
            "isDraft": _attribute("draft"),
            "author": _attribute("author"),
            "labels": _labels,
            "headRefOid": _attribute("head_sha"),
            "headRefName": _attribute("head_ref"),
            "baseRefOid": _attribute("base_sha"),
            "baseRefName": _attribute("base_ref"),
            "isCrossRepository": _attribute("is_fork"),
            "createdAt": lambda pr, info: iso(pr.created_at),
            "updatedAt": lambda pr, info: iso(pr.updated_at),
            "closedAt": lambda pr, info: iso(pr.closed_at),
            "mergedAt": lambda pr, info: iso(pr.merged_at),
        },
        "PageInfo": {
            "hasNextPage": _attribute("has_next_page"),
            "hasPreviousPage": _attribute("has_previous_page"),
            "startCursor": _attribute("start_cursor"),
            "endCursor": _attribute("end_cursor"),
        },
        **{
            name: connection
            for name in (
                "PullRequestConnection",
                "StatusCheckRollupContextConnection",
                "CheckSuiteConnection",
                "CheckRunConnection",
                "LabelConnection",
                "PullRequestReviewConnection",
            )
        },
    }


def _rollup_context_type(context: CheckRun | CommitStatus, *_: object) -> str:
    return "CheckRun" if isinstance(context, CheckRun) else "StatusContext"


def _actor_type(user: User, *_: object) -> str:
    return {"Organization": "Organization", "Bot": "Bot"}.get(user.type, "User")


def _parse_oid(value: object) -> str:
    if not isinstance(value, str) or not _OID.fullmatch(value):
        raise GraphQLError(f"{value!r} is not a valid GitObjectID (hexadecimal, up to 40 digits)")
    return value


def _parse_oid_literal(node: ValueNode, _variables: Any = None) -> str:
    if not isinstance(node, StringValueNode):
        raise GraphQLError("A GitObjectID must be a string")
    return _parse_oid(node.value)


@cache
def schema() -> GraphQLSchema:
    """The executable schema: built on first use, then shared (it holds no state)."""
    built = build_schema(SDL)
    for type_name, fields in _resolvers().items():
        object_type = built.type_map[type_name]
        assert isinstance(object_type, GraphQLObjectType)
        for field_name, resolve in fields.items():
            object_type.fields[field_name].resolve = resolve
    _set_type_resolver(built, "GitObject", lambda commit, *_: "Commit")
    _set_type_resolver(built, "StatusCheckRollupContext", _rollup_context_type)
    _set_type_resolver(built, "Actor", _actor_type)
    oid = built.type_map["GitObjectID"]
    assert isinstance(oid, GraphQLScalarType)
    oid.parse_value = _parse_oid  # type: ignore[method-assign]
    oid.parse_literal = _parse_oid_literal  # type: ignore[method-assign, assignment]
    return built


def _set_type_resolver(built: GraphQLSchema, name: str, resolve: Callable[..., str]) -> None:
    abstract = built.type_map[name]
    assert isinstance(abstract, GraphQLInterfaceType | GraphQLUnionType)
    abstract.resolve_type = resolve
