"""One reader of the change log per web process, fanning new changes out to the stream's
clients.

The log is the source of truth. The feed reads it after its own position whenever it is told
to look (a PostgreSQL notification, see ``prwatch.store.change_signal``) and at least every
poll interval (all SQLite has, and a safety net besides), and hands each change to every
subscriber that may see it. A subscriber's buffer is bounded: one that falls behind by more
than its buffer is dropped (``overflowed``) and its client disconnected, to resume from its
last event id, so a slow client never makes the process hold more.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from prwatch.store import RetryableStoreError, Store
from prwatch.store.change_signal import ChangeListener
from prwatch.store.scope import Scope, scope_allows
from prwatch.web.api import changes_json
from prwatch.web.api_schema import ChangeJson

log = logging.getLogger(__name__)

READ_PAGE = 500
# With notifications, polling only covers a notification lost with its connection.
POLL_SECONDS_WHILE_LISTENING = 10.0


@dataclass(eq=False, slots=True)
class Subscription:
    scope: Scope | None
    queue: asyncio.Queue[ChangeJson]
    overflowed: bool = False
    # Set when the subscription ends, so a waiting reader wakes at once.
    ended: asyncio.Event = field(default_factory=asyncio.Event)


class ChangeFeed:
    def __init__(
        self, store: Store, *, poll_seconds: float = 0.5, buffer_size: int = 1_000
    ) -> None:
        self._store = store
        self._poll_seconds = poll_seconds
        self._buffer_size = buffer_size
        self._subscribers: set[Subscription] = set()
        self._wake = asyncio.Event()
        self._position = 0
        self._task: asyncio.Task[None] | None = None
        self._listener: ChangeListener | None = None
        self._failing = False  # the last read failed (logged once per outage)
        self._started = asyncio.Lock()

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    async def subscribe(self, scope: Scope | None) -> Subscription:
        """A subscription to every change committed from now on (or slightly before: readers
        skip what they already sent) that ``scope`` allows."""
        await self._start()
        if not self._subscribers:
            # Nobody listened since the feed last read: skip what came meanwhile instead of
            # fanning it out (the new subscriber reads its past from the log itself).
            async with self._store.transaction(read_only=True) as tx:
                self._position = max(self._position, await tx.last_change_cursor())
        subscription = Subscription(scope, asyncio.Queue(self._buffer_size))
        self._subscribers.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscribers.discard(subscription)
        subscription.ended.set()

    def signal(self) -> None:
        """Something may have been appended to the log: look now."""
        self._wake.set()

    async def aclose(self) -> None:
        if self._listener is not None:
            await self._listener.aclose()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for subscription in list(self._subscribers):
            self.unsubscribe(subscription)

    async def _start(self) -> None:
        async with self._started:
            if self._task is not None:
                return
            engine = self._store.engine
            if engine.dialect.name == "postgresql":
                self._listener = ChangeListener(engine.url, self.signal)
                self._listener.start()
            self._task = asyncio.create_task(self._run(), name="prwatch-change-feed")

    async def _run(self) -> None:
        while True:
            listening = self._listener is not None and self._listener.listening
            timeout = POLL_SECONDS_WHILE_LISTENING if listening else self._poll_seconds
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
            self._wake.clear()
            if not self._subscribers:
                continue  # ``subscribe`` moves the position on
            try:
                await self._read_new()
            except RetryableStoreError as error:
                if not self._failing:  # once per outage, not per poll
                    self._failing = True
                    log.warning("change feed cannot read the log", extra={"error": str(error)})
                continue
            if self._failing:
                self._failing = False
                log.warning("change feed reads the log again")

    async def _read_new(self) -> None:
        while True:
            async with self._store.transaction(read_only=True) as tx:
                page = await tx.changes_after(self._position, READ_PAGE)
                items = await changes_json(tx, page)
            for item in items:
                self._hand_out(item)
            if page:
                self._position = page[-1].cursor
            if len(page) < READ_PAGE:
                return

    def _hand_out(self, item: ChangeJson) -> None:
        for subscription in list(self._subscribers):
            if not scope_allows(subscription.scope, item["installation_id"], item["repository_id"]):
                continue
            try:
                subscription.queue.put_nowait(item)
            except asyncio.QueueFull:
                subscription.overflowed = True
                self.unsubscribe(subscription)
