"""`status` deliveries: GitHub's real payloads through POST /webhooks, read back exactly."""

from __future__ import annotations

from typing import Any

from prwatch.domain.models import ChangeKind
from prwatch.store import DeliveryStatus
from tests.integration.webhooks.harness import REPO, payload, webhook_env

HEAD = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"  # PR 2's head in the real payloads
STATUS_SHA = "6113728f27ae82c7b1a177c8d03f9e96e0adf246"  # the real status payload's commit


def status_payload(**fields: Any) -> dict[str, Any]:
    body = payload("status", "with-installation")
    body.update(fields)
    return body


def opened(**head: Any) -> dict[str, Any]:
    body = payload("pull_request", "opened")
    body["installation"] = {"id": 1, "node_id": "MDIz"}
    body["pull_request"]["head"].update(head)
    return body


async def test_a_real_status_reads_back_exactly_on_the_pr_of_its_commit(database_url: str) -> None:
    async with webhook_env(database_url) as env:
        await env.deliver("pull_request", opened(sha=STATUS_SHA))
        response = await env.deliver("status", status_payload())
        assert response.status_code == 202
        pr = await env.pull(2)
        assert pr["statuses"] == [
            {
                "context": "default",
                "state": "success",
                "description": None,
                "target_url": None,
                "updated_at": "2019-05-15T15:20:55Z",
            }
        ]
        listed = (await env.client.get(f"/api/repos/{REPO}/pulls")).json()["pulls"]
        assert listed[0]["statuses"] == pr["statuses"]
        (change,) = [c for c in await env.changes() if c.kind is ChangeKind.STATUS_CREATED]
        assert (change.pr_number, change.status_context, change.new) == (2, "default", "success")
        assert change.delivery_id is not None and change.source.value == "webhook"
        api = (await env.client.get("/api/changes")).json()["changes"]
        (logged,) = [c for c in api if c["kind"] == "status_created"]
        assert logged["status_context"] == "default" and logged["pr_number"] == 2
        (went_green,) = [c for c in api if c["kind"] == "merge_signal_changed"]
        assert (went_green["old"], went_green["new"], went_green["pr_number"]) == (
            None,
            "success",
            2,
        )
        assert went_green["delivery_id"] == logged["delivery_id"]


async def test_a_status_before_its_pr_is_kept_and_attached_when_the_pr_appears(
    database_url: str,
) -> None:
    async with webhook_env(database_url) as env:
        await env.deliver("status", status_payload())  # no PR has this head yet
        assert (await env.counts())[DeliveryStatus.DONE] == 1
        await env.deliver("pull_request", opened(sha=STATUS_SHA))
        assert [s["context"] for s in (await env.pull(2))["statuses"]] == ["default"]


async def test_the_latest_status_per_context_wins_whatever_the_delivery_order(
    database_url: str,
) -> None:
    async with webhook_env(database_url) as env:
        await env.deliver("pull_request", opened(sha=HEAD))
        later = status_payload(
            sha=HEAD, id=7, state="failure", description="2 tests failed",
            target_url="https://ci.example.com/7",
            created_at="2019-05-15T15:30:00+00:00", updated_at="2019-05-15T15:30:00+00:00",
        )  # fmt: skip
        earlier = status_payload(sha=HEAD, id=6, state="pending")
        other = status_payload(sha=HEAD, id=8, state="pending", context="ci/lint")
        for body in (later, earlier, other):  # the pending one arrives late
            await env.deliver("status", body)
        statuses = (await env.pull(2))["statuses"]
        assert statuses == [
            {
                "context": "ci/lint",
                "state": "pending",
                "description": None,
                "target_url": None,
                "updated_at": "2019-05-15T15:20:55Z",
            },
            {
                "context": "default",
                "state": "failure",
                "description": "2 tests failed",
                "target_url": "https://ci.example.com/7",
                "updated_at": "2019-05-15T15:30:00Z",
            },
        ]
        kinds = [c.kind for c in await env.changes() if c.status_context is not None]
        assert kinds == [ChangeKind.STATUS_CREATED, ChangeKind.STATUS_CREATED]
        # Within one second, the higher status id wins.
        await env.deliver("status", later | {"id": 9, "state": "success"})
        await env.deliver("status", later | {"id": 5, "state": "error"})
        assert [s["state"] for s in (await env.pull(2))["statuses"]] == ["pending", "success"]


async def test_a_status_outside_githubs_states_is_refused_and_recorded_failed(
    database_url: str,
) -> None:
    async with webhook_env(database_url) as env:
        for bad in (
            status_payload(state="expected"),
            status_payload(state="SUCCESS"),
            status_payload(sha="not-a-sha"),
            status_payload(context=""),
            status_payload(created_at="yesterday"),
            status_payload(context=None),
        ):
            response = await env.send("status", bad)
            assert response.status_code == 422, (bad, response.text)
            assert "status" in response.json()["error"]
        counts = await env.counts()  # kept for the record (and the ledger), never applied
        assert counts[DeliveryStatus.FAILED] == sum(counts.values()) == 6
        assert await env.changes() == []
