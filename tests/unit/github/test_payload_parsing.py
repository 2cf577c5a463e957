from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from prwatch.domain.models import InstallationSnapshot, RepositorySnapshot
from prwatch.github.payloads import (
    PayloadError,
    check_run_from_graphql,
    check_run_from_json,
    installation_from_json,
    parse_timestamp,
    pull_request_from_json,
    repository_from_json,
)

PAYLOADS = Path(__file__).resolve().parents[3] / "fixtures" / "github-payloads"
REPO_ID = 186853002


def load(event: str, action: str) -> dict[str, Any]:
    return json.loads((PAYLOADS / event / f"{action}.payload.json").read_text())


def payload_files(event: str) -> list[Path]:
    files = sorted((PAYLOADS / event).glob("*.json"))
    assert files, f"no {event} payloads under {PAYLOADS}"
    return files


def ids(paths: list[Path]) -> list[str]:
    return [path.name.removesuffix(".payload.json") for path in paths]


# --- timestamps --------------------------------------------------------------------------


def test_parse_timestamp_z_and_offsets_give_aware_utc() -> None:
    expected = datetime(2019, 5, 15, 15, 20, 33, tzinfo=UTC)
    assert parse_timestamp("2019-05-15T15:20:33Z") == expected
    assert parse_timestamp("2019-05-15T17:20:33+02:00") == expected
    parsed = parse_timestamp("2019-05-15T17:20:33+02:00")
    assert parsed is not None and parsed.tzinfo is UTC
    assert parse_timestamp(None) is None


@pytest.mark.parametrize(
    "value", ["", "yesterday", "2019-05-15T15:20:33", "2019-05-15", 1557933633]
)
def test_parse_timestamp_refuses_malformed_or_naive(value: Any) -> None:
    with pytest.raises(PayloadError):
        parse_timestamp(value)


# --- pull requests -----------------------------------------------------------------------

PR_FILES = payload_files("pull_request")


@pytest.mark.parametrize("path", PR_FILES, ids=ids(PR_FILES))
def test_every_pull_request_payload_parses(path: Path) -> None:
    payload = json.loads(path.read_text())
    pr = pull_request_from_json(payload["pull_request"], REPO_ID)
    assert pr.repository_id == REPO_ID
    assert pr.number == payload["number"] == 2
    assert pr.github_id == 279147437
    assert pr.head_sha == "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
    assert pr.labels == ("bug",)
    assert pr.created_at.tzinfo is UTC and pr.updated_at.tzinfo is UTC
    assert pr.state == ("closed" if path.name.startswith("closed") else "open")


def test_opened_pull_request_values() -> None:
    pr = pull_request_from_json(load("pull_request", "opened")["pull_request"], REPO_ID)
    assert pr.node_id == "MDExOlB1bGxSZXF1ZXN0Mjc5MTQ3NDM3"
    assert pr.title == "Update the README with new information."
    assert pr.author == "Codertocat"
    assert (pr.state, pr.draft, pr.merged, pr.merged_at, pr.closed_at) == (
        "open",
        False,
        False,
        None,
        None,
    )
    assert (pr.head_ref, pr.base_ref) == ("changes", "master")
    assert pr.base_sha == "f95f852bd8fca8fcc58a9a2d6c842781e32a215e"
    assert pr.created_at == datetime(2019, 5, 15, 15, 20, 33, tzinfo=UTC)


def test_closed_pull_request_values() -> None:
    pr = pull_request_from_json(load("pull_request", "closed")["pull_request"], REPO_ID)
    assert (pr.state, pr.merged, pr.merged_at) == ("closed", False, None)
    assert pr.closed_at == datetime(2019, 5, 15, 15, 21, 18, tzinfo=UTC)
    assert pr.updated_at == pr.closed_at


def test_draft_pull_request() -> None:
    pr = pull_request_from_json(load("pull_request", "converted_to_draft")["pull_request"], REPO_ID)
    assert pr.draft is True


def base_pr() -> dict[str, Any]:
    return copy.deepcopy(load("pull_request", "opened")["pull_request"])


def test_rest_list_item_without_merged_key_uses_merged_at() -> None:
    item = base_pr()
    del item["merged"]
    item |= {
        "state": "closed",
        "merged_at": "2019-05-16T10:00:00Z",
        "closed_at": "2019-05-16T10:00:00Z",
    }
    pr = pull_request_from_json(item, REPO_ID)
    assert pr.merged is True
    assert pr.merged_at == datetime(2019, 5, 16, 10, tzinfo=UTC)
    del item["merged_at"]
    assert pull_request_from_json(item, REPO_ID).merged is False


def test_ghost_author_missing_draft_and_unsorted_labels() -> None:
    item = base_pr()
    item["user"] = None
    del item["draft"]
    item["labels"] = [{"name": "ui", "id": 1}, {"name": "Bug"}, {"name": "docs"}]
    pr = pull_request_from_json(item, REPO_ID)
    assert pr.author == "ghost"
    assert pr.draft is False
    assert pr.labels == ("Bug", "docs", "ui")


def test_unknown_and_missing_optional_fields_are_tolerated() -> None:
    item = base_pr()
    item["brand_new_field"] = {"nested": [1, 2]}
    for optional in ("labels", "merged_at", "closed_at", "body", "milestone", "_links"):
        item.pop(optional, None)
    pr = pull_request_from_json(item, REPO_ID)
    assert (pr.labels, pr.merged_at, pr.closed_at) == ((), None, None)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda pr: pr.pop("number"), r"pull_request\.number: missing"),
        (lambda pr: pr.update(number="2"), r"pull_request\.number: expected an integer"),
        (lambda pr: pr.update(id=True), r"pull_request\.id: expected an integer"),
        (lambda pr: pr.update(state="draft"), r"pull_request\.state"),
        (lambda pr: pr.update(title=None), r"pull_request\.title: missing"),
        (lambda pr: pr.update(draft="no"), r"pull_request\.draft: expected true or false"),
        (lambda pr: pr.update(updated_at="not a time"), r"pull_request\.updated_at"),
        (lambda pr: pr.update(created_at="2019-05-15T15:20:33"), r"without a time zone"),
        (lambda pr: pr.pop("head"), r"pull_request\.head: missing"),
        (lambda pr: pr["base"].pop("ref"), r"pull_request\.base\.ref: missing"),
        (lambda pr: pr.update(user="octocat"), r"pull_request\.user: expected an object"),
        (lambda pr: pr.update(labels="bug"), r"pull_request\.labels: expected a list"),
        (lambda pr: pr.update(labels=[{"id": 1}]), r"pull_request\.labels\[0\]\.name: missing"),
        (lambda pr: pr.update(merged=True), r"merged but not closed"),
        # Wider than its column (16): PostgreSQL would refuse the whole apply.
        (
            lambda pr: pr.update(auto_merge={"merge_method": "m" * 17, "enabled_by": None}),
            r"pull_request\.auto_merge\.merge_method: longer than 16",
        ),
    ],
)
def test_malformed_pull_request_is_a_payload_error(mutate: Any, message: str) -> None:
    item = base_pr()
    mutate(item)
    with pytest.raises(PayloadError, match=message):
        pull_request_from_json(item, REPO_ID)


def test_payload_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        pull_request_from_json({}, REPO_ID)
    with pytest.raises(PayloadError, match="expected an object"):
        pull_request_from_json([], REPO_ID)  # type: ignore[arg-type]


# --- check runs --------------------------------------------------------------------------

CHECK_RUN_FILES = payload_files("check_run")


@pytest.mark.parametrize("path", CHECK_RUN_FILES, ids=ids(CHECK_RUN_FILES))
def test_every_check_run_payload_parses(path: Path) -> None:
    payload = json.loads(path.read_text())
    raw = payload["check_run"]
    run = check_run_from_json(raw, payload["repository"]["id"])
    assert run.id == raw["id"]
    assert run.repository_id == payload["repository"]["id"]
    assert run.status == raw["status"]
    assert run.conclusion == raw["conclusion"]
    assert run.check_suite_id == raw["check_suite"]["id"]
    assert (run.completed_at is None) == (run.status != "completed")


def test_completed_check_run_values() -> None:
    run = check_run_from_json(load("check_run", "completed")["check_run"], REPO_ID)
    assert run.id == 128620228
    assert run.head_sha == "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
    assert run.name == "Octocoders-linter"
    assert (run.status, run.conclusion) == ("completed", "success")
    assert run.started_at == run.completed_at == datetime(2019, 5, 15, 15, 21, 12, tzinfo=UTC)
    assert run.check_suite_id == 118578147
    assert run.app_slug is None  # this older payload's app has no slug


def test_check_run_with_app_slug() -> None:
    run = check_run_from_json(load("check_run", "requested_action")["check_run"], 9384267)
    assert (run.status, run.conclusion, run.completed_at) == ("in_progress", None, None)
    assert run.app_slug == "electron-cation"
    assert run.check_suite_id == 1604239627


def test_check_run_with_null_app_and_no_suite() -> None:
    raw = copy.deepcopy(load("check_run", "created")["check_run"])
    raw["app"] = None
    del raw["check_suite"]
    run = check_run_from_json(raw, REPO_ID)
    assert (run.app_slug, run.check_suite_id, run.status) == (None, None, "queued")


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda run: run.update(status="done"), r"check_run\.status: unknown check run status"),
        (lambda run: run.update(status=None), r"check_run\.status: missing"),
        (lambda run: run.pop("head_sha"), r"check_run\.head_sha: missing"),
        (lambda run: run.update(id="1"), r"check_run\.id: expected an integer"),
        (lambda run: run.update(conclusion=1), r"check_run\.conclusion: expected a string"),
        (lambda run: run.update(app=[]), r"check_run\.app: expected an object"),
        (lambda run: run.update(check_suite={}), r"check_run\.check_suite\.id: missing"),
        (lambda run: run.update(started_at="soon"), r"check_run\.started_at"),
    ],
)
def test_malformed_check_run_is_a_payload_error(mutate: Any, message: str) -> None:
    raw = copy.deepcopy(load("check_run", "created")["check_run"])
    mutate(raw)
    with pytest.raises(PayloadError, match=message):
        check_run_from_json(raw, REPO_ID)


def graphql_node(**overrides: Any) -> dict[str, Any]:
    return {
        "databaseId": 4242,
        "name": "build",
        "status": "COMPLETED",
        "conclusion": "SUCCESS",
        "startedAt": "2024-05-01T12:00:00Z",
        "completedAt": "2024-05-01T12:03:00Z",
        "checkSuite": {"databaseId": 77, "app": {"slug": "github-actions"}},
    } | overrides


def test_graphql_check_run() -> None:
    run = check_run_from_graphql(graphql_node(), REPO_ID, head_sha="f" * 40)
    assert run.id == 4242
    assert (run.repository_id, run.head_sha, run.name) == (REPO_ID, "f" * 40, "build")
    assert (run.status, run.conclusion) == ("completed", "success")
    assert run.completed_at == datetime(2024, 5, 1, 12, 3, tzinfo=UTC)
    assert (run.app_slug, run.check_suite_id) == ("github-actions", 77)


def test_graphql_check_run_in_progress_without_app() -> None:
    node = graphql_node(
        status="IN_PROGRESS",
        conclusion=None,
        completedAt=None,
        checkSuite={"databaseId": 78, "app": None},
    )
    run = check_run_from_graphql(node, REPO_ID, head_sha="f" * 40)
    assert (run.status, run.conclusion, run.completed_at) == ("in_progress", None, None)
    assert (run.app_slug, run.check_suite_id) == (None, 78)


def test_graphql_and_rest_agree_on_the_same_check_run() -> None:
    rest = check_run_from_json(load("check_run", "completed")["check_run"], REPO_ID)
    node = graphql_node(
        databaseId=rest.id,
        name=rest.name,
        startedAt="2019-05-15T15:21:12Z",
        completedAt="2019-05-15T15:21:12Z",
        checkSuite={"databaseId": rest.check_suite_id, "app": None},
    )
    assert check_run_from_graphql(node, REPO_ID, rest.head_sha) == rest


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"databaseId": None}, r"CheckRun\.databaseId: missing"),
        ({"status": "FINISHED"}, r"CheckRun\.status: unknown check run status 'finished'"),
        ({"checkSuite": {"databaseId": "77"}}, r"CheckRun\.checkSuite\.databaseId"),
    ],
)
def test_malformed_graphql_check_run(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(PayloadError, match=message):
        check_run_from_graphql(graphql_node(**overrides), REPO_ID, head_sha="f" * 40)


# --- repositories and installations ------------------------------------------------------

REPOSITORY_CARRIERS = [
    *payload_files("repository"),
    *payload_files("check_suite"),
    *payload_files("check_run"),
    *payload_files("pull_request"),
]


@pytest.mark.parametrize(
    "path", REPOSITORY_CARRIERS, ids=[f"{p.parent.name}/{p.name}" for p in REPOSITORY_CARRIERS]
)
def test_every_repository_object_parses(path: Path) -> None:
    payload = json.loads(path.read_text())
    raw = payload["repository"]
    repository = repository_from_json(raw, installation_id=5)
    assert repository == RepositorySnapshot(
        id=raw["id"], installation_id=5, full_name=raw["full_name"], private=raw["private"]
    )


def test_repository_values() -> None:
    assert repository_from_json(load("repository", "privatized")["repository"], 9) == (
        RepositorySnapshot(
            id=186853002, installation_id=9, full_name="Codertocat/Hello-World", private=True
        )
    )


def test_repository_renamed_keeps_its_id() -> None:
    renamed = repository_from_json(load("repository", "renamed")["repository"], 1)
    created = repository_from_json(load("repository", "created")["repository"], 1)
    assert renamed.id == created.id == 186853261


def test_repository_without_private_flag_and_malformed_repository() -> None:
    assert not repository_from_json({"id": 1, "full_name": "a/b"}, 1).private
    with pytest.raises(PayloadError, match=r"repository\.full_name: missing"):
        repository_from_json({"id": 1}, 1)
    with pytest.raises(PayloadError, match=r"repository\.private: expected true or false"):
        repository_from_json({"id": 1, "full_name": "a/b", "private": "yes"}, 1)


def test_installation_repository_lists_parse() -> None:
    added = load("installation_repositories", "added")
    removed = load("installation_repositories", "removed")
    created = load("installation", "created")
    lists = [
        (added["installation"]["id"], added["repositories_added"]),
        (removed["installation"]["id"], removed["repositories_removed"]),
        (created["installation"]["id"], created["repositories"]),
    ]
    for installation_id, items in lists:
        assert items
        for item in items:
            repository = repository_from_json(item, installation_id)
            assert (repository.id, repository.full_name) == (item["id"], item["full_name"])
            assert repository.installation_id == installation_id


INSTALLATION_FILES = [*payload_files("installation"), *payload_files("installation_repositories")]


@pytest.mark.parametrize(
    "path", INSTALLATION_FILES, ids=[f"{p.parent.name}/{p.name}" for p in INSTALLATION_FILES]
)
def test_every_installation_object_parses(path: Path) -> None:
    raw = json.loads(path.read_text())["installation"]
    installation = installation_from_json(raw)
    assert installation.id == raw["id"]
    assert installation.account_login == raw["account"]["login"]
    assert installation.account_type in ("User", "Organization")
    assert installation.suspended == (path.name == "suspend.payload.json")


def test_installation_values() -> None:
    raw = load("installation", "created")["installation"]
    assert installation_from_json(raw) == InstallationSnapshot(
        id=957387, account_login="Codertocat", account_type="User", suspended=False
    )
    suspended = installation_from_json(load("installation", "suspend")["installation"])
    assert suspended.suspended


def test_installation_type_falls_back_to_target_type() -> None:
    raw = copy.deepcopy(load("installation", "created")["installation"])
    del raw["account"]["type"]
    raw["target_type"] = "Organization"
    assert installation_from_json(raw).account_type == "Organization"


def test_installation_on_an_enterprise_is_stored_under_its_slug() -> None:
    raw = copy.deepcopy(load("installation", "created")["installation"])
    raw["account"] = {
        "id": 4,
        "slug": "octo-corp",
        "name": "Octo Corp",
        "node_id": "E_kgDNBA",
        "html_url": "https://github.com/enterprises/octo-corp",
        "avatar_url": "https://avatars.githubusercontent.com/b/4?v=4",
        "created_at": "2024-01-01T00:00:00Z",
        "updated_at": "2024-01-01T00:00:00Z",
    }
    raw["target_type"] = "Enterprise"
    parsed = installation_from_json(raw)
    assert (parsed.account_login, parsed.account_type) == ("octo-corp", "Enterprise")


def test_installation_with_a_null_account() -> None:
    raw = copy.deepcopy(load("installation", "created")["installation"])
    raw["account"] = None
    assert installation_from_json(raw) == InstallationSnapshot(
        id=raw["id"], account_login="", account_type=raw["target_type"], suspended=False
    )
    del raw["target_type"]
    assert installation_from_json(raw).account_type == "Unknown"
    raw["account"] = {"name": "neither a login nor a slug"}
    with pytest.raises(PayloadError, match=r"installation\.account\.login: missing"):
        installation_from_json(raw)


def test_installation_reference_is_not_enough_for_a_snapshot() -> None:
    reference = load("pull_request", "opened")["installation"]  # only {id, node_id}
    with pytest.raises(PayloadError, match=r"installation\.account: missing"):
        installation_from_json(reference)


def test_suspended_at_with_an_offset() -> None:
    raw = copy.deepcopy(load("installation", "created")["installation"])
    raw["suspended_at"] = (datetime(2024, 1, 1, tzinfo=timezone(timedelta(hours=2)))).isoformat()
    assert installation_from_json(raw).suspended


@pytest.mark.parametrize(
    "full_name",
    [
        "o/" + "\u0130" * 253,  # 255 characters, whose lower case (the stored key) is longer
        "octo cat/Hello-World",
        "a/b/c",
        "/b",
        "a/",
        "a\tb/c",
    ],
)
def test_a_full_name_is_made_of_githubs_characters(full_name: str) -> None:
    with pytest.raises(PayloadError, match=r"repository\.full_name"):
        repository_from_json({"id": 1, "full_name": full_name}, 1)


def test_full_names_github_allows_pass() -> None:
    for full_name in ("Codertocat/Hello-World", "a_b/c.d-e", "x/" + "y" * 100, "o-1/.github"):
        assert repository_from_json({"id": 1, "full_name": full_name}, 1).full_name == full_name
