"""The limiters, the budget book, the knobs and the pagination helper, without HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest
from github_fakes import FakeClock
from hypothesis import given
from hypothesis import strategies as st

from prwatch.github.limits import (
    Budget,
    BudgetBook,
    ClientLimits,
    InFlightGate,
    SlidingWindowLimiter,
)
from prwatch.github.pagination import iterate_pages
from prwatch.github.ratelimit import LimitKind
from prwatch.github.ratelimit_reading import limit_delay, read_rate_limit
from prwatch.github.responses import ApiResponse, GraphQLResponse
from prwatch.github.stats import RequestStats


async def test_sliding_window_waits_for_the_oldest_entry_to_leave() -> None:
    clock = FakeClock(0.0)
    limiter = SlidingWindowLimiter(3, 10.0, clock=clock, sleep=clock.sleep)
    for t in (0.0, 2.0, 4.0):
        clock.now = t
        await limiter.acquire("r")
    await limiter.acquire("r")  # at 4: full until the entry from 0 leaves at 10
    assert clock.now == pytest.approx(10.0)
    assert limiter.used("r") == 3
    await limiter.acquire("other")
    assert clock.now == pytest.approx(10.0)


async def test_sliding_window_charges_costs_learned_afterwards() -> None:
    clock = FakeClock(0.0)
    limiter = SlidingWindowLimiter(10, 60.0, clock=clock, sleep=clock.sleep)
    await limiter.acquire("g")
    limiter.add("g", 9)
    await limiter.acquire("g")
    assert clock.now == pytest.approx(60.0)
    with pytest.raises(ValueError):
        await limiter.acquire("g", 11)


@given(
    gaps=st.lists(st.floats(min_value=0, max_value=5), min_size=1, max_size=40),
    limit=st.integers(1, 5),
)
def test_sliding_window_never_exceeds_its_limit(gaps: list[float], limit: int) -> None:
    clock = FakeClock(0.0)

    async def sleep(seconds: float) -> None:  # never suspends: the test drives it by hand
        clock.now += seconds

    limiter = SlidingWindowLimiter(limit, 10.0, clock=clock, sleep=sleep)
    granted: list[float] = []

    async def run() -> None:
        for gap in gaps:
            clock.now += gap
            await limiter.acquire("r")
            granted.append(clock.now)

    with pytest.raises(StopIteration):
        run().send(None)
    for start in granted:
        assert sum(start <= t < start + 10.0 for t in granted) <= limit


def test_budget_book_keeps_the_newest_window_and_the_lowest_remaining() -> None:
    book = BudgetBook()
    book.record(1, "core", Budget(remaining=100, limit=5000, reset_at=1000))
    book.record(1, "core", Budget(remaining=120, limit=5000, reset_at=1000))  # arrived late
    assert book.remaining(1, "core", now=500) == 100
    book.record(1, "core", Budget(remaining=4999, limit=5000, reset_at=4600))  # a new hour
    assert book.remaining(1, "core", now=1500) == 4999
    book.record(1, "core", Budget(remaining=50, limit=5000, reset_at=1000))  # stale
    assert book.remaining(1, "core", now=1500) == 4999
    assert book.remaining(1, "core", now=4600) == 5000  # reset passed: full again
    assert book.remaining(1, "graphql", now=0) is None


def test_client_limits_validate_their_values() -> None:
    assert ClientLimits().max_concurrency == 50
    for bad in (
        {"max_attempts": 0},
        {"max_concurrency": 0},
        {"graphql_max_concurrency": 0},
        {"route_limit": 0},
        {"request_timeout_seconds": 0},
        {"reserve_points": -1},
        {"backoff_factor": 0.5},
    ):
        with pytest.raises(ValueError, match=next(iter(bad))):
            ClientLimits(**bad)


@given(attempt=st.integers(1, 30), jitter=st.floats(0, 0.999))
def test_backoff_is_bounded_and_never_below_half(attempt: int, jitter: float) -> None:
    limits = ClientLimits(backoff_base_seconds=0.5, backoff_factor=2, backoff_max_seconds=8)
    ceiling = min(8.0, 0.5 * 2 ** (attempt - 1))
    assert ceiling / 2 <= limits.backoff_delay(attempt, jitter) <= ceiling


def test_stats_by_outcome_and_points() -> None:
    stats = RequestStats()
    stats.record_request("GET /a", 200)
    stats.record_request("GET /b", 200)
    stats.record_request("GET /b", "timeout")
    stats.record_points("core", 2)
    stats.record_points("core", 0)
    taken = stats.snapshot()
    assert taken.by_outcome() == {"200": 2, "timeout": 1}
    assert taken.total_requests == 3 and taken.points == {"core": 2}


def test_malformed_rate_limit_headers_do_not_fail_a_response() -> None:
    assert read_rate_limit({"x-ratelimit-limit": "x", "x-ratelimit-remaining": "1"}) is None
    assert limit_delay(403, {"retry-after": "soon"}, b"{}", 0.0, 0) is None
    assert limit_delay(429, {"retry-after": "soon"}, b"{}", 0.0, 1) == (LimitKind.SECONDARY, 120)
    assert limit_delay(404, {}, b"", 0.0, 0) is None


class PagedApi:
    """A hand-written GitHubApi: pages of numbers linked by rel="next"."""

    def __init__(self, pages: int, first_status: int = 200) -> None:
        self.pages = pages
        self.first_status = first_status
        self.calls: list[tuple[str, Mapping[str, Any] | None, str | None]] = []
        self.stats = RequestStats()

    def remaining(self, installation_id: int, resource: str = "core") -> int | None:
        return None

    def token_fingerprint(self, installation_id: int) -> str | None:
        return None

    async def get(
        self,
        path_or_url: str,
        *,
        installation_id: int,
        route: str,
        params: Mapping[str, str | int] | None = None,
        etag: str | None = None,
        spend_reserve: bool = False,
    ) -> ApiResponse:
        self.calls.append((path_or_url, params, etag))
        page = len(self.calls)
        links = {"next": f"https://api.test/items?page={page + 1}"} if page < self.pages else {}
        status = self.first_status if page == 1 else 200
        return ApiResponse(status, {}, b"[]", None, None, path_or_url, links)

    async def graphql(self, query: str, **kwargs: Any) -> GraphQLResponse:
        raise NotImplementedError

    async def app_get(self, path_or_url: str, params: Any = None, **kwargs: Any) -> ApiResponse:
        raise NotImplementedError

    async def app_post(self, path: str, json_body: Any = None, **kwargs: Any) -> ApiResponse:
        raise NotImplementedError


async def collect(api: PagedApi, **kwargs: Any) -> list[ApiResponse]:
    return [
        page
        async for page in iterate_pages(
            api, "/items", installation_id=1, route="GET /items", **kwargs
        )
    ]


async def test_pages_are_followed_with_params_and_etag_on_the_first_only() -> None:
    api = PagedApi(3)
    pages = await collect(api, params={"per_page": 2}, etag='W/"e"')
    assert len(pages) == 3
    assert api.calls == [
        ("/items", {"per_page": 2}, 'W/"e"'),
        ("https://api.test/items?page=2", None, None),
        ("https://api.test/items?page=3", None, None),
    ]


async def test_pages_stop_at_a_304_a_404_or_max_pages() -> None:
    assert [p.status for p in await collect(PagedApi(3, first_status=304))] == [304]
    assert [p.status for p in await collect(PagedApi(3, first_status=404))] == [404]
    assert len(await collect(PagedApi(5), max_pages=2)) == 2
    with pytest.raises(ValueError):
        await collect(PagedApi(1), max_pages=0)


async def test_an_in_flight_gate_follows_its_limit_as_it_changes() -> None:
    limit = 1
    gate = InFlightGate(lambda: limit)
    entered: list[int] = []
    release = asyncio.Event()

    async def holder(n: int) -> None:
        async with gate:
            entered.append(n)
            await release.wait()

    tasks = [asyncio.create_task(holder(n)) for n in range(5)]
    await asyncio.sleep(0.01)
    assert entered == [0] and gate.held == 1
    limit = 3  # read again when someone enters or leaves
    release.set()
    await asyncio.gather(*tasks)
    assert entered == [0, 1, 2, 3, 4]  # in arrival order
    assert gate.held == 0


async def test_an_in_flight_gate_waiter_cancelled_passes_its_turn_on() -> None:
    gate = InFlightGate(lambda: 1)
    release = asyncio.Event()
    entered: list[str] = []

    async def holder(name: str) -> None:
        async with gate:
            entered.append(name)
            await release.wait()

    first = asyncio.create_task(holder("first"))
    await asyncio.sleep(0)
    cancelled = asyncio.create_task(holder("cancelled"))
    last = asyncio.create_task(holder("last"))
    await asyncio.sleep(0)
    cancelled.cancel()
    release.set()
    await asyncio.gather(first, last)
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    assert entered == ["first", "last"] and gate.held == 0
