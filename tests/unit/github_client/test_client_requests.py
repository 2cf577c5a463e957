"""Conditional requests, redirects, retries, accounting and secrecy, against a fake GitHub."""

from __future__ import annotations

import asyncio
import gc
import time
import weakref

import httpx
import pytest
from github_fakes import (
    APP_ID,
    BASE_URL,
    FakeClock,
    FakeGitHub,
    json_response,
    private_key_pem,
)

from prwatch.github.auth import AppCredentials
from prwatch.github.client import GitHubClient
from prwatch.github.errors import GitHubUnavailable, UnexpectedResponse
from prwatch.github.limits import ClientLimits
from prwatch.github.urls import route_label

PULLS = "/repos/octo/app/pulls"
ROUTE = "GET /repos/{owner}/{repo}/pulls"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def github(clock: FakeClock) -> FakeGitHub:
    return FakeGitHub(clock)


def serve_with_etag(github: FakeGitHub, path: str, etag: str, body: object) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.headers.get("if-none-match") == etag:
            return httpx.Response(304, headers={"etag": etag})
        return json_response(200, body, {"etag": etag})

    github.routes[f"GET {path}"] = handler


async def test_etag_sent_back_gives_a_304_costing_no_core_point(github: FakeGitHub) -> None:
    serve_with_etag(github, PULLS, 'W/"abc"', [{"number": 1}])
    async with github.client() as client:
        first = await client.get(PULLS, installation_id=7, route=ROUTE)
        second = await client.get(PULLS, installation_id=7, route=ROUTE, etag=first.etag)
    assert first.status == 200 and first.etag == 'W/"abc"' and first.json() == [{"number": 1}]
    assert second.not_modified and second.body == b""
    assert github.requests_to(PULLS)[1].headers["if-none-match"] == 'W/"abc"'
    stats = client.stats.snapshot()
    assert stats.requests[(ROUTE, "200")] == 1 and stats.requests[(ROUTE, "304")] == 1
    assert stats.points == {"core": 1}


async def test_conditional_requests_can_be_switched_off(github: FakeGitHub) -> None:
    serve_with_etag(github, PULLS, 'W/"abc"', [])
    async with github.client(conditional_requests=False) as client:
        response = await client.get(PULLS, installation_id=7, route=ROUTE, etag='W/"abc"')
    assert response.status == 200
    assert "if-none-match" not in github.requests_to(PULLS)[0].headers


async def test_moved_repository_redirect_is_followed_once_and_reported(github: FakeGitHub) -> None:
    moved = f"{BASE_URL}/repositories/42/pulls?state=all&per_page=100"
    github.routes[f"GET {PULLS}"] = lambda request: httpx.Response(301, headers={"location": moved})
    github.routes["GET /repositories/42/pulls"] = lambda request: json_response(
        200, [], {"link": f'<{BASE_URL}/repositories/42/pulls?page=2>; rel="next"'}
    )
    async with github.client() as client:
        response = await client.get(
            PULLS, installation_id=7, route=ROUTE, params={"state": "all", "per_page": 100}
        )
    assert response.status == 200
    assert response.redirected_from == f"{BASE_URL}{PULLS}?state=all&per_page=100"
    assert response.url == moved
    assert response.links == {"next": f"{BASE_URL}/repositories/42/pulls?page=2"}
    assert github.requests_to("/repositories/42/pulls")[0].url.params["state"] == "all"


async def test_a_second_redirect_is_returned_not_followed(github: FakeGitHub) -> None:
    github.routes[f"GET {PULLS}"] = lambda r: httpx.Response(307, headers={"location": "/a"})
    github.routes["GET /a"] = lambda r: httpx.Response(307, headers={"location": "/b"})
    async with github.client() as client:
        response = await client.get(PULLS, installation_id=7, route=ROUTE)
    assert response.status == 307 and response.redirected_from is not None
    assert github.requests_to("/b") == []


async def test_redirect_to_another_host_is_refused_and_keeps_the_token_home(
    github: FakeGitHub,
) -> None:
    github.routes[f"GET {PULLS}"] = lambda request: httpx.Response(
        301, headers={"location": "https://evil.example/steal"}
    )
    async with github.client() as client:
        with pytest.raises(UnexpectedResponse, match=r"not under the API base URL"):
            await client.get(PULLS, installation_id=7, route=ROUTE)
        with pytest.raises(UnexpectedResponse):
            await client.get("https://evil.example/x", installation_id=7, route=ROUTE)
        with pytest.raises(ValueError, match="starts with '/'"):
            await client.get("repos/x", installation_id=7, route=ROUTE)
    assert all(r.url.host == "api.example.test" for r in github.requests)


async def test_404_is_returned_not_raised(github: FakeGitHub) -> None:
    async with github.client() as client:
        response = await client.get("/repos/octo/gone/pulls", installation_id=7, route=ROUTE)
    assert response.status == 404 and not response.ok
    assert response.message() == "Not Found"


async def test_5xx_is_retried_with_backoff_then_succeeds(
    github: FakeGitHub, clock: FakeClock
) -> None:
    statuses = iter([502, 503, 200])
    github.routes[f"GET {PULLS}"] = lambda request: json_response(next(statuses), [])
    async with github.client(backoff_base_seconds=1, backoff_factor=2) as client:
        response = await client.get(PULLS, installation_id=7, route=ROUTE)
    assert response.status == 200
    assert clock.sleeps == [0.75, 1.5]  # equal jitter at 0.5: 3/4 of 1 s, then of 2 s
    requests = client.stats.snapshot().requests
    assert requests[(ROUTE, "502")] == requests[(ROUTE, "503")] == requests[(ROUTE, "200")] == 1


async def test_persistent_5xx_raises_github_unavailable(github: FakeGitHub) -> None:
    github.routes[f"GET {PULLS}"] = lambda request: json_response(500, {})
    async with github.client(max_attempts=4) as client:
        with pytest.raises(GitHubUnavailable, match="500 on each of 4 attempts"):
            await client.get(PULLS, installation_id=7, route=ROUTE)
    assert len(github.requests_to(PULLS)) == 4


async def test_connection_errors_are_retried_then_raise(github: FakeGitHub) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    github.routes[f"GET {PULLS}"] = refuse
    async with github.client() as client:
        with pytest.raises(GitHubUnavailable, match="connection_error"):
            await client.get(PULLS, installation_id=7, route=ROUTE)
    assert client.stats.snapshot().requests[(ROUTE, "connection_error")] == 3


async def test_slow_answers_are_cut_at_the_request_timeout(github: FakeGitHub) -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        return json_response(200, [])

    github.routes[f"GET {PULLS}"] = slow
    async with github.client(request_timeout_seconds=0.02, max_attempts=2) as client:
        with pytest.raises(GitHubUnavailable, match="timeout"):
            await client.get(PULLS, installation_id=7, route=ROUTE)
    assert client.stats.snapshot().requests[(ROUTE, "timeout")] == 2, client.stats.snapshot()


async def test_concurrency_cap_bounds_requests_in_flight(github: FakeGitHub) -> None:
    in_flight = peak = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.002)
        in_flight -= 1
        return json_response(200, [])

    github.routes[f"GET {PULLS}"] = handler
    async with github.client(max_concurrency=3) as client:
        await asyncio.gather(
            *(client.get(PULLS, installation_id=7, route=ROUTE) for _ in range(15))
        )
    assert peak == 3


async def test_per_route_limiter_holds_the_rate(github: FakeGitHub, clock: FakeClock) -> None:
    sent_at: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent_at.append(clock.now)
        return httpx.Response(304)

    github.routes[f"GET {PULLS}"] = handler
    github.routes["GET /other"] = lambda request: json_response(200, {})
    async with github.client(route_limit=5, route_window_seconds=60) as client:
        await asyncio.gather(
            *(client.get(PULLS, installation_id=7, route=ROUTE, etag='W/"x"') for _ in range(12))
        )
        start = clock.now
        await client.get("/other", installation_id=7, route="GET /other")
        assert clock.now == start  # another route has its own window
    assert len(sent_at) == 12
    for first in sent_at:
        assert sum(first <= t < first + 60 for t in sent_at) <= 5  # 304s count too
    assert max(sent_at) - min(sent_at) >= 120


async def test_stats_snapshot_and_reset(github: FakeGitHub) -> None:
    github.routes[f"GET {PULLS}"] = lambda request: json_response(200, [])
    async with github.client() as client:
        await client.get(PULLS, installation_id=7, route=ROUTE)
        await client.get("/missing", installation_id=7, route="GET /missing")
        taken = client.stats.snapshot_and_reset()
        assert client.stats.snapshot().total_requests == 0
    assert taken.requests == {
        ("POST /app/installations/{installation_id}/access_tokens", "201"): 1,
        (ROUTE, "200"): 1,
        ("GET /missing", "404"): 1,
    }
    assert taken.by_outcome() == {"201": 1, "200": 1, "404": 1}
    assert taken.points == {"core": 2}  # the token request draws on the App, not the installation


async def test_no_token_reaches_a_repr_or_message(github: FakeGitHub) -> None:
    github.routes[f"GET {PULLS}"] = lambda request: json_response(500, {})
    async with github.client(max_attempts=1) as client:
        with pytest.raises(GitHubUnavailable) as raised:
            await client.get(PULLS, installation_id=7, route=ROUTE)
        github.routes[f"GET {PULLS}"] = lambda request: json_response(200, [])
        response = await client.get(PULLS, installation_id=7, route=ROUTE)
        texts = [
            repr(client),
            repr(client._tokens),
            repr(client._jwt),
            repr(response),
            str(raised.value),
            repr(await client._tokens.get(7)),
        ]
    (token,) = github.tokens
    jwt = client._jwt.current()
    for text in texts:
        assert token not in text and jwt not in text and "PRIVATE" not in text


@pytest.mark.parametrize(
    ("method", "path", "label"),
    [
        ("POST", "/app/hook/deliveries/123/attempts", "POST /app/hook/deliveries/{id}/attempts"),
        ("GET", "/repositories/42/pulls?page=2", "GET /repositories/{id}/pulls"),
        ("GET", "/app/installations", "GET /app/installations"),
    ],
)
def test_route_label(method: str, path: str, label: str) -> None:
    assert route_label(method, path) == label


async def test_a_no_op_sleep_does_not_make_the_route_limiter_spin(clock: FakeClock) -> None:
    github = FakeGitHub(clock)
    github.routes[f"GET {PULLS}"] = lambda request: json_response(200, [])

    async def no_wait(seconds: float) -> None:
        return None

    client = GitHubClient(
        AppCredentials(APP_ID, private_key_pem()),
        base_url=BASE_URL,
        limits=ClientLimits(route_limit=2, route_window_seconds=0.05),
        transport=github.transport(),
        clock=clock,
        sleep=no_wait,  # real monotonic clock: the limiter must really wait
    )
    ticks = 0
    done = False

    async def requests() -> None:
        nonlocal done
        for _ in range(4):
            await client.get(PULLS, installation_id=7, route=ROUTE)
        done = True

    async def ticker() -> None:  # starves if the limiter busy-waits on the event loop
        nonlocal ticks
        while not done:
            ticks += 1
            await asyncio.sleep(0.005)

    async with client:
        started = time.monotonic()
        await asyncio.gather(requests(), ticker())
    assert time.monotonic() - started >= 0.05
    assert ticks >= 4


async def test_a_read_response_is_freed_at_once_not_by_the_cycle_collector(
    github: FakeGitHub,
) -> None:
    # A page of PRs is ~1.5 MB; held until a cyclic collection, dozens piled up in a sweep.
    answered: list[weakref.ref[httpx.Response]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        response = json_response(200, [{"number": 1}])
        answered.append(weakref.ref(response))
        return response

    github.routes[f"GET {PULLS}"] = handler
    async with github.client() as client:
        gc.collect()
        gc.disable()
        try:
            page = await client.get(PULLS, installation_id=7, route=ROUTE)
            assert page.json() == [{"number": 1}]
            assert answered and answered[-1]() is None
        finally:
            gc.enable()
