"""A batch of observations applied in one transaction, its loads answered from what was read
ahead and its writes held back, ends exactly as the same observations applied one by one: the
same rows, the same signals, the same change log in the same order."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from store_factories import REPOSITORY_ID, at, make_pr, make_repository, make_run, seed_repository

from prwatch.domain.models import CommitStatusSnapshot, Source
from prwatch.store import Store, create_engine
from prwatch.store.schema import metadata
from prwatch.sync.apply import Observation, apply_observation, read_ahead_keys
from tests.services import fresh_postgres_database, run_in_own_loop

ALONE, TOGETHER = REPOSITORY_ID, REPOSITORY_ID + 1
SHAS = ("a" * 40, "b" * 40, "c" * 40)
# A check run's commit never changes: run i is on SHAS[RUN_HEADS[i]].
RUN_HEADS = (0, 0, 1, 2)
RUN_STATES = [("queued", None), ("in_progress", None), ("completed", "success")]
RUN_STATES += [("completed", "failure")]


def run_id(repository_id: int, index: int) -> int:
    return repository_id * 100 + index  # check run ids are unique across repositories


# What one delivery observes, whatever the repository: ("pr", number, head, second),
# ("run", index, state, second) or ("status", head, context, state, second).
pull_requests = st.tuples(
    st.just("pr"), st.sampled_from([1, 2]), st.integers(0, 2), st.integers(0, 5)
)
check_runs = st.tuples(
    st.just("run"), st.integers(0, len(RUN_HEADS) - 1), st.sampled_from(RUN_STATES),
    st.integers(0, 5),
)  # fmt: skip
statuses = st.tuples(
    st.just("status"), st.integers(0, 2), st.sampled_from(["ci", "lint"]),
    st.sampled_from(["pending", "success", "failure", "error"]), st.integers(0, 5),
)  # fmt: skip
programs = st.lists(st.one_of(pull_requests, check_runs, statuses), min_size=1, max_size=10)


def observation(repository_id: int, step: tuple[Any, ...]) -> Observation:
    kind, *rest = step
    if kind == "pr":
        number, head, second = rest
        pr = make_pr(
            repository_id=repository_id, number=number, head_sha=SHAS[head],
            updated_at=at(10 + second), title=f"head {head} at {second}",
        )  # fmt: skip
        return Observation(repository_id, pull_requests=(pr,))
    if kind == "run":
        index, (status, conclusion), second = rest
        run = make_run(
            repository_id=repository_id, id=run_id(repository_id, index), name=f"job{index}",
            head_sha=SHAS[RUN_HEADS[index]], status=status, conclusion=conclusion,
            completed_at=at(20 + second) if status == "completed" else None,
        )  # fmt: skip
        return Observation(repository_id, check_runs=(run,))
    head, context, state, second = rest
    status = CommitStatusSnapshot(
        repository_id, SHAS[head], context, state, None, None, at(30 + second), at(30 + second)
    )
    return Observation(repository_id, commit_statuses=(status,))


async def apply_alone(store: Store, observations: Sequence[Observation]) -> None:
    for observed in observations:
        async with store.transaction() as tx:
            await apply_observation(tx, observed, source=Source.WEBHOOK)


async def apply_together(store: Store, observations: Sequence[Observation]) -> None:
    """As ``prwatch.events.processing`` applies a batch of deliveries."""
    async with store.transaction() as tx:
        keys = read_ahead_keys(observations)
        for repository_id in sorted(keys):
            await tx.lock_repository(repository_id)
        for repository_id, wanted in keys.items():
            await tx.read_ahead(repository_id, **wanted)
        async with tx.deferred_writes():
            for observed in observations:
                await apply_observation(tx, observed, source=Source.WEBHOOK)


async def stored(store: Store, repository_id: int) -> tuple[Any, ...]:
    """What the store holds of a repository, with its ids made the same for either one."""
    async with store.transaction(read_only=True) as tx:
        prs = await tx.load_pull_requests(repository_id)
        runs = await tx.load_check_runs(repository_id)
        statuses = await tx.load_commit_statuses(repository_id, SHAS)
        signals = await tx.load_signals(repository_id, [1, 2])
        log = await tx.changes_after(0, 1000, repository_id=repository_id)
    return (
        sorted((pr.number, pr.head_sha, pr.title, pr.updated_at) for pr in prs.values()),
        sorted((run.id % 100, run.status, run.conclusion) for run in runs.values()),
        sorted((s.sha, s.context, s.state) for s in statuses.values()),
        sorted((s.number, s.merge_signal) for s in signals.values()),
        [
            (c.kind, c.pr_number, c.check_run_id and c.check_run_id % 100, c.field, c.old, c.new)
            for c in log
        ],
    )


async def compare(database_url: str, program: list[tuple[Any, ...]]) -> None:
    engine = create_engine(database_url, pool_size=2)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
        store = Store(engine)
        await seed_repository(
            store, make_repository(id=ALONE), make_repository(id=TOGETHER, full_name="o/two")
        )
        await apply_alone(store, [observation(ALONE, step) for step in program])
        await apply_together(store, [observation(TOGETHER, step) for step in program])
        assert await stored(store, TOGETHER) == await stored(store, ALONE)
    finally:
        await engine.dispose()


async def on_postgres(program: list[tuple[Any, ...]]) -> None:
    async with fresh_postgres_database() as url:
        await compare(url, program)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(program=programs)
def test_a_batch_read_ahead_ends_like_one_by_one_on_sqlite(program: list[tuple[Any, ...]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        run_in_own_loop(compare(f"sqlite+aiosqlite:///{Path(folder) / 'b.db'}", program))


@pytest.mark.postgres
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(program=programs)
def test_a_batch_read_ahead_ends_like_one_by_one_on_postgres(
    program: list[tuple[Any, ...]],
) -> None:
    run_in_own_loop(on_postgres(program))


async def test_loads_are_answered_from_the_read_ahead_without_sending_held_writes(
    store: Store,
) -> None:
    """The point of it: a batch's statements stay one per table, not one per delivery."""
    await seed_repository(store)
    sent: list[str] = []
    async with store.transaction() as tx:
        await tx.lock_repository(REPOSITORY_ID)
        await tx.read_ahead(REPOSITORY_ID, numbers=[1, 2], head_shas=[SHAS[0]])
        original = tx._flush_writes

        async def flush() -> None:
            sent.append("flush")
            await original()

        tx._flush_writes = flush  # type: ignore[method-assign]
        async with tx.deferred_writes():
            for number in (1, 2):
                pr = make_pr(number=number, head_sha=SHAS[0])
                observed = Observation(REPOSITORY_ID, pull_requests=(pr,))
                await apply_observation(tx, observed, source=Source.WEBHOOK)
            # Nothing was sent while they were applied: only at the block's end.
            assert sent == []
    assert sent == ["flush"]
