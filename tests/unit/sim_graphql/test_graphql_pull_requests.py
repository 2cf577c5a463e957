"""`repository.pullRequests`: states, order, cursors; and `object(expression:)`."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sim_graphql_support import Client, Sim

from prwatch.sim.clock import iso
from prwatch.sim.entities import PullRequest
from prwatch.sim.graphql_paging import QueryError, decode_cursor, encode_cursor, paginate

PULLS = """query($owner: String!, $name: String!, $states: [PullRequestState!], $first: Int,
    $after: String, $last: Int, $before: String, $order: IssueOrder) {
  repository(owner: $owner, name: $name) {
    pullRequests(states: $states, first: $first, after: $after, last: $last, before: $before,
        orderBy: $order) {
      totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      nodes { number state isDraft merged updatedAt headRefOid } } } }"""


def state_of(pr: PullRequest) -> str:
    return "MERGED" if pr.merged else pr.state.upper()


async def walk(client: Client, variables: dict[str, Any]) -> list[int]:
    """Every page forward with `first`, as prwatch's sweep does."""
    numbers: list[int] = []
    variables = {**variables, "after": None}
    while True:
        result = await client.query(PULLS, variables)
        assert "errors" not in result, result
        page = result["data"]["repository"]["pullRequests"]
        numbers += [node["number"] for node in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            return numbers
        variables["after"] = page["pageInfo"]["endCursor"]


async def test_open_pull_requests_newest_update_first(sim: Sim, client: Client) -> None:
    repo = sim.world.installation_repositories(client.installation_id)[0]
    variables = {"owner": repo.owner.login, "name": repo.name, "states": ["OPEN"], "first": 7}
    variables["order"] = {"field": "UPDATED_AT", "direction": "DESC"}

    numbers = await walk(client, variables)

    expected = [pr.number for pr in sim.world.open_pull_requests_by_updated(repo.id)]
    assert numbers == expected
    first = await client.query(PULLS, {**variables, "first": 1})
    node = first["data"]["repository"]["pullRequests"]["nodes"][0]
    pr = sim.world.pull_request(repo.id, node["number"])
    assert node == {
        "number": pr.number,
        "state": "OPEN",
        "isDraft": pr.draft,
        "merged": False,
        "updatedAt": iso(pr.updated_at),
        "headRefOid": pr.head_sha,
    }


@pytest.mark.parametrize(
    ("states", "field", "direction"),
    [
        (None, "CREATED_AT", "ASC"),
        (["CLOSED", "MERGED"], "UPDATED_AT", "ASC"),
        (["MERGED"], "CREATED_AT", "DESC"),
        (["OPEN", "CLOSED"], "COMMENTS", "DESC"),
    ],
)
async def test_states_and_orders(
    sim: Sim, client: Client, states: list[str] | None, field: str, direction: str
) -> None:
    repo = sim.world.installation_repositories(client.installation_id)[1]
    variables = {"owner": repo.owner.login, "name": repo.name, "states": states, "first": 9}
    variables["order"] = {"field": field, "direction": direction}

    numbers = await walk(client, variables)

    wanted = [pr for pr in repo.pulls if states is None or state_of(pr) in states]
    sort_key = {
        "CREATED_AT": lambda pr: (pr.created_at, pr.number),
        "UPDATED_AT": lambda pr: (pr.updated_at, pr.number),
        "COMMENTS": lambda pr: (pr.number,),
    }[field]
    wanted.sort(key=sort_key, reverse=direction == "DESC")
    assert numbers == [pr.number for pr in wanted]
    assert {state_of(pr) for pr in wanted} <= set(states or ["OPEN", "CLOSED", "MERGED"])


async def test_paging_backwards_with_last_and_before(sim: Sim, client: Client) -> None:
    repo = sim.world.installation_repositories(client.installation_id)[0]
    base = {"owner": repo.owner.login, "name": repo.name}
    tail = await client.query(PULLS, {**base, "last": 5})
    page = tail["data"]["repository"]["pullRequests"]
    assert [node["number"] for node in page["nodes"]] == list(range(76, 81))
    assert page["pageInfo"]["hasNextPage"] is False
    assert page["pageInfo"]["hasPreviousPage"] is True

    before = await client.query(
        PULLS, {**base, "last": 3, "before": page["pageInfo"]["startCursor"]}
    )

    assert [n["number"] for n in before["data"]["repository"]["pullRequests"]["nodes"]] == [
        73,
        74,
        75,
    ]


async def test_a_cursor_survives_changes_before_it(sim: Sim, client: Client) -> None:
    repo = sim.world.installation_repositories(client.installation_id)[0]
    variables = {"owner": repo.owner.login, "name": repo.name, "states": ["OPEN"], "first": 5}
    first = await client.query(PULLS, variables)
    page = first["data"]["repository"]["pullRequests"]
    seen = [node["number"] for node in page["nodes"]]
    sim.world.close_pull_request(repo.id, seen[0])  # the list shrinks before the cursor

    second = await client.query(PULLS, {**variables, "after": page["pageInfo"]["endCursor"]})

    numbers = [n["number"] for n in second["data"]["repository"]["pullRequests"]["nodes"]]
    open_numbers = [pr.number for pr in repo.pulls if pr.state == "open"]
    assert numbers == [n for n in open_numbers if n > seen[-1]][:5]


async def test_an_invalid_cursor_is_an_error(sim: Sim, client: Client) -> None:
    repo = sim.world.installation_repositories(client.installation_id)[0]
    variables = {"owner": repo.owner.login, "name": repo.name, "first": 5, "after": "bogus"}
    result = await client.query(PULLS, variables)
    assert result["data"] == {"repository": None}  # pullRequests is non-null: null propagates
    assert result["errors"][0]["type"] == "INVALID_CURSOR_ARGUMENTS"
    assert result["errors"][0]["message"] == "`bogus` does not appear to be a valid cursor."


async def test_object_by_expression_names_an_open_pull_requests_branch(
    sim: Sim, client: Client
) -> None:
    repo = sim.world.installation_repositories(client.installation_id)[0]
    pr = sim.world.open_pull_request(repo.id, title="Branch", head_ref="topic/x", emit=False)
    query = """query($owner: String!, $name: String!, $expression: String!) {
      repository(owner: $owner, name: $name) { object(expression: $expression) { oid } } }"""
    base = {"owner": repo.owner.login, "name": repo.name}

    branch = await client.query(query, {**base, "expression": "topic/x"})
    by_oid = await client.query(query, {**base, "expression": pr.head_sha.upper()})
    unknown = await client.query(query, {**base, "expression": "nope"})

    assert branch["data"]["repository"]["object"] == {"oid": pr.head_sha}
    assert by_oid["data"]["repository"]["object"] == {"oid": pr.head_sha}
    assert unknown["data"]["repository"]["object"] is None


def test_cursors_round_trip_and_reject_garbage() -> None:
    assert decode_cursor(encode_cursor((3, -7))) == (3, -7)
    for bad in ("", "!!!", "Y3Vyc29yOnYyOmFiYw==", encode_cursor((1,))[:-2] + "zz"):
        with pytest.raises(QueryError):
            decode_cursor(bad)


@settings(max_examples=60, deadline=None)
@given(
    keys=st.lists(st.integers(-50, 50), unique=True, max_size=30),
    size=st.integers(1, 7),
    forward=st.booleans(),
)
def test_paging_visits_every_item_once_in_order(keys: list[int], size: int, forward: bool) -> None:
    items = sorted(keys)
    seen: list[int] = []
    arguments: dict[str, Any] = {"first": size} if forward else {"last": size}
    while True:
        page = paginate(items, lambda item: (item,), "things", arguments)
        assert page.total_count == len(items)
        assert len(page.edges) <= size
        chunk = [int(node) for node in page.nodes]  # type: ignore[call-overload]
        seen = seen + chunk if forward else chunk + seen
        info = page.page_info
        more = info.has_next_page if forward else info.has_previous_page
        if not more:
            break
        if forward:
            arguments = {"first": size, "after": info.end_cursor}
        else:
            arguments = {"last": size, "before": info.start_cursor}
    assert seen == items
