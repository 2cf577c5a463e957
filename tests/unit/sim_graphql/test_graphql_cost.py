"""The static cost of a query, as GitHub documents it, and the refusals that come with it."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import FragmentDefinitionNode, OperationDefinitionNode, parse
from graphql.execution.values import get_variable_values
from sim_graphql_support import Client, Sim, checks_query, open_heads

from prwatch.sim.graphql_cost import QueryCost, query_cost
from prwatch.sim.graphql_paging import QueryError
from prwatch.sim.graphql_schema import schema


def cost_of(query: str, variables: dict[str, Any] | None = None) -> QueryCost:
    document = parse(query)
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    coerced = get_variable_values(schema(), operation.variable_definitions or (), variables or {})
    assert isinstance(coerced, dict), coerced
    return query_cost(schema(), operation, fragments, coerced)


def commits_query(count: int, page: int = 100) -> str:
    commits = " ".join(
        f'c{i}: object(oid: "{i:040x}") {{ ... on Commit {{ statusCheckRollup {{ '
        f"contexts(first: {page}) {{ nodes {{ __typename }} }} }} }} }}"
        for i in range(count)
    )
    return f'query {{ repository(owner: "o", name: "r") {{ {commits} }} }}'


@pytest.mark.parametrize(
    ("commits", "points"), [(1, 1), (49, 1), (100, 1), (149, 1), (150, 2), (250, 3), (1000, 10)]
)
def test_commit_contexts_cost_one_point_per_hundred(commits: int, points: int) -> None:
    cost = cost_of(commits_query(commits))
    assert cost == QueryCost(requests=commits, nodes=commits * 100)
    assert cost.points == points


def test_a_query_without_connections_costs_the_minimum() -> None:
    cost = cost_of('{ rateLimit { cost } repository(owner: "o", name: "r") { name } }')
    assert cost == QueryCost(0, 0)
    assert cost.points == 1


def test_a_nested_connection_is_requested_once_per_parent_node() -> None:
    query = """{ repository(owner: "o", name: "r") {
      pullRequests(states: [OPEN], first: 100) { nodes { number labels(first: 10) {
        nodes { name } } } } } }"""
    assert cost_of(query) == QueryCost(requests=1 + 100, nodes=100 + 100 * 10)
    assert cost_of(query).points == 1


def test_github_documented_example_shape() -> None:
    # GitHub's example: 1 + 100 + 100·50 requests = 5,101 → 51 points.
    query = """{ repository(owner: "o", name: "r") {
      c: object(oid: "aa") { ... on Commit { checkSuites(first: 100) { edges { node {
        checkRuns(first: 50) { nodes { name } } } } } } } } }"""
    assert cost_of(query) == QueryCost(requests=1 + 100, nodes=100 + 100 * 50)


def test_fragments_variables_and_aliases_are_counted() -> None:
    query = """query($n: Int!, $skip: Boolean!) {
      a: repository(owner: "o", name: "r") { ...prs }
      b: repository(owner: "o", name: "s") { ...prs }
      c: repository(owner: "o", name: "t") @skip(if: $skip) { ...prs } }
    fragment prs on Repository { pullRequests(last: $n) { totalCount } }"""
    assert cost_of(query, {"n": 30, "skip": True}) == QueryCost(2, 60)
    assert cost_of(query, {"n": 30, "skip": False}) == QueryCost(3, 90)


def test_the_same_field_twice_is_one_connection() -> None:
    query = """{ repository(owner: "o", name: "r") {
      pullRequests(first: 5) { totalCount } pullRequests(first: 5) { nodes { number } } } }"""
    assert cost_of(query) == QueryCost(1, 5)


@pytest.mark.parametrize(
    ("query", "error_type", "message"),
    [
        (
            '{ repository(owner: "o", name: "r") { pullRequests(states: [OPEN]) { totalCount } } }',
            "MISSING_PAGINATION_BOUNDARIES",
            "You must provide a `first` or `last` value to properly paginate the `pullRequests` "
            "connection.",
        ),
        (
            '{ repository(owner: "o", name: "r") { pullRequests(first: 101) { totalCount } } }',
            "EXCESSIVE_PAGINATION",
            "Requesting 101 records on the `pullRequests` connection exceeds the `first` limit "
            "of 100 records.",
        ),
        (
            '{ repository(owner: "o", name: "r") { pullRequests(first: -1) { totalCount } } }',
            None,
            "`first` on the `pullRequests` connection cannot be less than zero.",
        ),
        (
            '{ repository(owner: "o", name: "r") { '
            "pullRequests(first: 1, last: 1) { totalCount } } }",
            None,
            "Passing both `first` and `last` to paginate the `pullRequests` connection is not "
            "supported.",
        ),
    ],
)
def test_bad_page_sizes_are_refused(query: str, error_type: str | None, message: str) -> None:
    with pytest.raises(QueryError) as refused:
        cost_of(query)
    assert refused.value.type == error_type
    assert str(refused.value) == message


def test_more_than_500000_nodes_is_refused() -> None:
    query = " ".join(
        f'c{i}: object(oid: "{i:040x}") {{ ... on Commit {{ checkSuites(first: 100) {{ '
        f"nodes {{ checkRuns(first: 100) {{ nodes {{ name }} }} }} }} }} }}"
        for i in range(50)
    )
    with pytest.raises(QueryError) as refused:
        cost_of(f'{{ repository(owner: "o", name: "r") {{ {query} }} }}')
    assert refused.value.type == "MAX_NODE_LIMIT_EXCEEDED"
    assert str(refused.value) == (
        "This query requests up to 505,000 possible nodes which exceeds the maximum limit of "
        "500,000."
    )


async def test_the_cost_is_charged_and_reported(sim: Sim, client: Client) -> None:
    heads = [sha for shas in open_heads(sim, client.installation_id).values() for sha in shas]
    repo = sim.world.installation_repositories(client.installation_id)[0]
    shas = (heads * 3)[:250]  # the same commits under different aliases: still 250 connections

    first = await client.query(checks_query([(repo.full_name, shas)]))
    second = await client.query(checks_query([(repo.full_name, shas[:100])]))

    assert first["data"]["rateLimit"] == {
        "cost": 3,
        "remaining": 4997,
        "limit": 5000,
        "resetAt": "2023-11-14T23:13:20Z",
        "used": 3,
    }
    assert second["data"]["rateLimit"]["cost"] == 1
    assert second["data"]["rateLimit"]["remaining"] == 4996
    assert sim.stats.points["graphql"] == 4
    assert sim.stats.snapshot()["requests"] == {"POST /graphql": {"200": 2}}


async def test_pull_requests_with_nested_fields_cost_one(sim: Sim, client: Client) -> None:
    repo = sim.world.installation_repositories(client.installation_id)[0]
    query = """{ rateLimit { cost nodeCount } repository(owner: "%s", name: "%s") {
      pullRequests(states: [OPEN], first: 100) { totalCount nodes { number title headRefOid
        author { login } labels(first: 5) { nodes { name } } } } } }"""
    result = await client.query(query % (repo.owner.login, repo.name))
    assert result["data"]["rateLimit"] == {"cost": 1, "nodeCount": 600}


async def test_refused_queries_are_free(sim: Sim, client: Client) -> None:
    response = await client.post(commits_query(1, page=500))
    assert response.status_code == 200
    assert response.json() == {
        "errors": [
            {
                "type": "EXCESSIVE_PAGINATION",
                "message": "Requesting 500 records on the `contexts` connection exceeds the "
                "`first` limit of 100 records.",
            }
        ]
    }
    assert response.headers["x-ratelimit-used"] == "0"
    assert sim.stats.points["graphql"] == 0


async def test_a_dry_run_reports_the_cost_without_charging_or_resolving(
    sim: Sim, client: Client
) -> None:
    query = commits_query(300).replace("query {", "query { rateLimit(dryRun: true) { cost used }")
    result = await client.query(query)
    assert result == {"data": {"rateLimit": {"cost": 3, "used": 0}, "repository": None}}
    assert sim.stats.points["graphql"] == 0
