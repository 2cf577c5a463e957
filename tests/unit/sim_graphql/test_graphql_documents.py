"""Documents kept by query text: a cached document answers, costs and fails exactly like a
freshly parsed one, whatever the variables of each request."""

from __future__ import annotations

from typing import Any

import pytest
from sim_graphql_support import Client, Sim

from prwatch.sim.graphql import github_error
from prwatch.sim.graphql_documents import DocumentCache, DocumentEntry
from prwatch.sim.graphql_schema import schema

PULLS = """query($o: String!, $n: String!, $size: Int, $withLabels: Boolean!, $dry: Boolean!) {
  rateLimit(dryRun: $dry) { cost nodeCount remaining }
  repository(owner: $o, name: $n) {
    pullRequests(first: $size) { nodes { number labels(first: 10) @include(if: $withLabels) {
      nodes { name } } } } } }"""


def first_repo(sim: Sim, client: Client) -> tuple[str, str]:
    repo = sim.world.installation_repositories(client.installation_id)[0]
    return repo.owner.login, repo.name


def pulls_variables(
    owner: str, name: str, size: int | None, *, labels: bool = False, dry: bool = False
) -> dict[str, Any]:
    return {"o": owner, "n": name, "size": size, "withLabels": labels, "dry": dry}


async def test_a_cached_document_costs_what_its_variables_ask_each_time(
    sim: Sim, client: Client
) -> None:
    owner, name = first_repo(sim, client)
    plans = [
        (10, False, 1, 10),
        (100, True, 1, 100 + 100 * 10),  # 1 + 100 requests: rounds to 1 point
        (10, True, 1, 10 + 10 * 10),
        (10, False, 1, 10),
    ]
    for size, labels, points, nodes in plans:
        body = await client.query(PULLS, pulls_variables(owner, name, size, labels=labels))
        assert body["data"]["rateLimit"]["cost"] == points
        assert body["data"]["rateLimit"]["nodeCount"] == nodes
        pulls = body["data"]["repository"]["pullRequests"]["nodes"]
        assert len(pulls) == min(size, 80)  # the repository has 80 PRs
        assert ("labels" in pulls[0]) is labels
    assert len(client.endpoint.documents) == 1
    assert client.endpoint.documents.hits == len(plans) - 1


async def test_a_cached_document_refuses_bad_page_sizes_each_time(sim: Sim, client: Client) -> None:
    owner, name = first_repo(sim, client)
    used = sim.stats.points["graphql"]
    for size in (101, 5, None, 101):
        body = await client.query(PULLS, pulls_variables(owner, name, size))
        if size == 5:
            assert body["data"]["rateLimit"]["cost"] == 1
            continue
        assert "data" not in body
        expected = "EXCESSIVE_PAGINATION" if size else "MISSING_PAGINATION_BOUNDARIES"
        assert [error.get("type") for error in body["errors"]] == [expected]
    assert sim.stats.points["graphql"] == used + 1  # refusals are free


async def test_dry_run_follows_the_variable_of_each_request(sim: Sim, client: Client) -> None:
    owner, name = first_repo(sim, client)
    used = sim.stats.points["graphql"]
    dry = await client.query(PULLS, pulls_variables(owner, name, 10, dry=True))
    assert dry["data"]["repository"] is None
    wet = await client.query(PULLS, pulls_variables(owner, name, 10, dry=False))
    assert len(wet["data"]["repository"]["pullRequests"]["nodes"]) == 10
    dry_again = await client.query(PULLS, pulls_variables(owner, name, 10, dry=True))
    assert dry_again["data"]["repository"] is None
    assert sim.stats.points["graphql"] == used + 1


async def test_invalid_queries_fail_the_same_way_when_repeated(sim: Sim, client: Client) -> None:
    query = "query { repository(owner: 1) { nope } }"
    first = await client.query(query)
    again = await client.query(query)
    assert first == again
    assert len(first["errors"]) >= 2
    assert all("locations" in error for error in first["errors"])
    assert sim.stats.points["graphql"] == 0


async def test_execution_errors_keep_their_locations_in_a_cached_document(
    client: Client,
) -> None:
    query = (
        "query {\n  rateLimit { cost }\n"
        '  missing: repository(owner: "nobody", name: "x") { name }\n}'
    )
    first = await client.query(query)
    again = await client.query(query)
    assert first["errors"] == again["errors"]
    assert first["errors"][0]["type"] == "NOT_FOUND"
    assert first["errors"][0]["locations"] == [{"line": 3, "column": 3}]
    assert first["errors"][0]["path"] == ["missing"]


async def test_variables_coerced_per_request_with_a_cached_document(
    sim: Sim, client: Client
) -> None:
    owner, name = first_repo(sim, client)
    good = await client.query(PULLS, pulls_variables(owner, name, 3))
    assert good["data"]["repository"]["pullRequests"]["nodes"]
    bad = await client.query(PULLS, {**pulls_variables(owner, name, 3), "size": "three"})
    assert "data" not in bad
    assert "$size" in bad["errors"][0]["message"]


def test_the_least_recently_used_documents_go_first_beyond_the_size_limit() -> None:
    queries = [f"query {{ rateLimit {{ cost }} q{i}: rateLimit {{ used }} }}" for i in range(4)]
    cache = DocumentCache(schema(), github_error, max_chars=3 * len(queries[0]))
    for query in queries[:3]:
        assert isinstance(cache.get(query), DocumentEntry)
    cache.get(queries[0])  # now the most recently used
    cache.get(queries[3])  # evicts queries[1]
    assert len(cache) == 3
    misses = cache.misses
    cache.get(queries[0])
    cache.get(queries[2])
    cache.get(queries[3])
    assert cache.misses == misses
    cache.get(queries[1])
    assert cache.misses == misses + 1


def test_errors_are_cached_as_errors() -> None:
    cache = DocumentCache(schema(), github_error)
    first = cache.get("query {")
    assert isinstance(first, list)
    assert first[0]["message"].startswith("Syntax Error")
    assert cache.get("query {") == first
    assert cache.hits == 1


def test_static_outcomes_are_reused_only_when_the_values_read_agree() -> None:
    cache = DocumentCache(schema(), github_error)
    entry = cache.get(
        "query($a: Int, $b: Int) { rateLimit { cost } "
        'repository(owner: "o", name: "r") { pullRequests(first: $a, last: $b) { totalCount } } }'
    )
    assert isinstance(entry, DocumentEntry)
    operation = entry.document.definitions[0]
    calls: list[dict[str, Any]] = []

    def compute(variables: Any) -> int:
        calls.append({"a": variables.get("a")})
        return int(variables.get("a") or 0) * 10

    static = entry.static
    assert static(operation, {"a": 1, "b": 1}, compute) == 10  # type: ignore[arg-type]
    assert static(operation, {"a": 1, "b": 2}, compute) == 10  # type: ignore[arg-type]
    assert static(operation, {"a": 2, "b": 2}, compute) == 20  # type: ignore[arg-type]
    assert static(operation, {"b": 2}, compute) == 0  # type: ignore[arg-type]
    assert static(operation, {"a": 1, "b": 3}, compute) == 10  # type: ignore[arg-type]
    assert calls == [{"a": 1}, {"a": 2}, {"a": None}]


@pytest.mark.parametrize("commits", [1, 100])
async def test_cached_documents_hold_no_token_chain(commits: int) -> None:
    shas = " ".join(f'c{i}: object(oid: "{i:040x}") {{ oid }}' for i in range(commits))
    cache = DocumentCache(schema(), github_error)
    entry = cache.get(f'query {{ repository(owner: "o", name: "r") {{ {shas} }} }}')
    assert isinstance(entry, DocumentEntry)
    loc = entry.document.loc
    assert loc is not None
    assert loc.start == 0
    assert not hasattr(loc, "start_token")
