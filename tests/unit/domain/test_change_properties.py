"""Properties of change detection: no false positives, complete rows, a complete log, and
convergence under any delivery order."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from snapshot_factories import at, check_run_snapshots, make_run, pr_snapshots

from prwatch.domain.changes import (
    apply_change_set,
    detect_changes,
    logged_check_run_fields,
    logged_pr_fields,
    pr_lifecycle,
)
from prwatch.domain.models import (
    Change,
    ChangeKind,
    ChangeSet,
    CheckRunSnapshot,
    PullRequestSnapshot,
)
from prwatch.domain.ordering import is_check_run_progress, is_pr_snapshot_current

# Snapshot generation is slowish; the pools are small, so 150 examples cover them well.
property_settings = settings(max_examples=150, deadline=None)

prs_by_number = st.dictionaries(st.integers(1, 4), st.none()).flatmap(
    lambda keys: st.tuples(*(pr_snapshots(number=n) for n in keys)).map(
        lambda prs: {pr.number: pr for pr in prs}
    )
)
runs_by_id = st.dictionaries(st.integers(900, 903), st.none()).flatmap(
    lambda keys: st.tuples(*(check_run_snapshots(run_id=i) for i in keys)).map(
        lambda runs: {run.id: run for run in runs}
    )
)


def detect(
    stored_prs: Mapping[int, PullRequestSnapshot],
    observed_prs: Iterable[PullRequestSnapshot],
    stored_runs: Mapping[int, CheckRunSnapshot] | None = None,
    observed_runs: Iterable[CheckRunSnapshot] = (),
) -> ChangeSet:
    return detect_changes(
        stored_prs=stored_prs,
        observed_prs=observed_prs,
        stored_check_runs=stored_runs or {},
        observed_check_runs=observed_runs,
    )


# (1) No false positives.
@property_settings
@given(prs_by_number, runs_by_id)
def test_identical_observation_yields_nothing(
    prs: dict[int, PullRequestSnapshot], runs: dict[int, CheckRunSnapshot]
) -> None:
    change_set = detect(prs, prs.values(), runs, runs.values())
    assert change_set == ChangeSet()


# (2) The rows bring the stored state to the observed state, stale observations excepted.
@property_settings
@given(prs_by_number, prs_by_number, runs_by_id, runs_by_id)
def test_applying_rows_gives_the_observed_state(
    stored_prs: dict[int, PullRequestSnapshot],
    observed_prs: dict[int, PullRequestSnapshot],
    stored_runs: dict[int, CheckRunSnapshot],
    observed_runs: dict[int, CheckRunSnapshot],
) -> None:
    change_set = detect(stored_prs, observed_prs.values(), stored_runs, observed_runs.values())
    prs, runs = apply_change_set(stored_prs, stored_runs, change_set)

    expected_prs = dict(stored_prs)
    for number, pr in observed_prs.items():
        if number not in stored_prs or is_pr_snapshot_current(stored_prs[number], pr):
            expected_prs[number] = pr
    expected_runs = dict(stored_runs)
    for run_id, run in observed_runs.items():
        if run_id not in stored_runs or is_check_run_progress(stored_runs[run_id], run):
            expected_runs[run_id] = run
    assert prs == expected_prs
    assert runs == expected_runs
    # Only rows that change something are written.
    assert all(stored_prs.get(pr.number) != pr for pr in change_set.pull_requests)
    assert all(stored_runs.get(run.id) != run for run in change_set.check_runs)


def replay(
    start: Mapping[str, Any], changes: Iterable[Change], first_sight: Mapping[str, Any]
) -> dict[str, Any]:
    """Walk the log from `start`, checking that every entry starts where the previous ended."""
    state = dict(start)
    for change in changes:
        if change.kind in (ChangeKind.PR_OPENED, ChangeKind.PR_DISCOVERED):
            assert state == {}, "a PR is seen for the first time only once"
            # A first sighting logs only its lifecycle (and title); take the rest as observed.
            state = dict(first_sight)
            state["state"] = "open" if change.kind is ChangeKind.PR_OPENED else change.new
            if change.kind is ChangeKind.PR_OPENED:
                state["title"] = change.new
            continue
        assert change.field is not None
        assert state.get(change.field) == change.old, change
        state[change.field] = change.new
    return state


# (3) The log is complete: replaying old → new over the stored logged fields reproduces the
# observed logged fields, and every entry's `old` is the value the previous one left.
@property_settings
@given(prs_by_number, prs_by_number, runs_by_id, runs_by_id)
def test_the_log_replays_to_the_written_state(
    stored_prs: dict[int, PullRequestSnapshot],
    observed_prs: dict[int, PullRequestSnapshot],
    stored_runs: dict[int, CheckRunSnapshot],
    observed_runs: dict[int, CheckRunSnapshot],
) -> None:
    change_set = detect(stored_prs, observed_prs.values(), stored_runs, observed_runs.values())
    prs, runs = apply_change_set(stored_prs, stored_runs, change_set)

    for number, pr in prs.items():
        logged = logged_pr_fields(pr)
        before = logged_pr_fields(stored_prs[number]) if number in stored_prs else {}
        entries = [
            c for c in change_set.changes if c.pr_number == number and c.check_run_id is None
        ]
        assert replay(before, entries, first_sight=logged) == logged
    for run_id, run in runs.items():
        logged = logged_check_run_fields(run)
        before = (
            logged_check_run_fields(stored_runs[run_id])
            if run_id in stored_runs
            else {"status": None, "conclusion": None}
        )
        entries = [c for c in change_set.changes if c.check_run_id == run_id]
        assert replay(before, entries, first_sight={}) == logged
    kinds_by_pr = {
        c.pr_number
        for c in change_set.changes
        if c.kind in (ChangeKind.PR_OPENED, ChangeKind.PR_DISCOVERED)
    }
    assert kinds_by_pr == set(observed_prs) - set(stored_prs)


@st.composite
def pr_histories(draw: st.DrawFn) -> list[PullRequestSnapshot]:
    """Successive states of one PR, each strictly newer than the one before."""
    seconds = sorted(draw(st.sets(st.integers(0, 60), min_size=1, max_size=8)))
    return [draw(pr_snapshots(number=5, updated_at=at(s))) for s in seconds]


@st.composite
def check_run_histories(draw: st.DrawFn) -> list[CheckRunSnapshot]:
    """Successive states of one check run, each strictly further along than the one before."""
    pending = draw(st.lists(st.sampled_from(["queued", "waiting", "in_progress"]), max_size=3))
    history = [make_run(status=status) for status in sorted(set(pending), key=_rank_order)]
    completions = sorted(draw(st.sets(st.integers(1, 30), max_size=3)))
    for second in completions:
        conclusion = draw(st.sampled_from(["success", "failure", "neutral"]))
        history.append(make_run(status="completed", conclusion=conclusion, completed_at=at(second)))
    if not history:
        history.append(make_run())
    return history


def _rank_order(status: str) -> int:
    # queued and waiting share a rank, so a history holds at most one of them.
    return {"queued": 0, "waiting": 0, "in_progress": 1}[status]


def dedupe_same_rank(history: list[CheckRunSnapshot]) -> list[CheckRunSnapshot]:
    kept: list[CheckRunSnapshot] = []
    for run in history:
        if (
            kept
            and kept[-1].status in ("queued", "waiting")
            and run.status in ("queued", "waiting")
        ):
            continue
        kept.append(run)
    return kept


def feed_one_by_one(
    prs: Iterable[PullRequestSnapshot], runs: Iterable[CheckRunSnapshot]
) -> tuple[dict[int, PullRequestSnapshot], dict[int, CheckRunSnapshot], list[Change]]:
    state_prs: dict[int, PullRequestSnapshot] = {}
    state_runs: dict[int, CheckRunSnapshot] = {}
    log: list[Change] = []
    for pr in prs:
        change_set = detect(state_prs, [pr])
        state_prs, state_runs = apply_change_set(state_prs, state_runs, change_set)
        log.extend(change_set.changes)
    for run in runs:
        change_set = detect({}, [], state_runs, [run])
        state_prs, state_runs = apply_change_set(state_prs, state_runs, change_set)
        log.extend(change_set.changes)
    return state_prs, state_runs, log


# (4) Whatever the delivery order, and delivered one by one or all at once, the stored state
# converges on the newest snapshot, and the log still replays to it.
@property_settings
@given(pr_histories(), check_run_histories(), st.randoms(use_true_random=False))
def test_any_delivery_order_converges_on_the_newest_snapshot(
    pr_history: list[PullRequestSnapshot], run_history: list[CheckRunSnapshot], random: Any
) -> None:
    run_history = dedupe_same_rank(run_history)
    newest_pr, newest_run = pr_history[-1], run_history[-1]

    in_order = feed_one_by_one(pr_history, run_history)
    assert in_order[:2] == ({5: newest_pr}, {newest_run.id: newest_run})

    shuffled_prs = random.sample(pr_history, len(pr_history))
    shuffled_runs = random.sample(run_history, len(run_history))
    prs, runs, log = feed_one_by_one(shuffled_prs, shuffled_runs)
    assert (prs, runs) == ({5: newest_pr}, {newest_run.id: newest_run})
    pr_log = [c for c in log if c.check_run_id is None]
    assert pr_log[0].kind in (ChangeKind.PR_OPENED, ChangeKind.PR_DISCOVERED)
    first_seen = shuffled_prs[0]
    assert replay({}, pr_log, first_sight=logged_pr_fields(first_seen)) == logged_pr_fields(
        newest_pr
    )
    run_log = [c for c in log if c.check_run_id is not None]
    start = {"status": None, "conclusion": None}
    assert replay(start, run_log, first_sight={}) == logged_check_run_fields(newest_run)

    batch = detect({}, shuffled_prs, {}, shuffled_runs)
    assert apply_change_set({}, {}, batch) == ({5: newest_pr}, {newest_run.id: newest_run})


@property_settings
@given(pr_histories())
def test_a_redelivered_snapshot_changes_nothing(history: list[PullRequestSnapshot]) -> None:
    prs, _, _ = feed_one_by_one(history, [])
    for old in history:
        assert detect(prs, [old]) == ChangeSet()


@property_settings
@given(pr_snapshots(), pr_snapshots())
def test_lifecycle_change_is_always_logged_with_the_matching_kind(
    before: PullRequestSnapshot, after: PullRequestSnapshot
) -> None:
    after = replace(after, number=before.number, updated_at=at(100))
    entries = [c for c in detect({before.number: before}, [after]).changes if c.field == "state"]
    if pr_lifecycle(before) == pr_lifecycle(after):
        assert entries == []
    else:
        expected = {
            "open": ChangeKind.PR_REOPENED,
            "closed": ChangeKind.PR_CLOSED,
            "merged": ChangeKind.PR_MERGED,
        }[pr_lifecycle(after)]
        assert [c.kind for c in entries] == [expected]
