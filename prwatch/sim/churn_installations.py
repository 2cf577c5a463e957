"""Random installation events, for churn: the owner accepts new permissions, suspends and
unsuspends the App, takes a repository away and gives it back, or installs the App on a new
account and uninstalls it again. Each pair ends where it started, so the world stays as large
as it was; prwatch still has to follow every step."""

from __future__ import annotations

import random

from prwatch.sim.world import World

# Permissions an App update asks for beyond the manifest's, accepted by the owner.
NEW_PERMISSIONS = {"statuses": "read", "issues": "read", "members": "read"}


def installation_activity(world: World, rng: random.Random, fraction: float) -> list[list[object]]:
    """For each live installation, with probability `fraction`, one of those events; returns
    `[installation_id, what]` for each."""
    changed: list[list[object]] = []
    for inst in sorted(world.installations.values(), key=lambda i: i.id):
        if inst.deleted or rng.random() >= fraction:
            continue
        roll = rng.random()
        if roll < 0.3:
            name, level = rng.choice(sorted(NEW_PERMISSIONS.items()))
            world.accept_new_permissions(inst.id, {name: level})
            what = "new_permissions_accepted"
        elif roll < 0.5:
            world.suspend_installation(inst.id)
            world.unsuspend_installation(inst.id)
            what = "suspend+unsuspend"
        elif roll < 0.8 and inst.repository_ids:
            repo_id = rng.choice(sorted(inst.repository_ids))
            world.remove_repository_from_installation(inst.id, repo_id)
            world.add_repository_to_installation(inst.id, repo_id)
            what = "removed+added"
        else:
            fresh = world.create_installation(f"newcomer-{world.next_id('user')}", "User")
            world.delete_installation(fresh.id)
            what = "created+deleted"
        changed.append([inst.id, what])
    return changed
