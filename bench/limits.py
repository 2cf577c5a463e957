"""The physical limit of a sweep scenario: the fewest requests and points any poller could
spend to detect the changes that happened, under GitHub's API as it is.

The model (a lower bound, stated so a reader can check it), per installation of the App:

- the App lists its installations (1 request per 100 installations, App-authenticated: no
  installation points), every sweep, since nothing else tells a poller of a new one;
- cold: every installation needs a token (1 request, App-authenticated, no points); later
  sweeps reuse it (a token lives an hour);
- every installation's repository list: 1 request per 100 repositories, 1 point each when it
  changed (cold, or a repository left, came or was renamed), 0 when unchanged (304);
- cold: every PR is read once, 100 per page (1 point per page, at least one page per
  repository), and every open PR's check runs once through GraphQL, 149 PRs' head commits per
  query (GitHub divides a query's connections by 100 and rounds, at least 1 point: 149 cost 1;
  a query runs with one installation's token, so queries do not mix installations);
- later sweeps: one conditional PR listing per repository (a 304 costs 0 points; a changed
  repository answers 200 for 1 point with its changed PRs on the first page); check runs
  change without touching their PR, so the open PRs' check runs are asked again, 149 PRs per
  GraphQL query.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from math import ceil
from typing import Any

from bench.correctness import View
from prwatch.sync.check_query import COMMITS_PER_QUERY

PAGE = 100  # items per REST page


@dataclass(frozen=True, slots=True)
class Limit:
    requests: int
    points: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Shape:
    """One installation's watched repositories: how many PRs each has, and how many are open."""

    prs_per_repo: Mapping[int, int] = field(default_factory=dict)
    open_prs: int = 0

    def listing_pages(self) -> int:
        return max(1, ceil(len(self.prs_per_repo) / PAGE))

    def graphql_queries(self) -> int:
        return ceil(self.open_prs / COMMITS_PER_QUERY)


def shape_of(view: View) -> Shape:
    """The shape of a view (``bench.correctness.truth_view``) with its PR values unhashed."""
    prs_per_repo: dict[int, int] = {int(key[1]): 0 for key in view if key[0] == "repo"}
    open_prs = 0
    for key, value in view.items():
        if key[0] == "pr":
            repo_id = int(key[1])
            prs_per_repo[repo_id] = prs_per_repo.get(repo_id, 0) + 1
            open_prs += value[2] == "open"
    return Shape(prs_per_repo, open_prs)


def cold_limit_of(shapes: Sequence[Shape]) -> Limit:
    """A first sweep over these installations."""
    app = ceil(len(shapes) / PAGE)
    tokens = len(shapes)
    listings = sum(shape.listing_pages() for shape in shapes)
    pages = sum(max(1, ceil(n / PAGE)) for shape in shapes for n in shape.prs_per_repo.values())
    graphql = sum(shape.graphql_queries() for shape in shapes)
    return Limit(
        requests=app + tokens + listings + pages + graphql, points=listings + pages + graphql
    )


def later_limit_of(
    shapes: Sequence[Shape], *, changed_installations: Iterable[int], changed_repos: int
) -> Limit:
    """A later sweep: ``changed_installations`` indexes ``shapes`` whose repository list
    changed; ``changed_repos`` repositories (still watched) have PRs that changed."""
    changed = set(changed_installations)
    app = ceil(len(shapes) / PAGE)
    listings = sum(shape.listing_pages() for shape in shapes)
    repos = sum(len(shape.prs_per_repo) for shape in shapes)
    graphql = sum(shape.graphql_queries() for shape in shapes)
    changed_listings = sum(shapes[i].listing_pages() for i in changed)
    return Limit(
        requests=app + listings + repos + graphql,
        points=changed_listings + changed_repos + graphql,
    )


def changed_repositories(expected: Iterable[tuple[Hashable, ...]], after: View) -> set[Hashable]:
    """Repositories still watched whose PRs changed."""
    return {key[1] for key in expected if key[0] == "pr" and ("repo", key[1]) in after}


def cold_limit(after: View, installations: int) -> Limit:
    """One view for all installations (the default scale has one): their repositories and
    open PRs are pooled as though in the first installation, a lower bound still."""
    return cold_limit_of([shape_of(after)] + [Shape()] * (installations - 1))


def later_limit(
    before: View, after: View, expected: set[tuple[Any, ...]], installations: int
) -> Limit:
    shapes = [shape_of(after)] + [Shape()] * (installations - 1)
    inventory_changed = any(key[0] == "repo" for key in expected)
    return later_limit_of(
        shapes,
        changed_installations=range(installations) if inventory_changed else (),
        changed_repos=len(changed_repositories(expected, after)),
    )
