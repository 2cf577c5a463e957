"""Two deliveries of one PR with the same `updated_at` and different content, in either order:
the tie is settled from GitHub, and the store ends as the simulator's truth."""

from __future__ import annotations

import copy

import pytest

from prwatch.sim import payloads
from prwatch.sim.app import create_simulator
from prwatch.sim.config import SimConfig
from prwatch.store import DeliveryStatus
from prwatch.sync.pull_refresh import PULL_REQUEST_ROUTE
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
