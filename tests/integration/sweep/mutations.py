"""Random, realistic mutation programs for the simulator's world (webhooks off)."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st

from prwatch.sim.events import InvalidMutationError, NotFoundError
from prwatch.sim.world import World

PR_OPERATIONS = (
    "edit_title",
    "add_label",
    "remove_label",
    "close",
    "merge",
    "reopen",
    "push",
    "draft",
    "ready",
    "check_progress",
    "check_complete",
    "rerun",
    "new_suite",
)
LABELS = ("bug", "enhancement", "needs-review")


@dataclass(frozen=True)
class Mutation:
    operation: str
    repository: int  # index into the live repositories
    pr: int  # index into the repository's PRs
    choice: int  # picks a label, a conclusion…


mutations = st.builds(
    Mutation,
    operation=st.sampled_from((*PR_OPERATIONS, "open_pr")),
    repository=st.integers(0, 10),
    pr=st.integers(0, 1000),
    choice=st.integers(0, 100),
)


def apply_mutation(world: World, mutation: Mutation) -> bool:
    """Apply `mutation` if it makes sense in the current world; True when it changed it."""
    repos = sorted(
        (r for r in world.repositories.values() if not r.deleted and r.installation_id),
        key=lambda r: r.id,
    )
    repo = repos[mutation.repository % len(repos)]
    if mutation.operation == "open_pr":
        world.open_pull_request(repo.id, title=f"New work {mutation.choice}", draft=False)
        return True
    pr = repo.pulls[mutation.pr % len(repo.pulls)]
    label = LABELS[mutation.choice % len(LABELS)]
    runs = world.check_runs_for_sha(repo.id, pr.head_sha, latest=True)
    run = runs[mutation.choice % len(runs)] if runs else None
    try:
        match mutation.operation:
            case "edit_title":
                world.edit_pull_request(repo.id, pr.number, title=f"Title {mutation.choice}")
            case "add_label":
                world.add_label(repo.id, pr.number, label)
            case "remove_label":
                world.remove_label(repo.id, pr.number, label)
            case "close":
                world.close_pull_request(repo.id, pr.number)
            case "merge":
                world.merge_pull_request(repo.id, pr.number)
            case "reopen":
                world.reopen_pull_request(repo.id, pr.number)
            case "push":
                world.push(repo.id, pr.number)
            case "draft":
                world.set_draft(repo.id, pr.number, True)
            case "ready":
                world.set_draft(repo.id, pr.number, False)
            case "check_progress" if run is not None and run.status == "queued":
                world.update_check_run(run.id, status="in_progress")
            case "check_complete" if run is not None and run.status != "completed":
                conclusion = ("success", "failure", "neutral")[mutation.choice % 3]
                world.update_check_run(run.id, status="completed", conclusion=conclusion)
            case "rerun" if run is not None and run.status == "completed":
                world.rerun_check_run(run.id)
            case "new_suite":
                world.create_check_suite(repo.id, pr.head_sha, names=("lint", "test"))
            case _:
                return False
    except (InvalidMutationError, NotFoundError):
        return False
    return True
