"""A wake-up call when the change log grew, across processes.

On PostgreSQL every transaction that appends to the change log also sends ``NOTIFY
prwatch_changes``, which PostgreSQL delivers when (and only if) it commits; a listener then
reads the log. The log stays the source of truth: a notification says only "look again", so a
lost one costs a delay, never a change. SQLite has no such channel: readers poll.
https://www.postgresql.org/docs/current/sql-notify.html
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import URL

from prwatch.backoff import Backoff

log = logging.getLogger(__name__)

CHANGES_CHANNEL = "prwatch_changes"
# Reconnection delays: doubling from 1 s to 30 s, with jitter (``prwatch.backoff``).
RECONNECT_FIRST_SECONDS = 1.0
RECONNECT_CAP_SECONDS = 30.0


class ChangeListener:
    """Calls ``on_signal`` for every notification on the changes channel, and once each time
    it (re)connects (changes may have come while it was not listening). ``listening`` says
    whether notifications can be relied on right now."""

    def __init__(self, url: URL, on_signal: Callable[[], None]) -> None:
        self._url = url
        self._on_signal = on_signal
        self._task: asyncio.Task[None] | None = None
        self._lost = False  # from a lost connection until listening again: logged once each
        self.listening = False

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="prwatch-change-listener")

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        # Imported here: only PostgreSQL deployments get here (asyncpg ships no type hints).
        asyncpg: Any = importlib.import_module("asyncpg")
        backoff = Backoff(RECONNECT_FIRST_SECONDS, RECONNECT_CAP_SECONDS)
        dsn = self._url.set(drivername="postgresql").render_as_string(hide_password=False)
        attempt = 0
        while True:
            try:
                await self._listen(asyncpg, dsn)
                error = "connection lost"
                attempt = 0  # it listened: the outage starts now
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as failure:
                error = f"{type(failure).__name__}: {failure}"
            if not self._lost:
                self._lost = True
                log.warning(
                    "change listener lost its database connection: readers poll meanwhile",
                    extra={"error": error},
                )
            await asyncio.sleep(backoff.delay(attempt))
            attempt += 1

    async def _listen(self, asyncpg: Any, dsn: str) -> None:
        """Listen until the connection is lost."""
        connection = await asyncpg.connect(dsn)
        lost = asyncio.Event()
        try:
            connection.add_termination_listener(lambda _connection: lost.set())
            await connection.add_listener(CHANGES_CHANNEL, self._notified)
            self.listening = True
            if self._lost:
                self._lost = False
                log.warning("change listener listening again")
            self._on_signal()
            await lost.wait()
        finally:
            self.listening = False
            if not connection.is_closed():
                connection.terminate()

    def _notified(self, *_args: object) -> None:
        self._on_signal()
