"""The GraphQL query that verifies many open PRs' check runs at once, and its parser.

Why GraphQL: every open PR's checks must be verified each sweep, because a check run changes
without touching the PR's `updated_at`. REST needs one request per head commit
(`GET …/commits/{ref}/check-runs`): 10,000 open PRs are 10,000 requests a sweep, and even as
free 304s they count toward the secondary limit of 900 requests per minute per route (11
minutes). One GraphQL query reads the rollup of up to 100 commits through aliased
`object(oid:)` lookups; `object` is not a connection, so the cost is one `contexts(first: 100)`
connection per commit: 100 commits cost 1 point. GitHub divides the connections' requests by
100 and *rounds*, with a minimum of 1, so up to 149 commits still cost 1 point: that is the
batch size.
https://docs.github.com/en/graphql/overview/rate-limits-and-query-limits-for-the-graphql-api
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from prwatch.domain.check_runs import CheckRunRow
from prwatch.domain.models import CommitStatusSnapshot
from prwatch.github import validation
from prwatch.github.errors import UnexpectedResponse
from prwatch.github.payloads import PayloadError, check_run_from_graphql, commit_status_from_graphql
from prwatch.sync.skipped import SkippedItem, SkippedKind, SkipReason

COMMITS_PER_QUERY = 149  # round(149 / 100) = 1 point
CONTEXTS_PER_COMMIT = 100
_SHA = re.compile(r"^[0-9a-f]{40}$")

_CHECK_RUN_FIELDS = (
    "databaseId name status conclusion startedAt completedAt checkSuite { databaseId app { slug } }"
)
# Commit statuses (Jenkins, Buildkite, CircleCI, …) sit in the same rollup connection as check
# runs, so reading them adds fields, not connections: the query costs the same points.
_STATUS_CONTEXT_FIELDS = "context state description targetUrl createdAt"


@dataclass(frozen=True, slots=True)
class RepositoryCommits:
    """The head commits of one repository's open PRs whose checks are to be verified."""

    repository_id: int
    owner: str
    name: str
    shas: tuple[str, ...]


@dataclass(slots=True)
class CheckRollups:
    """What one query found: check runs by (repository id, head sha), and what it could not."""

    runs: dict[tuple[int, str], list[CheckRunRow]] = field(default_factory=dict)
    statuses: dict[tuple[int, str], list[CommitStatusSnapshot]] = field(default_factory=dict)
    # Rollup nodes that are not what GitHub documents (a state outside its enum, …): skipped,
    # and reported, so that one odd node does not fail the whole repository.
    skipped: dict[tuple[int, str], list[SkippedItem]] = field(default_factory=dict)
    # Commits with more than CONTEXTS_PER_COMMIT contexts: read them over REST instead.
    truncated: set[tuple[int, str]] = field(default_factory=set)
    missing_repositories: set[int] = field(default_factory=set)
    # A GraphQL error on one commit (FORBIDDEN, say: a private repository's commits need
    # `contents: read`) spoils that commit only: it is read over REST instead.
    unreadable: dict[tuple[int, str], str] = field(default_factory=dict)
    # A GraphQL error on a repository itself, other than NOT_FOUND: that repository fails.
    failed_repositories: dict[int, str] = field(default_factory=dict)


def query_layout(batch: Sequence[RepositoryCommits]) -> list[RepositoryCommits]:
    """The repository blocks of the query for `batch`: one for a batch of one repository;
    one per commit for a batch shared by several, so that a shared query's text depends only
    on its number of commits, whichever repositories it packs (GitHub, and the simulator,
    keep parsed queries by text: a text per packing would be parsed afresh each time)."""
    if len(batch) <= 1:
        return list(batch)
    return [
        RepositoryCommits(repo.repository_id, repo.owner, repo.name, (sha,))
        for repo in batch
        for sha in repo.shas
    ]


def build_check_query(batch: Sequence[RepositoryCommits]) -> tuple[str, dict[str, str]]:
    """One query reading the rollups of every commit in `batch` (≤ COMMITS_PER_QUERY commits),
    and its variables.

    Names and SHAs travel as variables, so the query text depends only on the batch's shape
    (see `query_layout`): GitHub (and the simulator) can reuse the parsed, validated query
    across repositories.
    """
    total = sum(len(repo.shas) for repo in batch)
    if total > COMMITS_PER_QUERY:
        raise ValueError(f"{total} commits in one check query; at most {COMMITS_PER_QUERY}")
    declarations: list[str] = []
    body: list[str] = []
    variables: dict[str, str] = {}
    for r, repo in enumerate(query_layout(batch)):
        declarations.append(f"$o{r}: String!, $n{r}: String!")
        variables[f"o{r}"], variables[f"n{r}"] = repo.owner, repo.name
        body.append(f" r{r}: repository(owner: $o{r}, name: $n{r}) {{ databaseId")
        for c, sha in enumerate(repo.shas):
            if not _SHA.match(sha):
                raise ValueError(f"not a commit SHA: {sha!r}")
            declarations.append(f"$s{r}_{c}: GitObjectID!")
            variables[f"s{r}_{c}"] = sha
            body.append(
                f" c{c}: object(oid: $s{r}_{c}) {{ ... on Commit {{ oid statusCheckRollup {{"
                f" contexts(first: {CONTEXTS_PER_COMMIT}) {{ pageInfo {{ hasNextPage }}"
                f" nodes {{ __typename ... on CheckRun {{ {_CHECK_RUN_FIELDS} }}"
                f" ... on StatusContext {{ {_STATUS_CONTEXT_FIELDS} }} }} }} }} }} }}"
            )
        body.append(" }")
    header = (
        f"query({', '.join(declarations)}) {{ rateLimit {{ cost remaining limit resetAt used }}"
    )
    return header + "".join(body) + " }", variables


def parse_check_rollups(
    batch: Sequence[RepositoryCommits],
    data: Mapping[str, Any],
    errors: Sequence[Mapping[str, Any]] = (),
) -> CheckRollups:
    """Check runs and statuses per commit from the query's `data`, decoded. A commit without
    checks maps to [] in both. (The sweep decodes the usual answer faster, with the same
    result: ``prwatch.sync.check_reply``.)

    ``errors`` are the answer's GraphQL errors, each put where its ``path`` points: on a
    commit (that commit is unreadable), on a repository (NOT_FOUND: missing; else failed).
    An error that points at neither raises UnexpectedResponse."""
    found = CheckRollups()
    layout = query_layout(batch)  # errors' paths and the data follow the query's blocks
    place_errors(layout, errors, found)
    for r, repo in enumerate(layout):
        if repo.repository_id in found.failed_repositories:
            continue
        repository = data.get(f"r{r}")
        if not isinstance(repository, Mapping):
            found.missing_repositories.add(repo.repository_id)
            continue
        for c, sha in enumerate(repo.shas):
            key = (repo.repository_id, sha)
            found.runs[key] = []
            found.statuses[key] = []
            if key in found.unreadable:
                continue
            commit = repository.get(f"c{c}")
            if commit is None:
                continue  # unknown to GitHub yet (eventual consistency): nothing to verify
            # False: no object where a commit belongs (unreadable, below).
            rollup = commit.get("statusCheckRollup") if isinstance(commit, Mapping) else False
            if rollup is None:
                continue  # no checks at all: GitHub answers null
            contexts = (rollup.get("contexts") or {}) if isinstance(rollup, Mapping) else None
            nodes = (contexts.get("nodes") or []) if isinstance(contexts, Mapping) else None
            page = (contexts.get("pageInfo") or {}) if isinstance(contexts, Mapping) else None
            if not isinstance(nodes, list) or not isinstance(page, Mapping):
                # Not what the query asked for: this commit only, read over REST.
                found.unreadable[key] = "its check rollup is not as GitHub documents it"
                continue
            if page.get("hasNextPage"):
                found.truncated.add(key)
            for node in nodes:
                typename = node.get("__typename") if isinstance(node, Mapping) else None
                if not isinstance(typename, str):
                    found.skipped.setdefault(key, []).append(
                        SkippedItem(
                            SkippedKind.ROLLUP_NODE,
                            SkipReason.INVALID,
                            f"a rollup node without a type: {validation.shown(node)}",
                        )
                    )
                    continue
                if typename == "CheckRun":
                    if node.get("databaseId") is None:
                        # Nullable in GitHub's schema: a run prwatch cannot key by id is not
                        # one it can store; the others of the commit still count.
                        continue
                    try:
                        run = check_run_from_graphql(node, repo.repository_id, head_sha=sha)
                    except PayloadError as error:
                        skipped = SkippedItem.refused(SkippedKind.CHECK_RUN, error)
                        found.skipped.setdefault(key, []).append(skipped)
                        continue
                    found.runs[key].append(CheckRunRow.of(run))
                elif typename == "StatusContext":
                    try:
                        status = commit_status_from_graphql(node, repo.repository_id, sha)
                    except PayloadError as error:
                        skipped = SkippedItem.refused(SkippedKind.COMMIT_STATUS, error)
                        found.skipped.setdefault(key, []).append(skipped)
                        continue
                    found.statuses[key].append(status)
    return found


_REPOSITORY_ALIAS = re.compile(r"^r(\d+)$")
_COMMIT_ALIAS = re.compile(r"^c(\d+)$")


def place_errors(
    batch: Sequence[RepositoryCommits], errors: Sequence[Mapping[str, Any]], found: CheckRollups
) -> None:
    for error in errors:
        kind = str(error.get("type") or "")
        message = f"{kind or 'error'}: {error.get('message') or 'no message'}"
        path = error.get("path")
        path = path if isinstance(path, list) else []
        if path and path[0] == "rateLimit":
            continue  # the cost report only: the commits are unharmed
        repository = _REPOSITORY_ALIAS.match(str(path[0])) if path else None
        if repository is None or int(repository.group(1)) >= len(batch):
            raise UnexpectedResponse(f"check query failed: {message}")
        repo = batch[int(repository.group(1))]
        commit = _COMMIT_ALIAS.match(str(path[1])) if len(path) > 1 else None
        if commit is not None and int(commit.group(1)) < len(repo.shas):
            found.unreadable[(repo.repository_id, repo.shas[int(commit.group(1))])] = message
        elif kind == "NOT_FOUND":
            found.missing_repositories.add(repo.repository_id)
        else:
            found.failed_repositories[repo.repository_id] = message
