"""What a transaction applying a batch of deliveries read of one repository before the first of
them: the check runs, commit statuses and signals of the batch's heads and PRs, and which PR
each head belongs to. Each delivery's loads are answered from it without a query, and so
without first sending the writes held back for the batch (``deferred_writes``), which a query
must: with a query per delivery, the batch's one statement per table became one per delivery.

A load is answered here only when every key it asks for is covered. Writing a row uncovers
it: its fence, not the change set, decides what is stored, so it is read afresh. A signal is
the exception: it is written as is, so the written one is what the store holds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from prwatch.domain.models import (
    ChangeSet,
    CheckRunSnapshot,
    CommitStatusSnapshot,
    PullRequestSignal,
)
from prwatch.domain.statuses import StatusKey


@dataclass(slots=True)
class ReadAhead:
    """One repository's rows read ahead, with the keys they cover (found or known absent)."""

    check_run_ids: set[int] = field(default_factory=set)
    check_run_shas: set[str] = field(default_factory=set)
    check_runs: dict[int, CheckRunSnapshot] = field(default_factory=dict)
    status_shas: set[str] = field(default_factory=set)
    statuses: dict[StatusKey, CommitStatusSnapshot] = field(default_factory=dict)
    signal_numbers: set[int] = field(default_factory=set)
    signals: dict[int, PullRequestSignal] = field(default_factory=dict)
    head_shas: set[str] = field(default_factory=set)
    numbers_by_head_sha: dict[str, int] = field(default_factory=dict)

    def load_check_runs(
        self, ids: set[int] | None, shas: set[str] | None
    ) -> dict[int, CheckRunSnapshot] | None:
        """What ``load_check_runs`` would return, or None when this does not cover it."""
        if ids is not None:
            if not ids <= self.check_run_ids:
                return None
            found = {i: self.check_runs[i] for i in ids if i in self.check_runs}
            if shas is not None:
                found = {i: run for i, run in found.items() if run.head_sha in shas}
            return found
        if shas is None or not shas <= self.check_run_shas:
            return None
        return {i: run for i, run in self.check_runs.items() if run.head_sha in shas}

    def load_commit_statuses(self, shas: set[str]) -> dict[StatusKey, CommitStatusSnapshot] | None:
        if not shas <= self.status_shas:
            return None
        return {key: status for key, status in self.statuses.items() if key[0] in shas}

    def load_signals(self, numbers: set[int]) -> dict[int, PullRequestSignal] | None:
        if not numbers <= self.signal_numbers:
            return None
        return {n: self.signals[n] for n in numbers if n in self.signals}

    def pull_request_numbers_by_head_sha(self, shas: set[str]) -> dict[str, int] | None:
        if not shas <= self.head_shas:
            return None
        return {
            sha: self.numbers_by_head_sha[sha] for sha in shas if sha in self.numbers_by_head_sha
        }

    def cover_check_runs(
        self, ids: Iterable[int], shas: Iterable[str], found: Iterable[CheckRunSnapshot]
    ) -> None:
        for run in found:
            self.check_runs[run.id] = run
            self.check_run_ids.add(run.id)
        self.check_run_ids.update(ids)
        self.check_run_shas.update(shas)

    def cover_statuses(self, shas: Iterable[str], found: Iterable[CommitStatusSnapshot]) -> None:
        self.statuses.update({(s.sha, s.context): s for s in found})
        self.status_shas.update(shas)

    def cover_signals(self, numbers: Iterable[int], found: Iterable[PullRequestSignal]) -> None:
        self.signals.update({s.number: s for s in found})
        self.signal_numbers.update(numbers)

    def cover_heads(self, shas: Iterable[str], found: dict[str, int]) -> None:
        self.numbers_by_head_sha.update(found)
        self.head_shas.update(shas)

    def written(self, repository_id: int, change_set: ChangeSet) -> None:
        """Keep only what ``change_set``'s writes leave of this repository as it was read."""
        for run in change_set.check_runs:
            if run.repository_id != repository_id:
                continue
            stored = self.check_runs.pop(run.id, None)
            self.check_run_ids.discard(run.id)
            self.check_run_shas.discard(run.head_sha)
            if stored is not None:
                self.check_run_shas.discard(stored.head_sha)
        for status in change_set.commit_statuses:
            if status.repository_id == repository_id:
                self.status_shas.discard(status.sha)
        for signal in change_set.signals:
            if signal.repository_id != repository_id:
                continue
            self.signals[signal.number] = signal
            self.signal_numbers.add(signal.number)
        if any(pr.repository_id == repository_id for pr in change_set.pull_requests):
            # A PR written may have moved its head.
            self.head_shas.clear()
            self.numbers_by_head_sha.clear()
