"""Random progress of the check runs on one commit, for churn: runs start and finish, failed
runs offer a fix button that someone presses, and people re-run a check or a whole suite once
it has completed (GitHub offers re-runs of completed runs of completed suites only)."""

from __future__ import annotations

import random

from prwatch.sim.render import latest_runs
from prwatch.sim.world import World

WAITING = frozenset({"queued", "waiting", "requested", "pending"})
FIX_ACTION = "fix"  # the identifier of the button a check app offers on a failed run


def advance_checks(
    world: World, repository_id: int, head_sha: str, rng: random.Random
) -> list[int]:
    """Move each latest check run on the commit one step; returns the ids of runs changed or
    created."""
    changed: list[int] = []
    for suite in world.suites_for_sha(repository_id, head_sha):
        if suite.status == "completed" and rng.random() < 0.02:
            world.rerequest_check_suite(suite.id)
            changed.extend(run.id for run in latest_runs(suite.runs))
            continue
        for run in latest_runs(suite.runs):
            if run.status in WAITING:
                world.update_check_run(run.id, status="in_progress")
            elif run.status == "in_progress":
                conclusion = rng.choices(("success", "failure", "skipped"), weights=(85, 12, 3))[0]
                actions = (FIX_ACTION,) if conclusion == "failure" else ()
                world.update_check_run(
                    run.id, status="completed", conclusion=conclusion, actions=actions
                )
            elif run.status != "completed" or suite.status != "completed":
                continue  # waiting for the rest of its suite
            elif run.actions and rng.random() < 0.1:
                world.request_check_run_action(run.id, run.actions[0])
            elif rng.random() < (0.1 if run.conclusion == "failure" else 0.02):
                run = world.rerun_check_run(run.id)  # mostly failed runs are re-run
            else:
                continue
            changed.append(run.id)
    return changed
