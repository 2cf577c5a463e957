from __future__ import annotations

from datetime import timedelta

import pytest
from store_factories import T0, FakeClock, at

from prwatch.store import DeliveryStatus, InvalidStoreInput, Store, UnknownDelivery

PAYLOAD = b'{"action":"opened","number":1}\r\n\x00\xff'


async def record(store: Store, guid: str, payload: bytes = PAYLOAD) -> bool:
    async with store.transaction() as tx:
        return await tx.record_delivery(guid, "pull_request", "opened", 11, 42, payload)


async def test_a_delivery_is_recorded_once_per_guid(store: Store) -> None:
    assert await record(store, "guid-1") is True
    assert await record(store, "guid-1", b"a different body") is False

    async with store.transaction() as tx:
        delivery = await tx.get_delivery("guid-1")
        assert await tx.get_delivery("guid-2") is None
    assert delivery is not None
    assert delivery.payload == PAYLOAD  # byte for byte, the first one kept
    assert (delivery.event, delivery.action, delivery.installation_id) == (
        "pull_request",
        "opened",
        11,
    )
    assert delivery.repository_id == 42
    assert delivery.status is DeliveryStatus.PENDING and delivery.attempts == 0
    assert delivery.received_at == T0


async def test_status_transitions(store: Store, clock: FakeClock) -> None:
    await record(store, "guid-1")
    async with store.transaction() as tx:
        claimed = await tx.claim_delivery("guid-1")
        assert claimed is not None and claimed.payload == PAYLOAD
        assert claimed.status is DeliveryStatus.PROCESSING and claimed.attempts == 1
        assert await tx.claim_delivery("guid-1") is None  # already being processed

        clock.advance(1)
        await tx.mark_delivery("guid-1", DeliveryStatus.FAILED, "GitHub answered 502")
        failed = await tx.get_delivery("guid-1")
        assert failed is not None and failed.last_error == "GitHub answered 502"
        assert failed.processed_at == at(1)

        again = await tx.claim_delivery("guid-1")  # a failed delivery may be retried
        assert again is not None and again.attempts == 2
        await tx.mark_delivery("guid-1", DeliveryStatus.DONE)
        done = await tx.get_delivery("guid-1")
        assert done is not None and done.status is DeliveryStatus.DONE
        assert done.last_error == "GitHub answered 502"  # kept for the record
        assert await tx.claim_delivery("guid-1") is None

        await tx.mark_delivery("guid-1", DeliveryStatus.PENDING)  # replay
        replay = await tx.claim_delivery("guid-1")
        assert replay is not None and replay.attempts == 3

        with pytest.raises(UnknownDelivery, match="nope"):
            await tx.claim_delivery("nope")
        with pytest.raises(UnknownDelivery):
            await tx.mark_delivery("nope", DeliveryStatus.DONE)
        with pytest.raises(ValueError):
            await tx.mark_delivery("guid-1", "finished")  # type: ignore[arg-type]


async def test_a_claim_that_timed_out_can_be_taken_again(store: Store, clock: FakeClock) -> None:
    await record(store, "guid-1")
    async with store.transaction() as tx:
        assert await tx.claim_delivery("guid-1") is not None
    clock.advance(9 * 60)
    async with store.transaction() as tx:
        assert await tx.claim_delivery("guid-1") is None
    clock.advance(2 * 60)
    async with store.transaction() as tx:
        taken = await tx.claim_delivery("guid-1")
        assert taken is not None and taken.attempts == 2
        assert await tx.claim_delivery("guid-1", claim_timeout=timedelta(0)) is None


async def test_pending_deliveries_oldest_first(store: Store, clock: FakeClock) -> None:
    for guid in ("c", "a", "b", "d"):
        await record(store, guid)
        clock.advance(10)
    async with store.transaction() as tx:
        await tx.mark_delivery("b", DeliveryStatus.IGNORED)
        await tx.mark_delivery("d", DeliveryStatus.FAILED, "boom")
        old = await tx.pending_deliveries(older_than=at(25))
        limited = await tx.pending_deliveries(older_than=at(100), limit=1)
        with_failed = await tx.pending_deliveries(
            older_than=at(100), statuses=(DeliveryStatus.PENDING, DeliveryStatus.FAILED)
        )
        counts = await tx.delivery_counts()
        with pytest.raises(InvalidStoreInput):
            await tx.pending_deliveries(older_than=at(100), limit=0)
    assert [d.guid for d in old] == ["c", "a"]
    assert [d.guid for d in limited] == ["c"]
    assert [d.guid for d in with_failed] == ["c", "a", "d"]
    assert counts == {
        DeliveryStatus.PENDING: 2,
        DeliveryStatus.PROCESSING: 0,
        DeliveryStatus.DONE: 0,
        DeliveryStatus.FAILED: 1,
        DeliveryStatus.IGNORED: 1,
    }


async def test_bad_deliveries_are_refused(store: Store) -> None:
    async with store.transaction() as tx:
        for guid, event, payload in (
            ("", "push", b""),
            ("x" * 65, "push", b""),
            ("g", "", b""),
            ("g", "push", "text"),
        ):
            with pytest.raises(InvalidStoreInput):
                await tx.record_delivery(guid, event, None, None, None, payload)  # type: ignore[arg-type]


async def test_release_claims_puts_back_only_claims_older_than_the_outage(
    store: Store, clock: FakeClock
) -> None:
    for guid in ("old-claim", "new-claim", "done", "pending"):
        await record(store, guid)
    async with store.transaction() as tx:
        await tx.claim_delivery("old-claim")
        await tx.claim_delivery("done")
        await tx.mark_delivery("done", DeliveryStatus.DONE)
    clock.advance(10)
    async with store.transaction() as tx:  # claimed by another job once the outage was over
        await tx.claim_delivery("new-claim")
        released = await tx.release_claims(
            ["old-claim", "new-claim", "done", "pending", "unknown"], claimed_before=at(5)
        )
        assert released == ["old-claim"]
        statuses = await tx.delivery_statuses(["old-claim", "new-claim", "done", "pending"])
        again = await tx.claim_delivery("old-claim")  # claimable at once, not after a timeout
    assert statuses == {
        "old-claim": DeliveryStatus.PENDING,
        "new-claim": DeliveryStatus.PROCESSING,
        "done": DeliveryStatus.DONE,
        "pending": DeliveryStatus.PENDING,
    }
    assert again is not None and again.attempts == 2
