"""Check-run discovery: the check runs on the head commits of a repository's open PRs.

GraphQL first (see check_query for why); a commit with more check runs than one rollup page
holds is read over REST, page by page.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from prwatch.domain.models import CheckRunSnapshot
from prwatch.github.errors import UnexpectedResponse
from prwatch.github.pagination import iterate_pages
from prwatch.github.payloads import check_run_from_json
from prwatch.github.port import RestReader
from prwatch.github.responses import GraphQLResponse
from prwatch.sync.check_query import (
    RepositoryCommits,
    batch_commits,
    build_check_query,
    parse_check_rollups,
)

CHECK_RUNS_ROUTE = "GET /repos/{owner}/{repo}/commits/{ref}/check-runs"


class CheckApi(RestReader, Protocol):
    async def graphql(
        self,
        query: str,
        *,
        installation_id: int,
        variables: Mapping[str, Any] | None = None,
        spend_reserve: bool = False,
    ) -> GraphQLResponse: ...


async def discover_check_runs(
    api: CheckApi, *, installation_id: int, commits: RepositoryCommits
) -> dict[str, list[CheckRunSnapshot]]:
    """Every check run GitHub shows for each of `commits.shas` (latest per suite and name)."""
    found: dict[str, list[CheckRunSnapshot]] = {sha: [] for sha in commits.shas}
    for batch in batch_commits([commits]):
        query, variables = build_check_query(batch)
        response = await api.graphql(query, installation_id=installation_id, variables=variables)
        unexpected = [t for t in response.error_types() if t != "NOT_FOUND"]
        if unexpected or not isinstance(response.data, Mapping):
            raise UnexpectedResponse(
                f"check query for {commits.owner}/{commits.name} failed: "
                f"{', '.join(unexpected) or 'no data'}"
            )
        rollups = parse_check_rollups(batch, response.data)
        if rollups.missing_repositories:
            raise UnexpectedResponse(
                f"GraphQL does not resolve {commits.owner}/{commits.name} (REST listed it)"
            )
        for (_, sha), runs in rollups.runs.items():
            found[sha] = runs
        for _, sha in sorted(rollups.truncated):
            found[sha] = await _check_runs_over_rest(api, installation_id, commits, sha)
    return found


async def _check_runs_over_rest(
    api: RestReader, installation_id: int, commits: RepositoryCommits, sha: str
) -> list[CheckRunSnapshot]:
    runs: list[CheckRunSnapshot] = []
    async for response in iterate_pages(
        api,
        f"/repos/{commits.owner}/{commits.name}/commits/{sha}/check-runs",
        installation_id=installation_id,
        route=CHECK_RUNS_ROUTE,
        params={"per_page": 100},
    ):
        if response.status != 200:
            raise UnexpectedResponse(f"{response.url} answered {response.status}")
        body = response.json()
        items: Sequence[Any] = body.get("check_runs", []) if isinstance(body, dict) else []
        runs.extend(check_run_from_json(item, commits.repository_id) for item in items)
    return runs
