"""The GraphQL query that verifies many open PRs' check runs at once, and its parser.

Why GraphQL: every open PR's checks must be verified each sweep, because a check run changes
without touching the PR's `updated_at`. REST needs one request per head commit
(`GET …/commits/{ref}/check-runs`): 10,000 open PRs are 10,000 requests a sweep, and even as
free 304s they count toward the secondary limit of 900 requests per minute per route (11
minutes). One GraphQL query reads the rollup of many commits through aliased
`repository { object(oid:) }` lookups; neither is a connection, so the cost is one
`contexts(first: 100)` connection per commit: 100 commits cost 1 point. GitHub divides the
connections' requests by 100 and *rounds*, with a minimum of 1, so up to 149 commits still
cost 1 point: that is the batch size.
https://docs.github.com/en/graphql/overview/rate-limits-and-query-limits-for-the-graphql-api
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from prwatch.domain.models import CheckRunSnapshot
from prwatch.github.payloads import check_run_from_graphql

COMMITS_PER_QUERY = 149  # round(149 / 100) = 1 point
CONTEXTS_PER_COMMIT = 100
_SHA = re.compile(r"^[0-9a-f]{40}$")

_CHECK_RUN_FIELDS = (
    "databaseId name status conclusion startedAt completedAt checkSuite { databaseId app { slug } }"
)


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

    runs: dict[tuple[int, str], list[CheckRunSnapshot]] = field(default_factory=dict)
    # Commits with more than CONTEXTS_PER_COMMIT contexts: read them over REST instead.
    truncated: set[tuple[int, str]] = field(default_factory=set)
    missing_repositories: set[int] = field(default_factory=set)


def build_check_query(batch: Sequence[RepositoryCommits]) -> tuple[str, dict[str, str]]:
    """One query reading the rollups of every commit in `batch` (≤ COMMITS_PER_QUERY commits),
    and its variables.

    Each commit is looked up through its own ``repository`` (not a connection: free), so the
    query text depends only on the number of commits, never on how they split between
    repositories: GitHub (and the simulator) parse and validate few distinct texts, however
    sweeps share queries. Names and SHAs travel as variables.
    """
    total = sum(len(repo.shas) for repo in batch)
    if total > COMMITS_PER_QUERY:
        raise ValueError(f"{total} commits in one check query; at most {COMMITS_PER_QUERY}")
    declarations: list[str] = []
    body: list[str] = []
    variables: dict[str, str] = {}
    commits = [(repo, sha) for repo in batch for sha in repo.shas]
    for i, (repo, sha) in enumerate(commits):
        if not _SHA.match(sha):
            raise ValueError(f"not a commit SHA: {sha!r}")
        declarations.append(f"$o{i}: String!, $n{i}: String!, $s{i}: GitObjectID!")
        variables[f"o{i}"], variables[f"n{i}"], variables[f"s{i}"] = repo.owner, repo.name, sha
        body.append(
            f" c{i}: repository(owner: $o{i}, name: $n{i}) {{ databaseId"
            f" object(oid: $s{i}) {{ ... on Commit {{ oid statusCheckRollup {{"
            f" contexts(first: {CONTEXTS_PER_COMMIT}) {{ pageInfo {{ hasNextPage }}"
            f" nodes {{ __typename ... on CheckRun {{ {_CHECK_RUN_FIELDS} }} }} }} }} }} }} }}"
        )
    header = (
        f"query({', '.join(declarations)}) {{ rateLimit {{ cost remaining limit resetAt used }}"
    )
    return header + "".join(body) + " }", variables


def parse_check_rollups(
    batch: Sequence[RepositoryCommits], data: Mapping[str, Any]
) -> CheckRollups:
    """Check runs per commit from the query's `data`. A commit without checks maps to []."""
    found = CheckRollups()
    i = 0
    for repo in batch:
        for sha in repo.shas:
            key = (repo.repository_id, sha)
            found.runs[key] = []
            repository = data.get(f"c{i}")
            i += 1
            if not isinstance(repository, Mapping):
                found.missing_repositories.add(repo.repository_id)
                continue
            commit = repository.get("object")
            if not isinstance(commit, Mapping):
                continue  # unknown to GitHub yet (eventual consistency): nothing to verify
            rollup = commit.get("statusCheckRollup")
            if not isinstance(rollup, Mapping):
                continue  # no checks at all: GitHub answers null
            contexts = rollup.get("contexts") or {}
            if (contexts.get("pageInfo") or {}).get("hasNextPage"):
                found.truncated.add(key)
            for node in contexts.get("nodes") or ():
                if isinstance(node, Mapping) and node.get("__typename") == "CheckRun":
                    found.runs[key].append(
                        check_run_from_graphql(node, repo.repository_id, head_sha=sha)
                    )
    return found
