"""Real GitHub payloads through POST /webhooks, applied, and read back through the read API."""

from __future__ import annotations

import uuid
from typing import Any

from prwatch.store import DeliveryStatus
from tests.integration.webhooks.harness import PAYLOADS, REPO, payload, webhook_env

HEAD = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"


def with_installation(body: dict[str, Any], installation_id: int = 1) -> dict[str, Any]:
    body["installation"] = {"id": installation_id, "node_id": "MDIz"}
    return body


def pr_payload(action: str, **fields: Any) -> dict[str, Any]:
    body = with_installation(payload("pull_request", action))
    body["pull_request"].update(fields)
    return body


async def test_every_real_payload_is_accepted(database_url: str) -> None:
    async with webhook_env(database_url) as env:
        for path in sorted(PAYLOADS.glob("*/*.json")):
            event = path.parent.name
            response = await env.send(event, path.read_bytes())
            assert response.status_code in (200, 202), (path, response.text)
        await env.queue.drain()
        counts = await env.counts()
        assert counts[DeliveryStatus.PENDING] == counts[DeliveryStatus.PROCESSING] == 0


async def test_a_pull_request_lifecycle_reads_back_through_the_api(database_url: str) -> None:
    async with webhook_env(database_url) as env:
        await env.deliver("pull_request", payload("pull_request", "opened"))
        pr = await env.pull(2)
        assert pr == {
            "number": 2,
            "state": "open",
            "draft": False,
            "merged": False,
            "title": "Update the README with new information.",
            "labels": ["bug"],
            "head_sha": HEAD,
            "head_ref": "changes",
            "base_ref": "master",
            "author": "Codertocat",
            "created_at": "2019-05-15T15:20:33Z",
            "updated_at": "2019-05-15T15:20:33Z",
            "closed_at": None,
            "merged_at": None,
            "check_runs": [],
            "statuses": [],
            "reviews": [],
            "review_decision": None,
            "merge_signal": None,
            "auto_merge": None,
            "merge_queue": None,
        }
        listed = (await env.client.get(f"/api/repos/{REPO}/pulls")).json()
        assert [item["number"] for item in listed["pulls"]] == [2]
        assert "check_runs" not in listed["pulls"][0]
        assert listed["next"] is None

        await env.deliver("pull_request", pr_payload("unlabeled", labels=[]))
        assert (await env.pull(2))["labels"] == []
        await env.deliver("pull_request", payload("pull_request", "labeled") | {"pull_request": {
            **payload("pull_request", "labeled")["pull_request"],
            "updated_at": "2019-05-15T15:20:40Z",
        }})  # fmt: skip
        assert (await env.pull(2))["labels"] == ["bug"]

        new_head = "a" * 40
        sync = payload("pull_request", "synchronize")
        sync["pull_request"]["head"]["sha"] = new_head
        sync["pull_request"]["updated_at"] = "2019-05-15T15:20:50Z"
        await env.deliver("pull_request", sync)
        assert (await env.pull(2))["head_sha"] == new_head

        await env.deliver("pull_request", payload("pull_request", "closed"))
        closed = await env.pull(2)
        assert (closed["state"], closed["merged"]) == ("closed", False)
        assert closed["closed_at"] == "2019-05-15T15:21:18Z"
        assert closed["head_sha"] == HEAD  # the closed payload's head, the newer snapshot
        assert (await env.client.get(f"/api/repos/{REPO}/pulls")).json()["pulls"] == []
        everything = await env.client.get(f"/api/repos/{REPO}/pulls?state=all")
        assert [item["state"] for item in everything.json()["pulls"]] == ["closed"]


async def test_read_api_errors(database_url: str) -> None:
    async with webhook_env(database_url) as env:
        await env.deliver("pull_request", payload("pull_request", "opened"))
        assert (await env.client.get(f"/api/repos/{REPO}/pulls?state=merged")).status_code == 400
        unknown = await env.client.get("/api/repos/nobody/nothing/pulls")
        assert (unknown.status_code, unknown.json()["error"]) == (404, "not_found")
        missing = await env.client.get(f"/api/repos/{REPO}/pulls/99")
        assert (missing.status_code, missing.json()["error"]) == (404, "not_found")
        for query in ("after=-1", "after=x", "limit=0", "limit=1001", "limit=ten"):
            assert (await env.client.get(f"/api/changes?{query}")).status_code == 400, query


async def test_check_runs_attach_to_the_head_and_never_go_backwards(database_url: str) -> None:
    async with webhook_env(database_url) as env:
        await env.deliver("pull_request", payload("pull_request", "opened"))
        # completed before created: the later state wins whatever the order
        await env.deliver("check_run", with_installation(payload("check_run", "completed")))
        await env.deliver("check_run", with_installation(payload("check_run", "created")))
        runs = (await env.pull(2))["check_runs"]
        assert runs == [
            {
                "id": 128620228,
                "name": "Octocoders-linter",
                "status": "completed",
                "conclusion": "success",
                "started_at": "2019-05-15T15:21:12Z",
                "completed_at": "2019-05-15T15:21:12Z",
                "latest": True,
            }
        ]
        # the suite's runs are all stored and completed: no GitHub request is needed
        await env.deliver("check_suite", with_installation(payload("check_suite", "completed")))
        assert (await env.counts())[DeliveryStatus.FAILED] == 0


async def test_reversed_pull_request_deliveries_end_in_the_newest_state(
    database_url: str,
) -> None:
    async with webhook_env(database_url) as env:
        opened = pr_payload("opened", labels=[])
        labeled = pr_payload("labeled")  # updated_at 15:20:35, after opened's 15:20:33
        await env.deliver("pull_request", labeled)
        await env.deliver("pull_request", opened)
        assert (await env.pull(2))["labels"] == ["bug"]
        kinds = [change.kind.value for change in await env.changes()]
        assert kinds.count("pr_opened") == 1
        assert "pr_labels_changed" not in kinds  # the older snapshot was fenced off


async def test_a_fork_check_run_and_an_early_check_run_find_their_pull_request(
    database_url: str,
) -> None:
    async with webhook_env(database_url) as env:
        early = with_installation(payload("check_run", "created"))
        early["check_run"]["pull_requests"] = []  # as for a PR from a fork
        await env.deliver("check_run", early)  # before its PR is known
        await env.deliver("pull_request", payload("pull_request", "opened"))
        assert [run["id"] for run in (await env.pull(2))["check_runs"]] == [128620228]

        fork = with_installation(payload("check_run", "completed"))
        fork["check_run"]["pull_requests"] = []
        await env.deliver("check_run", fork)
        assert (await env.pull(2))["check_runs"][0]["status"] == "completed"
        concluded = [c for c in await env.changes() if c.kind.value == "check_run_concluded"]
        assert [c.pr_number for c in concluded] == [2]


async def test_the_change_log_names_the_webhook_and_the_delivery(database_url: str) -> None:
    async with webhook_env(database_url) as env:
        guid = str(uuid.uuid4())
        await env.deliver("pull_request", payload("pull_request", "opened"), guid=guid)
        page = (await env.client.get("/api/changes?limit=2")).json()
        assert [c["kind"] for c in page["changes"]] == ["installation_added", "repository_added"]
        assert page["next"] == page["changes"][-1]["cursor"]
        rest = (await env.client.get(f"/api/changes?after={page['next']}")).json()
        assert [c["kind"] for c in rest["changes"]] == ["pr_opened"]
        opened = rest["changes"][0]
        assert opened["source"] == "webhook"
        assert opened["delivery_id"] == guid
        assert (opened["repository_id"], opened["installation_id"]) == (186853002, 1)
        assert opened["pr_number"] == 2
        assert opened["detected_at"].endswith("Z")
        empty = (await env.client.get(f"/api/changes?after={rest['next']}")).json()
        assert empty == {"changes": [], "next": rest["next"]}


async def test_installation_and_repository_events(database_url: str) -> None:
    async with webhook_env(database_url) as env:
        await env.deliver("installation", payload("installation", "created"))
        async with env.store.transaction(read_only=True) as tx:
            installation = await tx.get_installation(957387)
            repos = await tx.list_repositories(957387)
        assert installation is not None and installation.account_login == "Codertocat"
        assert {repo.full_name for repo in repos} == {"Codertocat/Hello-World"}
        assert env.sweeps == [957387]

        suspend = payload("installation", "suspend")
        suspend["installation"]["id"] = 957387
        await env.deliver("installation", suspend)
        unsuspend = payload("installation", "unsuspend")
        unsuspend["installation"]["id"] = 957387
        await env.deliver("installation", unsuspend)

        opened = with_installation(payload("pull_request", "opened"), 957387)
        await env.deliver("pull_request", opened)
        renamed = with_installation(payload("repository", "renamed"), 957387)
        renamed["repository"].update(id=186853002, full_name="Codertocat/Renamed")
        await env.deliver("repository", renamed)
        assert (await env.pull(2, "Codertocat/Renamed"))["number"] == 2
        gone = await env.client.get(f"/api/repos/{REPO}/pulls/2")
        assert gone.status_code == 404

        removed = payload("installation_repositories", "removed")
        removed["installation"]["id"] = 957387
        removed["repositories_removed"] = [
            {"id": 186853002, "node_id": "x", "name": "Renamed", "full_name": "Codertocat/Renamed",
             "private": False}
        ]  # fmt: skip
        await env.deliver("installation_repositories", removed)
        assert (await env.client.get("/api/repos/Codertocat/Renamed/pulls/2")).status_code == 404

        added = payload("installation_repositories", "added")  # Codertocat/Space
        await env.deliver("installation_repositories", added)
        readded = payload("installation_repositories", "added")
        readded["repositories_added"] = removed["repositories_removed"]
        await env.deliver("installation_repositories", readded)
        # Restored; its PRs stay tombstoned until the installation sweep queued here rewrites them.
        restored = await env.client.get("/api/repos/Codertocat/Renamed/pulls?state=all")
        assert (restored.status_code, restored.json()) == (200, {"pulls": [], "next": None})
        assert env.sweeps == [957387] * 4  # created, unsuspended, Space added, re-added

        deleted = payload("installation", "deleted")
        deleted["installation"]["id"] = 957387
        await env.deliver("installation", deleted)

        kinds = [(c.kind.value, c.source.value) for c in await env.changes()]
        assert {source for _, source in kinds} == {"webhook"}
        assert [kind for kind, _ in kinds] == [
            "installation_added",
            "repository_added",
            "installation_suspended",
            "installation_unsuspended",
            "pr_opened",
            "repository_renamed",
            "repository_removed",
            "repository_added",
            "repository_restored",
            "installation_removed",
        ]
        assert (await env.counts())[DeliveryStatus.FAILED] == 0
