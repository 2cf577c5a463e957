"""Hostile signed deliveries through HTTP: refused with 4xx and a reason, recorded as failed,
never applied, never a 5xx; and what passes is stored within the boundary rules."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prwatch.store import DeliveryStatus
from tests.integration.webhooks.harness import WebhookEnv, payload, webhook_env
from tests.integration.webhooks.hostile_inputs import (
    hostile_inputs,
    rule_breaks,
    run_hostile_inputs,
    stored_rows,
)


async def test_every_hostile_input_is_refused_or_stored_within_the_rules(
    database_url: str,
) -> None:
    async with webhook_env(database_url) as env:
        tally = await run_hostile_inputs(env)
    assert tally.problems == []
    assert tally.server_errors_5xx == 0 and tally.stored_wrongly == 0
    # What GitHub could send passes; everything else is refused.
    assert tally.accepted_2xx == sum(not hostile.refused for hostile in hostile_inputs())


async def test_a_refused_delivery_is_recorded_failed_with_its_reason_and_counted(
    database_url: str,
) -> None:
    async with webhook_env(database_url) as env:
        body = payload("pull_request", "opened")
        body["pull_request"]["head"]["sha"] = "HEAD"
        guid = str(uuid.uuid4())
        response = await env.send("pull_request", body, guid=guid)
        assert response.status_code == 422
        assert "pull_request.head.sha" in response.json()["error"]
        await env.queue.drain()
        async with env.store.transaction(read_only=True) as tx:
            stored = await tx.get_delivery(guid)
        assert stored is not None and stored.status is DeliveryStatus.FAILED
        assert stored.last_error and "pull_request.head.sha" in stored.last_error
        assert (stored.installation_id, stored.repository_id) == (1, 186853002)
        assert await env.changes() == []
        again = await env.send("pull_request", body, guid=guid)  # a redelivery: refused again
        assert again.status_code == 422
        metrics = (await env.client.get("/metrics")).text
        assert 'prwatch_webhook_deliveries_total{event="pull_request",outcome="invalid"} 2.0' in (
            metrics
        )


# Values that break one rule or another, and some that pass.
hostile_values = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, -1, 2**31, 2**63, 2**64, True, 1.5, None]),
    st.text(max_size=50),
    st.text(alphabet=st.sampled_from("\x00\ud800abcdef0123456789ABCDEF/ "), max_size=45),
    st.sampled_from(["2999-01-01T00:00:00Z", "0001-01-01T00:00:00+01:00", "now", "", "A" * 40]),
    st.lists(st.integers(), max_size=2),
    st.recursive(st.none(), lambda inner: st.lists(inner, max_size=1), max_leaves=100),
)
FIELDS = [
    ("pull_request", "id"),
    ("pull_request", "number"),
    ("pull_request", "node_id"),
    ("pull_request", "title"),
    ("pull_request", "state"),
    ("pull_request", "draft"),
    ("pull_request", "merged_at"),
    ("pull_request", "closed_at"),
    ("pull_request", "created_at"),
    ("pull_request", "updated_at"),
    ("pull_request", "user", "login"),
    ("pull_request", "labels"),
    ("pull_request", "head", "sha"),
    ("pull_request", "head", "ref"),
    ("pull_request", "base", "sha"),
    ("pull_request", "base", "ref"),
    ("repository", "id"),
    ("repository", "full_name"),
    ("repository", "owner", "login"),
    ("installation", "id"),
    ("action",),
]


def _mutated(path: tuple[str, ...], value: Any) -> bytes:
    body = copy.deepcopy(OPENED)
    target = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return json.dumps(body).encode()


OPENED = payload("pull_request", "opened")


async def _judged(env: WebhookEnv, body: bytes) -> None:
    changes_before = len(await env.changes())
    before = await stored_rows(env)
    guid = str(uuid.uuid4())
    response = await env.send("pull_request", body, guid=guid)
    await env.queue.drain()
    assert response.status_code in (202, 400, 422), response.text
    after = await stored_rows(env)
    assert rule_breaks(after) == []
    async with env.store.transaction(read_only=True) as tx:
        stored = await tx.get_delivery(guid)
    if response.status_code == 422:
        assert "error" in response.json()
        assert after == before and len(await env.changes()) == changes_before
        assert stored is not None and stored.status is DeliveryStatus.FAILED
    elif response.status_code == 202:  # accepted: applied, or failed in its job for a reason
        assert stored is not None and stored.status is not DeliveryStatus.PENDING


@pytest.fixture
async def env(sqlite_url: str) -> AsyncIterator[WebhookEnv]:
    async with webhook_env(sqlite_url) as env:
        yield env


# One store for every example: each is judged by what it changed, whatever came before.
@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(path=st.sampled_from(FIELDS), value=hostile_values)
async def test_generated_hostile_fields_never_answer_5xx_nor_store_a_broken_value(
    env: WebhookEnv, path: tuple[str, ...], value: Any
) -> None:
    await _judged(env, _mutated(path, value))
