"""Commit statuses in the simulator: REST create/list/combined (with ETags), the rollup's
StatusContext nodes, the `status` event's shape, truth and the admin mutation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from prwatch.sim.app import Simulator
from prwatch.sim.clock import ManualClock
from prwatch.sim.events import WorldEvent
from tests.unit.sim.conftest import installation_token

REAL = Path(__file__).resolve().parents[3] / "fixtures" / "github-payloads" / "status"


def open_head(sim: Simulator) -> tuple[Any, str]:
    repo = sorted(sim.world.repositories.values(), key=lambda r: r.id)[0]
    pr = next(pr for pr in repo.pulls if pr.state == "open")
    return repo, pr.head_sha


async def test_rest_create_list_and_combined_status_with_etags(
    sim: Simulator, client: httpx.AsyncClient
) -> None:
    headers = {"Authorization": f"token {await installation_token(sim, client)}"}
    repo, sha = open_head(sim)
    base = f"/repos/{repo.full_name}"
    made = await client.post(
        f"{base}/statuses/{sha}",
        json={"state": "pending", "context": "ci/jenkins", "target_url": "https://ci/1"},
        headers=headers,
    )
    assert made.status_code == 201, made.text
    assert made.json()["state"] == "pending" and made.json()["context"] == "ci/jenkins"
    combined = await client.get(f"{base}/commits/{sha}/status", headers=headers)
    assert combined.status_code == 200
    assert combined.json()["state"] == "pending" and combined.json()["total_count"] == 1
    etag = combined.headers["etag"]
    again = await client.get(
        f"{base}/commits/{sha}/status", headers=headers | {"If-None-Match": etag}
    )
    assert again.status_code == 304
    assert isinstance(sim.clock, ManualClock)
    sim.clock.advance(5)
    await client.post(
        f"{base}/statuses/{sha}",
        json={"state": "success", "context": "ci/jenkins"},
        headers=headers,
    )
    changed = await client.get(
        f"{base}/commits/{sha}/status", headers=headers | {"If-None-Match": etag}
    )
    assert changed.status_code == 200
    assert [s["state"] for s in changed.json()["statuses"]] == ["success"]
    assert changed.json()["state"] == "success"
    listed = await client.get(f"{base}/commits/{sha}/statuses", headers=headers)
    assert [s["state"] for s in listed.json()] == ["success", "pending"]  # newest first
    bad = await client.post(f"{base}/statuses/{sha}", json={"state": "expected"}, headers=headers)
    assert bad.status_code == 422
    unknown = await client.post(
        f"{base}/statuses/{'0' * 40}", json={"state": "success"}, headers=headers
    )
    assert unknown.status_code == 422


async def test_rollups_hold_status_contexts_beside_check_runs(
    sim: Simulator, client: httpx.AsyncClient
) -> None:
    headers = {"Authorization": f"bearer {await installation_token(sim, client)}"}
    repo, sha = open_head(sim)
    sim.world.create_status(repo.id, sha, state="failure", context="ci/jenkins", description="no")
    query = """query($o: String!, $n: String!, $s: GitObjectID!) { repository(owner: $o, name: $n) {
      object(oid: $s) { ... on Commit { statusCheckRollup { state contexts(first: 100) { nodes {
        __typename ... on CheckRun { databaseId } ... on StatusContext {
          context state description targetUrl createdAt } } } } } } } }"""
    variables = {"o": repo.owner.login, "n": repo.name, "s": sha}
    answer = await client.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )
    rollup = answer.json()["data"]["repository"]["object"]["statusCheckRollup"]
    assert rollup["state"] == "FAILURE"
    nodes = rollup["contexts"]["nodes"]
    statuses = [node for node in nodes if node["__typename"] == "StatusContext"]
    assert statuses == [
        {
            "__typename": "StatusContext",
            "context": "ci/jenkins",
            "state": "FAILURE",
            "description": "no",
            "targetUrl": None,
            "createdAt": "2023-11-14T22:13:20Z",
        }
    ]
    assert len(nodes) == len(sim.world.check_runs_for_sha(repo.id, sha)) + 1


def keys(value: Any) -> Any:
    """The shape of a payload: its keys, nested (list items by their first)."""
    if isinstance(value, dict):
        return {key: keys(item) for key, item in value.items()}
    if isinstance(value, list):
        return [keys(value[0])] if value else []
    return None


def test_the_status_event_is_shaped_like_githubs(sim: Simulator) -> None:
    events: list[WorldEvent] = []
    sim.world.subscribe(events.append)
    repo, sha = open_head(sim)
    status = sim.world.create_status(repo.id, sha, state="success")
    (event,) = events
    assert (event.event, event.action, event.repository_id) == ("status", None, repo.id)
    real = json.loads((REAL / "with-installation.payload.json").read_text())
    ours = event.payload
    for key in ("repository", "sender", "branches", "organization"):
        real.pop(key, None)
        ours.pop(key, None)
    # The real commit is signed; ours is not (signature and payload null): same keys.
    assert keys(ours) == keys(real)
    assert ours["updated_at"] == "2023-11-14T22:13:20+00:00"  # an offset, as GitHub writes
    assert ours["id"] == status.id and ours["sha"] == sha
    truth = sim.world.truth()["commit_statuses"]
    assert truth == [
        {
            "id": status.id,
            "repository_id": repo.id,
            "sha": sha,
            "context": "default",
            "state": "success",
            "description": None,
            "target_url": None,
            "created_at": "2023-11-14T22:13:20Z",
            "updated_at": "2023-11-14T22:13:20Z",
        }
    ]


async def test_the_admin_api_posts_statuses_on_any_commit(
    sim: Simulator, client: httpx.AsyncClient
) -> None:
    repo, _ = open_head(sim)
    sha = "ab" * 20  # no PR has it yet
    made = await client.post(
        f"/_sim/repos/{repo.full_name}/statuses/{sha}", json={"state": "error", "context": "x"}
    )
    assert made.status_code == 201, made.text
    assert made.json()["sha"] == sha and made.json()["state"] == "error"
    bad = await client.post(f"/_sim/repos/{repo.full_name}/statuses/{sha}", json={"state": "ok"})
    assert bad.status_code == 422
