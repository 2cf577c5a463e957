"""The simulator enforces an installation's permissions (from the manifest it accepted) the
way GitHub does, and delivers only the events the App subscribes to."""

from __future__ import annotations

import httpx

from prwatch.register.manifest import default_manifest_path, load_manifest
from prwatch.sim.app import Simulator
from prwatch.sim.permissions import FORBIDDEN_MESSAGE, AppGrants
from prwatch.sim.rest_app import create_manifest_code
from tests.unit.sim.conftest import installation_token
from tests.unit.sim.test_webhooks_and_world import wired


def test_the_app_has_the_grants_of_prwatchs_manifest(sim: Simulator) -> None:
    manifest = load_manifest(default_manifest_path())
    assert sim.world.app_grants == AppGrants.from_manifest(manifest)
    assert sim.world.app_grants.permissions["metadata"] == "read"


async def test_rest_answers_403_for_what_the_installation_did_not_accept(
    sim: Simulator, client: httpx.AsyncClient
) -> None:
    inst = next(iter(sim.world.installations.values()))
    inst.permissions = {"metadata": "read", "checks": "read"}
    token = await installation_token(sim, client, inst.id)
    auth = {"Authorization": f"token {token}"}
    repo = sim.world.installation_repositories(inst.id)[0]
    pr = repo.pulls[0]
    refused = await client.get(f"/repos/{repo.full_name}/pulls", headers=auth)
    assert refused.status_code == 403
    assert refused.json()["message"] == FORBIDDEN_MESSAGE
    assert "x-ratelimit-remaining" in refused.headers
    assert (await client.get(f"/repos/{repo.full_name}", headers=auth)).status_code == 200
    checks = f"/repos/{repo.full_name}/commits/{pr.head_sha}/check-runs"
    assert (await client.get(checks, headers=auth)).status_code == 200
    inst.permissions = {"metadata": "read", "pull_requests": "read"}
    assert (await client.get(checks, headers=auth)).status_code == 403


async def test_graphql_forbids_a_private_repositorys_commits_without_contents(
    sim: Simulator, client: httpx.AsyncClient
) -> None:
    world = sim.world
    inst = next(iter(world.installations.values()))
    repos = world.installation_repositories(inst.id)
    private = next(r for r in repos if r.private)
    public = next(r for r in repos if not r.private)
    query = (
        "query($p: String!, $pn: String!, $ps: GitObjectID!, $q: String!, $qn: String!,"
        " $qs: GitObjectID!) {"
        " r0: repository(owner: $p, name: $pn) { c0: object(oid: $ps) { oid } }"
        " r1: repository(owner: $q, name: $qn) { c0: object(oid: $qs) { oid } } }"
    )
    variables = {
        "p": private.owner.login,
        "pn": private.name,
        "ps": private.pulls[0].head_sha,
        "q": public.owner.login,
        "qn": public.name,
        "qs": public.pulls[0].head_sha,
    }
    token = await installation_token(sim, client, inst.id)
    auth = {"Authorization": f"bearer {token}"}

    async def ask() -> dict[str, object]:
        answer = await client.post(
            "/graphql", json={"query": query, "variables": variables}, headers=auth
        )
        assert answer.status_code == 200
        body: dict[str, object] = answer.json()
        return body

    granted = await ask()
    assert "errors" not in granted
    inst.permissions = {"metadata": "read", "checks": "read", "pull_requests": "read"}
    refused = await ask()
    data = refused["data"]
    assert isinstance(data, dict)
    assert data["r0"] == {"c0": None}
    assert data["r1"] == {"c0": {"oid": public.pulls[0].head_sha}}
    errors = refused["errors"]
    assert isinstance(errors, list)
    assert [(e["type"], e["path"], e["message"]) for e in errors] == [
        ("FORBIDDEN", ["r0", "c0"], FORBIDDEN_MESSAGE)
    ]


async def test_graphql_forbids_rollups_without_checks_even_after_a_reused_answer(
    sim: Simulator, client: httpx.AsyncClient
) -> None:
    world = sim.world
    inst = next(iter(world.installations.values()))
    repo = world.installation_repositories(inst.id)[0]
    sha = next(pr.head_sha for pr in repo.pulls if world.check_runs_for_sha(repo.id, pr.head_sha))
    query = (
        "query($o: String!, $n: String!, $s: GitObjectID!) { repository(owner: $o, name: $n) {"
        " object(oid: $s) { ... on Commit { statusCheckRollup { state } } } } }"
    )
    variables = {"o": repo.owner.login, "n": repo.name, "s": sha}
    token = await installation_token(sim, client, inst.id)
    auth = {"Authorization": f"bearer {token}"}
    body = {"query": query, "variables": variables}
    first = (await client.post("/graphql", json=body, headers=auth)).json()
    assert first["data"]["repository"]["object"]["statusCheckRollup"] is not None
    inst.permissions = {"metadata": "read", "contents": "read"}
    second = (await client.post("/graphql", json=body, headers=auth)).json()
    assert second["data"]["repository"]["object"]["statusCheckRollup"] is None
    assert [e["type"] for e in second["errors"]] == ["FORBIDDEN"]


async def test_only_subscribed_events_are_delivered() -> None:
    sim, receiver = wired()
    sim.world.app_grants = sim.webhooks.subscriptions = AppGrants(
        {"metadata": "read", "pull_requests": "read"}, ["pull_request"]
    )
    async with sim:
        repo = next(iter(sim.world.repositories.values()))
        sim.world.rename_repository(repo.id, "renamed")
        sim.world.open_pull_request(repo.id, title="Seen")
        inst = sim.world.create_installation("another-org")
        sim.world.add_repository_to_installation(inst.id, repo.id)
        await sim.webhooks.drain()
    events = [headers["x-github-event"] for headers, _ in receiver.received]
    assert "repository" not in events  # not subscribed
    assert events[0] == "pull_request"
    assert {"installation", "installation_repositories"} <= set(events)  # always delivered


async def test_a_converted_manifest_sets_the_apps_grants(
    sim: Simulator, client: httpx.AsyncClient
) -> None:
    manifest = {
        "name": "other",
        "default_permissions": {"checks": "read"},
        "default_events": ["check_run"],
    }
    code = create_manifest_code(sim, manifest)
    converted = await client.post(f"/app-manifests/{code}/conversions")
    assert converted.status_code == 201
    assert converted.json()["permissions"] == {"metadata": "read", "checks": "read"}
    assert sim.world.app_grants.events == ["check_run"]
    assert sim.webhooks.subscriptions is sim.world.app_grants
    inst = next(iter(sim.world.installations.values()))
    token = await installation_token(sim, client, inst.id)
    repo = sim.world.installation_repositories(inst.id)[0]
    pulls = await client.get(
        f"/repos/{repo.full_name}/pulls", headers={"Authorization": f"token {token}"}
    )
    assert pulls.status_code == 403
