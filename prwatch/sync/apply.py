"""The one apply path. Whatever found a change — the sweep or a webhook delivery — hands its
observations of one repository here; this loads what is stored, detects the changes (pure),
and writes rows and log entries in the caller's transaction, behind the store's fences."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypedDict

from prwatch.domain.changes import detect_changes, detect_pr_ties
from prwatch.domain.models import (
    ChangeSet,
    CheckRunSnapshot,
    CommitStatusSnapshot,
    PullRequestSnapshot,
    ReviewSnapshot,
    Source,
)
from prwatch.store.store import StoreTransaction
from prwatch.sync.pull_signals import derive_signals


@dataclass(frozen=True, slots=True)
class Observation:
    """What one source saw of one repository."""

    repository_id: int
    pull_requests: Sequence[PullRequestSnapshot] = ()
    check_runs: Sequence[CheckRunSnapshot] = ()
    commit_statuses: Sequence[CommitStatusSnapshot] = ()
    reviews: Sequence[ReviewSnapshot] = ()
    # GraphQL's reviewDecision of the PRs it was read for, by number (None: not required).
    review_decisions: Mapping[int, str | None] = field(default_factory=dict)


class ReadAheadKeys(TypedDict):
    """What applying observations of one repository loads (``StoreTransaction.read_ahead``)."""

    numbers: set[int]
    head_shas: set[str]
    check_run_ids: set[int]
    check_shas: set[str]


def read_ahead_keys(observations: Iterable[Observation]) -> dict[int, ReadAheadKeys]:
    """What applying ``observations`` one after the other loads, by repository: their PRs and
    the PRs' heads, their check runs, and the commits of their check runs and statuses (whose
    PR is looked up by head SHA)."""
    keys: dict[int, ReadAheadKeys] = {}
    for observation in observations:
        found = keys.setdefault(
            observation.repository_id,
            {"numbers": set(), "head_shas": set(), "check_run_ids": set(), "check_shas": set()},
        )
        for pr in observation.pull_requests:
            found["numbers"].add(pr.number)
            found["head_shas"].add(pr.head_sha)
        for run in observation.check_runs:
            found["check_run_ids"].add(run.id)
            found["check_shas"].add(run.head_sha)
        found["check_shas"].update(status.sha for status in observation.commit_statuses)
    return keys


@dataclass(frozen=True, slots=True)
class Applied:
    change_set: ChangeSet
    cursors: tuple[int, ...]
    # PRs observed with their stored `updated_at` but another content: the later arrival was
    # applied, and only GitHub can say whether it is the current version.
    pr_ties: tuple[int, ...] = ()


async def apply_observation(
    tx: StoreTransaction,
    observation: Observation,
    *,
    source: Source,
    installation_id: int | None = None,
    delivery_id: str | None = None,
) -> Applied:
    """Detect and write the changes `observation` brings, inside `tx` (locked per repository)."""
    repository_id = observation.repository_id
    foreign = (
        {pr.repository_id for pr in observation.pull_requests}
        | {run.repository_id for run in observation.check_runs}
        | {status.repository_id for status in observation.commit_statuses}
        | {review.repository_id for review in observation.reviews}
    )
    foreign.discard(repository_id)
    if foreign:
        raise ValueError(
            f"observation of repository {repository_id} holds snapshots of {sorted(foreign)}"
        )
    await tx.lock_repository(repository_id)
    stored_prs = await tx.load_pull_requests(
        repository_id, [pr.number for pr in observation.pull_requests]
    )
    stored_runs = await tx.load_check_runs(
        repository_id, ids=[run.id for run in observation.check_runs]
    )
    stored_statuses = await tx.load_commit_statuses(
        repository_id, {status.sha for status in observation.commit_statuses}
    )
    stored_reviews = await tx.load_reviews(
        repository_id, {review.pr_number for review in observation.reviews}
    )
    head_to_number = await _pr_numbers_by_head_sha(tx, observation)
    ties = detect_pr_ties(stored_prs, observation.pull_requests)
    change_set = detect_changes(
        stored_prs=stored_prs,
        observed_prs=observation.pull_requests,
        stored_check_runs=stored_runs,
        observed_check_runs=observation.check_runs,
        pr_number_by_head_sha=head_to_number,
        stored_statuses=stored_statuses,
        observed_statuses=observation.commit_statuses,
        stored_reviews=stored_reviews,
        observed_reviews=observation.reviews,
    )
    change_set = await derive_signals(
        tx,
        repository_id,
        change_set,
        stored_prs=stored_prs,
        pr_number_by_head_sha=head_to_number,
        decisions=observation.review_decisions,
    )
    if not change_set:
        return Applied(change_set, (), ties)
    cursors = await tx.write_change_set(
        change_set, source=source, delivery_id=delivery_id, installation_id=installation_id
    )
    return Applied(change_set, tuple(cursors), ties)


async def _pr_numbers_by_head_sha(tx: StoreTransaction, observation: Observation) -> dict[str, int]:
    """Which PR each observed check run and status belongs to: by head SHA, so fork PRs
    resolve too."""
    shas = {run.head_sha for run in observation.check_runs}
    shas |= {status.sha for status in observation.commit_statuses}
    if not shas:
        return {}
    numbers = await tx.pull_request_numbers_by_head_sha(observation.repository_id, shas)
    # What this observation says wins over what was stored (a push moves the head).
    numbers.update({pr.head_sha: pr.number for pr in observation.pull_requests})
    return numbers
