"""`POST /graphql`: the simulated GitHub GraphQL API, executed with graphql-core.

In GitHub's order: concurrency limit, installation-token auth (401), body and query parsing,
validation and variables (errors in a 200, free), the static cost and node limit (errors in a
200, free), the secondary limits of 2,000 points per minute per installation, where a query
counts 1 point whatever its primary cost, and of 60 s of CPU time per minute (403 with
`retry-after`), the primary `graphql` budget (a 200 with a `RATE_LIMITED` error and no data),
then execution, cut with a 502 past the timeout (see graphql_limits). Every authenticated
answer carries `x-ratelimit-*` headers for the `graphql` resource. Statistics count the
request under `POST /graphql` by HTTP status, except that a primary-limit refusal counts as
`rate_limited`; the points spent go to `stats.points["graphql"]`.

The per-minute points window belongs to each `GraphQLEndpoint` (the shared `SecondaryLimiter`
counts requests, not points); it empties itself a minute after it opened, `reset()` at once.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

from graphql import (
    ExecutionResult,
    FragmentDefinitionNode,
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
    execute,
)
from graphql.execution.collect_fields import collect_fields
from graphql.execution.execute import assume_not_awaitable
from graphql.execution.values import get_argument_values, get_variable_values
from graphql.utilities import get_operation_ast
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from prwatch.sim.auth import TokenStore
from prwatch.sim.clock import Clock
from prwatch.sim.config import SimConfig
from prwatch.sim.graphql_cost import QueryCost, query_cost
from prwatch.sim.graphql_documents import DocumentCache, DocumentEntry
from prwatch.sim.graphql_limits import TIMEOUT_MESSAGE, CpuTimePerMinute, server_seconds
from prwatch.sim.graphql_paging import QueryError
from prwatch.sim.graphql_results import (
    CommitResults,
    ReuseContext,
    ReusingExecutionContext,
    Splices,
)
from prwatch.sim.graphql_schema import RateLimitReport, schema
from prwatch.sim.limits import (
    MINUTE_S,
    Budget,
    RateLimiter,
    SecondaryLimiter,
    Stats,
    installation_subject,
)
from prwatch.sim.render import dumps
from prwatch.sim.world import World

ROUTE = "POST /graphql"
RESOURCE = "graphql"
DOCS = "https://docs.github.com/graphql"
SECONDARY_POINTS_PER_MINUTE = 2_000
JSON = "application/json; charset=utf-8"


class SimulatorLike(Protocol):
    """What the endpoint needs of the simulator (prwatch/sim/app.py's `Simulator`)."""

    @property
    def world(self) -> World: ...
    @property
    def config(self) -> SimConfig: ...
    @property
    def clock(self) -> Clock: ...
    @property
    def limiter(self) -> RateLimiter: ...
    @property
    def secondary(self) -> SecondaryLimiter: ...
    @property
    def stats(self) -> Stats: ...
    @property
    def tokens(self) -> TokenStore: ...


@dataclass(slots=True)
class Answer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    outcome: str | None = None  # the statistics outcome when not just the status
    splices: Splices | None = None  # JSON texts standing in the body as placeholders


class PointsPerMinute:
    """GitHub's secondary GraphQL limit: at most `cap` points per minute per subject."""

    def __init__(self) -> None:
        self._windows: dict[str, tuple[int, int]] = {}  # subject -> (window start, points)

    def wait(self, subject: str, points: int, now: int, cap: int) -> int | None:
        """The seconds to wait when `points` more would pass the cap, else None."""
        start, spent = self._current(subject, now)
        return max(1, start + MINUTE_S - now) if spent + points > cap else None

    def record(self, subject: str, points: int, now: int) -> None:
        start, spent = self._current(subject, now)
        self._windows[subject] = (start, spent + points)

    def _current(self, subject: str, now: int) -> tuple[int, int]:
        start, spent = self._windows.get(subject, (now, 0))
        return (now, 0) if now - start >= MINUTE_S else (start, spent)

    def reset(self) -> None:
        self._windows.clear()


class GraphQLEndpoint:
    def __init__(self, sim: SimulatorLike) -> None:
        self.sim = sim
        self.points_per_minute = PointsPerMinute()
        self.cpu_per_minute = CpuTimePerMinute()
        self.documents = DocumentCache(schema(), github_error)
        self.commit_results = CommitResults()

    def routes(self, path: str = "/graphql") -> list[Route]:
        return [Route(path, self.serve, methods=["POST"])]

    def reset(self) -> None:
        self.points_per_minute.reset()
        self.cpu_per_minute.reset()

    async def serve(self, request: Request) -> Response:
        sim = self.sim
        sim.secondary.in_flight += 1
        try:
            answer = await self.answer(request)
        finally:
            sim.secondary.in_flight -= 1
        sim.stats.count(ROUTE, answer.outcome or str(answer.status))
        text = dumps(answer.body)
        if answer.splices:
            text = answer.splices.apply(text)
        body = text.encode()
        delay_ms = sim.config.latency_ms + sim.config.latency_ms_per_kb * len(body) / 1024
        if delay_ms > 0:
            await asyncio.sleep(delay_ms / 1000)
        return Response(body, answer.status, headers=answer.headers, media_type=JSON)

    async def answer(self, request: Request) -> Answer:
        sim, config = self.sim, self.sim.config
        now = sim.clock.now()
        if config.secondary_limits and sim.secondary.in_flight > config.max_concurrent:
            return _secondary(60, config.graphql_secondary_status)
        installation_id = _authenticate(sim, request, now)
        if isinstance(installation_id, Answer):
            return installation_id
        subject = installation_subject(installation_id)
        sim.limiter.limits.setdefault(RESOURCE, config.graphql_rate_limit)
        budget = sim.limiter.status(subject, RESOURCE, now)
        try:
            payload = json.loads(await request.body())
        except (UnicodeDecodeError, json.JSONDecodeError):
            return Answer(400, _message("Problems parsing JSON"), budget.headers(RESOURCE))
        prepared = _prepare(self.documents, payload)
        if isinstance(prepared, list):
            return Answer(200, {"errors": prepared}, budget.headers(RESOURCE))
        points = prepared.cost.points
        if not prepared.dry_run:
            if config.secondary_limits:
                # A query counts 1 point toward the secondary limit (a mutation would be 5),
                # whatever its primary cost.
                per_minute = SECONDARY_POINTS_PER_MINUTE
                wait = self.points_per_minute.wait(subject, 1, now, per_minute)
                cpu_cap = config.graphql_cpu_seconds_per_minute
                wait = wait or self.cpu_per_minute.wait(subject, now, cpu_cap)
                if wait is not None:
                    return _secondary(wait, config.graphql_secondary_status)
            if not sim.limiter.charge(subject, RESOURCE, points, now):
                message = f"API rate limit exceeded for installation ID {installation_id}."
                errors = [{"type": config.graphql_rate_limit_type, "message": message}]
                return Answer(200, {"errors": errors}, budget.headers(RESOURCE), "rate_limited")
            self.points_per_minute.record(subject, 1, now)
            sim.stats.spend(RESOURCE, points)
        self.commit_results.attach(sim.world)
        context = ReuseContext(
            sim.world,
            installation_id,
            _report(prepared.cost, budget),
            prepared.dry_run,
            sim.world.installation_permissions(sim.world.installations[installation_id]),
            results=self.commit_results,
            fragments=prepared.entry.fragments,
            shapes=prepared.entry.shapes,
        )
        started = time.perf_counter()
        result = execute(
            schema(),
            prepared.entry.document,
            context_value=context,
            variable_values=prepared.variables,
            operation_name=prepared.operation_name,
            execution_context_class=ReusingExecutionContext,
            is_awaitable=assume_not_awaitable,  # every resolver is synchronous
        )
        assert isinstance(result, ExecutionResult), "resolvers are synchronous"
        took = server_seconds(
            time.perf_counter() - started, prepared.cost.nodes, config.graphql_ms_per_node
        )
        self.cpu_per_minute.record(subject, min(took, config.graphql_timeout_s), now)
        if took > config.graphql_timeout_s and not prepared.dry_run:
            errors = [{"message": TIMEOUT_MESSAGE}]
            status = config.graphql_timeout_status
            return Answer(status, {"data": None, "errors": errors}, budget.headers(RESOURCE))
        body = _result_body(result)
        return Answer(200, body, budget.headers(RESOURCE), splices=context.splices)


def graphql_routes(sim: SimulatorLike, path: str = "/graphql") -> list[Route]:
    """The `POST /graphql` route for `sim` (keep a `GraphQLEndpoint` to be able to reset it);
    GitHub Enterprise Server serves it at `/api/graphql`."""
    return GraphQLEndpoint(sim).routes(path)


# ---- request handling -------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PreparedQuery:
    entry: DocumentEntry
    operation_name: str | None
    variables: dict[str, Any]
    cost: QueryCost
    dry_run: bool


def _prepare(documents: DocumentCache, payload: object) -> PreparedQuery | list[dict[str, Any]]:
    """A query ready to charge and run, or the errors that refuse it (free of charge)."""
    if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
        return [{"message": "A query attribute must be specified and must be a string."}]
    variables = payload.get("variables") or {}
    operation_name = payload.get("operationName")
    if not isinstance(variables, dict):
        return [{"message": "Variables are invalid JSON."}]
    if operation_name is not None and not isinstance(operation_name, str):
        return [{"message": "An operationName must be a string."}]
    entry = documents.get(payload["query"])
    if isinstance(entry, list):
        return entry
    document, fragments = entry.document, entry.fragments
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        problem = (
            f"Unknown operation named '{operation_name}'."
            if operation_name
            else "Must provide operation name if query contains multiple operations."
        )
        return [{"message": problem}]
    if operation.operation != OperationType.QUERY:
        return [{"message": f"Schema is not configured for {operation.operation.value}s."}]
    coerced = get_variable_values(schema(), operation.variable_definitions or (), variables)
    if isinstance(coerced, list):
        return [github_error(error) for error in coerced]

    def static(read: Mapping[str, Any]) -> tuple[QueryCost, bool]:
        # `read` stands for the coerced variables (graphql-core only reads them).
        values = cast(dict[str, Any], read)
        cost = query_cost(schema(), operation, fragments, values)
        return cost, _dry_run(operation, fragments, values)

    try:
        cost, dry_run = entry.static(operation, coerced, static)
    except QueryError as refusal:
        return [_refusal(refusal)]
    return PreparedQuery(entry, operation_name, variables, cost, dry_run)


def _dry_run(
    operation: OperationDefinitionNode,
    fragments: dict[str, FragmentDefinitionNode],
    variables: dict[str, Any],
) -> bool:
    built = schema()
    root = built.query_type
    assert root is not None
    fields = collect_fields(built, fragments, variables, root, operation.selection_set)
    for nodes in fields.values():
        if nodes[0].name.value == "rateLimit":
            arguments = get_argument_values(root.fields["rateLimit"], nodes[0], variables)
            if arguments.get("dryRun"):
                return True
    return False


def _report(cost: QueryCost, budget: Budget) -> RateLimitReport:
    return RateLimitReport(
        cost=cost.points,
        node_count=cost.nodes,
        limit=budget.limit,
        remaining=budget.remaining,
        used=budget.used,
        reset_at=budget.reset,
    )


def _authenticate(sim: SimulatorLike, request: Request, now: int) -> int | Answer:
    """The installation id of the request's installation token, or the refusal."""
    scheme, _, credential = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() not in ("token", "bearer") or not credential.strip():
        return Answer(401, _message("This endpoint requires you to be authenticated."))
    token = sim.tokens.lookup(credential.strip(), now)
    installation = sim.world.installations.get(token.installation_id) if token else None
    if token is None or installation is None or installation.deleted:
        return Answer(401, _message("Bad credentials"))
    if installation.suspended:
        return Answer(403, _message("This installation has been suspended"))
    return token.installation_id


# ---- response bodies --------------------------------------------------------------------------
def _message(text: str) -> dict[str, Any]:
    return {"message": text, "documentation_url": DOCS}


def _secondary(wait: int, status: int = 403) -> Answer:
    """403 or 429 like REST; or, as GraphQL answers sometimes have it, a 200 whose `errors`
    carry the message."""
    message = (
        "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
    )
    headers = {"retry-after": str(wait)}
    if status == 200:
        return Answer(200, {"errors": [{"message": message}]}, headers, "secondary_limited")
    return Answer(status, _message(message), headers)


def _refusal(refusal: QueryError) -> dict[str, Any]:
    error: dict[str, Any] = {"message": str(refusal)}
    if refusal.type:
        error = {"type": refusal.type, **error}
    return error


def github_error(error: GraphQLError) -> dict[str, Any]:
    """graphql-core's error as GitHub words it: a top-level `type` when there is one."""
    formatted: dict[str, Any] = dict(error.formatted)
    extensions = dict(formatted.pop("extensions", None) or {})
    shaped: dict[str, Any] = {}
    if "type" in extensions:
        shaped["type"] = extensions.pop("type")
    for key in ("path", "locations"):
        if formatted.get(key) is not None:
            shaped[key] = formatted[key]
    shaped["message"] = formatted["message"]
    if extensions:
        shaped["extensions"] = extensions
    return shaped


def _result_body(result: ExecutionResult) -> dict[str, Any]:
    body: dict[str, Any] = {"data": result.data}
    if result.errors:
        body["errors"] = [github_error(error) for error in result.errors]
    return body
