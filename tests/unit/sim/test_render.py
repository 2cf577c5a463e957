"""Rendering details: timestamps, and the cached fragments spliced into a pull request."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from prwatch.sim.clock import iso, parse_iso
from prwatch.sim.world import World


@pytest.mark.parametrize(
    "epoch", [0, 59, 86_399, 86_400, 951_782_400, 1_700_000_000, 2**31 - 1, 2**31, 4_102_444_800]
)
def test_iso_is_githubs_utc_format(epoch: int) -> None:
    expected = datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert iso(epoch) == expected
    assert parse_iso(expected) == epoch


def test_iso_of_nothing_is_null() -> None:
    assert iso(None) is None


def test_a_pull_request_embeds_its_users_and_repositories_in_place() -> None:
    world = World.generate(repos=2, prs=60, open_ratio=0.2, seed=5, fork_ratio=0.5)
    render = world.render
    prs = [pr for repo in world.repositories.values() for pr in repo.pulls]
    merged_fork = next(pr for pr in prs if pr.merged and pr.is_fork)
    plain = next(pr for pr in prs if not pr.merged and not pr.is_fork)
    for pr in (merged_fork, plain):
        for full in (True, False):
            data = json.loads(render.pull_request_json(pr, full=full))
            assert data["user"] == render.user(pr.author)
            assert data["head"]["user"] == render.user(pr.head_repo.owner)
            assert data["head"]["repo"] == render.repository(pr.head_repo)
            assert data["base"]["user"] == render.user(pr.repo.owner)
            assert data["base"]["repo"] == render.repository(pr.repo)
            assert data["title"] == pr.title and data["number"] == pr.number
            if full:
                merged_by = render.user(pr.merged_by) if pr.merged_by else None
                assert data["merged_by"] == merged_by
            else:
                assert "merged_by" not in data
