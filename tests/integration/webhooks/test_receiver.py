"""POST /webhooks: what is refused (and then not stored), what is stored and acknowledged."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator

import pytest

from prwatch.queue.port import QueueUnavailable
from prwatch.store import DeliveryStatus
from prwatch.web.webhooks import MAX_BODY_BYTES
from tests.integration.webhooks.harness import (
    SECRET,
    WebhookEnv,
    payload,
    signed_headers,
    webhook_env,
)

OPENED = json.dumps(payload("pull_request", "opened")).encode()


async def assert_nothing_stored(env: WebhookEnv) -> None:
    counts = await env.counts()
    assert sum(counts.values()) == 0


async def test_bad_and_missing_signatures_are_refused(database_url: str) -> None:
    async with webhook_env(database_url) as env:
        headers = signed_headers("pull_request", OPENED, secret="another secret")
        response = await env.client.post("/webhooks", content=OPENED, headers=headers)
        assert response.status_code == 401
        assert "error" in response.json()
        del headers["X-Hub-Signature-256"]
        response = await env.client.post("/webhooks", content=OPENED, headers=headers)
        assert response.status_code == 401
        headers = signed_headers("pull_request", OPENED)
        response = await env.client.post("/webhooks", content=OPENED + b" ", headers=headers)
        assert response.status_code == 401  # the signature covers the raw body
        await assert_nothing_stored(env)


async def test_missing_headers_and_bad_bodies_are_refused(database_url: str) -> None:
    async with webhook_env(database_url) as env:
        for header in ("X-GitHub-Event", "X-GitHub-Delivery"):
            headers = signed_headers("pull_request", OPENED)
            del headers[header]
            response = await env.client.post("/webhooks", content=OPENED, headers=headers)
            assert response.status_code == 400
            assert header in response.json()["error"]
        for body in (b"not json", b"[1, 2]", b"\xff\xfe"):
            response = await env.client.post(
                "/webhooks", content=body, headers=signed_headers("pull_request", body)
            )
            assert response.status_code == 400, body
        await assert_nothing_stored(env)


async def test_a_body_over_25_mb_is_refused_while_streaming(database_url: str) -> None:
    async with webhook_env(database_url) as env:
        chunk = b" " * (1024 * 1024)
        sent = 0

        async def stream() -> AsyncIterator[bytes]:
            nonlocal sent
            for _ in range(40):
                sent += len(chunk)
                yield chunk

        headers = signed_headers("pull_request", b"")
        response = await env.client.post("/webhooks", content=stream(), headers=headers)
        assert response.status_code == 413
        assert "error" in response.json()
        assert sent <= MAX_BODY_BYTES + 2 * len(chunk)  # it stopped reading at the limit
        declared = signed_headers("pull_request", OPENED) | {
            "Content-Length": str(MAX_BODY_BYTES + 1)
        }
        response = await env.client.post("/webhooks", content=OPENED, headers=declared)
        assert response.status_code == 413
        await assert_nothing_stored(env)


async def test_without_a_configured_secret_every_delivery_is_refused(database_url: str) -> None:
    async with webhook_env(database_url, secrets=()) as env:
        response = await env.send("pull_request", OPENED)
        assert response.status_code == 503
        assert "secret" in response.json()["error"]
        await assert_nothing_stored(env)


async def test_ping_is_answered_and_both_secrets_of_a_rotation_are_accepted(
    database_url: str,
) -> None:
    async with webhook_env(database_url, secrets=("an old secret retired", SECRET)) as env:
        response = await env.send("ping", payload("ping", ""), secret="an old secret retired")
        assert (response.status_code, response.json()) == (200, {"ok": True})
        first = await env.send("pull_request", OPENED, secret="an old secret retired")
        second = await env.send("pull_request", OPENED, secret=SECRET)
        assert first.status_code == second.status_code == 202
        await env.queue.drain()
        assert (await env.counts())[DeliveryStatus.DONE] == 2


async def test_a_delivery_is_stored_before_it_is_acknowledged(database_url: str) -> None:
    async with webhook_env(database_url, start_queue=False) as env:
        guid = str(uuid.uuid4())
        response = await env.send("pull_request", OPENED, guid=guid)
        assert response.status_code == 202
        assert response.json() == {"delivery": guid}
        async with env.store.transaction(read_only=True) as tx:
            stored = await tx.get_delivery(guid)
        assert stored is not None
        assert stored.payload == OPENED
        assert (stored.event, stored.action) == ("pull_request", "opened")
        assert (stored.installation_id, stored.repository_id) == (1, 186853002)
        assert stored.status is DeliveryStatus.PENDING
        assert await env.queue.depth() == 1


async def test_a_repeated_guid_is_acknowledged_as_a_duplicate_and_applied_once(
    database_url: str,
) -> None:
    async with webhook_env(database_url) as env:
        guid = str(uuid.uuid4())
        assert (await env.send("pull_request", OPENED, guid=guid)).status_code == 202
        await env.queue.drain()
        again = await env.send("pull_request", OPENED, guid=guid)
        assert (again.status_code, again.json()) == (200, {"duplicate": True})
        await env.queue.drain()
        kinds = [change.kind.value for change in await env.changes()]
        assert kinds.count("pr_opened") == 1
        assert (await env.counts())[DeliveryStatus.DONE] == 1


async def test_an_unknown_event_is_stored_as_ignored(database_url: str) -> None:
    async with webhook_env(database_url) as env:
        guid = str(uuid.uuid4())
        response = await env.send("star", {"action": "created", "starred_at": None}, guid=guid)
        assert response.status_code == 202
        async with env.store.transaction(read_only=True) as tx:
            stored = await tx.get_delivery(guid)
        assert stored is not None and stored.status is DeliveryStatus.IGNORED
        assert await env.queue.depth() == 0


async def test_an_unreachable_database_answers_503(sqlite_url: str) -> None:
    unreachable = "postgresql+asyncpg://postgres@127.0.0.1:1/prwatch"
    async with webhook_env(unreachable, migrate=False, start_queue=False) as env:
        response = await env.send("pull_request", OPENED)
        assert response.status_code == 503
        assert "error" in response.json()


async def test_a_closed_queue_still_acknowledges_what_was_stored(database_url: str) -> None:
    async with webhook_env(database_url, start_queue=False) as env:
        await env.queue.aclose()
        with pytest.raises(QueueUnavailable):
            await env.queue.enqueue("process_delivery", "x", job_id="x")
        guid = str(uuid.uuid4())
        response = await env.send("pull_request", OPENED, guid=guid)
        assert response.status_code == 202
        assert (await env.counts())[DeliveryStatus.PENDING] == 1


async def test_a_slow_drip_body_is_cut_off_with_408(sqlite_url: str) -> None:
    async with webhook_env(sqlite_url, overrides={"body_read_timeout_seconds": 0.2}) as env:
        stalled = asyncio.Event()

        async def drip() -> AsyncIterator[bytes]:
            yield OPENED[:100]
            await stalled.wait()  # never set: the rest never comes
            yield OPENED[100:]

        headers = signed_headers("pull_request", OPENED)
        response = await env.client.post("/webhooks", content=drip(), headers=headers)
        assert response.status_code == 408
        assert "error" in response.json()
        await assert_nothing_stored(env)
