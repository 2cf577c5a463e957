"""Every delivery the simulator sends has the shape GitHub's has: validated against GitHub's
own payload schemas (fixtures/github-webhook-schemas) over varied churn and admin activity."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import httpx
import pytest

from bench.webhook_activity import AdminDriver
from bench.webhook_schemas import SCHEMAS, SchemasMissingError, WebhookSchemas
from prwatch.sim.churn import churn
from prwatch.sim.clock import ManualClock
from prwatch.sim.world import World
from tests.unit.sim.test_webhooks_and_world import wired

PAYLOADS = Path(__file__).resolve().parents[3] / "fixtures" / "github-payloads"
WATCHED_EVENTS = (
    "pull_request",
    "check_run",
    "check_suite",
    "installation",
    "installation_repositories",
)


@pytest.fixture(scope="module")
def schemas() -> WebhookSchemas:
    return WebhookSchemas()  # raises (fails every test) when the folder is missing


def test_missing_schemas_fail_loudly(tmp_path: Path) -> None:
    with pytest.raises(SchemasMissingError):
        WebhookSchemas(tmp_path)
    assert (SCHEMAS / "pull_request" / "opened.schema.json").is_file()


def test_githubs_own_payloads_are_valid(schemas: WebhookSchemas) -> None:
    """The validator and its known-lag allowances accept what GitHub really sends."""
    checked = 0
    for path in sorted(PAYLOADS.glob("*/*.json")):
        event = path.parent.name
        if event == "ping":
            continue
        payload = json.loads(path.read_text())
        assert schemas.problems(event, payload) == [], path.name
        checked += 1
    assert checked >= 30


def test_the_validator_catches_what_github_does_not_send(schemas: WebhookSchemas) -> None:
    payload = json.loads((PAYLOADS / "pull_request" / "labeled.payload.json").read_text())
    payload["label"]["archived_by"] = None
    payload["pull_request"]["updated_at"] = "2019-05-15 15:20:33"
    payload["changes"] = {"body": {"from": None}}
    found = {str(problem) for problem in schemas.problems("pull_request", payload)}
    assert "pull_request.labeled: label: unexpected properties ['archived_by']" in found
    assert any("updated_at" in text and "date-time" in text for text in found), found
    assert any("changes" in text for text in found), found


async def test_every_delivery_of_varied_activity_is_valid(schemas: WebhookSchemas) -> None:
    sim, receiver = wired(repos=3, prs=16, installations=2, open_ratio=0.6)
    transport = httpx.ASGITransport(app=sim.app)
    async with sim, httpx.AsyncClient(transport=transport, base_url="http://sim.test") as client:
        driver = AdminDriver(client, seed=5)
        for _ in range(8):
            await driver.round()
        await sim.webhooks.drain()
    deliveries = [(h["x-github-event"], json.loads(body)) for h, body in receiver.received]
    tally = schemas.tally(deliveries)
    assert tally.problems == {}, next(iter(tally.problems))
    assert tally.checked > 400
    codes = Counter[int]()
    for name, count in driver.outcomes.items():
        codes[int(name.rsplit(" ", 1)[1])] += count
    applied = sum(count for code, count in codes.items() if code < 300)
    assert applied > codes[404] + codes[422]  # the driver mostly picks mutations that apply


def test_a_few_minutes_of_churn_send_every_action(schemas: WebhookSchemas) -> None:
    """Three minutes of churn on a small world (one call per simulated second, a new PR per
    repository every ten) send every action of the five events prwatch handles, the common
    ones far more often than the rare ones."""
    clock = ManualClock(1_700_000_000)
    world = World.generate(repos=2, prs=20, open_ratio=0.6, seed=11, installations=2, clock=clock)
    seen: Counter[str] = Counter()
    world.subscribe(lambda event: seen.update([f"{event.event}.{event.action}"]))
    for second in range(180):
        clock.advance(1)
        churn(
            world,
            seed=second,
            pr_fraction=0.15,
            check_fraction=0.2,
            new_prs=int(second % 10 == 0),
            installation_fraction=0.05,
        )
    expected = {
        f"{event}.{action}" for event in WATCHED_EVENTS for action in schemas.actions(event)
    }
    assert len(expected) == 35
    assert expected - set(seen) == set()
    # plausible relative frequencies: CI traffic dominates, pushes outnumber rare actions
    assert (
        seen["check_run.created"] > seen["pull_request.synchronize"] > seen["pull_request.locked"]
    )
    assert seen["pull_request.labeled"] > seen["pull_request.milestoned"]
    assert seen["check_run.completed"] > 5 * seen["check_run.rerequested"]
    assert seen["check_run.completed"] > seen["check_run.requested_action"]
    assert sum(n for kind, n in seen.items() if kind.startswith("installation")) < 0.05 * sum(
        seen.values()
    )
