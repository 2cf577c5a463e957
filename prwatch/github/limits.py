"""Client knobs and the limiters that keep prwatch under GitHub's limits.

GitHub's secondary limits (100 concurrent requests, 900 points per minute per REST endpoint,
2,000 GraphQL points per minute, 60 s of GraphQL CPU time per 60 s of real time) come with no
header saying how close one is
(https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api,
https://docs.github.com/en/graphql/overview/rate-limits-and-query-limits-for-the-graphql-api),
so the client stays under them proactively with the defaults below.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, fields


@dataclass(frozen=True, slots=True)
class ClientLimits:
    request_timeout_seconds: float = 10.0  # GitHub cuts requests running longer than 10 s
    max_attempts: int = 3  # per request, for 5xx answers and connection errors
    backoff_base_seconds: float = 0.5
    backoff_factor: float = 2.0
    backoff_max_seconds: float = 10.0
    max_concurrency: int = 50  # GitHub's cap is 100 in flight, REST and GraphQL together
    # GraphQL queries in flight at once (within max_concurrency; GitHub allows 100 requests in
    # flight): enough to hide the round trip of small queries, a no-change sweep's ~67 of
    # them taking 4.8 s at 2 in flight against 3.4 s at 4 (100 ms round trip).
    graphql_max_concurrency: int = 6
    # ...and once a quarter of the minute's time budget below is spent, as many as this:
    # GitHub allows 60 s of GraphQL CPU time per minute, on average one query's server time
    # per second, so that with heavy queries (a cold sweep's) two in flight hide the round
    # trip and more only queue; and a queued query's answer time is waiting, not CPU, yet
    # would be charged to the budget (against one busy server, each answer time holds the
    # others' server time too).
    graphql_busy_concurrency: int = 2
    route_limit: int = 800  # requests per route per window (GitHub: 900 points/min); 304s count
    route_window_seconds: float = 60.0
    graphql_points_per_minute: int = 1800  # GitHub: 2,000, a query counting 1 whatever its cost
    # GitHub also allows 60 s of GraphQL CPU time per 60 s and says to estimate it by response
    # times: each query's answer time less the round trip (the quickest REST answer seen) is
    # held under this many seconds a minute.
    graphql_seconds_per_minute: float = 50.0
    reserve_points: int = 500  # sweep traffic stops at this many remaining points
    max_wait_seconds: float = 60.0  # longest rate-limit wait inside a request; else RateLimited
    token_refresh_margin_seconds: float = 300.0  # renew installation tokens this long before expiry
    conditional_requests: bool = True  # send If-None-Match when the caller has an ETag

    def __post_init__(self) -> None:
        for spec in fields(self):
            value = getattr(self, spec.name)
            if isinstance(value, bool):
                continue
            if value < 0:
                raise ValueError(f"ClientLimits.{spec.name} must not be negative, got {value}")
        for name in (
            "max_attempts",
            "max_concurrency",
            "graphql_max_concurrency",
            "graphql_busy_concurrency",
            "route_limit",
            "graphql_points_per_minute",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"ClientLimits.{name} must be at least 1")
        for name in (
            "request_timeout_seconds",
            "route_window_seconds",
            "graphql_seconds_per_minute",
        ):
            if getattr(self, name) <= 0:
                raise ValueError(f"ClientLimits.{name} must be positive")
        if self.backoff_factor < 1:
            raise ValueError("ClientLimits.backoff_factor must be at least 1")

    def backoff_delay(self, attempt: int, jitter: float) -> float:
        """Delay before retry number ``attempt`` (1-based); ``jitter`` in [0, 1) spreads retries."""
        ceiling = min(
            self.backoff_max_seconds,
            self.backoff_base_seconds * self.backoff_factor ** (attempt - 1),
        )
        # "Equal jitter": at least half the exponential delay, so retries never bunch at zero.
        return ceiling / 2 + ceiling / 2 * jitter


Sleep = Callable[[float], Awaitable[None]]


class InFlightGate:
    """At most ``limit()`` holders at once, the limit read anew whenever someone enters or
    leaves (it may change with what the holders spent). Waiters enter in arrival order."""

    def __init__(self, limit: Callable[[], int]) -> None:
        self._limit = limit
        self._held = 0
        self._woken = 0  # waiters let in, not yet entered
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def held(self) -> int:
        return self._held

    async def __aenter__(self) -> None:
        if self._waiters or self._held + self._woken >= self._limit():
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            except BaseException:
                if waiter.done() and not waiter.cancelled():
                    self._woken -= 1  # let in, then cancelled: its room goes to the next
                elif waiter in self._waiters:
                    self._waiters.remove(waiter)
                self._wake()
                raise
            self._woken -= 1
        self._held += 1
        self._wake()  # the limit may have risen meanwhile

    async def __aexit__(self, *exc_info: object) -> None:
        self._held -= 1
        self._wake()

    def _wake(self) -> None:
        room = self._limit() - self._held - self._woken
        while room > 0 and self._waiters:
            waiter = self._waiters.popleft()
            if waiter.done():  # cancelled while waiting
                continue
            waiter.set_result(None)
            self._woken += 1
            room -= 1


class SlidingWindowLimiter:
    """At most ``limit`` units per key within any ``window`` seconds; ``acquire`` waits for room.

    Units are requests for REST routes and points for GraphQL, whose real cost is only known
    after the answer: ``add`` charges the difference to the estimate.
    """

    def __init__(
        self,
        limit: int,
        window_seconds: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if limit < 1 or window_seconds <= 0:
            raise ValueError("limit must be at least 1 and window_seconds positive")
        self._limit = limit
        self._window = window_seconds
        self._clock = clock
        self._sleep = sleep
        self._spent: dict[str, deque[tuple[float, int]]] = {}
        self._totals: dict[str, int] = {}

    async def acquire(self, key: str, units: int = 1) -> None:
        if not 1 <= units <= self._limit:
            raise ValueError(f"cannot acquire {units} units from a limit of {self._limit}")
        while True:
            now = self._clock()
            self._expire(key, now)
            if self._totals.get(key, 0) + units <= self._limit:
                self.add(key, units)
                return
            # Sleep until the oldest entry leaves the window, then look again.
            oldest = self._spent[key][0][0]
            await self._sleep(max(oldest + self._window - now, 0.001))

    def add(self, key: str, units: int) -> None:
        """Charge ``units`` without waiting (a cost learned after the fact)."""
        if units <= 0:
            return
        self._spent.setdefault(key, deque()).append((self._clock(), units))
        self._totals[key] = self._totals.get(key, 0) + units

    @property
    def limit(self) -> int:
        return self._limit

    def used(self, key: str) -> int:
        self._expire(key, self._clock())
        return self._totals.get(key, 0)

    def _expire(self, key: str, now: float) -> None:
        spent = self._spent.get(key)
        if not spent:
            return
        while spent and spent[0][0] <= now - self._window:
            _, units = spent.popleft()
            self._totals[key] -= units
        if not spent:
            del self._spent[key]
            del self._totals[key]


@dataclass(frozen=True, slots=True)
class Budget:
    """What GitHub last said about one installation's budget for one resource."""

    remaining: int
    limit: int
    reset_at: float  # epoch seconds


class BudgetBook:
    """The latest primary-limit figures per (installation, resource)."""

    def __init__(self) -> None:
        self._budgets: dict[tuple[int, str], Budget] = {}

    def record(self, installation_id: int, resource: str, budget: Budget) -> None:
        key = (installation_id, resource)
        known = self._budgets.get(key)
        # Answers arrive out of order under concurrency: within one window keep the lowest
        # remaining; a later reset means a new window.
        if (
            known is None
            or budget.reset_at > known.reset_at
            or (budget.reset_at == known.reset_at and budget.remaining < known.remaining)
        ):
            self._budgets[key] = budget

    def get(self, installation_id: int, resource: str) -> Budget | None:
        return self._budgets.get((installation_id, resource))

    def remaining(self, installation_id: int, resource: str, *, now: float) -> int | None:
        """Remaining points, the full limit once the reset time passed, None if never seen."""
        budget = self._budgets.get((installation_id, resource))
        if budget is None:
            return None
        return budget.limit if now >= budget.reset_at else budget.remaining
