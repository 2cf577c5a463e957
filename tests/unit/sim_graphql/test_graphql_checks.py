"""Check runs of many commits at once, as prwatch asks for them."""

from __future__ import annotations

from typing import Any

from sim_graphql_support import Client, Sim, checks_query, open_heads

from prwatch.sim.clock import iso
from prwatch.sim.entities import CheckRun

ROLLUP_CONTEXTS = """query($owner: String!, $name: String!, $oid: GitObjectID!, $after: String) {
  repository(owner: $owner, name: $name) {
    object(oid: $oid) { ... on Commit { statusCheckRollup { state
      contexts(first: 2, after: $after) { totalCount
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
        nodes { ... on CheckRun { databaseId } } } } } } } }"""


def expected_run(run: CheckRun, slug: str) -> dict[str, Any]:
    return {
        "__typename": "CheckRun",
        "databaseId": run.id,
        "name": run.name,
        "status": run.status.upper(),
        "conclusion": run.conclusion.upper() if run.conclusion else None,
        "startedAt": iso(run.started_at),
        "completedAt": iso(run.completed_at),
        "checkSuite": {"databaseId": run.suite.id, "app": {"slug": slug}},
    }


def hundred_commits(sim: Sim, installation_id: int) -> list[tuple[str, list[str]]]:
    heads = open_heads(sim, installation_id)
    assert len(heads) >= 2 and sum(len(shas) for shas in heads.values()) >= 100
    targets, left = [], 100
    for full_name, shas in heads.items():
        targets.append((full_name, shas[:left]))
        left -= len(targets[-1][1])
        if not left:
            break
    return targets


async def test_the_prwatch_query_returns_every_check_run_of_100_commits(
    sim: Sim, client: Client
) -> None:
    targets = hundred_commits(sim, client.installation_id)
    assert len(targets) >= 2

    result = await client.query(checks_query(targets))

    assert "errors" not in result
    data = result["data"]
    assert data["rateLimit"]["cost"] == 1
    assert data["rateLimit"]["remaining"] == sim.config.graphql_rate_limit - 1
    commit = 0
    for index, (full_name, shas) in enumerate(targets):
        repo = sim.world.repository_by_name(*full_name.split("/"))
        answered = data[f"r{index}"]
        assert answered["databaseId"] == repo.id
        for sha in shas:
            runs = sim.world.check_runs_for_sha(repo.id, sha)
            got = answered[f"c{commit}"]
            commit += 1
            assert got["oid"] == sha
            if not runs:
                assert got["statusCheckRollup"] is None
                continue
            contexts = got["statusCheckRollup"]["contexts"]
            assert contexts["totalCount"] == len(runs)
            assert contexts["pageInfo"]["hasNextPage"] is False
            slug = {run.id: sim.world.check_apps[run.suite.app_id].slug for run in runs}
            expected = [expected_run(run, slug[run.id]) for run in runs]
            by_id = sorted(contexts["nodes"], key=lambda node: node["databaseId"])
            assert by_id == sorted(expected, key=lambda node: node["databaseId"])
    assert commit == 100


async def test_rollup_state_follows_the_runs(sim: Sim, client: Client) -> None:
    world = sim.world
    repo = world.installation_repositories(client.installation_id)[0]
    pr = world.open_pull_request(repo.id, title="Rollup", emit=False)
    suite = world.create_check_suite(repo.id, pr.head_sha, ("build", "test"), emit=False)
    query = checks_query([(repo.full_name, [pr.head_sha])])

    async def state() -> str:
        result = await client.query(query)
        rollup: dict[str, Any] = result["data"]["r0"]["c0"]["statusCheckRollup"]
        return str(rollup["state"])

    assert await state() == "PENDING"
    build, test = suite.runs
    world.update_check_run(build.id, status="completed", conclusion="success")
    assert await state() == "PENDING"
    world.update_check_run(test.id, status="completed", conclusion="skipped")
    assert await state() == "SUCCESS"
    rerun = world.rerun_check_run(build.id)
    assert await state() == "PENDING"
    world.update_check_run(rerun.id, status="completed", conclusion="timed_out")
    assert await state() == "FAILURE"


async def test_a_rerun_replaces_the_old_run_in_the_contexts(sim: Sim, client: Client) -> None:
    world = sim.world
    repo = world.installation_repositories(client.installation_id)[0]
    pr = world.open_pull_request(repo.id, title="Rerun", emit=False)
    suite = world.create_check_suite(repo.id, pr.head_sha, ("build",), emit=False)
    world.update_check_run(suite.runs[0].id, status="completed", conclusion="failure")
    rerun = world.rerun_check_run(suite.runs[0].id)

    result = await client.query(checks_query([(repo.full_name, [pr.head_sha])]))

    contexts = result["data"]["r0"]["c0"]["statusCheckRollup"]["contexts"]
    assert [node["databaseId"] for node in contexts["nodes"]] == [rerun.id]
    assert contexts["nodes"][0]["status"] == "QUEUED"


async def test_an_unknown_oid_is_null_and_a_commit_without_checks_has_no_rollup(
    sim: Sim, client: Client
) -> None:
    world = sim.world
    repo = world.installation_repositories(client.installation_id)[0]
    bare = world.open_pull_request(repo.id, title="No CI", emit=False)
    unknown = "ab" * 20

    result = await client.query(checks_query([(repo.full_name, [unknown, bare.head_sha])]))

    assert "errors" not in result
    assert result["data"]["r0"]["c0"] is None
    assert result["data"]["r0"]["c1"] == {"oid": bare.head_sha, "statusCheckRollup": None}


async def test_a_fork_pull_requests_head_resolves_through_the_base_repository(
    sim: Sim, client: Client
) -> None:
    world = sim.world
    repo = world.installation_repositories(client.installation_id)[0]
    pr = world.open_pull_request(repo.id, title="From a fork", fork_owner="outsider", emit=False)
    world.create_check_suite(repo.id, pr.head_sha, ("build", "lint"), emit=False)
    assert pr.is_fork

    result = await client.query(checks_query([(repo.full_name, [pr.head_sha])]))

    commit = result["data"]["r0"]["c0"]
    assert commit["oid"] == pr.head_sha
    names = {node["name"] for node in commit["statusCheckRollup"]["contexts"]["nodes"]}
    assert names == {"build", "lint"}


async def test_contexts_are_paged_with_cursors(sim: Sim, client: Client) -> None:
    world = sim.world
    repo = world.installation_repositories(client.installation_id)[0]
    pr = world.open_pull_request(repo.id, title="Many checks", emit=False)
    names = [f"job-{i}" for i in range(5)]
    world.create_check_suite(repo.id, pr.head_sha, names, emit=False)
    variables: dict[str, Any] = {"owner": repo.owner.login, "name": repo.name}
    variables |= {"oid": pr.head_sha, "after": None}
    seen: list[int] = []
    pages = 0
    while True:
        result = await client.query(ROLLUP_CONTEXTS, variables)
        contexts = result["data"]["repository"]["object"]["statusCheckRollup"]["contexts"]
        assert contexts["totalCount"] == 5
        assert contexts["pageInfo"]["hasPreviousPage"] is (pages > 0)
        seen += [node["databaseId"] for node in contexts["nodes"]]
        pages += 1
        if not contexts["pageInfo"]["hasNextPage"]:
            break
        variables["after"] = contexts["pageInfo"]["endCursor"]
    assert pages == 3
    assert seen == sorted(run.id for run in world.check_runs_for_sha(repo.id, pr.head_sha))


async def test_check_suites_and_their_runs(sim: Sim, client: Client) -> None:
    world = sim.world
    repo = world.installation_repositories(client.installation_id)[0]
    pr = world.open_pull_request(repo.id, title="Two suites", emit=False)
    first = world.create_check_suite(repo.id, pr.head_sha, ("a", "b"), emit=False)
    second = world.create_check_suite(repo.id, pr.head_sha, ("c",), emit=False)
    query = """query($oid: GitObjectID!) { repository(owner: "%s", name: "%s") {
      object(oid: $oid) { ... on Commit { checkSuites(first: 10) { totalCount nodes {
        databaseId status app { slug name } checkRuns(first: 10) { nodes { name } } } } } } } }"""
    query %= (repo.owner.login, repo.name)

    result = await client.query(query, {"oid": pr.head_sha})

    suites = result["data"]["repository"]["object"]["checkSuites"]
    assert suites["totalCount"] == 2
    assert suites["nodes"] == [
        {
            "databaseId": first.id,
            "status": "QUEUED",
            "app": {"slug": "github-actions", "name": "GitHub Actions"},
            "checkRuns": {"nodes": [{"name": "a"}, {"name": "b"}]},
        },
        {
            "databaseId": second.id,
            "status": "QUEUED",
            "app": {"slug": "github-actions", "name": "GitHub Actions"},
            "checkRuns": {"nodes": [{"name": "c"}]},
        },
    ]
