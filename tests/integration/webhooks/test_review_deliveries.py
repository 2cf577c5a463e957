"""`pull_request_review` deliveries: GitHub's real payloads, read back exactly."""

from __future__ import annotations

from typing import Any

from prwatch.domain.models import ChangeKind
from prwatch.store import DeliveryStatus
from tests.integration.webhooks.harness import payload, webhook_env

HEAD = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"


def review(action: str, **fields: Any) -> dict[str, Any]:
    # No real `edited` example exists: it is `submitted`'s shape with another action.
    body = payload("pull_request_review", "submitted" if action == "edited" else action)
    body["review"].update(fields)
    body["action"] = action
    return body


async def test_a_review_for_an_unknown_pr_stores_both_and_reads_back_exactly(
    database_url: str,
) -> None:
    async with webhook_env(database_url) as env:
        response = await env.deliver("pull_request_review", review("submitted"))
        assert response.status_code == 202
        pr = await env.pull(2)  # the PR came with the review
        assert pr["head_sha"] == HEAD and pr["updated_at"] == "2019-05-15T15:20:38Z"
        assert pr["reviews"] == [
            {
                "id": 237895671,
                "user": "Codertocat",
                "state": "commented",
                "submitted_at": "2019-05-15T15:20:38Z",
                "commit_id": HEAD,
            }
        ]
        assert pr["review_decision"] is None  # not in the payload: the sweep reads it
        await env.deliver("pull_request_review", review("dismissed"))
        assert [r["state"] for r in (await env.pull(2))["reviews"]] == ["dismissed"]
        # A late `submitted` redelivery never undoes the dismissal.
        await env.deliver("pull_request_review", review("submitted"))
        assert [r["state"] for r in (await env.pull(2))["reviews"]] == ["dismissed"]
        logged = [c for c in await env.changes() if c.review_id is not None]
        assert [(c.kind, c.old, c.new) for c in logged] == [
            (ChangeKind.REVIEW_SUBMITTED, None, "commented"),
            (ChangeKind.REVIEW_DISMISSED, "commented", "dismissed"),
        ]
        api = (await env.client.get("/api/changes")).json()["changes"]
        assert [c["review_id"] for c in api if c["kind"].startswith("review_")] == [237895671] * 2


async def test_the_latest_review_per_reviewer_is_shown(database_url: str) -> None:
    async with webhook_env(database_url) as env:
        await env.deliver("pull_request_review", review("submitted"))
        later = review("submitted", id=237895672, state="approved")
        later["review"]["submitted_at"] = "2019-05-15T16:00:00Z"
        other = review("submitted", id=237895673, state="changes_requested")
        other["review"]["user"] = other["review"]["user"] | {"login": "octocat"}
        for body in (later, other):
            await env.deliver("pull_request_review", body)
        reviews = (await env.pull(2))["reviews"]
        assert [(r["user"], r["state"], r["id"]) for r in reviews] == [
            ("Codertocat", "approved", 237895672),
            ("octocat", "changes_requested", 237895673),
        ]
        edited = review("edited", id=237895672, state="approved", body="LGTM!")
        edited["review"]["submitted_at"] = "2019-05-15T16:00:00Z"
        await env.deliver("pull_request_review", edited)
        assert (await env.pull(2))["reviews"] == reviews  # an edit changes nothing kept


async def test_a_review_outside_githubs_states_is_refused(database_url: str) -> None:
    async with webhook_env(database_url) as env:
        for bad in (
            review("submitted", state="pending"),
            review("submitted", state="LGTM"),
            review("submitted", id="237895671"),
            review("submitted", commit_id="HEAD"),
        ):
            response = await env.send("pull_request_review", bad)
            assert response.status_code == 422, (bad["review"], response.text)
        counts = await env.counts()  # kept for the record (and the ledger), never applied
        assert counts[DeliveryStatus.FAILED] == sum(counts.values()) == 4
        assert await env.changes() == []
