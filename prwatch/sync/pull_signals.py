"""The per-PR signals an apply derives once its rows are known: the merge signal over the head
commit's latest check runs and statuses, and the review decision GraphQL last gave; a change
of either is itself a change-log entry, so that a consumer can wait for "this PR went green".

Only the PRs the apply touched are judged (a new or moved head, a check run or status on a
head, a decision read): a sweep in which nothing changed reads nothing more.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from prwatch.domain.models import (
    Change,
    ChangeSet,
    CheckRunSnapshot,
    CommitStatusSnapshot,
    PullRequestSignal,
    PullRequestSnapshot,
)
from prwatch.domain.reviews import detect_signal_changes, merge_signal
from prwatch.domain.statuses import latest_statuses
from prwatch.store.reads import latest_check_runs
from prwatch.store.store import StoreTransaction

# A decision GraphQL gave for a PR (None: no review required, or none read).
Decisions = Mapping[int, str | None]


async def derive_signals(
    tx: StoreTransaction,
    repository_id: int,
    change_set: ChangeSet,
    *,
    stored_prs: Mapping[int, PullRequestSnapshot],
    pr_number_by_head_sha: Mapping[str, int],
    decisions: Decisions,
) -> ChangeSet:
    """``change_set`` with the signal rows and signal changes of the PRs it touches."""
    heads = _touched_heads(change_set, stored_prs, pr_number_by_head_sha, decisions)
    if not heads:
        return change_set
    missing = [number for number in heads if heads[number] is None]
    if missing:  # a decision for a PR this apply did not load: read its head
        for number, pr in (await tx.load_pull_requests(repository_id, missing)).items():
            heads[number] = pr.head_sha
    known = {number: sha for number, sha in heads.items() if sha is not None}
    shas = set(known.values())
    runs = await tx.load_check_runs(repository_id, head_shas=shas)
    runs.update({run.id: run for run in change_set.check_runs if run.head_sha in shas})
    statuses = await tx.load_commit_statuses(repository_id, shas)
    statuses.update({(s.sha, s.context): s for s in change_set.commit_statuses if s.sha in shas})
    runs_by_sha: dict[str, list[CheckRunSnapshot]] = {}
    for run in runs.values():
        runs_by_sha.setdefault(run.head_sha, []).append(run)
    statuses_by_sha: dict[str, list[CommitStatusSnapshot]] = {}
    for status in statuses.values():
        statuses_by_sha.setdefault(status.sha, []).append(status)
    stored = await tx.load_signals(repository_id, known)
    rows: list[PullRequestSignal] = []
    changes: list[Change] = []
    for number, sha in sorted(known.items()):
        before = stored.get(number)
        after = PullRequestSignal(
            repository_id,
            number,
            _decision(number, decisions, before),
            merge_signal(
                latest_check_runs(runs_by_sha.get(sha, [])),
                latest_statuses(statuses_by_sha.get(sha, [])),
            ),
        )
        if after != before:
            rows.append(after)
            changes.extend(detect_signal_changes(before, after))
    if not rows:
        return change_set
    return replace(
        change_set, signals=(*change_set.signals, *rows), changes=(*change_set.changes, *changes)
    )


def _decision(number: int, decisions: Decisions, before: PullRequestSignal | None) -> str | None:
    if number in decisions:
        return decisions[number]
    return None if before is None else before.review_decision


def _touched_heads(
    change_set: ChangeSet,
    stored_prs: Mapping[int, PullRequestSnapshot],
    pr_number_by_head_sha: Mapping[str, int],
    decisions: Decisions,
) -> dict[int, str | None]:
    """PR number → its head after this apply (None: not loaded here)."""
    heads: dict[int, str | None] = {}
    for pr in change_set.pull_requests:
        heads[pr.number] = pr.head_sha
    touched = {run.head_sha for run in change_set.check_runs}
    touched |= {status.sha for status in change_set.commit_statuses}
    for sha in touched:
        number = pr_number_by_head_sha.get(sha)  # the PR whose head it is, after this apply
        if number is not None and number not in heads:
            heads[number] = sha
    for number in decisions:
        if number not in heads:
            stored = stored_prs.get(number)
            heads[number] = None if stored is None else stored.head_sha
    return heads
