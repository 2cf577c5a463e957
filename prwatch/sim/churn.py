"""A random, realistic batch of changes across the world, reproducible from a seed.

Every action GitHub sends for `pull_request`, `check_run` and `check_suite` comes out of it, and
commit statuses and reviews, at relative frequencies like a busy repository's: pushes, labels
and review requests often;
milestones, auto-merge and the merge queue now and then; locks rarely. Installation events
(which take repositories away from prwatch for a moment) only with `installation_fraction`.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from prwatch.sim.churn_checks import advance_checks
from prwatch.sim.churn_installations import installation_activity
from prwatch.sim.churn_signals import review_activity, status_activity
from prwatch.sim.collaboration import DEQUEUE_REASONS, LOCK_REASONS, MERGE_METHODS
from prwatch.sim.entities import PullRequest
from prwatch.sim.generate import AUTHORS, LABELS
from prwatch.sim.world import CHECK_NAMES, World

MILESTONES = ("v1.0", "v1.1", "v2.0")
# What happens to an open PR picked by churn (after `close_fraction`), and how often.
OPEN_PR_ACTIVITY = {
    "synchronize": 25,
    "edited": 12,
    "label": 17,
    "draft": 6,
    "assignee": 9,
    "review_request": 13,
    "milestone": 4,
    "lock": 3,
    "auto_merge": 6,
    "merge_queue": 6,
    "review": 10,
}


def churn(
    world: World,
    *,
    seed: int,
    pr_fraction: float = 0.01,
    check_fraction: float = 0.05,
    close_fraction: float = 0.2,
    new_prs: int = 0,
    installation_fraction: float = 0.0,
) -> dict[str, Any]:
    """Mutate a fraction of PRs and of open PRs' checks (and, with `installation_fraction`,
    of installations); returns what changed."""
    for name, value in (
        ("pr_fraction", pr_fraction),
        ("check_fraction", check_fraction),
        ("close_fraction", close_fraction),
        ("installation_fraction", installation_fraction),
    ):
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{name} must be within [0, 1]")
    rng = random.Random(seed)
    changed: dict[str, Any] = {"pull_requests": [], "check_runs": [], "opened": []}
    changed["statuses"] = []
    live = [
        repo for repo in world.repositories.values() if not repo.deleted and repo.installation_id
    ]
    for repo in live:
        for pr in repo.pulls:
            if rng.random() >= pr_fraction:
                continue
            key = [repo.id, pr.number]
            if pr.state == "closed":
                if not pr.merged:
                    world.reopen_pull_request(repo.id, pr.number)
                    changed["pull_requests"].append([*key, "reopened"])
                continue
            kind = _open_pr_activity(world, pr, rng, close_fraction)
            changed["pull_requests"].append([*key, kind])
        for _ in range(new_prs):
            pr = world.open_pull_request(repo.id, title=f"New change {rng.randint(1, 10**6)}")
            world.create_check_suite(repo.id, pr.head_sha, CHECK_NAMES)
            changed["opened"].append([repo.id, pr.number])
        for pr in repo.pulls:
            if pr.state != "open" or rng.random() >= check_fraction:
                continue
            changed["check_runs"].extend(advance_checks(world, repo.id, pr.head_sha, rng))
            if rng.random() < 0.5:  # some CI reports commit statuses beside check runs
                changed["statuses"].append(status_activity(world, repo.id, pr.head_sha, rng))
    if installation_fraction:
        changed["installations"] = installation_activity(world, rng, installation_fraction)
    changed["counts"] = {key: len(value) for key, value in changed.items()}
    return changed


def _open_pr_activity(
    world: World, pr: PullRequest, rng: random.Random, close_fraction: float
) -> str:
    """One random thing happening to an open PR; returns what it was."""
    repo_id, number = pr.repo.id, pr.number
    if rng.random() < close_fraction:
        if pr.draft or rng.random() < 0.3:
            world.close_pull_request(repo_id, number)
            return "closed"
        world.merge_pull_request(repo_id, number)
        return "merged"
    kind = rng.choices(list(OPEN_PR_ACTIVITY), weights=list(OPEN_PR_ACTIVITY.values()))[0]
    if kind == "synchronize":
        world.push(repo_id, number)
        world.create_check_suite(repo_id, pr.head_sha, CHECK_NAMES)
    elif kind == "edited":
        if rng.random() < 0.8:
            title = f"{pr.title.split(' [')[0]} [v{rng.randint(2, 99)}]"
            world.edit_pull_request(repo_id, number, title=title)
        else:
            world.edit_pull_request(repo_id, number, body=f"Updated notes ({rng.randint(2, 99)})")
    elif kind == "label":
        label = rng.choice(LABELS)
        if label in pr.labels:
            world.remove_label(repo_id, number, label)
            return "unlabeled"
        world.add_label(repo_id, number, label)
        return "labeled"
    elif kind == "draft":
        world.set_draft(repo_id, number, not pr.draft)
        return "draft" if pr.draft else "ready"
    elif kind == "assignee":
        return _toggle_person(world, _undoing(pr, rng, lambda p: bool(p.assignees)), rng, False)
    elif kind == "review_request":
        holder = _undoing(pr, rng, lambda p: bool(p.requested_reviewers))
        return _toggle_person(world, holder, rng, True)
    elif kind == "milestone":
        holder = _undoing(pr, rng, lambda p: p.milestone is not None)
        if holder.milestone is not None and rng.random() < 0.7:
            world.set_milestone(holder.repo.id, holder.number, None)
            return "demilestoned"
        world.set_milestone(repo_id, number, rng.choice(MILESTONES))
        return "milestoned"
    elif kind == "lock":
        holder = _undoing(pr, rng, lambda p: p.locked)
        if holder.locked:
            world.unlock(holder.repo.id, holder.number)
            return "unlocked"
        world.lock(repo_id, number, rng.choice((*LOCK_REASONS, None)))
        return "locked"
    elif kind == "auto_merge":
        return _toggle_auto_merge(world, _undoing(pr, rng, lambda p: p.auto_merge is not None), rng)
    elif kind == "review":
        return review_activity(world, pr, rng)
    else:
        return _merge_queue_step(world, _undoing(pr, rng, lambda p: p.queued_at is not None), rng)
    return kind


def _undoing(
    pr: PullRequest, rng: random.Random, holds: Callable[[PullRequest], bool]
) -> PullRequest:
    """Half the time, another open PR of the repository that `holds` (is locked, queued, …),
    so that what people undo happens about as often as what they do, not only when churn
    happens to pick the same PR again."""
    if holds(pr) or rng.random() < 0.5:
        return pr
    holders = [p for p in pr.repo.pulls if p.state == "open" and holds(p)]
    return rng.choice(holders) if holders else pr


def _toggle_person(world: World, pr: PullRequest, rng: random.Random, reviewers: bool) -> str:
    people = pr.requested_reviewers if reviewers else pr.assignees
    if people and rng.random() < 0.6:
        login = rng.choice(people).login
        if reviewers:
            world.remove_review_request(pr.repo.id, pr.number, login)
            return "review_request_removed"
        world.unassign(pr.repo.id, pr.number, login)
        return "unassigned"
    candidates = [login for login in AUTHORS if login != pr.author.login]
    login = rng.choice(candidates)
    if reviewers:
        world.request_review(pr.repo.id, pr.number, login)
        return "review_requested"
    world.assign(pr.repo.id, pr.number, login)
    return "assigned"


def _toggle_auto_merge(world: World, pr: PullRequest, rng: random.Random) -> str:
    if pr.auto_merge is not None:
        world.disable_auto_merge(pr.repo.id, pr.number, reason="disabled by a maintainer")
        return "auto_merge_disabled"
    if pr.draft:
        world.set_draft(pr.repo.id, pr.number, False)
        return "ready"
    world.enable_auto_merge(pr.repo.id, pr.number, merge_method=rng.choice(MERGE_METHODS))
    return "auto_merge_enabled"


def _merge_queue_step(world: World, pr: PullRequest, rng: random.Random) -> str:
    """Join the queue; once queued, leave it (checks failed, removed by hand) or be merged."""
    if pr.queued_at is None:
        if pr.draft:
            world.set_draft(pr.repo.id, pr.number, False)
            return "ready"
        world.enqueue(pr.repo.id, pr.number)
        return "enqueued"
    if rng.random() < 0.5:
        world.merge_pull_request(pr.repo.id, pr.number)  # dequeued (MERGE), then closed
        return "merged"
    reason = rng.choice([r for r in DEQUEUE_REASONS if r != "MERGE"])
    world.dequeue(pr.repo.id, pr.number, reason=reason)
    return "dequeued"
