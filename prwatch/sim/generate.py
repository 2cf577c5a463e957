"""A deterministic, realistic world from a seed: installations, repositories, PRs, checks."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from prwatch.sim.entities import Repository

if TYPE_CHECKING:
    from prwatch.sim.world import World

VERBS = ("Fix", "Add", "Refactor", "Update", "Remove", "Speed up", "Document", "Test", "Rework")
OBJECTS = (
    "login flow",
    "cache invalidation",
    "retry policy",
    "CSV export",
    "webhook parser",
    "rate limiter",
    "settings page",
    "search index",
    "billing job",
    "migration script",
    "error messages",
    "API pagination",
    "dark mode",
    "release notes",
    "dependency pins",
)
AUTHORS = tuple(f"dev-{i:02d}" for i in range(40))
FORK_OWNERS = tuple(f"contributor-{i:02d}" for i in range(12))
LABELS = ("bug", "enhancement", "documentation", "dependencies", "performance", "ci")
YEAR = 365 * 24 * 3600


@contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off for a while, for work that leaves no cyclic garbage.

    Generation only adds objects that stay: collecting meanwhile finds nothing and, as the
    heap grows, costs more each time (~25% of the generation's CPU)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def populate(
    world: World,
    *,
    repos: int,
    prs: int,
    open_ratio: float,
    installations: int,
    checks_per_open_pr: int,
    fork_ratio: float,
) -> None:
    if repos < 0 or prs < 0 or installations < 1:
        raise ValueError("repos and prs must be ≥ 0 and installations ≥ 1")
    if not 0.0 <= open_ratio <= 1.0 or not 0.0 <= fork_ratio <= 1.0:
        raise ValueError("open_ratio and fork_ratio must be within [0, 1]")
    with collector_paused():
        _populate(
            world,
            repos=repos,
            prs=prs,
            installations=installations,
            open_ratio=open_ratio,
            checks_per_open_pr=checks_per_open_pr,
            fork_ratio=fork_ratio,
        )


def _populate(
    world: World,
    *,
    repos: int,
    prs: int,
    open_ratio: float,
    installations: int,
    checks_per_open_pr: int,
    fork_ratio: float,
) -> None:
    rng = world.rng
    now = world.clock.now()
    insts = [
        world.create_installation(f"org-{i + 1:03d}", "Organization" if i % 4 else "User")
        for i in range(installations)
    ]
    names = [f"{verb} {obj}" for verb in VERBS for obj in OBJECTS]
    check_names = tuple(f"check-{i}" for i in range(checks_per_open_pr))
    if checks_per_open_pr <= 5:
        from prwatch.sim.world import CHECK_NAMES

        check_names = CHECK_NAMES[:checks_per_open_pr]
    for r in range(repos):
        inst = insts[r % installations]
        repo = world.create_repository(
            inst.account.login,
            f"service-{r + 1:04d}",
            installation_id=inst.id,
            private=r % 3 == 0,
            owner_type=inst.account.type,
            created_at=now - 2 * YEAR + rng.randrange(YEAR),
        )
        _populate_repository(world, repo, prs, open_ratio, fork_ratio, names, check_names, now)


def _populate_repository(
    world: World,
    repo: Repository,
    prs: int,
    open_ratio: float,
    fork_ratio: float,
    titles: list[str],
    check_names: tuple[str, ...],
    now: int,
) -> None:
    rng = world.rng
    # creation times ascending with the number, like real PRs
    created = sorted(now - rng.randrange(1, YEAR) for _ in range(prs))
    for number, created_at in enumerate(created, start=1):
        fork_owner = rng.choice(FORK_OWNERS) if rng.random() < fork_ratio else None
        pr = world.open_pull_request(
            repo.id,
            title=f"{rng.choice(titles)} (#{number})",
            author=rng.choice(AUTHORS),
            head_ref=f"{rng.choice(AUTHORS)}/topic-{number}",
            draft=rng.random() < 0.1,
            fork_owner=fork_owner,
            created_at=created_at,
            emit=False,
        )
        pr.updated_at = min(now, created_at + rng.randrange(1, 30 * 24 * 3600))
        if rng.random() < 0.4:
            pr.labels = tuple(sorted(rng.sample(LABELS, rng.randint(1, 2))))
        if rng.random() >= open_ratio:
            pr.state = "closed"
            pr.closed_at = pr.updated_at
            if not pr.draft and rng.random() < 0.7:
                pr.merged = True
                pr.merged_at = pr.closed_at
                pr.merged_by = pr.author
                pr.merge_commit_sha = world.new_sha()
        elif check_names:
            _populate_checks(world, repo, pr.head_sha, check_names, pr.updated_at, now)
    repo.pulls_rev += 1


def _populate_checks(
    world: World, repo: Repository, sha: str, names: tuple[str, ...], started: int, now: int
) -> None:
    rng = world.rng
    suite = world.create_check_suite(repo.id, sha, names, emit=False, created_at=started)
    for run in suite.runs:
        roll = rng.random()
        if roll < 0.2:
            continue  # queued
        run.status = "in_progress"
        if roll < 0.4:
            continue
        run.status = "completed"
        run.completed_at = min(now, started + rng.randrange(30, 1800))
        run.conclusion = rng.choices(
            ("success", "failure", "neutral", "skipped", "cancelled", "timed_out"),
            weights=(80, 10, 3, 4, 2, 1),
        )[0]
    world.settle_suite(suite)
