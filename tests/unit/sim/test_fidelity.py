"""The simulator's JSON against GitHub's: githubkit's REST models and the real payloads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from githubkit_schemas.latest.models import (
    CheckRun,
    Enterprise,
    Installation,
    PullRequest,
    PullRequestSimple,
)

from prwatch.sim.app import Simulator
from prwatch.sim.events import WorldEvent
from prwatch.sim.payloads import installation_object
from prwatch.sim.signing import sign
from tests.unit.sim.conftest import installation_token

PAYLOADS = Path(__file__).resolve().parents[3] / "fixtures" / "github-payloads"

# Deliberate differences from the recorded examples (which are inconsistent among themselves):
# App deliveries always carry `installation`; org-owned repositories add `organization`.
TOP_LEVEL_OPTIONAL = {"installation", "organization"}
# Newer fields GitHub sends that older examples lack.
EXTRA_ALLOWED = {
    "slug",
    "client_id",
    "app_slug",
    "has_multiple_single_files",
    "single_file_paths",
}
# Present only for check runs started by a deployment.
MISSING_ALLOWED = {"deployment"}
# Maps whose keys vary by App or event, so only their presence is compared.
OPAQUE = {"permissions", "changes"}


def structure_diff(generated: Any, real: Any, path: str = "") -> list[str]:
    """Key-structure differences; values may differ, null vs object is tolerated."""
    if generated is None or real is None:
        return []
    if isinstance(real, dict):
        if not isinstance(generated, dict):
            return [f"{path}: expected object, got {type(generated).__name__}"]
        problems = []
        for key in real.keys() - generated.keys():
            if not (path == "" and key in TOP_LEVEL_OPTIONAL) and key not in MISSING_ALLOWED:
                problems.append(f"{path}.{key}: missing")
        for key in generated.keys() - real.keys():
            if not (path == "" and key in TOP_LEVEL_OPTIONAL) and key not in EXTRA_ALLOWED:
                problems.append(f"{path}.{key}: unexpected")
        for key in real.keys() & generated.keys():
            if key not in OPAQUE:
                problems.extend(structure_diff(generated[key], real[key], f"{path}.{key}"))
        return problems
    if isinstance(real, list):
        if not isinstance(generated, list):
            return [f"{path}: expected list"]
        if real and generated:
            return structure_diff(generated[0], real[0], f"{path}[0]")
        return []
    if isinstance(generated, dict | list):
        return [f"{path}: expected scalar"]
    return []


def real_payload(event: str, action: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PAYLOADS / event / f"{action}.payload.json").read_text())
    return data


def capture(sim: Simulator) -> list[WorldEvent]:
    seen: list[WorldEvent] = []
    sim.world.subscribe(seen.append)
    return seen


def exercise_everything(sim: Simulator) -> list[WorldEvent]:
    world = sim.world
    seen = capture(sim)
    repo = next(iter(world.repositories.values()))
    pr = world.open_pull_request(repo.id, title="Add feature")
    suite = world.create_check_suite(repo.id, pr.head_sha, ["build", "test"])
    world.update_check_run(suite.runs[0].id, status="in_progress")
    world.update_check_run(suite.runs[0].id, status="completed", conclusion="success")
    world.update_check_run(suite.runs[1].id, status="completed", conclusion="failure")
    world.rerun_check_run(suite.runs[1].id)
    world.edit_pull_request(repo.id, pr.number, title="Add the feature", base_ref="develop")
    world.add_label(repo.id, pr.number, "bug")
    world.remove_label(repo.id, pr.number, "bug")
    world.push(repo.id, pr.number)
    world.set_draft(repo.id, pr.number, True)
    world.set_draft(repo.id, pr.number, False)
    world.close_pull_request(repo.id, pr.number)
    world.reopen_pull_request(repo.id, pr.number)
    world.merge_pull_request(repo.id, pr.number)
    inst = world.create_installation("new-org")
    other = world.create_repository("new-org", "tool")
    world.add_repository_to_installation(inst.id, other.id)
    world.remove_repository_from_installation(inst.id, other.id)
    world.suspend_installation(inst.id)
    world.unsuspend_installation(inst.id)
    world.rename_repository(repo.id, "renamed")
    world.transfer_repository(repo.id, "elsewhere", "User")
    world.delete_repository(repo.id)
    world.delete_installation(inst.id)
    return seen


# No recorded example for these, or (check_run.rerequested) an older, slimmer one: compare
# with the example that has the same object shape.
FIXTURE_FOR = {
    ("check_run", "rerequested"): ("check_run", "created"),
    ("pull_request", "edited"): ("pull_request", "opened"),
    ("repository", "deleted"): ("repository", "renamed"),
}


def test_every_payload_has_the_real_key_structure(sim: Simulator) -> None:
    seen = exercise_everything(sim)
    kinds = {(e.event, e.action) for e in seen}
    assert {
        ("pull_request", a)
        for a in (
            "opened",
            "edited",
            "closed",
            "reopened",
            "synchronize",
            "labeled",
            "unlabeled",
            "ready_for_review",
            "converted_to_draft",
        )
    } <= kinds
    assert {
        ("check_run", "created"),
        ("check_run", "completed"),
        ("check_run", "rerequested"),
        ("check_suite", "requested"),
        ("check_suite", "completed"),
    } <= kinds
    assert {("installation", a) for a in ("created", "deleted", "suspend", "unsuspend")} <= kinds
    assert {
        ("installation_repositories", "added"),
        ("installation_repositories", "removed"),
    } <= kinds
    assert {("repository", a) for a in ("renamed", "transferred", "deleted")} <= kinds
    for event in seen:
        assert event.action is not None
        fixture_event, fixture_action = FIXTURE_FOR.get(
            (event.event, event.action), (event.event, event.action)
        )
        real = real_payload(fixture_event, fixture_action)
        generated = dict(event.payload)
        if (event.event, event.action) == ("pull_request", "edited"):
            assert set(generated.pop("changes")) == {"title", "base"}
        if (event.event, event.action) == ("repository", "deleted"):
            real = {k: v for k, v in real.items() if k != "changes"}
        problems = structure_diff(generated, real)
        assert problems == [], f"{event.event}.{event.action}: {problems}"
        assert "installation" in generated
        json.dumps(generated)  # serialisable


def test_fork_check_runs_have_no_pull_requests(sim: Simulator) -> None:
    world = sim.world
    seen = capture(sim)
    repo = next(iter(world.repositories.values()))
    fork_pr = world.open_pull_request(repo.id, title="From a fork", fork_owner="outsider")
    own_pr = world.open_pull_request(repo.id, title="From a branch")
    world.create_check_suite(repo.id, fork_pr.head_sha, ["build"])
    world.create_check_suite(repo.id, own_pr.head_sha, ["build"])
    runs = [e.payload["check_run"] for e in seen if e.event == "check_run"]
    assert runs[0]["pull_requests"] == [] and runs[0]["check_suite"]["head_branch"] is None
    assert runs[1]["pull_requests"][0]["number"] == own_pr.number
    assert runs[1]["check_suite"]["head_branch"] == own_pr.head_ref


async def test_rest_objects_parse_with_githubkit_models(
    sim: Simulator, client: httpx.AsyncClient
) -> None:
    token = await installation_token(sim, client)
    auth = {"Authorization": f"token {token}"}
    for repo in sim.world.repositories.values():
        listing = await client.get(
            f"/repos/{repo.full_name}/pulls?state=all&per_page=100", headers=auth
        )
        items = listing.json()
        assert len(items) == len(repo.pulls)
        for item in items:
            PullRequestSimple.model_validate(item)
        for pr in repo.pulls[:5]:
            single = await client.get(f"/repos/{repo.full_name}/pulls/{pr.number}", headers=auth)
            parsed = PullRequest.model_validate(single.json())
            assert parsed.merged == pr.merged
            assert len(single.content) > 12_000  # a real PR object is ~20 KB
            runs = await client.get(
                f"/repos/{repo.full_name}/commits/{pr.head_sha}/check-runs?filter=all", headers=auth
            )
            for run in runs.json()["check_runs"]:
                CheckRun.model_validate(run)


def test_signing_test_vector() -> None:
    assert sign("It's a Secret to Everybody", b"Hello, World!") == (
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    )


@pytest.mark.parametrize("secret", ["s", b"bytes-secret"])
def test_signature_depends_on_body_and_secret(secret: str | bytes) -> None:
    assert sign(secret, b"a") != sign(secret, b"b")
    assert sign(secret, b"a").startswith("sha256=")


def test_installation_accounts_parse_with_githubkit_models(sim: Simulator) -> None:
    """`account` is `simple-user | enterprise | null` in GitHub's OpenAPI."""
    world = sim.world
    enterprise = world.create_installation("octo-enterprise", "Enterprise")
    hidden = world.create_installation("gone-org", account_shown=False)
    parsed = Installation.model_validate(installation_object(world, enterprise))
    assert isinstance(parsed.account, Enterprise) and parsed.account.slug == "octo-enterprise"
    assert Installation.model_validate(installation_object(world, hidden)).account is None
    for inst in world.installations.values():
        Installation.model_validate(installation_object(world, inst))
