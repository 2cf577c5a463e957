"""The physical limit of a sweep scenario: the fewest requests and points any poller could
spend to detect the changes that happened, under GitHub's API as it is.

The model (a lower bound, stated so a reader can check it):

- every installation needs a token (1 request, App-authenticated, no installation points)
  and its repository list (1 request per 100 repositories; 0 points when unchanged: 304);
- cold: every PR is read once, 100 per page (1 point per page), and every open PR's check
  runs once through GraphQL, 100 PRs per query (GraphQL charges at least 1 point a query);
- later sweeps: one conditional PR listing per repository (a 304 costs 0 points; a changed
  repository answers 200 for 1 point with its changed PRs on the first page); check runs
  change without touching their PR, so the open PRs' check runs are asked again, 100 PRs per
  GraphQL query.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from math import ceil
from typing import Any

from bench.correctness import View


@dataclass(frozen=True, slots=True)
class Limit:
    requests: int
    points: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _shape(view: View) -> tuple[dict[int, int], int]:
    prs_per_repo: dict[int, int] = {key[1]: 0 for key in view if key[0] == "repo"}
    open_prs = 0
    for key, value in view.items():
        if key[0] == "pr":
            prs_per_repo[key[1]] = prs_per_repo.get(key[1], 0) + 1
            open_prs += value[2] == "open"
    return prs_per_repo, open_prs


def cold_limit(after: View, installations: int) -> Limit:
    prs_per_repo, open_prs = _shape(after)
    inventory = installations + ceil(len(prs_per_repo) / 100)
    pages = sum(max(1, ceil(n / 100)) for n in prs_per_repo.values())
    graphql = ceil(open_prs / 100)
    return Limit(
        requests=inventory + pages + graphql, points=inventory - installations + pages + graphql
    )


def later_limit(
    before: View, after: View, expected: set[tuple[Any, ...]], installations: int
) -> Limit:
    prs_per_repo, open_prs = _shape(after)
    inventory_changed = any(key[0] == "repo" for key in expected)
    changed_repos = {key[1] for key in expected if key[0] == "pr" and ("repo", key[1]) in after}
    inventory = installations + ceil(len(prs_per_repo) / 100)
    graphql = ceil(open_prs / 100)
    requests = inventory + len(prs_per_repo) + graphql
    points = (installations if inventory_changed else 0) + len(changed_repos) + graphql
    return Limit(requests=requests, points=points)
