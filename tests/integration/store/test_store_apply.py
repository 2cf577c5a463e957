from __future__ import annotations

import itertools
from datetime import timedelta, timezone

import pytest
from store_factories import (
    INSTALLATION_ID,
    REPOSITORY_ID,
    SHA_A,
    SHA_B,
    T0,
    at,
    make_pr,
    make_repository,
    make_run,
    seed_repository,
)

from prwatch.domain.check_runs import CheckRunRow
from prwatch.domain.models import (
    Change,
    ChangeKind,
    ChangeSet,
    RemovalReason,
    Source,
)
from prwatch.domain.ordering import CHECK_RUN_STATUSES, is_check_run_progress
from prwatch.store import (
    InvalidStoreInput,
    RepositoryRemoved,
    Store,
    UnknownInstallation,
    UnknownRepository,
)


async def write(store: Store, change_set: ChangeSet, source: Source = Source.SWEEP) -> list[int]:
    async with store.transaction() as tx:
        return await tx.write_change_set(change_set, source=source)


async def test_pull_request_round_trip_keeps_every_field_and_utc(store: Store) -> None:
    await seed_repository(store)
    plus_two = T0.astimezone(timezone(timedelta(hours=2)))
    pr = make_pr(
        state="closed",
        merged=True,
        merged_at=plus_two + timedelta(minutes=5),
        closed_at=at(300),
        draft=True,
        labels=("a", "b", "ü"),
        created_at=plus_two,
        updated_at=at(300.123456),
    )
    await write(store, ChangeSet(pull_requests=(pr,)))

    async with store.transaction() as tx:
        loaded = await tx.load_pull_requests(REPOSITORY_ID)

    assert loaded == {7: pr}
    stored = loaded[7]
    for value in (stored.created_at, stored.updated_at, stored.merged_at, stored.closed_at):
        assert value is not None and value.utcoffset() == timedelta(0)
    assert stored.updated_at.microsecond == 123456


async def test_check_run_round_trip_and_lookups(store: Store) -> None:
    await seed_repository(store)
    runs = (
        make_run(
            id=1,
            head_sha=SHA_A,
            status="completed",
            conclusion="success",
            started_at=at(1),
            completed_at=at(2),
        ),
        make_run(
            id=2,
            head_sha=SHA_A,
            name="test",
            status="in_progress",
            started_at=at(1),
            app_slug=None,
            check_suite_id=None,
        ),
        make_run(id=3, head_sha=SHA_B, name="test"),
    )
    await write(store, ChangeSet(check_runs=runs))

    async with store.transaction() as tx:
        every = await tx.load_check_runs(REPOSITORY_ID)
        by_sha = await tx.load_check_runs(REPOSITORY_ID, head_shas=[SHA_A])
        by_id = await tx.load_check_runs(REPOSITORY_ID, ids=[3, 999])
        both = await tx.load_check_runs(REPOSITORY_ID, ids=[1, 3], head_shas=[SHA_A])
        elsewhere = await tx.load_check_runs(REPOSITORY_ID + 1)

    assert every == {run.id: run for run in runs}
    assert set(by_sha) == {1, 2}
    assert by_id == {3: runs[2]}
    assert set(both) == {1}
    assert elsewhere == {}


async def test_load_pull_requests_by_number_and_open_only(store: Store) -> None:
    await seed_repository(store)
    prs = tuple(make_pr(number=n, state="open" if n % 2 else "closed") for n in range(1, 11))
    await write(store, ChangeSet(pull_requests=prs))

    async with store.transaction() as tx:
        some = await tx.load_pull_requests(REPOSITORY_ID, [2, 3, 99])
        open_ones = await tx.load_open_pull_requests(REPOSITORY_ID)

    assert set(some) == {2, 3}
    assert set(open_ones) == {1, 3, 5, 7, 9}


async def test_check_runs_stored_as_observed_compares_rows(store: Store) -> None:
    await seed_repository(store)
    runs = (
        make_run(id=1, head_sha=SHA_A, started_at=at(1)),
        make_run(
            id=2, head_sha=SHA_B, status="completed", conclusion="success", completed_at=at(9)
        ),
    )
    await write(store, ChangeSet(check_runs=runs))
    rows = [CheckRunRow.of(run) for run in runs]

    async with store.transaction(read_only=True) as tx:
        assert await tx.check_runs_stored_as(REPOSITORY_ID, rows)
        assert await tx.check_runs_stored_as(REPOSITORY_ID, [])
        assert await tx.check_runs_stored_as(REPOSITORY_ID, rows[1:])
        assert not await tx.check_runs_stored_as(REPOSITORY_ID, [rows[0]._replace(name="other")])
        assert not await tx.check_runs_stored_as(
            REPOSITORY_ID, [rows[1]._replace(completed_at=at(10))]
        )
        assert not await tx.check_runs_stored_as(REPOSITORY_ID, [rows[0]._replace(id=99)])
        assert not await tx.check_runs_stored_as(REPOSITORY_ID + 1, rows)
        # The same instants in another zone are the same times; a microsecond apart are not.
        elsewhere = timezone(timedelta(hours=-5))
        shifted = rows[0]._replace(started_at=at(1).astimezone(elsewhere))
        assert await tx.check_runs_stored_as(REPOSITORY_ID, [shifted, rows[1]])
        nudged = rows[1]._replace(completed_at=at(9) + timedelta(microseconds=1))
        assert not await tx.check_runs_stored_as(REPOSITORY_ID, [nudged])
        assert not await tx.check_runs_stored_as(REPOSITORY_ID, [rows[0]._replace(started_at=None)])


async def test_open_heads_are_the_open_pull_requests_head_and_updated_at(store: Store) -> None:
    await seed_repository(store)
    prs = tuple(
        make_pr(
            number=n,
            state="open" if n % 2 else "closed",
            head_sha=f"{n:040x}",
            updated_at=at(n),
        )
        for n in range(1, 7)
    )
    await write(store, ChangeSet(pull_requests=prs))

    async with store.transaction(read_only=True) as tx:
        heads = await tx.load_open_heads(REPOSITORY_ID)
        elsewhere = await tx.load_open_heads(REPOSITORY_ID + 1)

    assert heads == {n: (f"{n:040x}", at(n)) for n in (1, 3, 5)}
    assert elsewhere == {}


async def test_bulk_write_of_a_thousand_pull_requests_in_one_change_set(store: Store) -> None:
    await seed_repository(store)
    prs = tuple(make_pr(number=n, updated_at=at(n)) for n in range(1, 1001))
    changes = tuple(
        Change(kind=ChangeKind.PR_OPENED, repository_id=REPOSITORY_ID, pr_number=n)
        for n in range(1, 1001)
    )

    cursors = await write(store, ChangeSet(pull_requests=prs, changes=changes))

    assert len(cursors) == 1000 and len(set(cursors)) == 1000
    assert cursors == sorted(cursors)
    async with store.transaction() as tx:
        loaded = await tx.load_pull_requests(REPOSITORY_ID)
        logged = await tx.changes_after(0, limit=2000)
    assert loaded == {pr.number: pr for pr in prs}
    assert [c.cursor for c in logged] == cursors
    assert [c.pr_number for c in logged] == list(range(1, 1001))


async def test_pull_request_fence_ignores_older_and_applies_equal_or_newer(store: Store) -> None:
    await seed_repository(store)
    stored = make_pr(title="stored", updated_at=at(100))
    await write(store, ChangeSet(pull_requests=(stored,)))

    await write(store, ChangeSet(pull_requests=(make_pr(title="older", updated_at=at(99)),)))
    async with store.transaction() as tx:
        assert (await tx.load_pull_requests(REPOSITORY_ID))[7].title == "stored"

    await write(store, ChangeSet(pull_requests=(make_pr(title="equal", updated_at=at(100)),)))
    async with store.transaction() as tx:
        assert (await tx.load_pull_requests(REPOSITORY_ID))[7].title == "equal"

    await write(store, ChangeSet(pull_requests=(make_pr(title="newer", updated_at=at(101)),)))
    async with store.transaction() as tx:
        assert (await tx.load_pull_requests(REPOSITORY_ID))[7].title == "newer"


async def test_pull_request_fence_compares_instants_not_offsets(store: Store) -> None:
    await seed_repository(store)
    await write(store, ChangeSet(pull_requests=(make_pr(title="stored", updated_at=at(100)),)))
    # 1 s later in absolute time, but its local wall clock reads earlier.
    minus_five = timezone(timedelta(hours=-5))
    later = make_pr(title="later", updated_at=at(101).astimezone(minus_five))
    await write(store, ChangeSet(pull_requests=(later,)))
    async with store.transaction() as tx:
        assert (await tx.load_pull_requests(REPOSITORY_ID))[7].title == "later"


async def test_check_run_fence_in_sql_matches_the_domain_rule(store: Store) -> None:
    """Every (stored, observed) pair of statuses and completion times: the SQL fence keeps
    exactly what prwatch.domain.ordering says may replace the stored run."""
    await seed_repository(store)
    times = (None, at(10), at(20))
    states = [(s, t) for s in sorted(CHECK_RUN_STATUSES) for t in times]
    pairs = list(itertools.product(states, states))
    stored_runs = []
    observed_runs = []
    for run_id, ((s_status, s_time), (o_status, o_time)) in enumerate(pairs, start=1):
        stored_runs.append(make_run(id=run_id, status=s_status, completed_at=s_time, name="s"))
        observed_runs.append(make_run(id=run_id, status=o_status, completed_at=o_time, name="o"))
    await write(store, ChangeSet(check_runs=tuple(stored_runs)))
    await write(store, ChangeSet(check_runs=tuple(observed_runs)))

    async with store.transaction() as tx:
        loaded = await tx.load_check_runs(REPOSITORY_ID)

    for stored, observed in zip(stored_runs, observed_runs, strict=True):
        expected = observed if is_check_run_progress(stored, observed) else stored
        assert loaded[stored.id] == expected, (stored, observed)


async def test_check_run_never_goes_from_completed_back_to_in_progress(store: Store) -> None:
    await seed_repository(store)
    done = make_run(status="completed", conclusion="success", completed_at=at(50))
    await write(store, ChangeSet(check_runs=(done,)))
    await write(store, ChangeSet(check_runs=(make_run(status="in_progress"),)))
    await write(
        store,
        ChangeSet(
            check_runs=(make_run(status="completed", conclusion="failure", completed_at=at(49)),)
        ),
    )
    async with store.transaction() as tx:
        assert (await tx.load_check_runs(REPOSITORY_ID))[900] == done


async def test_a_tombstoned_pull_request_gives_way_to_a_live_snapshot(store: Store) -> None:
    await seed_repository(store)
    await write(store, ChangeSet(pull_requests=(make_pr(title="before", updated_at=at(100)),)))
    async with store.transaction() as tx:
        assert await tx.mark_repository_removed(REPOSITORY_ID, RemovalReason.NOT_FOUND) == 1
        assert await tx.load_pull_requests(REPOSITORY_ID) == {}
        await tx.upsert_repositories([make_repository()])
        assert await tx.load_pull_requests(REPOSITORY_ID) == {}  # until written again
    # Even a snapshot older than the tombstoned row replaces it.
    await write(store, ChangeSet(pull_requests=(make_pr(title="after", updated_at=at(90)),)))
    async with store.transaction() as tx:
        assert (await tx.load_pull_requests(REPOSITORY_ID))[7].title == "after"


async def test_change_without_installation_takes_its_repositorys(store: Store) -> None:
    await seed_repository(store)
    changes = (
        Change(kind=ChangeKind.PR_OPENED, repository_id=REPOSITORY_ID, pr_number=7),
        Change(
            kind=ChangeKind.INSTALLATION_SUSPENDED,
            repository_id=None,
            installation_id=INSTALLATION_ID,
        ),
    )
    async with store.transaction() as tx:
        await tx.write_change_set(
            ChangeSet(changes=changes), source=Source.WEBHOOK, delivery_id="d-1"
        )
        logged = await tx.changes_after(0)
    assert [c.installation_id for c in logged] == [INSTALLATION_ID, INSTALLATION_ID]
    assert {c.delivery_id for c in logged} == {"d-1"}
    assert {c.source for c in logged} == {Source.WEBHOOK}


async def test_empty_change_set_writes_nothing(store: Store) -> None:
    assert await write(store, ChangeSet()) == []


BAD_CHANGE_SETS: list[tuple[str, ChangeSet, type[Exception]]] = [
    (
        "PR of an unknown repository",
        ChangeSet(pull_requests=(make_pr(repository_id=999),)),
        UnknownRepository,
    ),
    (
        "check run of an unknown repository",
        ChangeSet(check_runs=(make_run(repository_id=999),)),
        UnknownRepository,
    ),
    (
        "change of an unknown repository",
        ChangeSet(changes=(Change(kind=ChangeKind.PR_OPENED, repository_id=999),)),
        UnknownRepository,
    ),
    (
        "change of an unknown installation",
        ChangeSet(
            changes=(
                Change(kind=ChangeKind.INSTALLATION_ADDED, repository_id=None, installation_id=5),
            )
        ),
        UnknownInstallation,
    ),
    (
        "the same PR twice",
        ChangeSet(pull_requests=(make_pr(), make_pr(title="again"))),
        InvalidStoreInput,
    ),
    ("the same check run twice", ChangeSet(check_runs=(make_run(), make_run())), InvalidStoreInput),
    ("unknown PR state", ChangeSet(pull_requests=(make_pr(state="merged"),)), InvalidStoreInput),
    ("unknown check status", ChangeSet(check_runs=(make_run(status="done"),)), InvalidStoreInput),
    (
        "naive datetime",
        ChangeSet(pull_requests=(make_pr(updated_at=T0.replace(tzinfo=None)),)),
        InvalidStoreInput,
    ),
    (
        "value that is not JSON",
        ChangeSet(
            changes=(
                Change(kind=ChangeKind.PR_TITLE_CHANGED, repository_id=REPOSITORY_ID, new=object()),
            )
        ),  # type: ignore[arg-type]
        InvalidStoreInput,
    ),
]


async def test_bad_input_is_a_clear_error_and_writes_nothing(store: Store) -> None:
    await seed_repository(store)
    good = ChangeSet(
        pull_requests=(make_pr(number=1),),
        changes=(Change(kind=ChangeKind.PR_OPENED, repository_id=REPOSITORY_ID, pr_number=1),),
    )
    for description, change_set, error in BAD_CHANGE_SETS:
        with pytest.raises(error):
            async with store.transaction() as tx:
                await tx.write_change_set(good, source=Source.SWEEP)
                await tx.write_change_set(change_set, source=Source.SWEEP)
        async with store.transaction() as tx:
            assert await tx.load_pull_requests(REPOSITORY_ID) == {}, description
            assert await tx.changes_after(0) == [], description


async def test_rows_of_a_removed_repository_are_refused(store: Store) -> None:
    await seed_repository(store)
    async with store.transaction() as tx:
        await tx.mark_repository_removed(REPOSITORY_ID, RemovalReason.DELETED)
    with pytest.raises(RepositoryRemoved, match=str(REPOSITORY_ID)):
        await write(store, ChangeSet(pull_requests=(make_pr(),)))
    # Its removal can still be logged.
    removal = Change(kind=ChangeKind.REPOSITORY_REMOVED, repository_id=REPOSITORY_ID)
    assert len(await write(store, ChangeSet(changes=(removal,)))) == 1


async def test_an_error_in_the_callers_block_rolls_everything_back(store: Store) -> None:
    await seed_repository(store)
    with pytest.raises(RuntimeError, match="boom"):
        async with store.transaction() as tx:
            await tx.write_change_set(
                ChangeSet(
                    pull_requests=(make_pr(),),
                    check_runs=(make_run(),),
                    changes=(Change(kind=ChangeKind.PR_OPENED, repository_id=REPOSITORY_ID),),
                ),
                source=Source.SWEEP,
            )
            await tx.app_state_put("k", 1)
            raise RuntimeError("boom")
    async with store.transaction() as tx:
        assert await tx.load_pull_requests(REPOSITORY_ID) == {}
        assert await tx.load_check_runs(REPOSITORY_ID) == {}
        assert await tx.changes_after(0) == []
        assert await tx.app_state_get("k") is None


async def test_lock_repository_after_writing_changes_is_refused(store: Store) -> None:
    await seed_repository(store)
    change = Change(kind=ChangeKind.PR_OPENED, repository_id=REPOSITORY_ID)
    with pytest.raises(InvalidStoreInput, match="lock every repository first"):
        async with store.transaction() as tx:
            await tx.lock_repository(REPOSITORY_ID)
            await tx.write_change_set(ChangeSet(changes=(change,)), source=Source.SWEEP)
            await tx.lock_repository(REPOSITORY_ID + 1)
