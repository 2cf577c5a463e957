from __future__ import annotations

import pytest
from sqlalchemy import func, select
from store_factories import (
    INSTALLATION_ID,
    REPOSITORY_ID,
    T0,
    FakeClock,
    at,
    make_installation,
    make_pr,
    make_repository,
    seed_repository,
)

from prwatch.domain.models import ChangeSet, RemovalReason, Source
from prwatch.store import (
    InvalidStoreInput,
    Store,
    UnknownInstallation,
    UnknownRepository,
)
from prwatch.store.schema import pull_requests, repositories


async def test_installation_round_trip_suspension_and_removal(
    store: Store, clock: FakeClock
) -> None:
    async with store.transaction() as tx:
        await tx.upsert_installation(make_installation())
        record = await tx.get_installation(INSTALLATION_ID)
    assert record is not None
    assert record.snapshot() == make_installation()
    assert record.created_at == T0 and record.suspended_at is None

    clock.advance(60)
    async with store.transaction() as tx:
        assert await tx.mark_installation_suspended(INSTALLATION_ID, True) is True
        assert await tx.mark_installation_suspended(INSTALLATION_ID, True) is False
        clock.advance(60)
        # A snapshot that says "suspended" keeps the time the suspension started.
        await tx.upsert_installation(make_installation(account_login="renamed", suspended=True))
        record = await tx.get_installation(INSTALLATION_ID)
    assert record is not None
    assert record.suspended_at == at(60) and record.account_login == "renamed"
    assert record.snapshot().suspended is True

    async with store.transaction() as tx:
        assert await tx.mark_installation_suspended(INSTALLATION_ID, False) is True
        await tx.mark_installation_removed(INSTALLATION_ID, RemovalReason.INSTALLATION_DELETED)
        assert await tx.list_installations() == []
        (removed,) = await tx.list_installations(include_removed=True)
    assert removed.removed and removed.removed_reason is RemovalReason.INSTALLATION_DELETED
    assert removed.suspended_at is None

    async with store.transaction() as tx:  # installed again: present once more
        await tx.upsert_installation(make_installation())
        assert [i.id for i in await tx.list_installations()] == [INSTALLATION_ID]

    with pytest.raises(UnknownInstallation, match="999"):
        async with store.transaction() as tx:
            await tx.mark_installation_suspended(999, True)


async def test_repositories_need_their_installation(store: Store) -> None:
    with pytest.raises(UnknownInstallation):
        async with store.transaction() as tx:
            await tx.upsert_repositories([make_repository()])
    async with store.transaction() as tx:
        assert await tx.list_repositories(include_removed=True) == []


async def test_repository_round_trip_and_lookup_by_name_in_any_case(store: Store) -> None:
    second = make_repository(id=43, full_name="octo-org/Gadgets", private=True)
    await seed_repository(store, make_repository(), second)
    async with store.transaction() as tx:
        listed = await tx.list_repositories(INSTALLATION_ID)
        by_name = await tx.get_repository_by_name("OCTO-ORG/gadgets")
        missing = await tx.get_repository_by_name("octo-org/nothing")
    assert [r.snapshot() for r in listed] == [make_repository(), second]
    assert by_name is not None and by_name.id == 43 and by_name.private
    assert missing is None


async def test_rename_keeps_identity_and_rows(store: Store, clock: FakeClock) -> None:
    await seed_repository(store)
    async with store.transaction() as tx:
        await tx.write_change_set(ChangeSet(pull_requests=(make_pr(),)), source=Source.SWEEP)
        clock.advance(5)
        assert await tx.rename_repository(REPOSITORY_ID, "new-owner/widgets2") == "octo-org/widgets"
        assert await tx.rename_repository(REPOSITORY_ID, "new-owner/widgets2") is None
        renamed = await tx.get_repository_by_name("new-owner/widgets2")
        old = await tx.get_repository_by_name("octo-org/widgets")
        prs = await tx.list_pull_requests("new-owner/widgets2", "all")
    assert renamed is not None and renamed.id == REPOSITORY_ID
    assert renamed.first_seen_at == T0 and renamed.updated_at == at(5)
    assert old is None
    assert [pr.number for pr in prs] == [7]

    for bad in ("no-slash", "a/b/c", "/name", "owner/", " a/b"):
        with pytest.raises(InvalidStoreInput, match="OWNER/NAME"):
            async with store.transaction() as tx:
                await tx.rename_repository(REPOSITORY_ID, bad)
    with pytest.raises(UnknownRepository):
        async with store.transaction() as tx:
            await tx.rename_repository(999, "a/b")


async def test_removal_tombstones_pull_requests_and_deletes_nothing(store: Store) -> None:
    await seed_repository(store)
    prs = tuple(make_pr(number=n) for n in (1, 2, 3))
    async with store.transaction() as tx:
        await tx.write_change_set(ChangeSet(pull_requests=prs), source=Source.SWEEP)
    async with store.transaction() as tx:
        assert await tx.mark_repository_removed(REPOSITORY_ID, RemovalReason.NOT_FOUND) == 3
        assert await tx.mark_repository_removed(REPOSITORY_ID, RemovalReason.DELETED) == 0
        assert await tx.list_repositories() == []
        (record,) = await tx.list_repositories(include_removed=True)
        still_named = await tx.get_repository_by_name("octo-org/widgets")
        assert await tx.list_pull_requests("octo-org/widgets", "all") == []
        assert await tx.load_pull_requests(REPOSITORY_ID) == {}
        counts = await tx.connection.execute(
            select(func.count(), func.count(pull_requests.c.removed_at))
        )
    assert record.removed_reason is RemovalReason.NOT_FOUND  # the first reason is kept
    assert still_named is not None and still_named.removed
    assert tuple(counts.one()) == (3, 3)  # all rows still there, all tombstoned

    async with store.transaction() as tx:  # restored
        await tx.upsert_repositories([make_repository()])
        (record,) = await tx.list_repositories()
    assert record.removed_at is None and record.removed_reason is None

    with pytest.raises(UnknownRepository):
        async with store.transaction() as tx:
            await tx.mark_repository_removed(999, RemovalReason.NOT_FOUND)


async def test_removing_an_installation_removes_its_repositories(store: Store) -> None:
    await seed_repository(store, make_repository(), make_repository(id=43, full_name="o/b"))
    async with store.transaction() as tx:
        await tx.write_change_set(ChangeSet(pull_requests=(make_pr(),)), source=Source.SWEEP)
        await tx.mark_repository_removed(43, RemovalReason.REMOVED_FROM_INSTALLATION)
        removed = await tx.mark_installation_removed(
            INSTALLATION_ID, RemovalReason.INSTALLATION_DELETED
        )
        rows = await tx.connection.execute(
            select(repositories.c.id, repositories.c.removed_reason).order_by(repositories.c.id)
        )
        assert await tx.load_pull_requests(REPOSITORY_ID) == {}
    assert removed == [REPOSITORY_ID]
    assert [tuple(row) for row in rows] == [
        (REPOSITORY_ID, "installation_deleted"),
        (43, "removed_from_installation"),
    ]


async def test_a_transferred_name_prefers_the_present_repository(store: Store) -> None:
    await seed_repository(store)
    async with store.transaction() as tx:
        await tx.mark_repository_removed(REPOSITORY_ID, RemovalReason.NOT_FOUND)
        await tx.upsert_repositories([make_repository(id=77)])  # same name, new repository
        found = await tx.get_repository_by_name("octo-org/widgets")
    assert found is not None and found.id == 77


async def test_duplicate_repositories_in_one_call(store: Store) -> None:
    await seed_repository(store)
    async with store.transaction() as tx:  # the very same snapshot twice is harmless
        await tx.upsert_repositories([make_repository(), make_repository()])
    with pytest.raises(InvalidStoreInput, match="given twice"):
        async with store.transaction() as tx:
            await tx.upsert_repositories([make_repository(), make_repository(full_name="a/b")])
