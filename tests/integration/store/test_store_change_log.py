from __future__ import annotations

import asyncio

import pytest
from rich.console import Console
from store_factories import (
    INSTALLATION_ID,
    REPOSITORY_ID,
    T0,
    FakeClock,
    make_pr,
    make_repository,
    seed_repository,
)

from prwatch.demo.feed import PAGE, ChangeFeed
from prwatch.domain.models import Change, ChangeKind, ChangeSet, Source
from prwatch.store import InvalidStoreInput, Store


def _change(number: int, **values: object) -> Change:
    return Change(
        kind=ChangeKind.PR_TITLE_CHANGED, repository_id=REPOSITORY_ID, pr_number=number, **values
    )  # type: ignore[arg-type]


async def test_cursors_grow_across_transactions_and_pages_are_stable(store: Store) -> None:
    await seed_repository(store, make_repository(), make_repository(id=43, full_name="o/b"))
    written: list[int] = []
    for batch in range(5):
        changes = tuple(_change(batch * 10 + i) for i in range(9))
        async with store.transaction() as tx:
            written += await tx.write_change_set(ChangeSet(changes=changes), source=Source.SWEEP)
    assert written == sorted(written) and len(set(written)) == 45

    async def page_through(size: int) -> list[int]:
        seen: list[int] = []
        cursor = 0
        while True:
            async with store.transaction(read_only=True) as tx:
                page = await tx.changes_after(cursor, size)
            if not page:
                return seen
            seen += [entry.cursor for entry in page]
            cursor = page[-1].cursor

    assert await page_through(7) == written
    assert await page_through(7) == written  # the same again
    assert await page_through(100) == written
    async with store.transaction() as tx:
        assert await tx.last_change_cursor() == written[-1]
        assert await tx.changes_after(written[-1]) == []


async def test_every_field_of_a_change_survives(store: Store, clock: FakeClock) -> None:
    await seed_repository(store)
    changes = (
        _change(1, field="title", old="old title", new="new ✓"),
        _change(2, field="labels", old=["a"], new=["a", "b"]),
        _change(3, field="draft", old=True, new=False),
        _change(4, field="number", old=0, new=None),
        Change(
            kind=ChangeKind.CHECK_RUN_CONCLUDED,
            repository_id=REPOSITORY_ID,
            check_run_id=9_000_000_001,
            field="conclusion",
            old=None,
            new="success",
        ),
        Change(
            kind=ChangeKind.INSTALLATION_ADDED, repository_id=None, installation_id=INSTALLATION_ID
        ),
    )
    async with store.transaction() as tx:
        await tx.write_change_set(
            ChangeSet(changes=changes), source=Source.WEBHOOK, delivery_id="guid-1"
        )
        logged = await tx.changes_after(0)
    assert [entry.change for entry in logged] == [
        c if c.installation_id else Change(**{**_fields(c), "installation_id": INSTALLATION_ID})
        for c in changes
    ]
    assert {entry.detected_at for entry in logged} == {T0}
    assert logged[0].detected_at.tzinfo is not None


def _fields(change: Change) -> dict[str, object]:
    return {name: getattr(change, name) for name in Change.__slots__}


async def test_changes_of_one_repository_or_pull_request(store: Store) -> None:
    await seed_repository(store, make_repository(), make_repository(id=43, full_name="o/b"))
    changes = (
        _change(1),
        Change(kind=ChangeKind.PR_OPENED, repository_id=43, pr_number=1),
        _change(2),
        _change(1),
    )
    async with store.transaction() as tx:
        await tx.write_change_set(ChangeSet(changes=changes), source=Source.SWEEP)
        of_repository = await tx.changes_after(0, repository_id=REPOSITORY_ID)
        of_pull_request = await tx.changes_after(0, repository_id=REPOSITORY_ID, pr_number=1)
        with pytest.raises(InvalidStoreInput):
            await tx.changes_after(0, pr_number=1)
        for cursor, limit in ((-1, 10), (0, 0), (0, 10_001)):
            with pytest.raises(InvalidStoreInput):
                await tx.changes_after(cursor, limit)
    assert [c.pr_number for c in of_repository] == [1, 2, 1]
    assert len(of_pull_request) == 2


async def test_cursors_become_visible_in_order(store: Store) -> None:
    """A writer that has taken cursors holds the next writer back until it commits, so a
    reader can never see a higher cursor while a lower one is still uncommitted."""
    await seed_repository(store)
    first_wrote = asyncio.Event()
    events: list[str] = []

    async def first() -> list[int]:
        async with store.transaction() as tx:
            cursors = await tx.write_change_set(
                ChangeSet(changes=(_change(1),)), source=Source.SWEEP
            )
            first_wrote.set()
            await asyncio.sleep(0.3)
            events.append("first commits")
        return cursors

    async def second() -> list[int]:
        await first_wrote.wait()
        async with store.transaction() as tx:
            cursors = await tx.write_change_set(
                ChangeSet(changes=(_change(2),)), source=Source.SWEEP
            )
            events.append("second wrote")
        return cursors

    async def reader() -> list[int]:
        await first_wrote.wait()
        async with store.transaction(read_only=True) as tx:
            return [c.cursor for c in await tx.changes_after(0)]

    (a,), (b,), seen = await asyncio.gather(first(), second(), reader())
    assert events == ["first commits", "second wrote"]
    assert a < b
    assert seen == []  # nothing committed yet when the reader looked


async def test_transactions_on_one_repository_serialize(store: Store) -> None:
    await seed_repository(store)
    async with store.transaction() as tx:
        await tx.write_change_set(
            ChangeSet(pull_requests=(make_pr(title="0"),)), source=Source.SWEEP
        )
    events: list[str] = []

    async def increment(name: str) -> None:
        async with store.transaction() as tx:
            await tx.lock_repository(REPOSITORY_ID)
            events.append(f"{name} in")
            stored = (await tx.load_pull_requests(REPOSITORY_ID))[7]
            await asyncio.sleep(0.15)  # both would read "0" without the lock
            title = str(int(stored.title) + 1)
            await tx.write_change_set(
                ChangeSet(pull_requests=(make_pr(title=title),)), source=Source.SWEEP
            )
            events.append(f"{name} out")

    await asyncio.gather(increment("a"), increment("b"))

    assert events in (["a in", "a out", "b in", "b out"], ["b in", "b out", "a in", "a out"])
    async with store.transaction() as tx:
        assert (await tx.load_pull_requests(REPOSITORY_ID))[7].title == "2"


async def test_the_demo_feed_counts_each_change_once_when_polled_concurrently(
    store: Store,
) -> None:
    # The demo polls from its follower task and from the main task at once; both must not read
    # the same page from the shared cursor.
    await seed_repository(store)
    changes = tuple(_change(n) for n in range(PAGE * 2 + 5))
    async with store.transaction() as tx:
        written = await tx.write_change_set(ChangeSet(changes=changes), source=Source.SWEEP)
    feed = ChangeFeed(store, Console(quiet=True), printing=False)
    read = await asyncio.gather(*(feed.poll() for _ in range(4)))
    assert sum(read) == len(written)
    assert feed.by_source == {"sweep": len(written)}
    assert feed.cursor == written[-1]
