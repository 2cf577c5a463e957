"""The one place prwatch talks HTTP to GitHub.

Built on plain httpx rather than githubkit, because everything githubkit adds had to be turned
off or worked around here: its HTTP cache hides 304s and ignores ``Vary: Authorization``, its
retries sleep up to an hour on a primary limit, its App auth has no per-installation lock and
never drops a rejected token, its models are slow and reject real payloads, and it raises on
every 4xx. Worse, it keeps its HTTP client in a ContextVar: a task that did not inherit the
context in which the client was entered (a request task beside a Starlette lifespan, an arq job)
silently builds a new connection pool per request (measured: 6 clients for 5 requests).

What this client guarantees:
- installation tokens are fetched once per installation at a time, reused until shortly before
  they expire, and re-fetched once after a 401;
- conditional requests return the real 304 (which costs no primary-limit point);
- a 301/302/307/308 is followed once and reported (renamed or transferred repositories);
- 404s and other 4xx come back as responses; 5xx and connection errors are retried with
  backoff, then raise ``GitHubUnavailable``;
- rate limits: a bounded wait and one retry, else ``RateLimited``; sweep traffic stops at the
  reserve with ``BudgetReserved``; concurrency, per-route, GraphQL-points and GraphQL-time
  caps keep it under the secondary limits;
- tokens, JWTs and keys never reach a repr, a log line or an exception message.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

import httpx

from prwatch.github.auth import (
    AppCredentials,
    AppJwtIssuer,
    InstallationToken,
    InstallationTokenCache,
    TokenSharing,
    parse_token_response,
)
from prwatch.github.errors import (
    AuthenticationFailed,
    BudgetReserved,
    GitHubUnavailable,
    InstallationUnavailable,
    RateLimited,
    UnexpectedResponse,
)
from prwatch.github.limits import BudgetBook, ClientLimits, InFlightGate, SlidingWindowLimiter
from prwatch.github.port import GitHubApi, Params
from prwatch.github.ratelimit import LimitKind, RateLimit, graphql_limit_kind
from prwatch.github.ratelimit_reading import (
    budget_of,
    graphql_limit_delay,
    limit_delay,
    read_rate_limit,
)
from prwatch.github.responses import (
    ApiResponse,
    GraphQLResponse,
    graphql_cost_of,
    read_graphql_body,
)
from prwatch.github.stats import CONNECTION_ERROR, TIMEOUT, RequestStats
from prwatch.github.urls import graphql_url_for, links_of, resolve_url, route_label

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.github.com"
API_VERSION = "2022-11-28"
REDIRECT_STATUSES = frozenset({301, 302, 307, 308})
GRAPHQL_ROUTE = "POST /graphql"
GRAPHQL_POINTS_KEY = "graphql-points"
GRAPHQL_TIME_KEY = "graphql-time"
GRAPHQL_TIME_UNIT_SECONDS = 0.1  # the GraphQL time window counts tenths of a second


@dataclass(frozen=True, slots=True)
class _Authorization:
    header: str = field(repr=False)
    fingerprint: str | None
    reject: Callable[[], None] = field(repr=False)  # after a 401: forget this credential


@dataclass(frozen=True, slots=True)
class _BudgetRule:
    installation_id: int
    resource: str  # "core" | "graphql"
    spend_reserve: bool


@dataclass(frozen=True, slots=True)
class ResponseSeen:
    """One answer the request loop saw, for an observer (metrics): whether it answered a
    conditional request, and the installation's rate-limit points left if GitHub said."""

    route: str
    status: int
    conditional: bool
    installation_id: int | None = None
    resource: str | None = None
    remaining: int | None = None


class GitHubClient:
    """GitHub's REST and GraphQL APIs as a GitHub App. Use ``async with`` or call ``aclose``."""

    def __init__(
        self,
        credentials: AppCredentials,
        *,
        base_url: str = DEFAULT_BASE_URL,
        graphql_url: str | None = None,
        limits: ClientLimits | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        jitter: Callable[[], float] = random.random,
        user_agent: str = "prwatch",
        shared_tokens: TokenSharing | None = None,
    ) -> None:
        """``clock`` is wall time (token expiry, rate-limit resets); ``monotonic`` times the
        sliding windows; ``sleep`` waits out backoffs and rate limits; ``jitter`` returns a
        number in [0, 1). Tests pass fakes; ``transport`` points the client at a fake or the
        simulator. ``shared_tokens`` shares installation tokens with the App's other processes.
        ``graphql_url`` defaults to the endpoint that belongs to ``base_url`` (see
        ``graphql_url_for``: GitHub Enterprise Server's is not under ``/api/v3``)."""
        for name, url in (("base_url", base_url), ("graphql_url", graphql_url)):
            if url is not None and not url.startswith(("http://", "https://")):
                raise ValueError(f"{name} must be an http(s) URL, got {url!r}")
        self.limits = limits or ClientLimits()
        self.stats = RequestStats()
        self.on_response: Callable[[ResponseSeen], None] | None = None  # e.g. metrics
        self._base = httpx.URL(base_url.rstrip("/") + "/")
        self._graphql_url = httpx.URL(graphql_url or graphql_url_for(base_url))
        self._clock = clock
        self._sleep = sleep
        self._jitter = jitter
        self._jwt = AppJwtIssuer(credentials, clock=clock)
        self._tokens = InstallationTokenCache(
            self._fetch_token,
            refresh_margin_seconds=self.limits.token_refresh_margin_seconds,
            clock=clock,
            shared=shared_tokens,
        )
        # A no-op ``sleep`` (tests skipping backoffs) against the real monotonic clock would make
        # a limiter spin: limiters use the injected sleep only with an injected clock.
        window_sleep = sleep if monotonic is not time.monotonic else asyncio.sleep
        self._budgets = BudgetBook()
        self._in_flight = asyncio.Semaphore(self.limits.max_concurrency)
        self._graphql_in_flight = InFlightGate(self._graphql_concurrency)
        # The quickest REST answer seen: the network's share of an answer time (a REST answer
        # carries little server time), left out of what a GraphQL query is charged.
        self._round_trip: float | None = None
        self._routes = SlidingWindowLimiter(
            self.limits.route_limit,
            self.limits.route_window_seconds,
            clock=monotonic,
            sleep=window_sleep,
        )
        self._graphql_points = SlidingWindowLimiter(
            self.limits.graphql_points_per_minute, 60.0, clock=monotonic, sleep=window_sleep
        )
        self._graphql_time = SlidingWindowLimiter(
            max(1, int(self.limits.graphql_seconds_per_minute / GRAPHQL_TIME_UNIT_SECONDS)),
            60.0,
            clock=monotonic,
            sleep=window_sleep,
        )
        self._monotonic = monotonic
        pool = self.limits.max_concurrency
        self._http = httpx.AsyncClient(
            transport=transport,
            follow_redirects=False,  # redirects are followed here, once, and reported
            timeout=httpx.Timeout(self.limits.request_timeout_seconds),
            limits=httpx.Limits(max_connections=pool, max_keepalive_connections=pool),
            headers={
                "Accept": "application/vnd.github+json",
                "User-Agent": user_agent,
                "X-GitHub-Api-Version": API_VERSION,
            },
        )

    def __repr__(self) -> str:
        return f"GitHubClient(base_url={str(self._base)!r})"

    @property
    def graphql_url(self) -> str:
        return str(self._graphql_url)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- what callers use -------------------------------------------------------------------

    def remaining(self, installation_id: int, resource: str = "core") -> int | None:
        """Points left for the installation as GitHub last reported them (None: never seen)."""
        return self._budgets.remaining(installation_id, resource, now=self._clock())

    def token_fingerprint(self, installation_id: int) -> str | None:
        """Fingerprint of the installation's current token (None: none held), to key ETags."""
        return self._tokens.fingerprint(installation_id)

    async def get(
        self,
        path_or_url: str,
        *,
        installation_id: int,
        route: str,
        params: Params = None,
        etag: str | None = None,
        spend_reserve: bool = False,
    ) -> ApiResponse:
        """GET with the installation's token. ``spend_reserve`` is for webhook-driven traffic."""
        url = self._resolve(path_or_url)
        raw, auth, redirected_from = await self._request(
            "GET",
            url,
            route=route,
            params=params,
            etag=etag,
            authorize=self._installation_authorizer(installation_id),
            budget=_BudgetRule(installation_id, "core", spend_reserve),
        )
        return self._response(raw, auth, redirected_from)

    async def graphql(
        self,
        query: str,
        *,
        installation_id: int,
        variables: Mapping[str, Any] | None = None,
        spend_reserve: bool = False,
    ) -> GraphQLResponse:
        """POST to the GraphQL endpoint. Ask for ``rateLimit { cost }`` to have the cost
        accounted.

        GraphQL answers its rate limits with HTTP 200 as well: an error of type RATE_LIMITED
        or RATE_LIMIT (primary), or one saying "secondary rate limit". Like a REST limit,
        that is waited out once, bounded by ``max_wait_seconds``, and the query re-sent;
        else ``RateLimited``.
        https://docs.github.com/en/graphql/overview/rate-limits-and-query-limits-for-the-graphql-api
        """
        waited = False
        while True:
            async with self._graphql_in_flight:
                # One unit up front; the exchange charges the rest of its server time.
                await self._graphql_time.acquire(GRAPHQL_TIME_KEY)
                raw, auth, _ = await self._request(
                    "POST",
                    self._graphql_url,
                    route=GRAPHQL_ROUTE,
                    json_body={"query": query, "variables": dict(variables or {})},
                    authorize=self._installation_authorizer(installation_id),
                    budget=_BudgetRule(installation_id, "graphql", spend_reserve),
                    window=(self._graphql_points, GRAPHQL_POINTS_KEY),
                    attempts=1,
                )
            response = self._response(raw, auth, None)
            if response.status != 200:
                raise UnexpectedResponse(
                    f"{GRAPHQL_ROUTE} answered {response.status}: {response.message()}"
                )
            data_json, errors = read_graphql_body(response, GRAPHQL_ROUTE)
            kind = graphql_limit_kind(errors)
            if kind is LimitKind.NOT_LIMITED:
                break
            delay = graphql_limit_delay(
                kind, response.rate_limit, response.headers, self._clock(), int(waited)
            )
            if waited or delay > self.limits.max_wait_seconds:
                raise RateLimited(delay, kind, resource="graphql")
            waited = True
            log.warning(
                "github rate limit wait",
                extra={"route": GRAPHQL_ROUTE, "status": 200, "kind": kind.value, "wait": delay},
            )
            await self._sleep(delay)
        cost = graphql_cost_of(data_json)
        # The secondary limit counts a query as 1 point, its primary cost aside; that point
        # was reserved up front.
        self.stats.record_points("graphql", cost)
        return GraphQLResponse(
            data_json=data_json,
            errors=errors,
            rate_limit=response.rate_limit,
            cost=cost,
            token_fingerprint=auth.fingerprint,
        )

    async def app_get(
        self, path_or_url: str, params: Params = None, *, route: str | None = None
    ) -> ApiResponse:
        """GET with the App JWT (``/app/installations``, ``/app/hook/deliveries``…)."""
        url = self._resolve(path_or_url)
        raw, auth, redirected_from = await self._request(
            "GET",
            url,
            route=route or route_label("GET", url.path),
            params=params,
            authorize=self._app_authorizer,
        )
        return self._response(raw, auth, redirected_from)

    async def app_post(
        self, path: str, json_body: Any = None, *, route: str | None = None
    ) -> ApiResponse:
        """POST with the App JWT (``/app/hook/deliveries/{id}/attempts``…)."""
        url = self._resolve(path)
        raw, auth, _ = await self._request(
            "POST",
            url,
            route=route or route_label("POST", url.path),
            json_body=json_body,
            authorize=self._app_authorizer,
        )
        return self._response(raw, auth, None)

    # -- authorization ----------------------------------------------------------------------

    async def _app_authorizer(self) -> _Authorization:
        return _Authorization(f"Bearer {self._jwt.current()}", None, self._jwt.invalidate)

    def _installation_authorizer(
        self, installation_id: int
    ) -> Callable[[], Awaitable[_Authorization]]:
        async def authorize() -> _Authorization:
            token = await self._tokens.get(installation_id)
            return _Authorization(
                f"token {token.token}", token.fingerprint, lambda: self._tokens.invalidate(token)
            )

        return authorize

    async def _fetch_token(self, installation_id: int) -> InstallationToken:
        response = await self.app_post(
            f"/app/installations/{installation_id}/access_tokens",
            route="POST /app/installations/{installation_id}/access_tokens",
        )
        if response.status in (403, 404, 422):
            self._tokens.forget(installation_id)
            raise InstallationUnavailable(installation_id, response.status, response.message())
        if response.status != 201:
            raise UnexpectedResponse(
                f"installation {installation_id}: token request answered {response.status}"
            )
        try:
            return parse_token_response(installation_id, response.json())
        except ValueError as error:
            raise UnexpectedResponse(f"installation {installation_id}: {error}") from None

    # -- the request loop -------------------------------------------------------------------

    async def _request(
        self,
        method: str,
        url: httpx.URL,
        *,
        route: str,
        authorize: Callable[[], Awaitable[_Authorization]],
        params: Params = None,
        json_body: Any = None,
        etag: str | None = None,
        budget: _BudgetRule | None = None,
        window: tuple[SlidingWindowLimiter, str] | None = None,
        attempts: int | None = None,
    ) -> tuple[httpx.Response, _Authorization, str | None]:
        """Send until an answer the caller should see: one re-authorization after a 401, one
        bounded rate-limit wait, one redirect (GET only)."""
        if params:
            url = url.copy_merge_params(dict(params))
        redirected_from: str | None = None
        reauthorized = waited = False
        while True:
            if budget is not None:
                await self._respect_budget(budget)
            auth = await authorize()
            headers = {"Authorization": auth.header}
            if etag is not None and self.limits.conditional_requests:
                headers["If-None-Match"] = etag
            raw = await self._exchange(
                method,
                url,
                route=route,
                headers=headers,
                json_body=json_body,
                window=window or (self._routes, route),
                charge_core_point=budget is not None and budget.resource == "core",
                attempts=attempts,
            )
            rate = read_rate_limit(raw.headers)
            if budget is not None and rate is not None:
                resource = raw.headers.get("x-ratelimit-resource") or budget.resource
                self._budgets.record(budget.installation_id, resource, budget_of(rate))
            status = raw.status_code
            if self.on_response is not None:
                self.on_response(_seen(route, status, "If-None-Match" in headers, budget, rate))
            if status == 401:
                if reauthorized:
                    raise AuthenticationFailed(
                        f"{route}: GitHub rejected a freshly issued credential (401)"
                    )
                log.info("github credential rejected, renewing", extra={"route": route})
                auth.reject()
                reauthorized = True
                continue
            if status in (403, 429):
                verdict = limit_delay(status, raw.headers, raw.content, self._clock(), int(waited))
                if verdict is not None:
                    kind, delay = verdict
                    if waited or delay > self.limits.max_wait_seconds:
                        resource = budget.resource if budget is not None else None
                        raise RateLimited(delay, kind, resource=resource)
                    waited = True
                    log.warning(
                        "github rate limit wait",
                        extra={"route": route, "status": status, "kind": kind.value, "wait": delay},
                    )
                    await self._sleep(delay)
                    continue
            if status in REDIRECT_STATUSES and method == "GET" and redirected_from is None:
                location = raw.headers.get("location")
                if not location:
                    raise UnexpectedResponse(f"{route}: {status} without a Location header")
                redirected_from = str(url)
                url = self._resolve(str(url.join(location)), what="redirect Location")
                continue
            return raw, auth, redirected_from

    async def _respect_budget(self, rule: _BudgetRule) -> None:
        budget = self._budgets.get(rule.installation_id, rule.resource)
        now = self._clock()
        if budget is None or now >= budget.reset_at:
            return
        reserve = self.limits.reserve_points
        if not rule.spend_reserve and reserve > 0 and budget.remaining <= reserve:
            raise BudgetReserved(
                rule.installation_id, rule.resource, budget.remaining, budget.reset_at - now
            )
        if budget.remaining == 0:
            # Known to be exhausted: a request would only earn another 403.
            wait = budget.reset_at - now
            if wait > self.limits.max_wait_seconds:
                raise RateLimited(wait, LimitKind.PRIMARY, resource=rule.resource)
            await self._sleep(wait)

    async def _exchange(
        self,
        method: str,
        url: httpx.URL,
        *,
        route: str,
        headers: dict[str, str],
        json_body: Any,
        window: tuple[SlidingWindowLimiter, str],
        charge_core_point: bool,
        attempts: int | None = None,
    ) -> httpx.Response:
        """One request with retries for 5xx answers and connection errors (``attempts``, by
        default ``max_attempts``, in all)."""
        limiter, key = window
        attempts = attempts or self.limits.max_attempts
        for attempt in range(1, attempts + 1):
            await limiter.acquire(key)  # before taking a concurrency slot: waiting holds none
            async with self._in_flight:
                started = self._monotonic()
                try:
                    async with asyncio.timeout(self.limits.request_timeout_seconds):
                        raw = await self._http.request(
                            method,
                            url,
                            json=json_body,
                            headers=headers,
                        )
                    _release_stream(raw)
                    failure: str | None = None
                except (TimeoutError, httpx.TimeoutException):
                    failure = TIMEOUT
                except httpx.TransportError:
                    failure = CONNECTION_ERROR
                self._observe_answer_time(route, self._monotonic() - started, failure is None)
            if failure is None:
                self.stats.record_request(route, raw.status_code)
                # Installation budgets only: GraphQL points are charged by graphql() from the
                # reported cost; App-JWT requests draw on the App's own budget.
                if raw.status_code != 304 and charge_core_point:
                    self.stats.record_points(raw.headers.get("x-ratelimit-resource") or "core", 1)
                if raw.status_code < 500:
                    return raw
                failure = str(raw.status_code)
            else:
                self.stats.record_request(route, failure)
            if attempt < attempts:
                delay = self.limits.backoff_delay(attempt, self._jitter())
                log.info(
                    "github request retry",
                    extra={"route": route, "outcome": failure, "attempt": attempt, "wait": delay},
                )
                await self._sleep(delay)
        raise GitHubUnavailable(f"{route}: {failure} on each of {attempts} attempts")

    def _graphql_concurrency(self) -> int:
        """How many GraphQL queries may be in flight: fewer once the minute's time budget is
        a quarter spent (see ``ClientLimits.graphql_busy_concurrency``)."""
        limits = self.limits
        if self._graphql_time.used(GRAPHQL_TIME_KEY) * 4 > self._graphql_time.limit:
            return min(limits.graphql_busy_concurrency, limits.graphql_max_concurrency)
        return limits.graphql_max_concurrency

    def _observe_answer_time(self, route: str, seconds: float, answered: bool) -> None:
        """Charge a GraphQL query's server time (its answer time less the round trip; a query
        cut by the timeout too); learn the round trip from REST answers."""
        if route == GRAPHQL_ROUTE:
            server = max(0.0, seconds - (self._round_trip or 0.0))
            units = int(server / GRAPHQL_TIME_UNIT_SECONDS) - 1  # one was taken up front
            self._graphql_time.add(GRAPHQL_TIME_KEY, units)
        elif answered and (self._round_trip is None or seconds < self._round_trip):
            self._round_trip = seconds

    # -- helpers ----------------------------------------------------------------------------

    def _resolve(self, path_or_url: str, *, what: str = "URL") -> httpx.URL:
        return resolve_url(self._base, path_or_url, what=what)

    def _response(
        self, raw: httpx.Response, auth: _Authorization, redirected_from: str | None
    ) -> ApiResponse:
        return ApiResponse(
            status=raw.status_code,
            headers=raw.headers,
            body=raw.content,
            etag=raw.headers.get("etag"),
            rate_limit=read_rate_limit(raw.headers),
            url=str(raw.request.url),
            links=links_of(raw),
            redirected_from=redirected_from,
            token_fingerprint=auth.fingerprint,
        )


def _seen(
    route: str, status: int, conditional: bool, budget: _BudgetRule | None, rate: RateLimit | None
) -> ResponseSeen:
    if budget is None or rate is None:
        return ResponseSeen(route, status, conditional)
    return ResponseSeen(
        route, status, conditional, budget.installation_id, rate.resource, rate.remaining
    )


def _implements_port(client: GitHubClient) -> GitHubApi:
    return client  # mypy checks that GitHubClient satisfies the port


def _release_stream(response: httpx.Response) -> None:
    """Break the response ↔ stream reference cycle once the body is read.

    httpx binds each response's stream back to the response, so a dropped response (and its
    body: 1.5 MB for a page of PRs) waits for the cycle collector instead of going at once;
    a sweep with many repositories in flight held dozens of pages that way.
    """
    response.stream = httpx.ByteStream(b"")
