"""Reviews through the sweep: read only for the PRs the listing says changed, 149 a point."""

from __future__ import annotations

from typing import Any

from prwatch.domain.models import ChangeKind
from prwatch.domain.reviews import latest_reviews
from prwatch.store.records import SweepStatus
from prwatch.web.api import review_json
from tests.integration.sweep.harness import SweepEnv, sweep_env


async def assert_reviews_exact(env: SweepEnv) -> int:
    """Every reviewed open PR's latest reviews and decision equal the simulator's."""
    truth = env.sim.world.truth()
    open_prs = {
        (pr["repository_id"], pr["number"])
        for pr in truth["pull_requests"]
        if pr["state"] == "open"
    }
    checked = 0
    async with env.store.transaction(read_only=True) as tx:
        for entry in truth["reviews"]:
            key = (entry["repository_id"], entry["number"])
            if key not in open_prs:
                continue
            stored = await tx.load_reviews(entry["repository_id"], [entry["number"]])
            got: list[dict[str, Any]] = [
                dict(review_json(review)) for review in latest_reviews(stored.values())
            ]
            want = [
                {k: review[k] for k in ("id", "user", "state", "submitted_at", "commit_id")}
                for review in entry["reviews"]
            ]
            assert got == want, key
            signals = await tx.load_signals(entry["repository_id"], [entry["number"]])
            assert signals[entry["number"]].review_decision == entry["review_decision"], key
            checked += 1
    return checked


async def test_reviews_of_changed_prs_cost_a_point_per_149(database_url: str) -> None:
    async with sweep_env(database_url, repos=1, prs=40, open_ratio=0.5) as env:
        cold = await env.sweep()
        assert cold.status is SweepStatus.OK, cold.error
        quiet = await env.sweep()
        assert quiet.points_graphql == 1  # the check query only: nothing listed as changed
        world = env.sim.world
        repo = next(iter(world.repositories.values()))
        opened = [pr for pr in repo.pulls if pr.state == "open"]
        first = world.submit_review(repo.id, opened[0].number, user="ana", state="approved")
        world.submit_review(repo.id, opened[0].number, user="bo", state="commented")
        world.submit_review(repo.id, opened[1].number, user="ana", state="changes_requested")
        world.submit_review(repo.id, opened[2].number, user="chen", state="approved")
        world.dismiss_review(first.id)
        found = await env.sweep()
        assert found.status is SweepStatus.OK, found.error
        # One check query and one review query (3 changed PRs): 2 points.
        assert found.requests_by_route["POST /graphql"] == {"200": 2}
        assert found.points_graphql == 2
        assert found.changes_by_kind[ChangeKind.REVIEW_SUBMITTED.value] == 4
        # The cold sweep read review_required for every open PR; the first PR's approval was
        # dismissed (and a comment decides nothing): it stays review_required.
        assert cold.changes_by_kind[ChangeKind.REVIEW_DECISION_CHANGED.value] == len(opened)
        assert found.changes_by_kind[ChangeKind.REVIEW_DECISION_CHANGED.value] == 2
        # First seen already dismissed: one review_submitted entry whose new state says so.
        async with env.store.transaction(read_only=True) as tx:
            logged = [c for c in await tx.changes_after(0, 10_000) if c.review_id == first.id]
        assert [(c.kind, c.new) for c in logged] == [(ChangeKind.REVIEW_SUBMITTED, "dismissed")]
        assert await assert_reviews_exact(env) == 3
        after = await env.sweep()
        assert after.points_graphql == quiet.points_graphql
        assert sum(after.changes_by_kind.values()) == 0
