"""Capped exponential backoff with jitter, for whatever waits for a service to come back."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delays between attempts: doubling from ``first_seconds`` up to ``cap_seconds``, each
    drawn between half and all of that (jitter, so that many workers do not reconnect in step)."""

    first_seconds: float = 0.5
    cap_seconds: float = 30.0

    def __post_init__(self) -> None:
        if not 0 < self.first_seconds <= self.cap_seconds:
            raise ValueError("a backoff needs 0 < first_seconds <= cap_seconds")

    def delay(self, attempt: int, draw: Callable[[], float] = random.random) -> float:
        ceiling = min(self.cap_seconds, self.first_seconds * 2.0 ** min(attempt, 32))
        return ceiling * (0.5 + 0.5 * draw())
