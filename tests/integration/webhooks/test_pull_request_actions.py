"""Every action the simulator sends, posted into prwatch: each is applied (or ignored for a
stated reason) and the read API stays equal to the simulator's truth, auto-merge and merge
queue included."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prwatch.sim.config import SimConfig
from prwatch.sim.world import World
from prwatch.store import DeliveryStatus
from tests.integration.webhooks.harness import (
    PULL_KEYS,
    WebhookEnv,
    installed_repository,
    settle,
    simulated_env,
)


async def assert_as_truth(env: WebhookEnv, world: World, repo_id: int, number: int) -> None:
    truth = next(
        pr
        for pr in world.truth()["pull_requests"]
        if (pr["repository_id"], pr["number"]) == (repo_id, number)
    )
    got = await env.pull(number, world.repository(repo_id).full_name)
    assert {key: got[key] for key in PULL_KEYS} == {key: truth[key] for key in PULL_KEYS}


async def test_each_new_action_is_applied_and_matches_the_truth(database_url: str) -> None:
    config = SimConfig(hook_url="http://prwatch.test/webhooks")
    async with simulated_env(database_url, config) as (sim, env):
        world = sim.world
        repo = installed_repository(world)
        pr = world.open_pull_request(repo.id, title="Add widgets")
        other = world.open_pull_request(repo.id, title="Queue me")
        await settle(sim, env)
        n, m = pr.number, other.number
        steps: list[tuple[str, Callable[[], object], int]] = [
            ("assigned", lambda: world.assign(repo.id, n, "dev-01"), n),
            ("unassigned", lambda: world.unassign(repo.id, n, "dev-01"), n),
            ("review_requested", lambda: world.request_review(repo.id, n, "dev-02"), n),
            (
                "review_request_removed",
                lambda: world.remove_review_request(repo.id, n, "dev-02"),
                n,
            ),
            ("milestoned", lambda: world.set_milestone(repo.id, n, "v1.0"), n),
            ("demilestoned", lambda: world.set_milestone(repo.id, n, None), n),
            ("locked", lambda: world.lock(repo.id, n, "too heated"), n),
            ("unlocked", lambda: world.unlock(repo.id, n), n),
            (
                "auto_merge_enabled",
                lambda: world.enable_auto_merge(repo.id, n, merge_method="rebase"),
                n,
            ),
            ("auto_merge_disabled", lambda: world.disable_auto_merge(repo.id, n, reason="x"), n),
            ("enqueued", lambda: world.enqueue(repo.id, m), m),
            ("dequeued", lambda: world.dequeue(repo.id, m, reason="CI_FAILURE"), m),
            ("enqueued", lambda: world.enqueue(repo.id, m), m),
            ("auto_merge_enabled", lambda: world.enable_auto_merge(repo.id, m), m),
        ]
        for action, mutate, number in steps:
            mutate()
            await settle(sim, env)
            await assert_as_truth(env, world, repo.id, number)
            got = await env.pull(number, repo.full_name)
            if action == "auto_merge_enabled":
                assert got["auto_merge"] is not None and got["auto_merge"]["enabled_by"]
            if action == "enqueued":
                assert got["merge_queue"] == {"enqueued_at": got["updated_at"]}
        # The merge queue merges it: dequeued (MERGE), then closed and merged.
        world.merge_pull_request(repo.id, m)
        await settle(sim, env)
        await assert_as_truth(env, world, repo.id, m)
        assert (await env.pull(m, repo.full_name))["merge_queue"] is None

        kinds = [change.kind.value for change in await env.changes()]
        assert kinds.count("pr_merge_queue_changed") == 4  # joined, left, joined, left
        assert kinds.count("pr_auto_merge_changed") == 3
        counts = await env.counts()
        assert counts[DeliveryStatus.FAILED] == counts[DeliveryStatus.PENDING] == 0


async def test_check_and_installation_actions(database_url: str) -> None:
    """`requested_action` and `rerequested` change nothing stored (the new runs come with their
    own `created`); `new_permissions_accepted` is ignored with its reason."""
    config = SimConfig(hook_url="http://prwatch.test/webhooks")
    async with simulated_env(database_url, config) as (sim, env):
        world = sim.world
        installation = world.create_installation("octo-org")
        repo = world.create_repository("octo-org", "widgets", installation_id=installation.id)
        pr = world.open_pull_request(repo.id, title="Add widgets")
        suite = world.create_check_suite(repo.id, pr.head_sha, names=("lint", "test"))
        for run in suite.runs:
            world.update_check_run(
                run.id, status="completed", conclusion="failure", actions=["fix"]
            )
        world.request_check_run_action(suite.runs[0].id, "fix")
        world.rerun_check_run(suite.runs[0].id)
        await settle(sim, env)
        before = await env.counts()
        runs: Any = world.check_runs_for_sha(repo.id, pr.head_sha)
        while not all(run.status == "completed" for run in runs):
            for run in runs:
                if run.status != "completed":
                    world.update_check_run(run.id, status="completed", conclusion="success")
            runs = world.check_runs_for_sha(repo.id, pr.head_sha)
        world.rerequest_check_suite(suite.id)
        world.accept_new_permissions(installation.id, {"statuses": "read"})
        await settle(sim, env)
        got = await env.pull(pr.number, repo.full_name)
        latest = world.check_runs_for_sha(repo.id, pr.head_sha)
        assert sorted(run["id"] for run in got["check_runs"]) == sorted(run.id for run in latest)
        assert {run["status"] for run in got["check_runs"]} == {"queued"}
        counts = await env.counts()
        assert counts[DeliveryStatus.IGNORED] == before.get(DeliveryStatus.IGNORED, 0) + 1
        assert counts[DeliveryStatus.FAILED] == counts[DeliveryStatus.PENDING] == 0
