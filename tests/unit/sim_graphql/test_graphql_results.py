"""Completed commit selections reused across queries: the answers are byte for byte those of a
simulator that completes every selection afresh, before and after every kind of change."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sim_graphql_support import Client, Sim, checks_query, connect, make_sim

from prwatch.sim.world import World

Mutation = Callable[[World], object]


def first_open(world: World, installation_id: int, skip: int = 0) -> tuple[int, int, str]:
    """(repository id, PR number, head sha) of an open PR with checks."""
    found = [
        (repo.id, pr.number, pr.head_sha)
        for repo in world.installation_repositories(installation_id)
        for pr in repo.pulls
        if pr.state == "open" and world.check_runs_for_sha(repo.id, pr.head_sha)
    ]
    return found[skip]


def unfinished_run(world: World, installation_id: int) -> int:
    for repo in world.installation_repositories(installation_id):
        for pr in repo.pulls:
            if pr.state != "open":
                continue
            for run in world.check_runs_for_sha(repo.id, pr.head_sha):
                if run.status != "completed":
                    return run.id
    raise AssertionError("no unfinished check run")


def targets(world: World, installation_id: int) -> list[tuple[str, list[str]]]:
    return [
        (repo.full_name, [pr.head_sha for pr in repo.pulls if pr.state == "open"])
        for repo in world.installation_repositories(installation_id)
    ]


async def same_answers(
    steps: list[Mutation | None], query: Callable[[World, int], tuple[str, dict[str, Any]]]
) -> tuple[list[str], Client]:
    """Runs `query` after each step (None: no change) against a reusing simulator and a
    fresh-completing twin; asserts equal bodies and returns the reusing one's, as JSON
    without `rateLimit` (whose `remaining` moves with every query)."""
    reusing, fresh = make_sim(), make_sim()
    bodies: list[str] = []
    async with connect(reusing) as client, connect(fresh) as twin:
        twin.endpoint.commit_results.max_chars = 0  # keeps nothing
        for step in steps:
            if step is not None:
                step(reusing.world)
                step(fresh.world)
            text, variables = query(reusing.world, client.installation_id)
            answer = await client.post(text, variables)
            expected = await twin.post(text, variables)
            assert answer.status_code == expected.status_code == 200
            assert answer.content == expected.content
            body = answer.json()
            (body.get("data") or {}).pop("rateLimit", None)
            bodies.append(json.dumps(body))
        assert len(twin.endpoint.commit_results) == 0
        return bodies, client


def prwatch_query(world: World, installation_id: int) -> tuple[str, dict[str, Any]]:
    return checks_query(targets(world, installation_id)), {}


async def test_check_changes_show_through_reused_commits() -> None:
    def complete_a_run(world: World) -> None:
        run_id = unfinished_run(world, min(world.installations))
        world.update_check_run(run_id, status="completed", conclusion="failure")

    def rerun(world: World) -> None:
        repo_id, _, sha = first_open(world, min(world.installations), skip=1)
        for run in world.check_runs_for_sha(repo_id, sha):  # only a completed suite re-runs
            if run.status != "completed":
                world.update_check_run(run.id, status="completed", conclusion="success")
        world.rerun_check_run(world.check_runs_for_sha(repo_id, sha)[0].id)

    def new_suite(world: World) -> None:
        repo_id, _, sha = first_open(world, min(world.installations), skip=2)
        world.create_check_suite(repo_id, sha, ["extra"])

    def push(world: World) -> None:
        repo_id, number, _ = first_open(world, min(world.installations), skip=3)
        pr = world.push(repo_id, number)
        world.create_check_suite(repo_id, pr.head_sha)

    def rename_app(world: World) -> None:
        app = world.default_check_app
        world.add_check_app(app.id, "renamed-actions", "Renamed", app.owner)

    bodies, client = await same_answers(
        [None, None, complete_a_run, None, rerun, new_suite, push, rename_app, None],
        prwatch_query,
    )
    assert bodies[0] == bodies[1]
    assert len({bodies[1], bodies[2], bodies[4], bodies[5], bodies[6], bodies[7]}) == 6
    assert bodies[2] == bodies[3]
    assert "renamed-actions" in bodies[7] and "renamed-actions" not in bodies[6]
    assert client.endpoint.commit_results.hits > 0


async def test_variables_inside_a_commit_selection_are_part_of_what_is_reused() -> None:
    sizes = iter([1, 3, 1, 5])

    def query(world: World, installation_id: int) -> tuple[str, dict[str, Any]]:
        repo_id, _, sha = first_open(world, installation_id)
        repo = world.repository(repo_id)
        text = """query($o: String!, $n: String!, $oid: GitObjectID!, $size: Int!) {
          repository(owner: $o, name: $n) { a: object(oid: $oid) { ... on Commit {
            statusCheckRollup { contexts(first: $size) {
              nodes { ... on CheckRun { name } } } } } } } }"""
        variables = {"o": repo.owner.login, "n": repo.name, "oid": sha, "size": next(sizes)}
        return text, variables

    bodies, _ = await same_answers([None, None, None, None], query)
    assert bodies[0] == bodies[2]
    assert len({bodies[0], bodies[1], bodies[3]}) == 3


async def test_fragments_are_part_of_what_is_reused() -> None:
    fragments = iter(
        [
            "fragment F on CheckRun { databaseId }",
            "fragment F on CheckRun { name }",
            "fragment F on CheckRun { databaseId }",
        ]
    )

    def query(world: World, installation_id: int) -> tuple[str, dict[str, Any]]:
        _, _, sha = first_open(world, installation_id)
        full_name = world.installation_repositories(installation_id)[0].full_name
        owner, name = full_name.split("/")
        text = (
            f'query {{ repository(owner: "{owner}", name: "{name}") {{ '
            f'object(oid: "{sha}") {{ ... on Commit {{ statusCheckRollup {{ contexts(first: 10) '
            f"{{ nodes {{ ...F }} }} }} }} }} }} }} {next(fragments)}"
        )
        return text, {}

    bodies, _ = await same_answers([None, None, None], query)
    assert bodies[0] == bodies[2] != bodies[1]


async def test_a_selection_that_met_an_error_is_completed_afresh_each_time(
    sim: Sim, client: Client
) -> None:
    repo = sim.world.installation_repositories(client.installation_id)[0]
    sha = next(pr.head_sha for pr in repo.pulls if pr.state == "open")
    text = (
        f'query {{ repository(owner: "{repo.owner.login}", name: "{repo.name}") {{ '
        f'a: object(oid: "{sha}") {{ ... on Commit {{ statusCheckRollup {{ '
        'contexts(first: 1, after: "bad") { totalCount } } } } } }'
    )
    first = await client.query(text)
    again = await client.query(text)
    assert first == again
    assert first["errors"][0]["type"] == "INVALID_CURSOR_ARGUMENTS"
    assert first["errors"][0]["path"] == ["repository", "a", "statusCheckRollup", "contexts"]
    assert len(client.endpoint.commit_results) == 0


async def test_the_same_commit_twice_in_one_query(sim: Sim, client: Client) -> None:
    repo = sim.world.installation_repositories(client.installation_id)[0]
    sha = next(pr.head_sha for pr in repo.pulls if pr.state == "open")
    text = checks_query([(repo.full_name, [sha, sha])])
    first = await client.query(text)
    again = await client.query(text)
    assert first["data"]["r0"] == again["data"]["r0"]
    answered = first["data"]["r0"]
    assert answered["c0"] == answered["c1"] and answered["c0"]["oid"] == sha
    assert client.endpoint.commit_results.hits >= 2


async def test_another_world_empties_what_was_kept(sim: Sim, client: Client) -> None:
    text, variables = prwatch_query(sim.world, client.installation_id)
    await client.query(text, variables)
    assert len(client.endpoint.commit_results) > 0
    client.endpoint.commit_results.attach(make_sim().world)
    assert len(client.endpoint.commit_results) == 0
