"""A random, realistic batch of changes across the world, reproducible from a seed."""

from __future__ import annotations

import random
from typing import Any

from prwatch.sim.generate import LABELS
from prwatch.sim.world import CHECK_NAMES, World


def churn(
    world: World,
    *,
    seed: int,
    pr_fraction: float = 0.01,
    check_fraction: float = 0.05,
    close_fraction: float = 0.2,
    new_prs: int = 0,
) -> dict[str, Any]:
    """Mutate a fraction of PRs and of open PRs' checks; returns what changed."""
    for name, value in (
        ("pr_fraction", pr_fraction),
        ("check_fraction", check_fraction),
        ("close_fraction", close_fraction),
    ):
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{name} must be within [0, 1]")
    rng = random.Random(seed)
    changed: dict[str, Any] = {"pull_requests": [], "check_runs": [], "opened": []}
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
            roll = rng.random()
            if roll < close_fraction:
                if pr.draft or rng.random() < 0.3:
                    world.close_pull_request(repo.id, pr.number)
                    changed["pull_requests"].append([*key, "closed"])
                else:
                    world.merge_pull_request(repo.id, pr.number)
                    changed["pull_requests"].append([*key, "merged"])
            elif roll < 0.45:
                world.push(repo.id, pr.number)
                world.create_check_suite(repo.id, pr.head_sha, CHECK_NAMES)
                changed["pull_requests"].append([*key, "synchronize"])
            elif roll < 0.6:
                world.edit_pull_request(
                    repo.id, pr.number, title=f"{pr.title.split(' [')[0]} [v{rng.randint(2, 99)}]"
                )
                changed["pull_requests"].append([*key, "edited"])
            elif roll < 0.8:
                label = rng.choice(LABELS)
                if label in pr.labels:
                    world.remove_label(repo.id, pr.number, label)
                    changed["pull_requests"].append([*key, "unlabeled"])
                else:
                    world.add_label(repo.id, pr.number, label)
                    changed["pull_requests"].append([*key, "labeled"])
            else:
                world.set_draft(repo.id, pr.number, not pr.draft)
                changed["pull_requests"].append([*key, "draft" if pr.draft else "ready"])
        for _ in range(new_prs):
            pr = world.open_pull_request(repo.id, title=f"New change {rng.randint(1, 10**6)}")
            world.create_check_suite(repo.id, pr.head_sha, CHECK_NAMES)
            changed["opened"].append([repo.id, pr.number])
        for pr in repo.pulls:
            if pr.state != "open" or rng.random() >= check_fraction:
                continue
            for run in world.check_runs_for_sha(repo.id, pr.head_sha):
                _advance(world, run.id, run.status, rng, changed)
    changed["counts"] = {key: len(value) for key, value in changed.items()}
    return changed


def _advance(
    world: World, run_id: int, status: str, rng: random.Random, changed: dict[str, Any]
) -> None:
    if status == "queued":
        world.update_check_run(run_id, status="in_progress")
    elif status == "in_progress":
        conclusion = rng.choices(("success", "failure", "skipped"), weights=(85, 12, 3))[0]
        world.update_check_run(run_id, status="completed", conclusion=conclusion)
    elif rng.random() < 0.3:
        run_id = world.rerun_check_run(run_id).id
    else:
        return
    changed["check_runs"].append(run_id)
