"""The physical limit of a sweep over several installations (bench/limits.py)."""

from __future__ import annotations

from typing import Any

from bench.correctness import View, changed_keys, digest_view
from bench.limits import (
    Limit,
    Shape,
    changed_repositories,
    cold_limit,
    cold_limit_of,
    later_limit,
    later_limit_of,
    shape_of,
)


def installation(repos: int, prs: int, open_per_repo: int) -> Shape:
    return Shape({r: prs for r in range(repos)}, open_prs=repos * open_per_repo)


def view(repos: int, prs: int, open_per_repo: int, first_repo: int = 1) -> View:
    found: View = {}
    for repo in range(first_repo, first_repo + repos):
        found[("repo", repo)] = f"acme/r{repo}"
        for number in range(1, prs + 1):
            state = "open" if number <= open_per_repo else "closed"
            found[("pr", repo, number)] = (repo * 1000 + number, "node", state)
    return found


def test_scale_up_cold_limit() -> None:
    # 10 installations x 100 repositories x 1,000 PRs, 100 open per repository: the App lists
    # its installations once, takes 10 tokens, lists 10 x 1 page of repositories, reads
    # 1,000 x 10 pages of PRs and asks 10 x 68 GraphQL queries for the 10,000 open PRs of
    # each installation (149 head commits cost 1 point: GitHub rounds 1.49 down).
    shapes = [installation(100, 1000, 100)] * 10
    assert cold_limit_of(shapes) == Limit(
        requests=1 + 10 + 10 + 10_000 + 680, points=10 + 10_000 + 680
    )


def test_scale_up_no_change_limit_is_below_one_point_per_100_open_prs() -> None:
    shapes = [installation(100, 1000, 100)] * 10
    limit = later_limit_of(shapes, changed_installations=(), changed_repos=0)
    assert limit == Limit(requests=1 + 10 + 1_000 + 680, points=680)


def test_graphql_queries_do_not_mix_installations() -> None:
    # 70 open PRs in each of two installations: one query could hold them all, but a query
    # runs with one installation's token.
    two = [installation(1, 100, 70), installation(1, 100, 70)]
    one = [installation(2, 100, 70)]
    assert later_limit_of(two, changed_installations=(), changed_repos=0).points == 2
    assert later_limit_of(one, changed_installations=(), changed_repos=0).points == 1


def test_changed_repository_lists_cost_their_pages_only() -> None:
    shapes = [installation(150, 10, 0), installation(10, 10, 0)]
    unchanged = later_limit_of(shapes, changed_installations=(), changed_repos=3)
    first = later_limit_of(shapes, changed_installations=[0], changed_repos=3)
    second = later_limit_of(shapes, changed_installations=[1], changed_repos=3)
    assert unchanged.points == 3
    assert first.points == 3 + 2  # 150 repositories: two pages
    assert second.points == 3 + 1
    assert unchanged.requests == first.requests == 1 + (2 + 1) + 160


def test_an_installation_without_repositories_still_lists_them_once() -> None:
    assert cold_limit_of([Shape()]) == Limit(requests=1 + 1 + 1, points=1)


def test_a_hundred_and_one_installations_take_two_listing_pages() -> None:
    shapes = [Shape()] * 101
    assert cold_limit_of(shapes).requests == 2 + 101 + 101


def test_shape_of_a_view() -> None:
    shape = shape_of(view(repos=3, prs=250, open_per_repo=20))
    assert dict(shape.prs_per_repo) == {1: 250, 2: 250, 3: 250}
    assert shape.open_prs == 60
    assert shape.listing_pages() == 1 and shape.graphql_queries() == 1


def test_one_installation_from_a_view() -> None:
    before = view(repos=2, prs=250, open_per_repo=20)
    # cold: app listing + token + repositories page + 2 x 3 PR pages + 1 GraphQL query
    assert cold_limit(before, 1) == Limit(requests=1 + 1 + 1 + 6 + 1, points=1 + 6 + 1)
    after: dict[Any, Any] = dict(before)
    after[("pr", 1, 5)] = (1005, "node", "closed")
    expected = changed_keys(before, after)
    assert changed_repositories(expected, after) == {1}
    assert later_limit(before, after, expected, 1) == Limit(requests=1 + 1 + 2 + 1, points=2)
    del after[("repo", 2)]
    expected = changed_keys(before, after)
    # The repository list changed (1 point), repository 1's PRs changed (1 point).
    assert later_limit(before, after, expected, 1).points == 1 + 1 + 1


def test_digests_keep_equality_only() -> None:
    before = view(repos=1, prs=3, open_per_repo=1)
    after = dict(before)
    after[("pr", 1, 2)] = (1002, "node", "open")
    assert changed_keys(digest_view(before), digest_view(after)) == {("pr", 1, 2)}
    assert digest_view(before) == digest_view(dict(before))
