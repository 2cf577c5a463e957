"""What one transaction applying a batch of deliveries remembers, and the writes it holds back:
never a stale answer, never a write lost or reordered."""

from __future__ import annotations

import pytest
from store_factories import REPOSITORY_ID, at, make_pr, make_run, seed_repository

from prwatch.domain.models import Change, ChangeKind, ChangeSet, RemovalReason, Source
from prwatch.store import RepositoryRemoved, Store, UnknownInstallation


def pr_change(number: int, title: str) -> Change:
    return Change(ChangeKind.PR_TITLE_CHANGED, REPOSITORY_ID, number, field="title", new=title)


async def test_a_repository_removed_in_the_transaction_is_not_answered_from_memory(
    store: Store,
) -> None:
    await seed_repository(store)
    async with store.transaction() as tx:
        await tx.lock_repository(REPOSITORY_ID)
        await tx.write_change_set(
            ChangeSet(pull_requests=(make_pr(number=1),)), source=Source.WEBHOOK
        )
        await tx.mark_repository_removed(REPOSITORY_ID, RemovalReason.REMOVED_FROM_INSTALLATION)
        with pytest.raises(RepositoryRemoved):
            await tx.write_change_set(
                ChangeSet(pull_requests=(make_pr(number=2),)), source=Source.WEBHOOK
            )


async def test_a_repository_removed_by_an_earlier_transaction_is_seen(store: Store) -> None:
    await seed_repository(store)
    async with store.transaction() as tx:
        await tx.lock_repository(REPOSITORY_ID)
        await tx.mark_repository_removed(REPOSITORY_ID, RemovalReason.REMOVED_FROM_INSTALLATION)
    async with store.transaction() as tx:
        await tx.lock_repository(REPOSITORY_ID)
        with pytest.raises(RepositoryRemoved):
            async with tx.deferred_writes():
                await tx.write_change_set(
                    ChangeSet(pull_requests=(make_pr(number=1),)), source=Source.WEBHOOK
                )
    async with store.transaction(read_only=True) as tx:
        assert await tx.load_pull_requests(REPOSITORY_ID) == {}


async def test_an_unknown_installation_is_refused_at_the_call_even_when_writes_are_held(
    store: Store,
) -> None:
    await seed_repository(store)
    change = Change(ChangeKind.PR_TITLE_CHANGED, REPOSITORY_ID, 1, installation_id=999)
    async with store.transaction() as tx:
        await tx.lock_repository(REPOSITORY_ID)
        async with tx.deferred_writes():
            with pytest.raises(UnknownInstallation):
                await tx.write_change_set(ChangeSet(changes=(change,)), source=Source.WEBHOOK)


async def test_prefetched_pull_requests_are_read_again_once_written(store: Store) -> None:
    await seed_repository(store)
    async with store.transaction() as tx:
        await tx.write_change_set(
            ChangeSet(pull_requests=(make_pr(number=1),)), source=Source.SWEEP
        )
    async with store.transaction() as tx:
        await tx.lock_repository(REPOSITORY_ID)
        await tx.prefetch_pull_requests(REPOSITORY_ID, [1, 2])
        assert await tx.load_pull_requests(REPOSITORY_ID, [1, 2]) == {1: make_pr(number=1)}
        async with tx.deferred_writes():
            newer = make_pr(number=1, title="newer", updated_at=at(20))
            await tx.write_change_set(ChangeSet(pull_requests=(newer,)), source=Source.WEBHOOK)
            # Held back, yet read: the read sends it first.
            assert await tx.load_pull_requests(REPOSITORY_ID, [1]) == {1: newer}
            older = make_pr(number=2, updated_at=at(5))
            await tx.write_change_set(ChangeSet(pull_requests=(older,)), source=Source.WEBHOOK)
            assert await tx.load_pull_requests(REPOSITORY_ID, [2]) == {2: older}


async def test_held_writes_keep_the_fences_the_order_and_every_row(store: Store) -> None:
    await seed_repository(store)
    async with store.transaction() as tx:
        before = await tx.last_change_cursor()
        await tx.lock_repository(REPOSITORY_ID)
        async with tx.deferred_writes():
            for number, title in ((1, "one"), (2, "two"), (1, "one again")):
                pr = make_pr(number=number, title=title, updated_at=at(10 + len(title)))
                await tx.write_change_set(
                    ChangeSet(pull_requests=(pr,), changes=(pr_change(number, title),)),
                    source=Source.WEBHOOK,
                    delivery_id=f"guid-{title}",
                )
            # The fence still holds for a row written twice in one block: older loses.
            stale = make_pr(number=2, title="stale", updated_at=at(1))
            await tx.write_change_set(ChangeSet(pull_requests=(stale,)), source=Source.WEBHOOK)
            run = make_run(id=5, status="completed", completed_at=at(3))
            await tx.write_change_set(ChangeSet(check_runs=(run,)), source=Source.WEBHOOK)
            await tx.write_change_set(
                ChangeSet(check_runs=(make_run(id=5, status="queued"),)), source=Source.WEBHOOK
            )
    async with store.transaction(read_only=True) as tx:
        prs = await tx.load_pull_requests(REPOSITORY_ID)
        runs = await tx.load_check_runs(REPOSITORY_ID)
        log = await tx.changes_after(before)
    assert {n: pr.title for n, pr in prs.items()} == {1: "one again", 2: "two"}
    assert runs[5].status == "completed"
    assert [(c.delivery_id, c.new) for c in log] == [
        ("guid-one", "one"),
        ("guid-two", "two"),
        ("guid-one again", "one again"),
    ]
