from __future__ import annotations

import pytest
from store_factories import REPOSITORY_ID, T0, FakeClock, at, seed_repository

from prwatch.store import (
    InvalidStoreInput,
    Store,
    SweepResult,
    SweepStatus,
    SyncState,
    UnknownRepository,
    UnknownSweep,
    token_fingerprint,
)

KEY = "installation:11 GET /repositories/42/pulls?state=all&sort=updated&page=1"


async def test_etags_are_kept_with_their_token_fingerprint(store: Store) -> None:
    first, second = token_fingerprint("ghs_first"), token_fingerprint("ghs_second")
    async with store.transaction() as tx:
        assert await tx.get_etag(KEY) is None
        await tx.put_etags([(KEY, 'W/"one"', first), ("other", '"two"', first)])
    async with store.transaction() as tx:
        assert await tx.get_etag(KEY) == ('W/"one"', first)
        await tx.put_etags([(KEY, 'W/"three"', second), (KEY, 'W/"four"', second)])
        await tx.put_etags([])
    async with store.transaction() as tx:
        assert await tx.get_etags([KEY, "other", "missing"]) == {
            KEY: ('W/"four"', second),
            "other": ('"two"', first),
        }


async def test_a_token_is_never_taken_for_a_fingerprint(store: Store) -> None:
    async with store.transaction() as tx:
        for fingerprint in ("ghs_16C7e42F292c6912E7710c838347Ae178B4a", "ABCDEF12", "abc"):
            with pytest.raises(InvalidStoreInput, match="fingerprint"):
                await tx.put_etags([(KEY, '"e"', fingerprint)])
        with pytest.raises(InvalidStoreInput):
            await tx.put_etags([("", '"e"', "abcdef12")])


async def test_sync_state_round_trip(store: Store) -> None:
    await seed_repository(store)
    state = SyncState(
        repository_id=REPOSITORY_ID,
        pulls_watermark=at(10.5),
        last_full_listing_at=at(20),
        last_swept_at=at(30),
        last_error="timeout",
        consecutive_failures=2,
    )
    async with store.transaction() as tx:
        assert await tx.get_sync_state(REPOSITORY_ID) is None
        await tx.put_sync_state(SyncState(repository_id=REPOSITORY_ID))
        await tx.put_sync_state(state)
    async with store.transaction() as tx:
        assert await tx.get_sync_state(REPOSITORY_ID) == state
        assert await tx.get_sync_states([REPOSITORY_ID, 999]) == {REPOSITORY_ID: state}
        with pytest.raises(UnknownRepository):
            await tx.put_sync_state(SyncState(repository_id=999))
        with pytest.raises(InvalidStoreInput):
            await tx.put_sync_state(SyncState(repository_id=REPOSITORY_ID, consecutive_failures=-1))


async def test_sweeps_are_recorded_newest_first(store: Store, clock: FakeClock) -> None:
    async with store.transaction() as tx:
        first = await tx.start_sweep()
    clock.advance(12.5)
    result = SweepResult(
        status=SweepStatus.PARTIAL,
        repositories_total=3,
        repositories_ok=2,
        repositories_failed=1,
        prs_seen=140,
        changes_by_kind={"pr_opened": 4, "pr_closed": 1},
        requests_by_outcome={"200": 10, "304": 30},
        points_spent_core=10,
        points_spent_graphql=2,
        rate_limit_remaining=4990,
        error="1 repository failed",
    )
    async with store.transaction() as tx:
        finished = await tx.finish_sweep(first, result)
        second = await tx.start_sweep()
        recent = await tx.recent_sweeps(limit=5)
    assert second > first
    assert finished.result == result
    assert finished.started_at == T0 and finished.finished_at == at(12.5)
    assert finished.duration_seconds == pytest.approx(12.5)
    assert [s.id for s in recent] == [second, first]
    assert recent[0].result.status is SweepStatus.RUNNING and recent[0].finished_at is None
    assert recent[1] == finished

    async with store.transaction() as tx:
        with pytest.raises(UnknownSweep):
            await tx.finish_sweep(9999, result)
        with pytest.raises(InvalidStoreInput):
            await tx.finish_sweep(second, SweepResult(status=SweepStatus.RUNNING))
        with pytest.raises(InvalidStoreInput):
            await tx.recent_sweeps(limit=0)


async def test_app_state_round_trip(store: Store, clock: FakeClock) -> None:
    value = {"cursor": "abc", "checked_at": "2024-05-01T12:00:00Z", "ids": [1, 2], "ok": True}
    async with store.transaction() as tx:
        assert await tx.app_state_get("delivery_ledger") is None
        await tx.app_state_put("delivery_ledger", value)
        await tx.app_state_put("counter", 1)
    async with store.transaction() as tx:
        assert await tx.app_state_get("delivery_ledger") == value
        await tx.app_state_put("counter", 2)
        assert await tx.app_state_get("counter") == 2
        with pytest.raises(InvalidStoreInput):
            await tx.app_state_put("bad", {"when": T0})  # type: ignore[dict-item]
        with pytest.raises(InvalidStoreInput):
            await tx.app_state_put("", 1)
