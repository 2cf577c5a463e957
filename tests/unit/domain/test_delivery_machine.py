"""A state machine of GitHub changing PRs and check runs while deliveries arrive late, twice
or never, with sweeps catching up: the stored state must never go backwards, the log must stay
a gapless chain, and a sweep must leave the stored state equal to GitHub's."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from snapshot_factories import at, make_pr, make_run

from prwatch.domain.changes import (
    apply_change_set,
    detect_changes,
    logged_check_run_fields,
    logged_pr_fields,
)
from prwatch.domain.models import Change, ChangeKind, CheckRunSnapshot, PullRequestSnapshot
from prwatch.domain.ordering import check_status_rank

NUMBERS = (1, 2, 3)
RUN_IDS = (10, 11)
NEXT_STATUS = {"queued": "in_progress", "in_progress": "completed"}


class Deliveries(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = 0
        self.github_prs: dict[int, PullRequestSnapshot] = {}
        self.github_runs: dict[int, CheckRunSnapshot] = {}
        self.sent: list[PullRequestSnapshot | CheckRunSnapshot] = []  # every delivery GitHub made
        self.stored_prs: dict[int, PullRequestSnapshot] = {}
        self.stored_runs: dict[int, CheckRunSnapshot] = {}
        self.log: list[Change] = []

    def tick(self) -> int:
        self.clock += 1
        return self.clock

    # --- GitHub changes something and sends a delivery ----------------------------------

    @rule(number=st.sampled_from(NUMBERS), data=st.data())
    def github_changes_a_pr(self, number: int, data: st.DataObject) -> None:
        current = self.github_prs.get(number) or make_pr(number=number, node_id=f"PR_{number}")
        merged = current.merged
        state, merged = data.draw(
            st.sampled_from([("open", False), ("closed", False), ("closed", True)])
            if not merged
            else st.just(("closed", True))  # a merged PR stays merged
        )
        updated = replace(
            current,
            state=state,
            merged=merged,
            title=data.draw(st.sampled_from(["One", "Two"])),
            labels=tuple(sorted(data.draw(st.sets(st.sampled_from(["bug", "ui"]))))),
            head_sha=data.draw(st.sampled_from(["a" * 40, "c" * 40])),
            draft=data.draw(st.booleans()),
            updated_at=at(self.tick()),
        )
        self.github_prs[number] = updated
        self.sent.append(updated)

    @rule(run_id=st.sampled_from(RUN_IDS), conclusion=st.sampled_from(["success", "failure"]))
    def github_advances_a_check_run(self, run_id: int, conclusion: str) -> None:
        current = self.github_runs.get(run_id)
        if current is None:
            updated = make_run(id=run_id)
        elif current.status in NEXT_STATUS:
            status = NEXT_STATUS[current.status]
            done = status == "completed"
            updated = replace(
                current,
                status=status,
                conclusion=conclusion if done else None,
                completed_at=at(self.tick()) if done else None,
            )
        else:  # a completed run gets its conclusion corrected
            updated = replace(current, conclusion=conclusion, completed_at=at(self.tick()))
        self.github_runs[run_id] = updated
        self.sent.append(updated)

    # --- prwatch receives something ------------------------------------------------------

    def apply(self, prs: list[PullRequestSnapshot], runs: list[CheckRunSnapshot]) -> None:
        change_set = detect_changes(
            stored_prs=self.stored_prs,
            observed_prs=prs,
            stored_check_runs=self.stored_runs,
            observed_check_runs=runs,
        )
        before_prs, before_runs = self.stored_prs, self.stored_runs
        self.stored_prs, self.stored_runs = apply_change_set(
            self.stored_prs, self.stored_runs, change_set
        )
        self.log.extend(change_set.changes)
        # Never backwards: whatever arrives, each row stays or moves forward.
        for number, pr in before_prs.items():
            assert self.stored_prs[number].updated_at >= pr.updated_at
        for run_id, run in before_runs.items():
            after = self.stored_runs[run_id]
            assert check_status_rank(after.status) >= check_status_rank(run.status)
            if run.completed_at is not None:
                assert after.completed_at is not None and after.completed_at >= run.completed_at

    def deliver(self, snapshot: PullRequestSnapshot | CheckRunSnapshot) -> None:
        if isinstance(snapshot, PullRequestSnapshot):
            self.apply([snapshot], [])
        else:
            self.apply([], [snapshot])

    @precondition(lambda self: bool(self.sent))
    @rule(data=st.data())
    def a_delivery_arrives_late_or_again(self, data: st.DataObject) -> None:
        self.deliver(data.draw(st.sampled_from(self.sent)))

    @precondition(lambda self: bool(self.sent))
    @rule()
    def the_newest_delivery_arrives(self) -> None:
        self.deliver(self.sent[-1])

    @rule()
    def a_sweep_reads_everything(self) -> None:
        self.apply(list(self.github_prs.values()), list(self.github_runs.values()))
        assert self.stored_prs == self.github_prs
        assert self.stored_runs == self.github_runs

    # --- what must always hold -----------------------------------------------------------

    @invariant()
    def stored_state_is_never_ahead_of_github(self) -> None:
        for number, pr in self.stored_prs.items():
            assert pr.updated_at <= self.github_prs[number].updated_at
        for run_id, run in self.stored_runs.items():
            github = self.github_runs[run_id]
            assert check_status_rank(run.status) <= check_status_rank(github.status)

    @invariant()
    def the_log_is_a_gapless_chain_ending_in_the_stored_state(self) -> None:
        for number, pr in self.stored_prs.items():
            entries = [c for c in self.log if c.pr_number == number and c.check_run_id is None]
            assert entries[0].kind in (ChangeKind.PR_OPENED, ChangeKind.PR_DISCOVERED)
            assert sum(c.field is None for c in entries) == 1
            last: dict[str, Any] = {}
            for change in entries[1:]:
                assert change.field is not None
                if change.field in last:
                    assert last[change.field] == change.old
                last[change.field] = change.new
            logged = logged_pr_fields(pr)
            for field, value in last.items():
                assert logged[field] == value
        for run_id, run in self.stored_runs.items():
            state: dict[str, Any] = {"status": None, "conclusion": None}
            for change in (c for c in self.log if c.check_run_id == run_id):
                assert change.field is not None
                assert state[change.field] == change.old
                state[change.field] = change.new
            assert state == logged_check_run_fields(run)


Deliveries.TestCase.settings = settings(max_examples=60, stateful_step_count=30, deadline=None)
test_deliveries = Deliveries.TestCase
