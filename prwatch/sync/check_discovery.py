"""Check-run discovery: the check runs on the head commits of a repository's open PRs.

GraphQL first (see check_query for why), in queries shared with the other repositories swept
at the same time (see shared_check_queries); a commit with more check runs than one rollup page
holds is read over REST, page by page.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from prwatch.domain.models import CheckRunSnapshot
from prwatch.github.errors import UnexpectedResponse
from prwatch.github.pagination import iterate_pages
from prwatch.github.payloads import check_run_from_json
from prwatch.github.port import GraphQLApi, RestReader
from prwatch.sync.check_query import RepositoryCommits
from prwatch.sync.shared_check_queries import SharedCheckQueries

CHECK_RUNS_ROUTE = "GET /repos/{owner}/{repo}/commits/{ref}/check-runs"


class CheckApi(RestReader, GraphQLApi, Protocol):
    """What check discovery needs of the GitHub client."""


async def discover_check_runs(
    api: CheckApi,
    *,
    installation_id: int,
    commits: RepositoryCommits,
    shared: SharedCheckQueries | None = None,
) -> dict[str, list[CheckRunSnapshot]]:
    """Every check run GitHub shows for each of `commits.shas` (latest per suite and name).

    With ``shared``, the GraphQL queries carry other repositories' commits too."""
    queries = shared if shared is not None else SharedCheckQueries()
    checks = await queries.read(api, installation_id=installation_id, commits=commits)
    if checks.missing:
        raise UnexpectedResponse(
            f"GraphQL does not resolve {commits.owner}/{commits.name} (REST listed it)"
        )
    found = checks.runs
    for sha in sorted(checks.truncated):
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
