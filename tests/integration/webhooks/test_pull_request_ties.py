"""Two deliveries of one PR with the same `updated_at` and different content, in either order:
the tie is settled from GitHub, and the store ends as the simulator's truth."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import pytest

from prwatch.sim import payloads
from prwatch.sim.app import create_simulator
from prwatch.sim.config import SimConfig
from prwatch.store import DeliveryStatus
from prwatch.sync.pull_refresh import PULL_REQUEST_ROUTE
from tests.integration.held_responses import HeldResponses
from tests.integration.webhooks.harness import installed_repository, simulated_env, webhook_env


@pytest.mark.parametrize("current_last", [True, False], ids=["current-last", "current-first"])
async def test_a_tie_of_one_second_converges_to_githubs_version(
    database_url: str, current_last: bool
) -> None:
    config = SimConfig()  # no hook: the test sends the deliveries itself
    async with simulated_env(database_url, config) as (sim, env):
        world = sim.world
        repo = installed_repository(world)
        pr = world.open_pull_request(repo.id, title="Add widgets")
        world.edit_pull_request(repo.id, pr.number, title="Add widgets, tested")
        current = payloads.pull_request(world, world.pull_request(repo.id, pr.number), "edited")
        # An older version of the same second, as GitHub may send one (two edits within it).
        older = copy.deepcopy(current)
        older["pull_request"]["title"] = "Add widgets"
        assert older["pull_request"]["updated_at"] == current["pull_request"]["updated_at"]

        for body in (older, current) if current_last else (current, older):
            await env.deliver("pull_request", body, secret=config.webhook_secret)

        truth = next(
            item
            for item in world.truth()["pull_requests"]
            if (item["repository_id"], item["number"]) == (repo.id, pr.number)
        )
        got = await env.pull(pr.number, repo.full_name)
        assert (got["title"], got["updated_at"]) == (truth["title"], truth["updated_at"])
        assert got["title"] == "Add widgets, tested"
        # One read of the PR settled it.
        reads = env.context.github.stats.snapshot().requests
        assert sum(n for (route, _), n in reads.items() if route == PULL_REQUEST_ROUTE) == 1
        counts = await env.counts()
        assert counts[DeliveryStatus.DONE] == 2
        assert counts[DeliveryStatus.FAILED] == counts[DeliveryStatus.PENDING] == 0


async def test_the_same_version_twice_asks_github_nothing(sqlite_url: str) -> None:
    config = SimConfig()
    world = create_simulator(config).world
    repo = installed_repository(world)
    pr = world.open_pull_request(repo.id, title="Add widgets")
    body = payloads.pull_request(world, pr, "opened")
    async with webhook_env(sqlite_url, secrets=(config.webhook_secret,)) as env:
        await env.deliver("pull_request", body, secret=config.webhook_secret)
        await env.deliver("pull_request", body, secret=config.webhook_secret)
        assert env.refreshes == []
        older = copy.deepcopy(body)
        older["pull_request"]["title"] = "Widgets"
        await env.deliver("pull_request", older, secret=config.webhook_secret)
        assert env.refreshes == [(repo.id, pr.number)]


async def test_a_tie_while_its_read_runs_is_read_again_once(database_url: str) -> None:
    """The read settling a tie may have left GitHub before the next version of the same second
    was made; the ties that version brings while the read runs ask for one more read, one
    however many they are."""
    config = SimConfig()
    reads: list[HeldResponses] = []

    def hold_pull_reads(app: Any) -> HeldResponses:
        reads.append(HeldResponses(app, r"/repos/[^/]+/[^/]+/pulls/\d+"))
        return reads[0]

    async with simulated_env(database_url, config, around_github=hold_pull_reads) as (sim, env):
        (held,) = reads
        world = sim.world
        repo = installed_repository(world)
        pr = world.open_pull_request(repo.id, title="v1")
        current = payloads.pull_request(world, world.pull_request(repo.id, pr.number), "opened")
        await env.deliver("pull_request", current, secret=config.webhook_secret)

        def version(title: str) -> dict[str, Any]:
            body = copy.deepcopy(current)
            body["pull_request"]["title"] = title
            return body

        # An older version of the same second arrives last: its tie asks GitHub, which answers
        # "v1"; that answer is held, not applied yet.
        await env.send("pull_request", version("v0"), secret=config.webhook_secret)
        async with asyncio.timeout(10):
            await held.arrived.wait()
        # Within the same second GitHub's PR changes five more times, each delivered and tying.
        for n in range(5):
            world.pull_request(repo.id, pr.number).title = f"v2.{n}"
            await env.send("pull_request", version(f"v2.{n}"), secret=config.webhook_secret)

        for _ in range(500):  # every delivery applied, while the first read is still held
            if (await env.counts()).get(DeliveryStatus.DONE, 0) == 7:
                break
            await asyncio.sleep(0.02)
        assert (await env.counts()).get(DeliveryStatus.DONE, 0) == 7
        held.release()  # the first read applies "v1", older than what GitHub now has
        await env.queue.drain()

        got = await env.pull(pr.number, repo.full_name)
        assert got["title"] == world.pull_request(repo.id, pr.number).title == "v2.4"
        # The held read and one more after it, not one per tie.
        assert held.hits == 2
