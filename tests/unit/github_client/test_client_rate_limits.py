"""Primary and secondary limits, the reserve, and GraphQL's limits, against a fake GitHub."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from github_fakes import FakeClock, FakeGitHub, json_response, rate_headers

from prwatch.github.errors import (
    BudgetReserved,
    GitHubUnavailable,
    RateLimited,
    UnexpectedResponse,
)
from prwatch.github.ratelimit import LimitKind

PULLS = "/repos/octo/app/pulls"
ROUTE = "GET /repos/{owner}/{repo}/pulls"
SECONDARY = {"message": "You have exceeded a secondary rate limit. Please wait a few minutes."}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def github(clock: FakeClock) -> FakeGitHub:
    return FakeGitHub(clock)


def scripted(github: FakeGitHub, path: str, *responses: httpx.Response) -> None:
    queue = list(responses)
    github.routes[f"GET {path}"] = lambda request: queue.pop(0)


async def test_secondary_limit_with_retry_after_waits_then_retries_once(
    github: FakeGitHub, clock: FakeClock
) -> None:
    scripted(
        github,
        PULLS,
        json_response(403, SECONDARY, {"retry-after": "7"}),
        json_response(200, []),
    )
    async with github.client() as client:
        response = await client.get(PULLS, installation_id=7, route=ROUTE)
    assert response.status == 200
    assert clock.sleeps == [7.0]


async def test_secondary_limit_beyond_the_allowed_wait_raises_rate_limited(
    github: FakeGitHub, clock: FakeClock
) -> None:
    scripted(github, PULLS, json_response(429, SECONDARY, {"retry-after": "120"}))
    async with github.client(max_wait_seconds=60) as client:
        with pytest.raises(RateLimited) as raised:
            await client.get(PULLS, installation_id=7, route=ROUTE)
    assert raised.value.kind is LimitKind.SECONDARY and raised.value.retry_after == 120
    assert clock.sleeps == [] and len(github.requests_to(PULLS)) == 1


async def test_a_limit_again_after_the_wait_raises_rate_limited(
    github: FakeGitHub, clock: FakeClock
) -> None:
    scripted(
        github,
        PULLS,
        json_response(403, SECONDARY, {"retry-after": "3"}),
        json_response(403, SECONDARY),
    )
    async with github.client() as client:
        with pytest.raises(RateLimited) as raised:
            await client.get(PULLS, installation_id=7, route=ROUTE)
    assert clock.sleeps == [3.0]
    assert raised.value.retry_after == 120  # no retry-after: a minute, doubled on the retry


async def test_exhausted_primary_limit_raises_with_the_reset_and_spares_the_network(
    github: FakeGitHub, clock: FakeClock
) -> None:
    reset = clock.now + 1800
    scripted(
        github,
        PULLS,
        json_response(403, {"message": "API rate limit exceeded"}, rate_headers(0, reset=reset)),
    )
    async with github.client() as client:
        with pytest.raises(RateLimited) as raised:
            await client.get(PULLS, installation_id=7, route=ROUTE, spend_reserve=True)
        assert raised.value.kind is LimitKind.PRIMARY
        assert raised.value.retry_after == pytest.approx(1801)  # one second past the reset
        assert client.remaining(7) == 0
        with pytest.raises(RateLimited):
            await client.get(PULLS, installation_id=7, route=ROUTE, spend_reserve=True)
    assert len(github.requests_to(PULLS)) == 1


async def test_a_403_that_is_not_a_limit_is_returned(github: FakeGitHub) -> None:
    scripted(
        github, PULLS, json_response(403, {"message": "Resource not accessible by integration"})
    )
    async with github.client() as client:
        response = await client.get(PULLS, installation_id=7, route=ROUTE)
    assert response.status == 403


async def test_reserve_stops_sweep_traffic_but_not_webhook_traffic(
    github: FakeGitHub, clock: FakeClock
) -> None:
    reset = clock.now + 900
    github.routes[f"GET {PULLS}"] = lambda request: json_response(
        200, [], rate_headers(450, reset=reset)
    )
    async with github.client(reserve_points=500) as client:
        assert client.remaining(7) is None
        await client.get(PULLS, installation_id=7, route=ROUTE)
        assert client.remaining(7) == 450
        with pytest.raises(BudgetReserved) as raised:
            await client.get(PULLS, installation_id=7, route=ROUTE)
        assert raised.value.retry_after == pytest.approx(900) and raised.value.remaining == 450
        await client.get(PULLS, installation_id=7, route=ROUTE, spend_reserve=True)
        assert client.remaining(8) is None  # budgets are per installation
        await client.get(PULLS, installation_id=8, route=ROUTE)
        clock.now = reset + 1  # the window reset: the budget is full again
        assert client.remaining(7) == 5000
        await client.get(PULLS, installation_id=7, route=ROUTE)
    assert len(github.requests_to(PULLS)) == 4


async def test_rate_limits_of_app_requests_raise_too(github: FakeGitHub) -> None:
    github.routes["GET /app/installations"] = lambda request: json_response(
        429, SECONDARY, {"retry-after": "600"}
    )
    async with github.client() as client:
        with pytest.raises(RateLimited):
            await client.app_get("/app/installations")


GRAPHQL_DATA = {"repository": {"id": "R_1"}, "rateLimit": {"cost": 3, "remaining": 4990}}


async def test_graphql_returns_data_errors_and_charges_the_reported_cost(
    github: FakeGitHub, clock: FakeClock
) -> None:
    sent: list[dict[str, object]] = []

    def graphql(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content))
        body = {"data": GRAPHQL_DATA, "errors": [{"type": "NOT_FOUND", "path": ["x"]}]}
        return json_response(
            200, body, rate_headers(4990, reset=clock.now + 60, resource="graphql")
        )

    github.routes["POST /graphql"] = graphql
    async with github.client() as client:
        response = await client.graphql(
            "query($o: String!) { x }", installation_id=7, variables={"o": "octo"}
        )
        assert client.remaining(7, "graphql") == 4990 and client.remaining(7) is None
        assert client._graphql_points.used("graphql-points") == 1  # 1 per query
    assert sent == [{"query": "query($o: String!) { x }", "variables": {"o": "octo"}}]
    assert response.data == GRAPHQL_DATA and response.cost == 3
    assert response.error_types() == ("NOT_FOUND",)
    assert response.rate_limit is not None and response.rate_limit.resource == "graphql"
    assert client.stats.snapshot().points == {"graphql": 3}


async def test_graphql_rate_limited_in_a_200_raises_rate_limited(
    github: FakeGitHub, clock: FakeClock
) -> None:
    github.routes["POST /graphql"] = lambda request: json_response(
        200,
        {"errors": [{"type": "RATE_LIMITED", "message": "API rate limit exceeded"}]},
        rate_headers(0, reset=clock.now + 300, resource="graphql"),
    )
    async with github.client() as client:
        with pytest.raises(RateLimited) as raised:
            await client.graphql("{ x }", installation_id=7)
        assert raised.value.resource == "graphql" and raised.value.kind is LimitKind.PRIMARY
        assert raised.value.retry_after == pytest.approx(301)
        # Now known to be exhausted: webhook traffic too is refused without a request.
        with pytest.raises(RateLimited):
            await client.graphql("{ x }", installation_id=7, spend_reserve=True)
    assert len(github.requests_to("/graphql")) == 1


@pytest.mark.parametrize("error_type", ["RATE_LIMITED", "RATE_LIMIT"])
async def test_graphql_rate_limit_in_a_200_is_waited_out_once_then_retried(
    github: FakeGitHub, clock: FakeClock, error_type: str
) -> None:
    answers = [
        json_response(
            200,
            {"errors": [{"type": error_type, "message": "API rate limit exceeded"}]},
            rate_headers(0, reset=clock.now + 20, resource="graphql"),
        ),
        json_response(
            200,
            {"data": {"rateLimit": {"cost": 1}}},
            rate_headers(4999, reset=clock.now + 3600, resource="graphql"),
        ),
    ]
    github.routes["POST /graphql"] = lambda request: answers.pop(0)
    async with github.client() as client:
        response = await client.graphql("{ rateLimit { cost } }", installation_id=7)
    assert response.data == {"rateLimit": {"cost": 1}}
    assert len(github.requests_to("/graphql")) == 2
    assert sum(clock.sleeps) == pytest.approx(21)  # until the reset, and its margin
    assert client.stats.snapshot().points == {"graphql": 1}  # a refusal costs nothing


async def test_graphql_secondary_limit_in_a_200_honours_retry_after(
    github: FakeGitHub, clock: FakeClock
) -> None:
    answers = [
        json_response(200, {"errors": [SECONDARY]}, {"retry-after": "7"}),
        json_response(200, {"errors": [SECONDARY]}, {"retry-after": "7"}),
    ]
    github.routes["POST /graphql"] = lambda request: answers.pop(0)
    async with github.client() as client:
        with pytest.raises(RateLimited) as raised:
            await client.graphql("{ x }", installation_id=7)
    assert raised.value.kind is LimitKind.SECONDARY
    assert clock.sleeps == [7]  # waited once, then gave up: the caller retries later
    assert len(github.requests_to("/graphql")) == 2


async def test_graphql_answer_time_is_held_under_the_minutes_budget(
    github: FakeGitHub, clock: FakeClock
) -> None:
    """GitHub allows 60 s of GraphQL CPU time a minute: slow answers make the next wait."""

    def slow(request: httpx.Request) -> httpx.Response:
        clock.now += 20  # a 20 s answer
        return json_response(200, {"data": {"rateLimit": {"cost": 1}}})

    github.routes["POST /graphql"] = slow
    async with github.client(graphql_seconds_per_minute=30) as client:
        for _ in range(2):
            await client.graphql("{ x }", installation_id=7)
        assert clock.sleeps == []  # 40 s spent, but the second had room when it started
        await client.graphql("{ x }", installation_id=7)
        assert clock.sleeps and sum(clock.sleeps) > 0  # the third waited for the window


async def test_graphql_time_leaves_out_the_round_trip(github: FakeGitHub, clock: FakeClock) -> None:
    """GitHub's CPU time is estimated by answer times: the network's share (the quickest REST
    answer, here the token request) is not GitHub's CPU and is not charged."""
    handle = github.handle

    async def one_second_away(request: httpx.Request) -> httpx.Response:
        clock.now += 1  # every answer crosses a network 1 s long
        return await handle(request)

    def ten_seconds_of_server_time(request: httpx.Request) -> httpx.Response:
        clock.now += 10
        return json_response(200, {"data": {"rateLimit": {"cost": 1}}})

    github.handle = one_second_away  # type: ignore[method-assign]
    github.routes["POST /graphql"] = ten_seconds_of_server_time
    async with github.client(graphql_seconds_per_minute=21) as client:
        for _ in range(3):
            await client.graphql("{ x }", installation_id=7)
        # 10 s charged each: the third had room (its 11 s answers would have filled 22 s).
        assert clock.sleeps == []
        await client.graphql("{ x }", installation_id=7)
        assert clock.sleeps and sum(clock.sleeps) > 0


class CountingGraphQL:
    """A GraphQL answer that counts the queries in flight at once (``most``) and takes
    ``seconds`` of the fake clock."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.in_flight = self.most = 0
        self.seconds = 0.0

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        for _ in range(5):
            await asyncio.sleep(0)  # the others get every chance to start meanwhile
        self.clock.now += self.seconds
        self.in_flight -= 1
        return json_response(200, {"data": {"rateLimit": {"cost": 1}}})


async def test_graphql_queries_in_flight_are_capped(github: FakeGitHub, clock: FakeClock) -> None:
    """A few GraphQL queries at once: more would only queue, and be charged for queueing."""
    github.routes["POST /graphql"] = answer = CountingGraphQL(clock)
    async with github.client(graphql_max_concurrency=3) as client:
        await asyncio.gather(*(client.graphql("{ x }", installation_id=7) for _ in range(6)))
    assert answer.most == 3
    assert len(github.requests_to("/graphql")) == 6


async def test_fewer_graphql_queries_fly_once_a_quarter_of_the_time_budget_is_spent(
    github: FakeGitHub, clock: FakeClock
) -> None:
    """Quick queries fly six at once; once answers have spent a quarter of the minute's time
    budget, two: heavy queries would only queue, and be charged for queueing."""
    github.routes["POST /graphql"] = answer = CountingGraphQL(clock)
    async with github.client(graphql_seconds_per_minute=40) as client:
        queries = (client.graphql("{ x }", installation_id=7) for _ in range(12))
        await asyncio.gather(*queries)
        assert answer.most == 6  # quick answers: the budget stays nearly whole
        answer.seconds = 1.0
        for _ in range(11):  # 11 s of the 40 s budget: a quarter spent
            await client.graphql("{ x }", installation_id=7)
        answer.most = 0
        queries = (client.graphql("{ x }", installation_id=7) for _ in range(8))
        await asyncio.gather(*queries)
        assert answer.most == 2
        clock.now += 61  # the minute went by: the budget is whole again
        answer.seconds, answer.most = 0.0, 0
        await asyncio.gather(*(client.graphql("{ x }", installation_id=7) for _ in range(12)))
        assert answer.most == 6


async def test_a_graphql_5xx_is_not_sent_again_at_the_same_size(github: FakeGitHub) -> None:
    """A 502/504 is how GitHub cuts a query past 10 s: the caller makes it smaller."""
    github.routes["POST /graphql"] = lambda request: json_response(502, {"message": "Bad"})
    async with github.client() as client:
        with pytest.raises(GitHubUnavailable):
            await client.graphql("{ x }", installation_id=7)
    assert len(github.requests_to("/graphql")) == 1


async def test_graphql_other_statuses_raise_unexpected_response(github: FakeGitHub) -> None:
    github.routes["POST /graphql"] = lambda request: json_response(
        400, {"message": "Problems parsing JSON"}
    )
    async with github.client() as client:
        with pytest.raises(UnexpectedResponse, match="400: Problems parsing JSON"):
            await client.graphql("{", installation_id=7)


async def test_graphql_points_per_minute_are_held(github: FakeGitHub, clock: FakeClock) -> None:
    """GitHub's secondary limit counts a GraphQL query as 1 point, whatever its cost."""
    github.routes["POST /graphql"] = lambda request: json_response(
        200, {"data": {"rateLimit": {"cost": 40}}}
    )
    async with github.client(graphql_points_per_minute=3) as client:
        start = clock.now
        for _ in range(3):
            await client.graphql("{ x }", installation_id=7)
        assert clock.now == start  # 3 queries, 3 points, though they cost 120
        await client.graphql("{ x }", installation_id=7)  # a 4th: wait for the window
        assert clock.now >= start + 60
