"""Realistic activity on the simulated world: the kind of hour a busy organisation has, in a
few seconds. Every mutation makes the simulator send the webhook GitHub would send."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field

from prwatch.sim.churn_signals import review_activity, status_activity
from prwatch.sim.generate import LABELS
from prwatch.sim.world import CHECK_NAMES, World

# How often each kind of step is picked (relative weights).
STEP_WEIGHTS: dict[str, int] = {
    "open": 3,
    "push": 3,
    "advance_checks": 10,
    "label": 3,
    "status": 4,  # a CI posting commit statuses beside the check runs
    "review": 3,
    "merge": 2,
    "close": 1,
}


@dataclass(slots=True)
class ActivityDriver:
    """Picks and applies one step at a time; ``performed`` counts what was done."""

    world: World
    seed: int = 0
    performed: Counter[str] = field(default_factory=Counter)
    _rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def live_repository_ids(self) -> list[int]:
        return sorted(
            repo.id
            for repo in self.world.repositories.values()
            if not repo.deleted and repo.installation_id is not None and repo.fork_of is None
        )

    def step(self) -> str | None:
        """One step on a random watched repository; the name of what was done, or None when
        the picked step had nothing to act on."""
        live = self.live_repository_ids()
        if not live:
            return None
        repository_id = self._rng.choice(live)
        kind = self._rng.choices(list(STEP_WEIGHTS), weights=list(STEP_WEIGHTS.values()))[0]
        done = getattr(self, f"_{kind}")(repository_id)
        if done:
            self.performed[kind] += 1
            return kind
        return None

    def remove_one_repository(self) -> int | None:
        """Take the last watched repository out of its installation (the App loses access)."""
        live = self.live_repository_ids()
        if len(live) < 2:  # keep at least one repository to watch
            return None
        repo = self.world.repository(live[-1])
        assert repo.installation_id is not None
        self.world.remove_repository_from_installation(repo.installation_id, repo.id)
        self.performed["remove_repository"] += 1
        return repo.id

    # ---- steps ------------------------------------------------------------------------------
    def _open_prs(self, repository_id: int, *, ready: bool = False) -> list[int]:
        repo = self.world.repository(repository_id)
        return [pr.number for pr in repo.pulls if pr.state == "open" and not (ready and pr.draft)]

    def _open(self, repository_id: int) -> bool:
        topic = self._rng.choice(("Fix", "Add", "Refactor", "Speed up", "Document", "Bump"))
        subject = self._rng.choice(("parser", "login flow", "cache", "CLI", "API client", "docs"))
        pr = self.world.open_pull_request(
            repository_id, title=f"{topic} {subject}", author=self._rng.choice(AUTHORS)
        )
        self.world.create_check_suite(repository_id, pr.head_sha, CHECK_NAMES)
        return True

    def _push(self, repository_id: int) -> bool:
        numbers = self._open_prs(repository_id)
        if not numbers:
            return False
        pr = self.world.push(repository_id, self._rng.choice(numbers))
        self.world.create_check_suite(repository_id, pr.head_sha, CHECK_NAMES)
        return True

    def _advance_checks(self, repository_id: int) -> bool:
        """Move the unfinished check runs of one open PR one status further."""
        candidates = [
            (number, run)
            for number in self._open_prs(repository_id)
            for run in self.world.check_runs_for_sha(
                repository_id, self.world.pull_request(repository_id, number).head_sha
            )
            if run.status != "completed"
        ]
        if not candidates:
            return False
        number, _ = self._rng.choice(candidates)
        for pr_number, run in candidates:
            if pr_number != number:
                continue
            if run.status == "queued":
                self.world.update_check_run(run.id, status="in_progress")
            else:
                conclusion = self._rng.choices(("success", "failure"), weights=(80, 20))[0]
                self.world.update_check_run(run.id, status="completed", conclusion=conclusion)
        return True

    def _label(self, repository_id: int) -> bool:
        numbers = self._open_prs(repository_id)
        if not numbers:
            return False
        number = self._rng.choice(numbers)
        label = self._rng.choice(LABELS)
        if label in self.world.pull_request(repository_id, number).labels:
            self.world.remove_label(repository_id, number, label)
        else:
            self.world.add_label(repository_id, number, label)
        return True

    def _status(self, repository_id: int) -> bool:
        numbers = self._open_prs(repository_id)
        if not numbers:
            return False
        pr = self.world.pull_request(repository_id, self._rng.choice(numbers))
        status_activity(self.world, repository_id, pr.head_sha, self._rng)
        return True

    def _review(self, repository_id: int) -> bool:
        numbers = self._open_prs(repository_id)
        if not numbers:
            return False
        review_activity(
            self.world, self.world.pull_request(repository_id, self._rng.choice(numbers)), self._rng
        )
        return True

    def _merge(self, repository_id: int) -> bool:
        numbers = self._open_prs(repository_id, ready=True)
        if not numbers:
            return False
        self.world.merge_pull_request(repository_id, self._rng.choice(numbers))
        return True

    def _close(self, repository_id: int) -> bool:
        numbers = self._open_prs(repository_id)
        if not numbers:
            return False
        self.world.close_pull_request(repository_id, self._rng.choice(numbers))
        return True


AUTHORS = ("octo-dev", "mona", "hubot", "dependabot[bot]", "renovate[bot]")
