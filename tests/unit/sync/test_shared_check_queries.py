"""Check queries shared between concurrent repository sweeps: fewer points, same answers,
failures confined to the repository that caused them."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prwatch.github.errors import RateLimited, UnexpectedResponse
from prwatch.github.ratelimit import LimitKind
from prwatch.github.responses import GraphQLResponse
from prwatch.sync.check_query import COMMITS_PER_QUERY, RepositoryCommits
from prwatch.sync.shared_check_queries import SHARE_BELOW, RepositoryChecks, SharedCheckQueries


def sha(repository_id: int, n: int) -> str:
    return f"{repository_id:08x}{n:032x}"


def commits(repository_id: int, count: int) -> RepositoryCommits:
    shas = tuple(sha(repository_id, n) for n in range(count))
    return RepositoryCommits(repository_id, "octo", f"r{repository_id}", shas)


def run_id(commit: str) -> int:
    return int(commit, 16) % 1_000_000_007


@dataclass
class FakeGraphQL:
    """Answers check queries like GitHub: one check run per commit (its id derived from the
    SHA), NOT_FOUND for unknown repositories, a FORBIDDEN error for ``refused`` ones."""

    refused: set[str] = field(default_factory=set)
    unknown: set[str] = field(default_factory=set)
    refused_commits: set[str] = field(default_factory=set)  # FORBIDDEN on these objects
    rate_limited: bool = False
    delay: float = 0.0
    queries: list[dict[str, tuple[str, ...]]] = field(default_factory=list)

    async def graphql(
        self,
        query: str,
        *,
        installation_id: int,
        variables: Mapping[str, Any] | None = None,
        spend_reserve: bool = False,
    ) -> GraphQLResponse:
        assert variables is not None
        asked: dict[str, tuple[str, ...]] = {}
        data: dict[str, Any] = {}
        errors: list[dict[str, Any]] = []
        r = 0
        while f"o{r}" in variables:
            name = f"{variables[f'o{r}']}/{variables[f'n{r}']}"
            shas = []
            while f"s{r}_{len(shas)}" in variables:
                shas.append(variables[f"s{r}_{len(shas)}"])
            asked[name] = asked.get(name, ()) + tuple(shas)  # a shared query: a block a commit
            if name in self.refused:
                errors.append({"type": "FORBIDDEN", "path": [f"r{r}"]})
                data[f"r{r}"] = None
            elif name in self.unknown:
                errors.append({"type": "NOT_FOUND", "path": [f"r{r}"]})
                data[f"r{r}"] = None
            else:
                data[f"r{r}"] = {
                    f"c{c}": {"oid": s, "statusCheckRollup": {"contexts": _contexts(s)}}
                    for c, s in enumerate(shas)
                }
                for c, s in enumerate(shas):
                    if s in self.refused_commits:
                        data[f"r{r}"][f"c{c}"] = None
                        message = "Resource not accessible by integration"
                        errors.append(
                            {"type": "FORBIDDEN", "path": [f"r{r}", f"c{c}"], "message": message}
                        )
            r += 1
        self.queries.append({"installation": (str(installation_id),), **asked})
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.rate_limited:
            raise RateLimited(60, LimitKind.SECONDARY, resource="graphql")
        assert sum(len(s) for s in asked.values()) <= COMMITS_PER_QUERY
        return GraphQLResponse(data=data, errors=tuple(errors), rate_limit=None, cost=1)


def _contexts(commit: str) -> dict[str, Any]:
    node = {
        "__typename": "CheckRun",
        "databaseId": run_id(commit),
        "name": "ci",
        "status": "COMPLETED",
        "conclusion": "SUCCESS",
        "startedAt": "2026-01-01T00:00:00Z",
        "completedAt": "2026-01-01T00:01:00Z",
        "checkSuite": {"databaseId": 7, "app": {"slug": "ci"}},
    }
    return {"pageInfo": {"hasNextPage": False}, "nodes": [node]}


def assert_answers(found: RepositoryChecks, asked: RepositoryCommits) -> None:
    assert set(found.runs) == set(asked.shas)
    for commit, runs in found.runs.items():
        assert [(run.id, run.head_sha, run.repository_id) for run in runs] == [
            (run_id(commit), commit, asked.repository_id)
        ]
    assert not found.missing and not found.truncated and not found.unreadable


async def read_together(
    shared: SharedCheckQueries,
    api: FakeGraphQL,
    repositories: list[RepositoryCommits],
    installation_of: dict[int, int] | None = None,
) -> list[RepositoryChecks | BaseException]:
    """Each repository read by a participant of its own, all at once."""

    async def one(repository: RepositoryCommits) -> RepositoryChecks:
        async with shared.taking_part():
            await asyncio.sleep(0)  # everyone takes part before anyone reads
            installation = (installation_of or {}).get(repository.repository_id, 1)
            return await shared.read(api, installation_id=installation, commits=repository)

    return await asyncio.gather(*(one(r) for r in repositories), return_exceptions=True)


async def read_one(
    shared: SharedCheckQueries, api: FakeGraphQL, repository: RepositoryCommits
) -> RepositoryChecks:
    async with shared.taking_part():
        return await shared.read(api, installation_id=1, commits=repository)


async def test_small_repositories_share_one_query() -> None:
    api = FakeGraphQL()
    repositories = [commits(n, 5) for n in range(1, 21)]  # 100 commits in all
    results = await read_together(SharedCheckQueries(), api, repositories)
    assert len(api.queries) == 1  # alone, each would have cost a point
    for found, asked in zip(results, repositories, strict=True):
        assert isinstance(found, RepositoryChecks)
        assert_answers(found, asked)


def query_sizes(api: FakeGraphQL) -> list[int]:
    return sorted(sum(len(s) for k, s in q.items() if k != "installation") for q in api.queries)


async def test_a_point_s_worth_of_commits_goes_alone_and_leftovers_are_shared() -> None:
    api = FakeGraphQL()
    # 160: one full query alone, 11 left over; shared as a sweep shares, every leftover (60,
    # 11, 30, 20) goes in one query of 121, where alone they would take four.
    repositories = [commits(1, 60), commits(2, 160), commits(3, 30), commits(4, 20)]
    shared = SharedCheckQueries(share_below=COMMITS_PER_QUERY)  # as a sweep shares
    results = await read_together(shared, api, repositories)
    assert query_sizes(api) == [60 + 11 + 30 + 20, COMMITS_PER_QUERY]
    by_query = [set(q) - {"installation"} for q in api.queries]
    assert {"octo/r1", "octo/r2", "octo/r3", "octo/r4"} in by_query
    for found, asked in zip(results, repositories, strict=True):
        assert isinstance(found, RepositoryChecks)
        assert_answers(found, asked)


async def test_leftovers_are_split_to_fill_queries() -> None:
    api = FakeGraphQL()
    # Three repositories of 100 open PRs: 300 commits in ⌈300 / 149⌉ = 3 queries, two of
    # them full, each repository's commits split where that fills a query.
    repositories = [commits(n, 100) for n in (1, 2, 3)]
    shared = SharedCheckQueries(share_below=COMMITS_PER_QUERY)
    results = await read_together(shared, api, repositories)
    assert query_sizes(api) == [2, COMMITS_PER_QUERY, COMMITS_PER_QUERY]
    for found, asked in zip(results, repositories, strict=True):
        assert isinstance(found, RepositoryChecks)
        assert_answers(found, asked)


async def test_partial_queries_wait_for_the_readers_still_expected() -> None:
    api = FakeGraphQL()
    queries = SharedCheckQueries(max_wait_seconds=60, share_below=COMMITS_PER_QUERY)
    queries.expect(2)
    first = asyncio.ensure_future(read_one(queries, api, commits(1, 100)))
    await asyncio.sleep(0.01)
    assert api.queries == []  # alone it would go (everyone present waits), but one is expected
    second = asyncio.ensure_future(read_one(queries, api, commits(2, 100)))
    await asyncio.gather(first, second)
    assert query_sizes(api) == [51, COMMITS_PER_QUERY]


async def test_installations_never_share_a_query() -> None:
    api = FakeGraphQL()
    repositories = [commits(n, 3) for n in range(1, 7)]
    installation_of = {n: 1 + n % 2 for n in range(1, 7)}
    results = await read_together(SharedCheckQueries(), api, repositories, installation_of)
    assert len(api.queries) == 2
    for query in api.queries:
        (installation,) = query.pop("installation")
        assert {installation_of[int(name.split("/r")[1])] for name in query} == {int(installation)}
    assert all(isinstance(found, RepositoryChecks) for found in results)


async def test_a_repository_graphql_refuses_fails_alone() -> None:
    api = FakeGraphQL(refused={"octo/r3"}, unknown={"octo/r4"})
    repositories = [commits(n, 4) for n in range(1, 6)]
    results = await read_together(SharedCheckQueries(), api, repositories)
    # Each error's path names its repository: nobody is asked again.
    assert len(api.queries) == 1
    by_id = dict(zip((r.repository_id for r in repositories), results, strict=True))
    assert isinstance(by_id[3], UnexpectedResponse) and "octo/r3" in str(by_id[3])
    missing = by_id[4]
    assert isinstance(missing, RepositoryChecks) and missing.missing
    for n in (1, 2, 5):
        found = by_id[n]
        assert isinstance(found, RepositoryChecks)
        assert_answers(found, repositories[n - 1])


async def test_a_refused_commit_spoils_only_itself() -> None:
    repositories = [commits(n, 4) for n in (1, 2)]
    refused = repositories[0].shas[1]
    api = FakeGraphQL(refused_commits={refused})
    first, second = await read_together(SharedCheckQueries(), api, repositories)
    assert len(api.queries) == 1
    assert isinstance(first, RepositoryChecks) and isinstance(second, RepositoryChecks)
    assert list(first.unreadable) == [refused]
    assert "FORBIDDEN" in first.unreadable[refused]
    assert first.runs[refused] == []
    assert all(first.runs[s] for s in repositories[0].shas if s != refused)
    assert_answers(second, repositories[1])


async def test_an_error_pointing_at_no_repository_fails_the_query() -> None:
    class Confused(FakeGraphQL):
        async def graphql(self, query: str, **kwargs: Any) -> GraphQLResponse:
            answer = await super().graphql(query, **kwargs)
            return GraphQLResponse(answer.data, ({"type": "INTERNAL"},), None, 1)

    results = await read_together(SharedCheckQueries(), Confused(), [commits(1, 2)])
    assert isinstance(results[0], UnexpectedResponse)


async def test_a_rate_limit_fails_everyone_in_the_query_without_retrying() -> None:
    api = FakeGraphQL(rate_limited=True)
    results = await read_together(SharedCheckQueries(), api, [commits(n, 4) for n in (1, 2)])
    assert len(api.queries) == 1
    assert all(isinstance(found, RateLimited) for found in results)


async def test_nobody_waits_longer_than_the_limit_for_a_busy_partner() -> None:
    api = FakeGraphQL()
    shared = SharedCheckQueries(max_wait_seconds=0.05)
    busy_partner_done = asyncio.Event()

    async def busy_partner() -> None:
        async with shared.taking_part():
            await busy_partner_done.wait()  # still listing: may add commits, has not yet

    partner = asyncio.create_task(busy_partner())
    await asyncio.sleep(0)
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with shared.taking_part():
        found = await shared.read(api, installation_id=1, commits=commits(1, 3))
    waited = loop.time() - started
    assert_answers(found, commits(1, 3))
    assert 0.04 <= waited < 1.0  # the timer sent it, not the partner's leaving
    busy_partner_done.set()
    await partner


async def test_the_wait_runs_from_each_reader_s_arrival() -> None:
    # A full query takes the first reader's 100 commits and 49 of the second's; the second's
    # 51 left over wait for its own deadline, not the first one's, and a third reader fills
    # them into a full query instead of a partial point for 51.
    api = FakeGraphQL()
    shared = SharedCheckQueries(max_wait_seconds=1.2, share_below=COMMITS_PER_QUERY)
    shared.expect(3)
    loop = asyncio.get_running_loop()
    started = loop.time()

    async def arrive(at: float, repository: RepositoryCommits) -> RepositoryChecks:
        async with shared.taking_part():
            await asyncio.sleep(max(0.0, started + at - loop.time()))
            return await shared.read(api, installation_id=1, commits=repository)

    repositories = [commits(1, 100), commits(2, 100), commits(3, 98)]
    # the first reader is due at 1.2 s, the second at 1.8 s: the third comes between
    results = await asyncio.gather(
        *(arrive(at, r) for at, r in zip((0.0, 0.6, 1.4), repositories, strict=True))
    )
    assert query_sizes(api) == [COMMITS_PER_QUERY, COMMITS_PER_QUERY]
    for found, asked in zip(results, repositories, strict=True):
        assert_answers(found, asked)


async def test_a_lone_reader_is_sent_at_its_deadline() -> None:
    api = FakeGraphQL()
    shared = SharedCheckQueries(max_wait_seconds=0.3, share_below=COMMITS_PER_QUERY)
    shared.expect(5)  # partners announced that never come
    loop = asyncio.get_running_loop()
    started = loop.time()
    found = await read_one(shared, api, commits(1, 40))
    assert 0.3 <= loop.time() - started < 3.0
    assert_answers(found, commits(1, 40))
    assert query_sizes(api) == [40]


async def test_a_reader_that_does_not_take_part_is_served_at_once() -> None:
    api = FakeGraphQL()
    shared = SharedCheckQueries(max_wait_seconds=30)
    found = await asyncio.wait_for(
        shared.read(api, installation_id=1, commits=commits(1, 300)), timeout=5
    )
    assert_answers(found, commits(1, 300))
    assert query_sizes(api) == [2, COMMITS_PER_QUERY, COMMITS_PER_QUERY]


async def test_a_cancelled_reader_withdraws_its_commits() -> None:
    api = FakeGraphQL()
    shared = SharedCheckQueries(max_wait_seconds=30)
    partner_done = asyncio.Event()

    async def partner() -> None:
        async with shared.taking_part():
            await partner_done.wait()

    waiting_partner = asyncio.create_task(partner())
    await asyncio.sleep(0)
    async with shared.taking_part():
        reader = asyncio.create_task(shared.read(api, installation_id=1, commits=commits(1, 3)))
        await asyncio.sleep(0.01)
        reader.cancel()
        with pytest.raises(asyncio.CancelledError):
            await reader
    partner_done.set()
    await waiting_partner
    await asyncio.sleep(0)
    assert api.queries == []  # nobody wanted those commits any more


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(1, 3), st.integers(0, 320)),  # (installation, open PRs)
        min_size=1,
        max_size=12,
    )
)
def test_together_every_commit_is_read_once_and_leftovers_share_queries(
    repositories: list[tuple[int, int]],
) -> None:
    asked = [commits(n, count) for n, (_, count) in enumerate(repositories, start=1)]
    installation_of = {n: inst for n, (inst, _) in enumerate(repositories, start=1)}
    api = FakeGraphQL()
    # A loop of its own, leaving the test runner's current loop alone.
    loop = asyncio.new_event_loop()
    try:
        results = loop.run_until_complete(
            read_together(SharedCheckQueries(), api, asked, installation_of)
        )
    finally:
        loop.close()
    for found, repository in zip(results, asked, strict=True):
        assert isinstance(found, RepositoryChecks)
        assert_answers(found, repository)
    # The fewest queries under the rule: each repository's full queries alone, and its last
    # alone too when it holds SHARE_BELOW commits or more; every other leftover shared.
    alone = 0
    leftovers: dict[int, int] = {}
    for inst, count in repositories:
        alone += count // COMMITS_PER_QUERY
        left = count % COMMITS_PER_QUERY
        if left >= SHARE_BELOW:
            alone += 1
        else:
            leftovers[inst] = leftovers.get(inst, 0) + left
    shared = sum(math.ceil(total / COMMITS_PER_QUERY) for total in leftovers.values())
    assert len(api.queries) == alone + shared
    read = [
        (name, s) for query in api.queries for name, shas in query.items() for s in shas
        if name != "installation"
    ]  # fmt: skip
    assert len(read) == len(set(read)) == sum(len(r.shas) for r in asked)
