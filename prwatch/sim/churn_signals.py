"""Churn's commit statuses and reviews: CI systems posting statuses on open PRs' heads, and
people reviewing open PRs (approving, asking for changes, commenting, dismissing)."""

from __future__ import annotations

import random

from prwatch.sim.entities import PullRequest
from prwatch.sim.reviews import REVIEWERS
from prwatch.sim.statuses import STATUS_CONTEXTS, latest_statuses
from prwatch.sim.world import World

# A status moves pending → success mostly, sometimes failure or error.
_FINAL_STATES = ("success", "success", "success", "failure", "error")
_REVIEW_STATES = ("approved", "approved", "changes_requested", "commented")


def status_activity(world: World, repository_id: int, sha: str, rng: random.Random) -> list[str]:
    """One CI context reports on the commit: pending first, then a final state."""
    context = rng.choice(STATUS_CONTEXTS)
    current = {s.context: s.state for s in latest_statuses(world, repository_id, sha)}
    state = rng.choice(_FINAL_STATES) if current.get(context) == "pending" else "pending"
    description = "Build started" if state == "pending" else f"Build {state}"
    url = f"https://ci.example.com/{rng.randint(1, 10**6)}"
    world.create_status(
        repository_id, sha, state=state, context=context, description=description, target_url=url
    )
    return [context, state]


def review_activity(world: World, pr: PullRequest, rng: random.Random) -> str:
    """A review of an open PR; now and then the dismissal of an earlier opinionated one."""
    earlier = [
        review
        for review in world.reviews.get((pr.repo.id, pr.number), [])
        if review.state in ("approved", "changes_requested")
    ]
    if earlier and rng.random() < 0.2:
        world.dismiss_review(rng.choice(earlier).id)
        return "review_dismissed"
    candidates = [login for login in REVIEWERS if login != pr.author.login]
    world.submit_review(
        pr.repo.id, pr.number, user=rng.choice(candidates), state=rng.choice(_REVIEW_STATES)
    )
    return "review_submitted"
