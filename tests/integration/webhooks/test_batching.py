"""Group commit on the receiving side, batches on the applying side: each delivery keeps the
guarantees it had alone (acknowledged only when durable, applied once, fenced the same)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from prwatch.events.batching import delivery_lane
from prwatch.events.processing import process_deliveries, process_delivery
from prwatch.store import DeliveryStatus, Store, StoreError, StoreTransaction, create_engine
from prwatch.store.deliveries import DEFAULT_CLAIM_TIMEOUT, NewDelivery
from prwatch.store.migrations import upgrade_database
from prwatch.web.intake import DeliveryIntake
from tests.integration.webhooks.harness import payload, webhook_env


def new_delivery(guid: str | None = None, *, handled: bool = True) -> NewDelivery:
    body = json.dumps({"action": "opened", "installation": {"id": 1}}).encode()
    return NewDelivery(guid or str(uuid.uuid4()), "pull_request", "opened", 1, 7, body, handled)


class RecordingQueue:
    """A JobQueue that keeps what it was given."""

    def __init__(self) -> None:
        self.jobs: list[tuple[str, tuple[str | int, ...], str]] = []

    async def enqueue(
        self, job: str, *args: str | int, job_id: str, defer_seconds: float = 0.0
    ) -> bool:
        self.jobs.append((job, args, job_id))
        return True

    async def depth(self) -> int:
        return 0

    async def aclose(self) -> None:
        return None


class RefusingStore(Store):
    """A store whose transactions fail while they would record a delivery named `poison`."""

    def __init__(self, store: Store, poison: str) -> None:
        super().__init__(store.engine)
        self.poison = poison

    @asynccontextmanager
    async def transaction(self, *, read_only: bool = False) -> AsyncIterator[StoreTransaction]:
        async with super().transaction(read_only=read_only) as tx:
            original = tx.record_deliveries

            async def record_deliveries(batch: Any) -> set[str]:
                recorded = await original(batch)
                if any(delivery.guid == self.poison for delivery in batch):
                    raise StoreError(f"refused {self.poison}")
                return recorded

            tx.record_deliveries = record_deliveries  # type: ignore[method-assign]
            yield tx


@asynccontextmanager
async def store_for(database_url: str) -> AsyncIterator[Store]:
    await upgrade_database(database_url)
    engine = create_engine(database_url)
    try:
        yield Store(engine)
    finally:
        await engine.dispose()


async def stored_statuses(store: Store, guids: list[str]) -> dict[str, DeliveryStatus]:
    async with store.transaction(read_only=True) as tx:
        return await tx.delivery_statuses(guids)


async def test_concurrent_deliveries_share_commits_and_each_is_durable_when_acknowledged(
    database_url: str,
) -> None:
    async with store_for(database_url) as store:
        queue = RecordingQueue()
        intake = DeliveryIntake(store, queue)
        deliveries = [new_delivery() for _ in range(40)] + [new_delivery(handled=False)]

        async def record_then_check(delivery: NewDelivery) -> bool:
            new = await intake.record(delivery)
            # Answered: its row is committed, whatever else shared the transaction.
            assert (await stored_statuses(store, [delivery.guid])).get(delivery.guid) is not None
            return new

        results = await asyncio.gather(*(record_then_check(d) for d in deliveries))
        assert all(results)
        assert intake.transactions < len(deliveries)  # commits were shared
        statuses = await stored_statuses(store, [d.guid for d in deliveries])
        assert statuses[deliveries[-1].guid] is DeliveryStatus.IGNORED
        assert {statuses[d.guid] for d in deliveries[:-1]} == {DeliveryStatus.PENDING}
        # Every handled delivery is queued once, in jobs named after their first delivery;
        # the ignored one is not.
        queued = [guid for _, args, _ in queue.jobs for guid in args]
        assert sorted(queued) == sorted(d.guid for d in deliveries[:-1])
        assert all(job_id == f"delivery:{args[0]}" for _, args, job_id in queue.jobs)
        await intake.aclose()


async def test_with_a_queue_window_batches_committed_apart_go_as_one_job(sqlite_url: str) -> None:
    """For Redis: a job per small batch costs the workers more than the deliveries; the
    deliveries of the batches committed within the window go together, after the answers."""
    async with store_for(sqlite_url) as store:
        queue = RecordingQueue()
        intake = DeliveryIntake(store, queue, queue_window=0.2)
        deliveries = [new_delivery() for _ in range(5)]
        for delivery in deliveries:  # one after the other: a transaction each
            assert await intake.record(delivery)
        assert intake.transactions == 5
        assert queue.jobs == []  # answered before they were queued
        await intake.aclose()  # waits for the window
        assert [args for _, args, _ in queue.jobs] == [tuple(d.guid for d in deliveries)]
    with pytest.raises(ValueError, match="queue_window"):
        DeliveryIntake(store, queue, queue_window=-1)


async def test_with_a_commit_window_deliveries_arriving_apart_share_a_commit(
    sqlite_url: str,
) -> None:
    """For PostgreSQL, whose commits are the costly part: a commit waits the window for more
    deliveries to join its transaction."""
    async with store_for(sqlite_url) as store:

        async def arrive_apart(intake: DeliveryIntake) -> None:
            async def later(n: int) -> bool:
                await asyncio.sleep(0.01 * n)
                return await intake.record(new_delivery())

            assert all(await asyncio.gather(*(later(n) for n in range(4))))

        waiting = DeliveryIntake(store, RecordingQueue(), commit_window=0.2)
        await arrive_apart(waiting)
        assert waiting.transactions == 1
        eager = DeliveryIntake(store, RecordingQueue())
        await arrive_apart(eager)
        assert eager.transactions > 1


async def test_a_redelivery_and_a_guid_twice_in_one_batch_are_new_once(database_url: str) -> None:
    async with store_for(database_url) as store:
        intake = DeliveryIntake(store, RecordingQueue())
        first = new_delivery()
        assert await intake.record(first)
        assert not await intake.record(first)
        twin = new_delivery()
        results = await asyncio.gather(intake.record(twin), intake.record(twin))
        assert sorted(results) == [False, True]


async def test_a_refused_delivery_fails_alone_and_the_rest_of_its_batch_is_stored(
    database_url: str,
) -> None:
    async with store_for(database_url) as real:
        poison = new_delivery()
        store = RefusingStore(real, poison.guid)
        queue = RecordingQueue()
        intake = DeliveryIntake(store, queue)
        others = [new_delivery() for _ in range(10)]
        results = await asyncio.gather(
            *(intake.record(d) for d in [*others[:5], poison, *others[5:]]),
            return_exceptions=True,
        )
        assert isinstance(results[5], StoreError)
        assert results[:5] + results[6:] == [True] * 10
        statuses = await stored_statuses(real, [d.guid for d in [poison, *others]])
        assert poison.guid not in statuses  # refused: not acknowledged, not stored
        assert set(statuses) == {d.guid for d in others}
        assert poison.guid not in [guid for _, args, _ in queue.jobs for guid in args]


async def test_a_database_that_is_down_acknowledges_nothing(sqlite_url: str) -> None:
    async with store_for(sqlite_url) as store:
        await store.engine.dispose()
        broken = Store(create_engine("sqlite+aiosqlite:////nonexistent-folder/prwatch.db"))
        intake = DeliveryIntake(broken, RecordingQueue())
        results = await asyncio.gather(
            *(intake.record(new_delivery()) for _ in range(5)), return_exceptions=True
        )
        assert all(isinstance(result, StoreError) for result in results)
        await broken.engine.dispose()


def pull_request_deliveries() -> list[tuple[str, dict[str, Any]]]:
    """Deliveries about two PRs, out of order and repeated, plus check runs on their heads."""
    opened = payload("pull_request", "opened")
    number = opened["pull_request"]["number"]
    sequence: list[tuple[str, dict[str, Any]]] = []
    stamps = [
        ("first", "2019-05-15T15:20:33Z"),
        ("third", "2019-05-15T15:22:33Z"),
        ("second", "2019-05-15T15:21:33Z"),  # late: must not win
        ("third", "2019-05-15T15:22:33Z"),  # a repeat
    ]
    for step, (title, stamp) in enumerate(stamps):
        body = payload("pull_request", "opened")
        body["action"] = "opened" if step == 0 else "edited"
        body["pull_request"].update(title=title, updated_at=stamp)
        sequence.append(("pull_request", body))
    other = payload("pull_request", "opened")
    other["number"] = other["pull_request"]["number"] = number + 1
    other["pull_request"]["id"] += 1
    other["pull_request"]["head"]["sha"] = "1" * 40
    sequence.append(("pull_request", other))
    for event, action in [("check_run", "created"), ("check_run", "completed")]:
        sequence.append((event, payload(event, action)))
    sequence.append(("check_run", payload("check_run", "created")))  # late: must not win
    for _, body in sequence:
        body["installation"] = {"id": 1, "node_id": "MDIz"}
    return sequence


async def apply_and_read(database_url: str, *, together: bool) -> tuple[Any, ...]:
    async with webhook_env(database_url, start_queue=False) as env:
        guids = []
        for event, body in pull_request_deliveries():
            response = await env.send(event, body)
            assert response.status_code == 202, response.text
            guids.append(response.json()["delivery"])
        if together:
            assert await process_deliveries(env.context, guids) == {}
        else:
            for guid in guids:
                await process_delivery(env.context, guid)
        listing = await env.client.get("/api/repos/Codertocat/Hello-World/pulls?state=all")
        pulls = listing.json()["pulls"]
        detail = await env.pull(2)
        changes = [
            (c.kind, c.repository_id, c.pr_number, c.check_run_id, c.field, c.old, c.new)
            for c in await env.changes()
        ]
        by_delivery = sorted((c.delivery_id or "", str(c.kind)) for c in await env.changes())
        counts = await env.counts()
        order = {guid: n for n, guid in enumerate(guids)}
        return pulls, detail, changes, [(order.get(g, -1), k) for g, k in by_delivery], counts


async def test_deliveries_applied_together_end_like_one_by_one(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    alone = await apply_and_read(f"sqlite+aiosqlite:///{tmp_path / 'alone.db'}", together=False)
    together = await apply_and_read(
        f"sqlite+aiosqlite:///{tmp_path / 'together.db'}", together=True
    )
    # One transaction applied them all: nothing fell back to one by one.
    assert "applying each alone" not in caplog.text
    assert together[:3] == alone[:3]  # the same PRs, checks and change log, in order
    assert sorted(together[3]) == sorted(alone[3])  # each change names the same delivery
    assert together[4] == alone[4]
    assert alone[4][DeliveryStatus.DONE] == len(pull_request_deliveries())


async def test_deliveries_applied_together_on_either_database(database_url: str) -> None:
    pulls, detail, changes, _, counts = await apply_and_read(database_url, together=True)
    assert detail["title"] == "third"  # the newest snapshot, whatever the order
    assert counts[DeliveryStatus.DONE] == len(pull_request_deliveries())
    assert len(pulls) == 2 and changes


async def test_a_delivery_that_fails_in_a_batch_fails_alone(database_url: str) -> None:
    async with webhook_env(database_url, start_queue=False) as env:
        good = [payload("pull_request", "opened"), payload("check_run", "created")]
        for body in good:
            body["installation"] = {"id": 1, "node_id": "MDIz"}
        bad = payload("pull_request", "opened")
        bad["installation"] = {"id": 1, "node_id": "MDIz"}
        del bad["pull_request"]["number"]  # cannot become a snapshot: failed for good
        guids = []
        sent = [("pull_request", good[0]), ("pull_request", bad), ("check_run", good[1])]
        for event, body in sent:
            if body is bad:  # the intake refuses it: stored as an older prwatch would have
                guid = str(uuid.uuid4())
                raw = json.dumps(bad).encode()
                async with env.store.transaction() as tx:
                    await tx.record_deliveries(
                        [NewDelivery(guid, event, "opened", 1, bad["repository"]["id"], raw)]
                    )
                guids.append(guid)
                continue
            response = await env.send(event, body)
            guids.append(response.json()["delivery"])
        lane = delivery_lane(env.store, DEFAULT_CLAIM_TIMEOUT)
        await asyncio.gather(*(lane.process(env.context, guid) for guid in guids))
        assert lane.batches < len(guids)  # they were handled together
        async with env.store.transaction(read_only=True) as tx:
            statuses = await tx.delivery_statuses(guids)
            failed = await tx.get_delivery(guids[1])
        assert [statuses[g] for g in guids] == [
            DeliveryStatus.DONE,
            DeliveryStatus.FAILED,
            DeliveryStatus.DONE,
        ]
        assert failed is not None and failed.last_error
        assert (await env.pull(2))["check_runs"]
