"""Time for the simulated GitHub: whole seconds, as GitHub's timestamps have."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> int:
        """Current time as epoch seconds."""
        ...


class SystemClock:
    def now(self) -> int:
        return int(time.time())


class ManualClock:
    """A clock that moves only when told to, for tests."""

    def __init__(self, start: int = 1_700_000_000) -> None:
        self._now = start

    def now(self) -> int:
        return self._now

    def advance(self, seconds: int = 1) -> int:
        if seconds < 0:
            raise ValueError("a clock cannot go backwards")
        self._now += seconds
        return self._now

    def set(self, epoch_seconds: int) -> None:
        self._now = epoch_seconds


def iso(epoch_seconds: int | None) -> str | None:
    """GitHub's timestamp format: `2019-05-15T15:20:33Z`."""
    if epoch_seconds is None:
        return None
    # time.gmtime is ~2.5x cheaper than datetime; a REST page of PRs formats ~400 timestamps.
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch_seconds))


def parse_iso(text: str) -> int:
    return int(datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp())
