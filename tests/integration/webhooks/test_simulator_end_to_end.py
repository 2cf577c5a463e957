"""End to end: the simulator's webhooks posted into prwatch, read back equal to its truth."""

from __future__ import annotations

from typing import Any

from prwatch.sim import payloads
from prwatch.sim.config import SimConfig
from prwatch.sim.graphql_schema import rollup_state
from prwatch.sim.statuses import latest_statuses
from prwatch.sim.world import World
from prwatch.store import DeliveryStatus
from tests.integration.webhooks.harness import (
    PULL_KEYS,
    installed_repository,
    settle,
    simulated_env,
)


def expected_signal(world: World, pr: dict[str, Any]) -> str | None:
    """The simulator's own rollup state of the PR's head, as the read API spells it."""
    runs = world.check_runs_for_sha(pr["repository_id"], pr["head_sha"])
    statuses = latest_statuses(world, pr["repository_id"], pr["head_sha"])
    return rollup_state(runs, statuses).lower() if runs or statuses else None


def expected_pull(pr: dict[str, Any], truth: dict[str, Any]) -> dict[str, Any]:
    statuses = [
        {k: status[k] for k in ("context", "state", "description", "target_url", "updated_at")}
        for status in truth["commit_statuses"]
        if (status["repository_id"], status["sha"]) == (pr["repository_id"], pr["head_sha"])
    ]
    return {key: pr[key] for key in PULL_KEYS} | {
        "statuses": statuses,
        "reviews": [],
        "review_decision": None,  # read by the sweep, not sent in any webhook
    }


async def test_simulated_activity_reads_back_as_the_simulators_truth(database_url: str) -> None:
    config = SimConfig(hook_url="http://prwatch.test/webhooks", webhook_duplicate_rate=0.3)
    async with simulated_env(database_url, config) as (sim, env):
        world = sim.world
        repo = installed_repository(world)
        first = world.open_pull_request(repo.id, title="Add widgets")
        second = world.open_pull_request(repo.id, title="Fork fix", fork_owner="outsider")
        world.add_label(repo.id, first.number, "enhancement")
        suite = world.create_check_suite(repo.id, first.head_sha, names=("lint", "test"))
        world.push(repo.id, first.number)
        pushed = world.pull_request(repo.id, first.number)
        new_suite = world.create_check_suite(repo.id, pushed.head_sha, names=("lint", "test"))
        for run in new_suite.runs:
            world.update_check_run(run.id, status="completed", conclusion="success")
        fork_suite = world.create_check_suite(repo.id, second.head_sha, names=("build",))
        world.update_check_run(fork_suite.runs[0].id, status="completed", conclusion="failure")
        # Commit statuses: on the fork's head (found by SHA), and on the pushed head, twice.
        world.create_status(repo.id, second.head_sha, state="pending", context="ci/jenkins")
        world.create_status(repo.id, pushed.head_sha, state="pending", context="buildkite")
        world.create_status(repo.id, pushed.head_sha, state="success", context="buildkite")
        world.merge_pull_request(repo.id, first.number)
        assert suite.runs  # the first head's suite stays queued, behind the push

        await settle(sim, env)

        truth = world.truth()
        assert len(truth["commit_statuses"]) == 2
        pulls = [pr for pr in truth["pull_requests"] if pr["repository_id"] == repo.id]
        full_name = repo.full_name
        for pr in pulls:
            got = await env.pull(pr["number"], full_name)
            rest = {k: v for k, v in got.items() if k not in ("check_runs", "merge_signal")}
            assert rest == expected_pull(pr, truth)
            assert got["merge_signal"] == expected_signal(world, pr), pr["number"]
            latest = world.check_runs_for_sha(repo.id, pr["head_sha"], latest=True)
            truth_runs = {run["id"]: run for run in truth["check_runs"]}
            want = sorted(
                (
                    {
                        key: truth_runs[run.id][key]
                        for key in ("id", "name", "status", "conclusion", "started_at")
                    }
                    | {"completed_at": truth_runs[run.id]["completed_at"], "latest": True}
                    for run in latest
                ),
                key=lambda run: (run["name"], run["id"]),
            )
            assert got["check_runs"] == want, pr["number"]
        counts = await env.counts()
        assert counts[DeliveryStatus.FAILED] == counts[DeliveryStatus.PENDING] == 0


async def test_a_completed_suite_whose_runs_were_missed_is_read_with_one_request(
    database_url: str,
) -> None:
    config = SimConfig(hook_url="http://prwatch.test/webhooks")
    async with simulated_env(database_url, config) as (sim, env):
        world = sim.world
        repo = installed_repository(world)
        pr = world.open_pull_request(repo.id, title="Add widgets")
        await settle(sim, env)
        world.unsubscribe(sim.webhooks.on_event)  # the check_run deliveries get lost
        suite = world.create_check_suite(repo.id, pr.head_sha, names=("lint", "test"))
        for run in suite.runs:
            world.update_check_run(run.id, status="completed", conclusion="success")
        world.subscribe(sim.webhooks.on_event)
        assert (await env.pull(pr.number, repo.full_name))["check_runs"] == []

        completed = payloads.check_suite(world, suite, "completed")
        await env.deliver("check_suite", completed, secret=config.webhook_secret)
        runs = (await env.pull(pr.number, repo.full_name))["check_runs"]
        assert sorted(run["id"] for run in runs) == sorted(run.id for run in suite.runs)
        assert {run["conclusion"] for run in runs} == {"success"}
        route = "GET /repos/{owner}/{repo}/commits/{ref}/check-runs"
        requests = env.context.github.stats.snapshot().requests
        assert sum(n for (name, _), n in requests.items() if name == route) == 1


async def test_an_unreadable_run_of_a_suite_read_after_it_completed_fails_alone(
    sqlite_url: str,
) -> None:
    """GitHub's answer to the fallback read, not the delivery: the odd run is skipped, the
    others applied, and the delivery is done."""
    config = SimConfig(hook_url="http://prwatch.test/webhooks")
    async with simulated_env(sqlite_url, config) as (sim, env):
        world = sim.world
        repo = installed_repository(world)
        pr = world.open_pull_request(repo.id, title="Add widgets")
        await settle(sim, env)
        world.unsubscribe(sim.webhooks.on_event)  # the check_run deliveries get lost
        suite = world.create_check_suite(repo.id, pr.head_sha, names=("lint", "test", "odd"))
        for run in suite.runs:
            world.update_check_run(run.id, status="completed", conclusion="success")
        world.subscribe(sim.webhooks.on_event)
        completed = payloads.check_suite(world, suite, "completed")
        suite.runs[2].status = "exploded"  # a status GitHub does not document
        await env.deliver("check_suite", completed, secret=config.webhook_secret)
        runs = (await env.pull(pr.number, repo.full_name))["check_runs"]
        assert sorted(run["id"] for run in runs) == sorted(run.id for run in suite.runs[:2])
        counts = await env.counts()
        assert counts[DeliveryStatus.DONE] >= 1 and counts.get(DeliveryStatus.FAILED, 0) == 0


async def test_a_lost_suite_of_more_than_a_page_of_runs_is_read_in_full(sqlite_url: str) -> None:
    """`check_suite.completed` with 150 check runs lost: every page of them is read."""
    config = SimConfig(hook_url="http://prwatch.test/webhooks")
    async with simulated_env(sqlite_url, config) as (sim, env):
        world = sim.world
        repo = installed_repository(world, "matrix")
        pr = world.open_pull_request(repo.id, title="A big matrix")
        await settle(sim, env)
        world.unsubscribe(sim.webhooks.on_event)  # the check_run deliveries get lost
        names = tuple(f"test ({n})" for n in range(150))
        suite = world.create_check_suite(repo.id, pr.head_sha, names=names)
        world.subscribe(sim.webhooks.on_event)
        completed = payloads.check_suite(world, suite, "completed")
        await env.deliver("check_suite", completed, secret=config.webhook_secret)
        runs = (await env.pull(pr.number, repo.full_name))["check_runs"]
        assert sorted(run["id"] for run in runs) == sorted(run.id for run in suite.runs)
