"""Reviews of the PRs a sweep's listing says changed: one GraphQL query per 149 of them.

A review moves its PR's `updated_at`, so the PRs the listing returns (changed since the
watermark) are the only ones whose reviews can have changed; a sweep in which nothing changed
reads none. Each PR costs one `latestReviews(first: 100)` connection and `reviewDecision` is a
plain field, so 149 PRs of a repository cost 1 point (GitHub divides by 100 and rounds).
https://docs.github.com/en/graphql/overview/rate-limits-and-query-limits-for-the-graphql-api
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from prwatch.domain.models import ReviewSnapshot
from prwatch.github.errors import GitHubUnavailable, UnexpectedResponse
from prwatch.github.payloads import PayloadError, review_decision_from_graphql, review_from_graphql
from prwatch.github.port import GraphQLApi
from prwatch.sync.skipped import SkippedItem, SkippedKind, SkipReason

PULLS_PER_QUERY = 149
REVIEWS_PER_PULL = 100
_REVIEW_FIELDS = "databaseId author { login } state submittedAt commit { oid }"


@dataclass(slots=True)
class PullReviews:
    reviews: list[ReviewSnapshot] = field(default_factory=list)
    decisions: dict[int, str | None] = field(default_factory=dict)  # by PR number
    skipped: list[SkippedItem] = field(default_factory=list)  # not as GitHub documents them
    queries: int = 0


def build_review_query(count: int) -> str:
    """The query text for ``count`` PRs of one repository (variables $o, $n, $p0…)."""
    if not 1 <= count <= PULLS_PER_QUERY:
        raise ValueError(f"1 to {PULLS_PER_QUERY} PRs in one review query, not {count}")
    declarations = ["$o: String!", "$n: String!", *(f"$p{i}: Int!" for i in range(count))]
    pulls = "".join(
        f" p{i}: pullRequest(number: $p{i}) {{ number reviewDecision"
        f" latestReviews(first: {REVIEWS_PER_PULL}) {{ pageInfo {{ hasNextPage }}"
        f" nodes {{ {_REVIEW_FIELDS} }} }} }}"
        for i in range(count)
    )
    return (
        f"query({', '.join(declarations)}) {{ rateLimit {{ cost remaining limit resetAt used }}"
        f" repository(owner: $o, name: $n) {{{pulls} }} }}"
    )


def parse_reviews(
    repository_id: int, numbers: Sequence[int], data: Mapping[str, Any], found: PullReviews
) -> None:
    repository = data.get("repository")
    if not isinstance(repository, Mapping):
        return
    for i, number in enumerate(numbers):
        pull = repository.get(f"p{i}")
        if not isinstance(pull, Mapping):
            continue  # not visible yet (eventual consistency): the next sweep reads it
        where = f"#{number}"
        try:
            found.decisions[number] = review_decision_from_graphql(pull.get("reviewDecision"))
        except PayloadError as error:
            found.skipped.append(SkippedItem.refused(SkippedKind.REVIEW_DECISION, error, where))
        connection = pull.get("latestReviews") or {}
        nodes = (connection.get("nodes") or []) if isinstance(connection, Mapping) else None
        page = (connection.get("pageInfo") or {}) if isinstance(connection, Mapping) else None
        if not isinstance(nodes, list) or not isinstance(page, Mapping):
            note = f"{where}: latestReviews is not as GitHub documents it"
            found.skipped.append(SkippedItem(SkippedKind.REVIEW, SkipReason.INVALID, note))
            continue
        if page.get("hasNextPage"):
            note = f"{where}: more than {REVIEWS_PER_PULL} reviewers, first kept"
            found.skipped.append(SkippedItem(SkippedKind.REVIEW, SkipReason.TOO_MANY, note))
        for node in nodes:
            try:
                found.reviews.append(review_from_graphql(node, repository_id, number))
            except PayloadError as error:
                found.skipped.append(SkippedItem.refused(SkippedKind.REVIEW, error, where))


async def read_reviews(
    api: GraphQLApi,
    *,
    installation_id: int,
    repository_id: int,
    owner: str,
    name: str,
    numbers: Sequence[int],
) -> PullReviews:
    """The latest review per reviewer and the review decision of each PR in ``numbers``."""
    found = PullReviews()
    ordered = sorted(set(numbers))
    chunks = [
        ordered[start : start + PULLS_PER_QUERY]
        for start in range(0, len(ordered), PULLS_PER_QUERY)
    ]
    chunks.reverse()
    while chunks:
        chunk = chunks.pop()
        variables: dict[str, Any] = {"o": owner, "n": name}
        variables |= {f"p{i}": number for i, number in enumerate(chunk)}
        try:
            response = await api.graphql(
                build_review_query(len(chunk)), installation_id=installation_id, variables=variables
            )
        except GitHubUnavailable:
            if len(chunk) < 2:
                raise
            # A 502/504: GitHub cut a query past 10 s; its halves are sent instead, once each.
            # https://docs.github.com/en/graphql/overview/rate-limits-and-query-limits-for-the-graphql-api#timeouts
            half = len(chunk) // 2
            chunks.extend((chunk[half:], chunk[:half]))
            continue
        found.queries += 1
        unexpected = [t for t in response.error_types() if t != "NOT_FOUND"]
        if unexpected or not isinstance(response.data, Mapping):
            raise UnexpectedResponse(
                f"review query for {owner}/{name} failed: {', '.join(unexpected) or 'no data'}"
            )
        parse_reviews(repository_id, chunk, response.data, found)
    return found
