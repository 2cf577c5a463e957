"""Commit statuses through the sweep: read from the same check query as check runs (no extra
points), over REST's combined status for a commit with more contexts than a rollup page."""

from __future__ import annotations

from typing import Any

from prwatch.domain.models import ChangeKind
from prwatch.store.records import SweepStatus
from prwatch.sync.check_discovery import COMBINED_STATUS_ROUTE
from prwatch.web.api import statuses_json
from tests.integration.sweep.harness import SweepEnv, assert_converged, sweep_env

CONTEXTS = ("ci/jenkins", "buildkite/pipeline", "ci/circleci: test")


def expected_statuses(env: SweepEnv, repository_id: int, sha: str) -> list[dict[str, Any]]:
    """The truth's latest status per context of a commit, as the read API spells it."""
    return [
        {key: status[key] for key in ("context", "state", "description", "target_url")}
        | {"updated_at": status["updated_at"]}
        for status in env.sim.world.truth()["commit_statuses"]
        if status["repository_id"] == repository_id and status["sha"] == sha
    ]


async def assert_statuses_exact(env: SweepEnv) -> int:
    """Every open PR's statuses in the store equal the simulator's; returns how many."""
    truth = env.sim.world.truth()
    seen = 0
    async with env.store.transaction(read_only=True) as tx:
        for pr in truth["pull_requests"]:
            if pr["state"] != "open":
                continue
            stored = await tx.load_commit_statuses(pr["repository_id"], [pr["head_sha"]])
            got = statuses_json(stored.values(), pr["head_sha"])
            assert got == expected_statuses(env, pr["repository_id"], pr["head_sha"]), pr
            seen += len(got)
    return seen


async def test_statuses_cost_no_extra_points_and_land_exactly(database_url: str) -> None:
    # One repository: one check query a sweep, so its points are exact, not a sharing outcome.
    async with sweep_env(database_url, repos=1, prs=40, open_ratio=0.5) as env:
        cold = await env.sweep()
        assert cold.status is SweepStatus.OK, cold.error
        quiet_before = await env.sweep()
        world = env.sim.world
        repo_id = world.truth()["repositories"][0]["id"]
        heads = [pr.head_sha for pr in world.repositories[repo_id].pulls if pr.state == "open"]
        for n, sha in enumerate(heads):
            for context in CONTEXTS[: 1 + n % 3]:
                world.create_status(
                    repo_id, sha, state="pending", context=context, target_url="https://ci/1"
                )
        world.create_status(repo_id, heads[0], state="failure", context=CONTEXTS[0])
        found = await env.sweep()
        assert found.status is SweepStatus.OK, found.error
        assert await assert_statuses_exact(env) == sum(1 + n % 3 for n in range(len(heads)))
        created = found.changes_by_kind[ChangeKind.STATUS_CREATED.value]
        assert created == sum(1 + n % 3 for n in range(len(heads)))
        assert found.points_graphql == quiet_before.points_graphql == 1

        world.create_status(repo_id, heads[1], state="success", context=CONTEXTS[0])
        moved = await env.sweep()
        assert moved.changes_by_kind[ChangeKind.STATUS_STATE_CHANGED.value] == 1
        assert set(moved.changes_by_kind) <= {
            ChangeKind.STATUS_STATE_CHANGED.value,
            ChangeKind.MERGE_SIGNAL_CHANGED.value,
        }
        async with env.store.transaction(read_only=True) as tx:
            logged = await tx.changes_after(0, 10_000)
        last = [c for c in logged if c.kind is ChangeKind.STATUS_STATE_CHANGED][-1]
        assert (last.status_context, last.old, last.new) == (CONTEXTS[0], "pending", "success")
        number = next(
            pr.number for pr in world.repositories[repo_id].pulls if pr.head_sha == heads[1]
        )
        assert last.pr_number == number
        quiet_after = await env.sweep()
        assert sum(quiet_after.changes_by_kind.values()) == 0
        assert quiet_after.points_graphql == quiet_before.points_graphql
        await assert_converged(env)


async def test_a_commit_with_more_contexts_than_a_page_reads_its_combined_status(
    database_url: str,
) -> None:
    async with sweep_env(database_url, repos=1, prs=4, open_ratio=1.0) as env:
        world = env.sim.world
        repo_id = world.truth()["repositories"][0]["id"]
        sha = world.repositories[repo_id].pulls[0].head_sha
        for n in range(120):  # with ~5 check runs: past one rollup page of 100
            world.create_status(repo_id, sha, state="success", context=f"ci/{n:03}")
        cold = await env.sweep()
        assert cold.status is SweepStatus.OK, cold.error
        assert cold.requests_by_route[COMBINED_STATUS_ROUTE] == {"200": 2}  # two pages
        await assert_statuses_exact(env)
        world.create_status(repo_id, sha, state="failure", context="ci/007")
        again = await env.sweep()
        assert again.changes_by_kind[ChangeKind.STATUS_STATE_CHANGED.value] == 1
        await assert_statuses_exact(env)


async def test_a_one_page_combined_status_is_read_conditionally(database_url: str) -> None:
    async with sweep_env(database_url, repos=1, prs=4, open_ratio=1.0) as env:
        world = env.sim.world
        repo_id = world.truth()["repositories"][0]["id"]
        sha = world.repositories[repo_id].pulls[0].head_sha
        suite = world.create_check_suite(repo_id, sha, [f"check {n}" for n in range(98)])
        assert suite.runs
        for context in CONTEXTS:
            world.create_status(repo_id, sha, state="pending", context=context)
        cold = await env.sweep()
        assert cold.status is SweepStatus.OK, cold.error
        assert cold.requests_by_route[COMBINED_STATUS_ROUTE] == {"200": 1}
        quiet = await env.sweep()
        assert quiet.requests_by_route[COMBINED_STATUS_ROUTE] == {"304": 1}
        assert sum(quiet.changes_by_kind.values()) == 0
        world.create_status(repo_id, sha, state="success", context=CONTEXTS[1])
        moved = await env.sweep()
        assert moved.requests_by_route[COMBINED_STATUS_ROUTE] == {"200": 1}
        assert moved.changes_by_kind[ChangeKind.STATUS_STATE_CHANGED.value] == 1
        await assert_statuses_exact(env)


async def test_a_rollup_state_outside_the_rest_enum_is_skipped_and_reported(
    database_url: str,
) -> None:
    # GraphQL's StatusState has EXPECTED (a required context nobody reported): not a posted
    # status. The sweep leaves it out, says so, and applies the rest of the repository.
    async with sweep_env(database_url, repos=1, prs=4, open_ratio=1.0) as env:
        world = env.sim.world
        repo_id = world.truth()["repositories"][0]["id"]
        sha = world.repositories[repo_id].pulls[0].head_sha
        odd = world.create_status(repo_id, sha, state="pending", context="required/ci")
        world.create_status(repo_id, sha, state="success", context=CONTEXTS[0])
        odd.state = "expected"  # what GitHub's GraphQL may show, though never posted
        swept = await env.sweep()
        assert swept.status is SweepStatus.OK, swept.error
        (outcome,) = swept.repositories
        assert outcome.ok
        (skipped,) = outcome.skipped
        assert "'expected'" in skipped.note
        async with env.store.transaction(read_only=True) as tx:
            stored = await tx.load_commit_statuses(repo_id, [sha])
        assert sorted(context for _, context in stored) == [CONTEXTS[0]]
