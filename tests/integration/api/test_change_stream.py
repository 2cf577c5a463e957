"""``GET /api/changes/stream`` over real HTTP: past and live changes as events, resuming with
Last-Event-ID or ?after= with nothing skipped or repeated, keep-alives, visibility, a slow
subscriber dropped, and a change written by another process reaching every web process."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from prwatch.config import Settings
from prwatch.context import ProcessContext
from prwatch.demo.servers import bind, serve, url_of
from prwatch.domain.models import Change, ChangeKind, ChangeSet, Source
from prwatch.queue.inprocess import InProcessQueue
from prwatch.store import Store, create_engine, upgrade_database
from prwatch.web.app import create_app
from prwatch.web.change_feed import ChangeFeed
from tests.integration.api.seed import TEST_CLIENT_SECRET, make_pr, seed, with_test_scope
from tests.integration.api.sse import open_stream
from tests.integration.processes.harness import (
    api_headers,
    base_environment,
    free_port,
    processes,
    start_serve,
)

SEEDED = 9  # changes the seed writes


async def write_titles(store: Store, *titles: str, repository_id: int = 101) -> list[int]:
    """A change per title on alpha/one#1, in one transaction each; their cursors."""
    cursors: list[int] = []
    for title in titles:
        async with store.transaction() as tx:
            await tx.lock_repository(repository_id)
            pr = make_pr(repository_id, 1, title=title)
            change = Change(ChangeKind.PR_TITLE_CHANGED, repository_id, 1, field="title", new=title)
            cursors += await tx.write_change_set(
                ChangeSet(pull_requests=(pr,), changes=(change,)), source=Source.WEBHOOK
            )
    return cursors


@dataclass
class Served:
    store: Store
    url: str


@pytest.fixture
async def served(sqlite_url: str) -> AsyncIterator[Served]:
    await upgrade_database(sqlite_url)
    engine = create_engine(sqlite_url)
    store = Store(engine)
    await seed(store)
    settings = Settings(
        database_url=sqlite_url,
        stream_keepalive_seconds=0.3,
        stream_poll_seconds=0.05,
        client_secret=TEST_CLIENT_SECRET,
    )
    context = ProcessContext(settings=settings, engine=engine, store=store, queue=InProcessQueue())
    socket = bind("127.0.0.1", 0)
    app = with_test_scope(create_app(settings, context=context), store)
    server = await serve(app, socket, name="prwatch")
    try:
        yield Served(store, f"{url_of(socket)}/api/changes/stream")
    finally:
        await server.stop()
        await context.aclose()
        socket.close()


async def test_past_then_live_changes_then_resume(served: Served) -> None:
    async with open_stream(served.url) as stream:
        past = await stream.take(SEEDED)
        assert [int(e.id or 0) for e in past] == list(range(1, SEEDED + 1))
        assert [e.data["cursor"] for e in past] == list(range(1, SEEDED + 1))
        assert past[0].data["repository"] == "alpha/one"
        assert stream.retry is not None
        live = await write_titles(served.store, "first", "second", "third")
        got = await stream.take(3)
        assert [e.data["cursor"] for e in got] == live
        assert [e.data["new"] for e in got] == ["first", "second", "third"]
        assert got[0].data["kind"] == "pr_title_changed" and got[0].data["source"] == "webhook"

    # The client saw up to live[0]; two more changes come while it is away.
    later = await write_titles(served.store, "fourth", "fifth")
    resumed_after = str(live[0])
    async with open_stream(served.url, headers={"Last-Event-ID": resumed_after}) as stream:
        got = await stream.take(4)
        assert [e.data["cursor"] for e in got] == [*live[1:], *later]
        more = await write_titles(served.store, "sixth")
        assert [e.data["cursor"] for e in await stream.take(1)] == more
    # The header wins over ?after= (a browser reconnects to the same URL).
    async with open_stream(
        served.url, headers={"Last-Event-ID": str(more[0] - 1)}, params={"after": 0}
    ) as stream:
        assert [e.data["cursor"] for e in await stream.take(1)] == more
    async with open_stream(served.url, params={"after": later[-1]}) as stream:
        assert [e.data["cursor"] for e in await stream.take(1)] == more


async def test_a_quiet_stream_sends_keep_alives(served: Served) -> None:
    async with open_stream(served.url, params={"after": SEEDED}) as stream:
        assert await stream.next_comment() == "keep-alive"
        cursors = await write_titles(served.store, "after a quiet while")
        assert [e.data["cursor"] for e in await stream.take(1)] == cursors


async def test_a_stream_shows_only_what_its_caller_may_see(served: Served) -> None:
    beta_only = {"X-Test-Scope": "2;"}
    async with (
        open_stream(served.url, params={"after": 0}, headers=beta_only) as beta,
        open_stream(served.url, params={"after": SEEDED}) as everything,
    ):
        [past] = await beta.take(1)  # of the seeded changes, beta/one's only
        assert past.data["repository"] == "beta/one"
        await write_titles(served.store, "alpha")
        [live] = await write_titles(served.store, "beta", repository_id=201)
        assert [e.data["repository"] for e in await everything.take(2)] == [
            "alpha/one",
            "beta/one",
        ]
        assert [e.data["cursor"] for e in await beta.take(1)] == [live]


async def test_bad_resume_cursors_are_json_400s(served: Served) -> None:
    async with httpx.AsyncClient() as client:
        for headers, params in (
            ({"Last-Event-ID": "x"}, {}),
            ({"Last-Event-ID": "99999999999999999999999"}, {}),
            ({}, {"after": "-1"}),
        ):
            response = await client.get(served.url, headers=headers, params=params)
            assert response.status_code == 400
            assert response.json()["error"] == "invalid_parameter"


async def test_a_subscriber_that_falls_behind_is_dropped(sqlite_url: str) -> None:
    await upgrade_database(sqlite_url)
    store = Store(create_engine(sqlite_url))
    await seed(store)
    feed = ChangeFeed(store, poll_seconds=0.05, buffer_size=2)
    try:
        slow = await feed.subscribe(None)
        keeping_up = await feed.subscribe(None)
        for number, title in enumerate("abc", start=1):
            [cursor] = await write_titles(store, title)
            got = await asyncio.wait_for(keeping_up.queue.get(), 5)
            assert got["cursor"] == cursor
            assert slow.overflowed == (number == 3)  # its buffer holds 2
        await asyncio.wait_for(slow.ended.wait(), 5)
        assert slow.queue.qsize() == 2  # what it held when dropped; nothing more
        assert not keeping_up.overflowed and feed.subscriber_count == 1
    finally:
        await feed.aclose()
        await store.engine.dispose()


@pytest.mark.postgres
@pytest.mark.redis
async def test_a_change_written_elsewhere_reaches_every_web_process(
    postgres_url: str, redis_url: str, tmp_path: Path
) -> None:
    """Two `prwatch serve` processes on PostgreSQL; this test's process writes like a worker.
    Both streams get the change through LISTEN/NOTIFY: the fallback poll (10 s while listening)
    is longer than the wait here, so only a notification can deliver it in time."""
    await upgrade_database(postgres_url)
    store = Store(create_engine(postgres_url))
    await seed(store)
    env = base_environment(
        PRWATCH_DATABASE_URL=postgres_url,
        PRWATCH_REDIS_URL=redis_url,
        PRWATCH_STREAM_POLL_SECONDS="30",
        PRWATCH_LOG_FORMAT="text",
    )
    try:
        with processes(tmp_path) as group:
            urls = [start_serve(group, env, free_port()) for _ in range(2)]
            async with (
                open_stream(
                    f"{urls[0]}/api/changes/stream",
                    params={"after": SEEDED},
                    headers=api_headers(urls[0]),
                ) as one,
                open_stream(
                    f"{urls[1]}/api/changes/stream",
                    params={"after": SEEDED},
                    headers=api_headers(urls[1]),
                ) as two,
            ):
                await asyncio.sleep(0.5)  # let both listeners connect
                for _ in range(3):
                    cursors = await write_titles(store, "from a worker")
                    for stream in (one, two):
                        got = await stream.next(within=5)
                        assert got.data["cursor"] == cursors[0]
    finally:
        await store.engine.dispose()
