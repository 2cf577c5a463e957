"""The reconcile sweep against the simulator over HTTP, on SQLite and on PostgreSQL."""

from __future__ import annotations

from prwatch.domain.models import ChangeKind
from prwatch.store.records import SweepStatus
from tests.integration.sweep.harness import assert_converged, sweep_env

PULLS = "GET /repos/{owner}/{repo}/pulls"


async def test_cold_sync_equals_the_truth_and_a_quiet_sweep_costs_no_listing_points(
    database_url: str,
) -> None:
    async with sweep_env(database_url) as env:
        cold = await env.sweep()
        assert cold.status is SweepStatus.OK, cold.error
        assert not cold.failed
        await assert_converged(env)
        truth = env.sim.world.truth()
        opened = cold.changes_by_kind[ChangeKind.PR_OPENED.value]
        discovered = cold.changes_by_kind[ChangeKind.PR_DISCOVERED.value]
        assert opened + discovered == len(truth["pull_requests"])
        assert cold.changes_by_kind[ChangeKind.REPOSITORY_ADDED.value] == 3

        quiet = await env.sweep()
        assert quiet.status is SweepStatus.OK
        assert sum(quiet.changes_by_kind.values()) == 0
        assert quiet.requests_by_route[PULLS] == {"304": 3}
        assert quiet.points_core == 0  # every REST request of the sweep was a 304
        open_prs = sum(1 for pr in truth["pull_requests"] if pr["state"] == "open")
        assert 1 <= quiet.points_graphql <= max(3, open_prs // 100 + 3)
        await assert_converged(env)


async def test_small_repositories_share_their_check_queries(database_url: str) -> None:
    # 12 repositories with a few open PRs each: their sweeps run at once and ask for their head
    # commits' checks together, one query (1 point) for all when they read within 100 ms of
    # each other — a few on a loaded machine — instead of one query each.
    async with sweep_env(database_url, repos=12, prs=6, open_ratio=0.5) as env:
        cold = await env.sweep()
        assert cold.status is SweepStatus.OK, cold.error
        await assert_converged(env)
        open_prs = sum(1 for pr in env.sim.world.truth()["pull_requests"] if pr["state"] == "open")
        assert 12 < open_prs <= 149
        quiet = await env.sweep()
        await assert_converged(env)
        # The cold sweep also reads the reviews of every repository's open PRs (all listed as
        # changed): one review query per repository; the quiet one lists nothing changed.
        for sweep, review_queries in ((cold, 12), (quiet, 0)):
            queries = sweep.requests_by_route["POST /graphql"]["200"]
            assert 1 <= queries - review_queries <= 4
            assert sweep.points_graphql == queries


async def test_a_sweep_after_mutations_finds_every_change_once(database_url: str) -> None:
    async with sweep_env(database_url) as env:
        await env.sweep()
        world = env.sim.world
        truth = world.truth()
        repo_id = truth["repositories"][0]["id"]
        open_prs = [
            pr
            for pr in truth["pull_requests"]
            if pr["repository_id"] == repo_id and pr["state"] == "open" and not pr["draft"]
        ]
        first, second, third = (pr["number"] for pr in open_prs[:3])
        world.edit_pull_request(repo_id, first, title="A new title")
        world.add_label(repo_id, second, "bug")
        world.merge_pull_request(repo_id, third)
        head = world.pull_request(repo_id, first).head_sha
        run = world.check_runs_for_sha(repo_id, head, latest=True)[0]
        status = "completed" if run.status != "completed" else "in_progress"
        if status == "completed":
            world.update_check_run(run.id, status="completed", conclusion="failure")
        else:
            world.rerun_check_run(run.id)

        after = await env.sweep()
        assert after.status is SweepStatus.OK, after.error
        kinds = after.changes_by_kind
        assert kinds[ChangeKind.PR_TITLE_CHANGED.value] == 1
        assert kinds[ChangeKind.PR_LABELS_CHANGED.value] == 1
        assert kinds[ChangeKind.PR_MERGED.value] == 1
        assert (
            kinds[ChangeKind.CHECK_RUN_CONCLUDED.value] + kinds[ChangeKind.CHECK_RUN_CREATED.value]
            >= 1
        )
        await assert_converged(env)
        again = await env.sweep()
        assert sum(again.changes_by_kind.values()) == 0
