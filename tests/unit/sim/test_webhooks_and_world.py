"""Webhook sending (signatures, knobs, deliveries API), the manifest flow, world rules, scale."""

from __future__ import annotations

import json
import time

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from prwatch.sim.app import Simulator
from prwatch.sim.clock import ManualClock
from prwatch.sim.signing import sign
from prwatch.sim.world import World
from tests.unit.sim.conftest import app_jwt, make_sim


class Receiver:
    """A tiny webhook endpoint that records what arrives and can be told to fail."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.status = 202

        async def hook(request: Request) -> Response:
            self.received.append((dict(request.headers), await request.body()))
            return Response(status_code=self.status)

        self.app = Starlette(routes=[Route("/webhook", hook, methods=["POST"])])


def wired(**overrides: object) -> tuple[Simulator, Receiver]:
    receiver = Receiver()
    sim = make_sim(hook_url="http://prwatch.test/webhook", **overrides)
    sim.webhooks.transport = httpx.ASGITransport(app=receiver.app)
    return sim, receiver


async def test_deliveries_are_signed_and_in_order() -> None:
    sim, receiver = wired()
    async with sim:
        repo = next(iter(sim.world.repositories.values()))
        pr = sim.world.open_pull_request(repo.id, title="One")
        sim.world.add_label(repo.id, pr.number, "bug")
        sim.world.close_pull_request(repo.id, pr.number)
        await sim.webhooks.drain()
    actions = [json.loads(body)["action"] for _, body in receiver.received]
    assert actions == ["opened", "labeled", "closed"]
    headers, body = receiver.received[0]
    assert headers["x-github-event"] == "pull_request"
    assert headers["x-hub-signature-256"] == sign(sim.config.webhook_secret, body)
    assert headers["user-agent"].startswith("GitHub-Hookshot/")
    assert headers["x-github-hook-installation-target-type"] == "integration"
    assert len({h["x-github-delivery"] for h, _ in receiver.received}) == 3


async def test_drop_duplicate_and_failed_attempts_are_recorded() -> None:
    sim, receiver = wired(webhook_duplicate_rate=1.0)
    repo = next(iter(sim.world.repositories.values()))
    sim.world.open_pull_request(repo.id, title="Twice")
    await sim.webhooks.drain()  # works without the background task too
    assert len(receiver.received) == 2
    assert (
        receiver.received[0][0]["x-github-delivery"] == receiver.received[1][0]["x-github-delivery"]
    )
    sim.configure({"webhook_duplicate_rate": 0.0, "webhook_drop_rate": 1.0})
    sim.world.open_pull_request(repo.id, title="Dropped")
    await sim.webhooks.drain()
    assert len(receiver.received) == 2
    assert sim.webhooks.attempts[-1].status_code == 0
    sim.configure({"webhook_drop_rate": 0.0})
    receiver.status = 500
    sim.world.open_pull_request(repo.id, title="Refused")
    await sim.webhooks.drain()
    assert sim.webhooks.attempts[-1].status_code == 500
    assert sim.webhooks.attempts[-1].status != "OK"


async def test_reorder_window_shuffles_but_delivers_all() -> None:
    sim, receiver = wired(webhook_reorder_window=5, webhook_seed=3)
    repo = next(iter(sim.world.repositories.values()))
    for i in range(10):
        sim.world.open_pull_request(repo.id, title=f"PR {i}")
    await sim.webhooks.drain()
    numbers = [json.loads(body)["number"] for _, body in receiver.received]
    assert sorted(numbers) == numbers[:0] + sorted(numbers) and len(numbers) == 10
    assert numbers != sorted(numbers)


async def test_deliveries_api_and_redelivery() -> None:
    sim, receiver = wired()
    repo = next(iter(sim.world.repositories.values()))
    for i in range(5):
        sim.world.open_pull_request(repo.id, title=f"PR {i}")
    await sim.webhooks.drain()
    jwt_auth = {"Authorization": f"Bearer {app_jwt(sim)}"}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sim.app), base_url="http://sim.test"
    ) as c:
        first = await c.get("/app/hook/deliveries?per_page=3", headers=jwt_auth)
        items = first.json()
        assert len(items) == 3
        assert set(items[0]) >= {
            "id",
            "guid",
            "delivered_at",
            "redelivery",
            "duration",
            "status",
            "status_code",
            "event",
            "action",
            "installation_id",
            "repository_id",
        }
        next_url = first.headers["link"].split(";")[0].strip("<>")
        assert "cursor=" in next_url and next_url.startswith("http://sim.test/")
        rest = (await c.get(next_url, headers=jwt_auth)).json()
        assert len(rest) == 2 and rest[0]["id"] < items[-1]["id"]
        detail = (await c.get(f"/app/hook/deliveries/{items[0]['id']}", headers=jwt_auth)).json()
        assert detail["request"]["payload"]["action"] == "opened"
        again = await c.post(f"/app/hook/deliveries/{items[0]['id']}/attempts", headers=jwt_auth)
        assert again.status_code == 202
        await sim.webhooks.drain()
        assert receiver.received[-1][0]["x-github-delivery"] == items[0]["guid"]
        newest = (await c.get("/app/hook/deliveries?per_page=1", headers=jwt_auth)).json()[0]
        assert newest["redelivery"] is True and newest["guid"] == items[0]["guid"]
        assert isinstance(sim.clock, ManualClock)
        sim.clock.advance(3 * 24 * 3600 + 1)
        jwt_auth = {"Authorization": f"Bearer {app_jwt(sim)}"}
        late = await c.post(f"/app/hook/deliveries/{items[0]['id']}/attempts", headers=jwt_auth)
        assert late.status_code == 422


async def test_manifest_flow() -> None:
    sim = make_sim()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sim.app), base_url="http://sim.test"
    ) as c:
        manifest = {
            "name": "My prwatch",
            "redirect_url": "http://localhost:9/done",
            "hook_attributes": {"url": "http://localhost:9/webhook"},
        }
        page = await c.post(
            "/settings/apps/new", data={"manifest": json.dumps(manifest), "state": "xyz"}
        )
        assert page.status_code == 302
        location = page.headers["location"]
        assert location.startswith("http://localhost:9/done?code=") and location.endswith(
            "&state=xyz"
        )
        code = location.split("code=")[1].split("&")[0]
        converted = await c.post(f"/app-manifests/{code}/conversions")
        assert converted.status_code == 201
        data = converted.json()
        assert data["id"] == sim.config.app_id and data["pem"] == sim.private_key_pem
        assert data["webhook_secret"] == sim.config.webhook_secret and data["name"] == "My prwatch"
        assert sim.config.hook_url == "http://localhost:9/webhook"
        assert (await c.post(f"/app-manifests/{code}/conversions")).status_code == 404  # single use
        admin_code = (await c.post("/_sim/manifests", json=manifest)).json()["code"]
        assert isinstance(sim.clock, ManualClock)
        sim.clock.advance(3601)
        assert (await c.post(f"/app-manifests/{admin_code}/conversions")).status_code == 404


async def test_admin_api_mutations_and_truth() -> None:
    sim = make_sim()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sim.app), base_url="http://sim.test"
    ) as c:
        repo = sorted(sim.world.repositories.values(), key=lambda r: r.id)[0]
        base = f"/_sim/repos/{repo.full_name}"
        opened = await c.post(f"{base}/pulls", json={"title": "Via admin", "checks": True})
        assert opened.status_code == 201
        n = opened.json()["number"]
        assert (
            await c.patch(f"{base}/pulls/{n}", json={"title": "Renamed", "draft": True})
        ).json()["draft"]
        assert (await c.patch(f"{base}/pulls/{n}", json={"nope": 1})).status_code == 422
        assert (await c.post(f"{base}/pulls/{n}/labels", json={"labels": ["bug"]})).json()[
            "labels"
        ] == ["bug"]
        assert (await c.delete(f"{base}/pulls/{n}/labels/bug")).json()["labels"] == []
        assert (await c.post(f"{base}/pulls/{n}/merge")).status_code == 422  # drafts cannot merge
        await c.patch(f"{base}/pulls/{n}", json={"draft": False})
        pushed = (await c.post(f"{base}/pulls/{n}/push", json={})).json()
        runs = (await c.post(f"{base}/check-runs", json={"head_sha": pushed["head_sha"]})).json()
        run_id = runs["check_runs"][0]["id"]
        done = await c.patch(
            f"/_sim/check-runs/{run_id}", json={"status": "completed", "conclusion": "success"}
        )
        assert done.json()["conclusion"] == "success"
        refused = await c.post(f"/_sim/check-runs/{run_id}/rerun")
        assert refused.status_code == 422  # its suite is still running
        for other in runs["check_runs"][1:]:
            await c.patch(
                f"/_sim/check-runs/{other['id']}",
                json={"status": "completed", "conclusion": "success"},
            )
        assert (await c.post(f"/_sim/check-runs/{run_id}/rerun")).json()["id"] != run_id
        assert (await c.post(f"{base}/pulls/{n}/merge")).json()["merged"] is True
        churned = (await c.post("/_sim/churn", json={"seed": 1, "pr_fraction": 0.2})).json()
        assert churned["counts"]["pull_requests"] > 0
        truth = (await c.get("/_sim/truth")).json()
        assert {
            pr["number"] for pr in truth["pull_requests"] if pr["repository_id"] == repo.id
        } >= {n}
        assert (await c.put("/_sim/config", json={"latency_ms": "x"})).status_code == 422
        assert (await c.post("/_sim/tokens/expire")).status_code == 200
        assert (await c.get("/_sim/app")).json()["app_id"] == sim.config.app_id


def test_updated_at_strictly_increases_within_one_second() -> None:
    world = World(clock=ManualClock(1_700_000_000))
    inst = world.create_installation("acme")
    repo = world.create_repository("acme", "api", installation_id=inst.id)
    pr = world.open_pull_request(repo.id, title="t")
    stamps = [pr.updated_at]
    for label in ("a", "b", "c"):
        world.add_label(repo.id, pr.number, label)
        stamps.append(pr.updated_at)
    assert stamps == [stamps[0] + i for i in range(4)]


def test_scale_smoke_generation_and_page_render() -> None:
    started = time.perf_counter()
    world = World.generate(repos=50, prs=200, open_ratio=0.3, seed=5, installations=3)
    assert time.perf_counter() - started < 10
    assert sum(len(r.pulls) for r in world.repositories.values()) == 10_000
    repo = next(iter(world.repositories.values()))
    started = time.perf_counter()
    page = world.pull_requests_sorted(repo.id, "all", "updated", "desc")[:100]
    body = "[" + ",".join(world.render.pull_request_json(pr, full=False) for pr in page) + "]"
    assert time.perf_counter() - started < 0.5
    assert len(json.loads(body)) == 100
