"""Check discovery: the check runs and commit statuses on the head commits of a repository's
open PRs.

GraphQL first (see check_query for why), in queries shared with the other repositories swept
at the same time (see shared_check_queries); a commit with more contexts than one rollup page
holds is read over REST: its check runs page by page, and its combined status (the latest
status per context) conditionally, with the ETag of the last read.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from prwatch.domain.check_runs import CheckRunRow
from prwatch.domain.models import CommitStatusSnapshot
from prwatch.github.errors import UnexpectedResponse
from prwatch.github.pagination import iterate_pages
from prwatch.github.payloads import PayloadError, check_run_from_json, commit_status_from_json
from prwatch.github.port import GraphQLApi, RestReader
from prwatch.sync.check_query import RepositoryCommits
from prwatch.sync.shared_check_queries import RepositoryChecks, SharedCheckQueries
from prwatch.sync.skipped import SkippedItem, SkippedKind

log = logging.getLogger(__name__)

CHECK_RUNS_ROUTE = "GET /repos/{owner}/{repo}/commits/{ref}/check-runs"
COMBINED_STATUS_ROUTE = "GET /repos/{owner}/{repo}/commits/{ref}/status"


class CheckApi(RestReader, GraphQLApi, Protocol):
    """What check discovery needs of the GitHub client."""


class EtagReader(Protocol):
    """Stored ETags by key (read only when a commit needs the REST fallback)."""

    async def get(self, keys: list[str]) -> dict[str, str]: ...


def combined_status_etag_key(repository_id: int, sha: str) -> str:
    return f"status:{repository_id}:{sha}"


@dataclass(slots=True)
class CommitChecks:
    """What discovery found on a repository's head commits."""

    runs: dict[str, list[CheckRunRow]]  # every sha asked for
    statuses: dict[str, list[CommitStatusSnapshot]]
    skipped: list[SkippedItem] = field(default_factory=list)  # not as GitHub documents them
    # Combined-status ETags to keep: key → (etag, token fingerprint).
    etags: dict[str, tuple[str, str]] = field(default_factory=dict)


async def discover_checks(
    api: CheckApi,
    *,
    installation_id: int,
    commits: RepositoryCommits,
    shared: SharedCheckQueries | None = None,
    status_etags: EtagReader | None = None,
) -> CommitChecks:
    """Every check run GitHub shows for each of `commits.shas` (latest per suite and name),
    and every commit status (latest per context).

    With ``shared``, the GraphQL queries carry other repositories' commits too.
    ``status_etags``: the stored combined-status ETags (``combined_status_etag_key``)."""
    queries = shared if shared is not None else SharedCheckQueries()
    checks: RepositoryChecks = await queries.read(
        api, installation_id=installation_id, commits=commits
    )
    if checks.missing:
        raise UnexpectedResponse(
            f"GraphQL does not resolve {commits.owner}/{commits.name} (REST listed it)"
        )
    found = CommitChecks(checks.runs, checks.statuses, list(checks.skipped))
    if checks.unreadable:
        log.warning(
            "check rollups unreadable over GraphQL, reading them over REST",
            extra={
                "repository": f"{commits.owner}/{commits.name}",
                "commits": len(checks.unreadable),
                "error": next(iter(checks.unreadable.values())),
            },
        )
    # Past one rollup page, or spoiled by a GraphQL error on the commit: read over REST.
    truncated = sorted(checks.truncated | checks.unreadable.keys())
    etags: Mapping[str, str] = {}
    if truncated and status_etags is not None:
        etags = await status_etags.get(
            [combined_status_etag_key(commits.repository_id, sha) for sha in truncated]
        )
    for sha in truncated:
        found.runs[sha] = await _check_runs_over_rest(api, installation_id, commits, sha, found)
        etag = etags.get(combined_status_etag_key(commits.repository_id, sha))
        found.statuses[sha] = await _combined_status(
            api, installation_id, commits, sha, etag, found
        )
    return found


async def _check_runs_over_rest(
    api: RestReader,
    installation_id: int,
    commits: RepositoryCommits,
    sha: str,
    found: CommitChecks,
) -> list[CheckRunRow]:
    """Every check run of one commit; one GitHub answers out of its documented shape is
    skipped and reported, the others kept."""
    runs: list[CheckRunRow] = []
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
        items = body.get("check_runs") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise UnexpectedResponse(f"{response.url} answered no list of check_runs")
        for item in items:
            try:
                runs.append(CheckRunRow.of(check_run_from_json(item, commits.repository_id)))
            except PayloadError as error:
                found.skipped.append(SkippedItem.refused(SkippedKind.CHECK_RUN, error, sha))
    return runs


async def _combined_status(
    api: RestReader,
    installation_id: int,
    commits: RepositoryCommits,
    sha: str,
    etag: str | None,
    found: CommitChecks,
) -> list[CommitStatusSnapshot]:
    """The latest status per context of one commit; [] when unchanged since ``etag`` (the
    stored rows are that answer already: statuses are never deleted).

    The ETag is kept only for an answer of one page: page 1's ETag says nothing of page 2.
    https://docs.github.com/en/rest/commits/statuses#get-the-combined-status-for-a-specific-reference
    """
    statuses: list[CommitStatusSnapshot] = []
    pages = 0
    first_etag: tuple[str, str] | None = None
    async for response in iterate_pages(
        api,
        f"/repos/{commits.owner}/{commits.name}/commits/{sha}/status",
        installation_id=installation_id,
        route=COMBINED_STATUS_ROUTE,
        params={"per_page": 100},
        etag=etag,
    ):
        pages += 1
        if response.not_modified:
            return []
        if response.status != 200:
            raise UnexpectedResponse(f"{response.url} answered {response.status}")
        if pages == 1 and response.etag and response.token_fingerprint:
            first_etag = (response.etag, response.token_fingerprint)
        body = response.json()
        items = body.get("statuses") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise UnexpectedResponse(f"{response.url} answered no list of statuses")
        for item in items:
            try:
                statuses.append(commit_status_from_json(item, commits.repository_id, sha=sha))
            except PayloadError as error:
                found.skipped.append(SkippedItem.refused(SkippedKind.COMMIT_STATUS, error, sha))
    if pages == 1 and first_etag is not None:
        found.etags[combined_status_etag_key(commits.repository_id, sha)] = first_etag
    return statuses
