"""What every simulated REST request goes through, in GitHub's order: limits, auth,
repository resolution (301/404), faults, conditional requests (ETag → 304), rate-limit
headers, latency, statistics.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from prwatch.sim.auth import AuthError, verify_app_jwt
from prwatch.sim.entities import Repository
from prwatch.sim.events import NotFoundError
from prwatch.sim.limits import APP_SUBJECT, installation_subject
from prwatch.sim.permissions import FORBIDDEN_MESSAGE, grants
from prwatch.sim.render import dumps

if TYPE_CHECKING:
    from prwatch.sim.app import Simulator

DOCS = "https://docs.github.com/rest"
JSON = "application/json; charset=utf-8"
Auth = Literal["jwt", "token", "any", "none"]


@dataclass(slots=True)
class Reply:
    status: int
    body: str | bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Cacheable:
    """A resource whose version is known without rendering it: ETag first, body only if needed."""

    version: str
    render: Callable[[], Reply]


@dataclass(slots=True)
class Call:
    request: Request
    sim: Simulator
    route: str
    subject: str
    credential: str
    installation_id: int | None
    repo: Repository | None = None


Handler = Callable[[Call], Awaitable[Reply | Cacheable]]


def error(status: int, message: str, **headers: str) -> Reply:
    return Reply(status, dumps({"message": message, "documentation_url": DOCS}), dict(headers))


def not_found() -> Reply:
    return error(404, "Not Found")


class ConnectionDroppedError(ConnectionError):
    """Raised mid-response to simulate a dropped connection."""


class _DroppedResponse(Response):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        await send({"type": "http.response.body", "body": self.body[:10], "more_body": True})
        raise ConnectionDroppedError("connection dropped by fault injection")


def endpoint(
    sim: Simulator,
    route: str,
    auth: Auth,
    handler: Handler,
    *,
    repo_scoped: bool = False,
    free: bool = False,
    permission: str | None = None,
) -> Callable[[Request], Awaitable[Response]]:
    """``permission``: what an installation token needs granted (read) to use the route."""

    async def serve(request: Request) -> Response:
        sim.secondary.in_flight += 1
        try:
            reply = await _handle(sim, request, route, auth, handler, repo_scoped, free, permission)
        finally:
            sim.secondary.in_flight -= 1
        if isinstance(reply, Response):
            sim.stats.count(route, "dropped")
            return reply
        status = reply.status
        sim.stats.count(route, "5xx" if status >= 500 else str(status))
        body = reply.body.encode() if isinstance(reply.body, str) else reply.body
        config = sim.config
        delay_ms = config.latency_ms + config.latency_ms_per_kb * len(body) / 1024
        if delay_ms > 0:
            await asyncio.sleep(delay_ms / 1000)
        media = JSON if body else None
        return Response(body, status, headers=reply.headers, media_type=media)

    return serve


async def _handle(
    sim: Simulator,
    request: Request,
    route: str,
    auth: Auth,
    handler: Handler,
    repo_scoped: bool,
    free: bool,
    permission: str | None = None,
) -> Reply | Response:
    config = sim.config
    now = sim.clock.now()
    if config.secondary_limits and sim.secondary.in_flight > config.max_concurrent:
        return _secondary(60)
    call_or_reply = _authenticate(sim, request, route, auth, now)
    if isinstance(call_or_reply, Reply):
        return call_or_reply
    call = call_or_reply
    resource = "core"
    budget = sim.limiter.status(call.subject, resource, now)
    if repo_scoped:
        resolved = _resolve_repository(call)
        if isinstance(resolved, Reply):
            resolved.headers.update(budget.headers(resource))
            return resolved
        call.repo = resolved
    if permission is not None and call.installation_id is not None:
        inst = sim.world.installations[call.installation_id]
        if not grants(sim.world.installation_permissions(inst), permission):
            refused = error(403, FORBIDDEN_MESSAGE)
            refused.headers.update(budget.headers(resource))
            return refused
    fault = _fault(sim, call.repo)
    if fault is not None:
        return fault
    delay = _slow(sim, call.repo)
    if delay:
        await asyncio.sleep(delay)
    outcome = await handler(call)
    cacheable = isinstance(outcome, Cacheable)
    etag = _etag(call, outcome.version) if isinstance(outcome, Cacheable) else None
    matched = etag is not None and etag in _if_none_match(request)
    if config.secondary_limits and (not matched or config.secondary_counts_304):
        wait = sim.secondary.hit(call.subject, route, now, config.per_route_per_minute)
        if wait is not None:
            return _secondary(wait)
    if matched:
        assert etag is not None
        headers = {"ETag": etag, **budget.headers(resource)}
        return Reply(304, b"", headers)  # an authorised 304 costs nothing
    if not free and auth != "none":
        if not sim.limiter.charge(call.subject, resource, 1, now):
            reply = error(
                config.rate_limit_status,
                f"API rate limit exceeded for installation ID {call.installation_id}. "
                "If you reach out to GitHub Support for help, please include the request ID.",
            )
            reply.headers.update(budget.headers(resource))
            reply.headers["x-ratelimit-remaining"] = "0"
            return reply
        sim.stats.spend(resource, 1)
    reply = outcome.render() if isinstance(outcome, Cacheable) else outcome
    if cacheable and etag is not None and reply.status == 200:
        reply.headers["ETag"] = etag
        reply.headers["Vary"] = "Accept, Authorization, Cookie, X-GitHub-OTP"
    if auth != "none":
        for name, value in budget.headers(resource).items():
            reply.headers.setdefault(name, value)
    return reply


def _secondary(wait: int) -> Reply:
    return error(
        403,
        "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
        **{"retry-after": str(wait)},
    )


def _credential(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() in ("token", "bearer") and value.strip():
        return value.strip()
    return None


def _authenticate(
    sim: Simulator, request: Request, route: str, auth: Auth, now: int
) -> Call | Reply:
    if auth == "none":
        return Call(request, sim, route, "anonymous", "", None)
    credential = _credential(request)
    if credential is None:
        return error(401, "Requires authentication")
    if credential.count(".") == 2 and auth in ("jwt", "any"):
        try:
            verify_app_jwt(
                credential,
                sim.public_key_pem,
                app_id=sim.config.app_id,
                client_id=sim.client_id,
                now=now,
            )
        except AuthError as failure:
            return error(401, str(failure))
        return Call(request, sim, route, APP_SUBJECT, credential, None)
    if auth == "jwt":
        return error(401, "A JSON web token could not be decoded")
    token = sim.tokens.lookup(credential, now)
    if token is None:
        return error(401, "Bad credentials")
    installation = sim.world.installations.get(token.installation_id)
    if installation is None or installation.deleted:
        return error(401, "Bad credentials")
    if installation.suspended:
        return error(403, "This installation has been suspended")
    subject = installation_subject(token.installation_id)
    return Call(request, sim, route, subject, credential, token.installation_id)


def _resolve_repository(call: Call) -> Repository | Reply:
    world = call.sim.world
    params = call.request.path_params
    try:
        if "repository_id" in params:
            repo = world.repository(int(params["repository_id"]))
        else:
            owner, name = params["owner"], params["repo"]
            try:
                repo = world.repository_by_name(owner, name)
            except NotFoundError:
                moved = world.moved_repository_id(owner, name)
                if moved is None or moved not in world.repositories:
                    raise
                return _moved(call, owner, name, moved)
    except NotFoundError:
        return not_found()
    if repo.installation_id is None or repo.installation_id != call.installation_id:
        return not_found()
    return repo


def _moved(call: Call, owner: str, name: str, repository_id: int) -> Reply:
    request = call.request
    # The mount REST answers under: /api/v3 on GitHub Enterprise Server's layout, else "".
    scope = request.scope
    prefix = scope.get("root_path", "").removeprefix(scope.get("app_root_path", ""))
    path = request.url.path
    suffix = path[len(f"{prefix}/repos/{owner}/{name}") :]
    location = f"{base_url(request)}{prefix}/repositories/{repository_id}{suffix}"
    if request.url.query:
        location += f"?{request.url.query}"
    reply = error(301, "Moved Permanently")
    reply.body = dumps({"message": "Moved Permanently", "url": location, "documentation_url": DOCS})
    reply.headers["Location"] = location
    return reply


def _fault(sim: Simulator, repo: Repository | None) -> Reply | Response | None:
    config = sim.config
    if config.fault_repositories is not None and (
        repo is None or repo.id not in config.fault_repositories
    ):
        return None
    rng = sim.fault_rng
    if config.fault_5xx_rate and rng.random() < config.fault_5xx_rate:
        status = rng.choice((502, 503))
        return error(status, "Server Error" if status == 502 else "Service Unavailable")
    if config.fault_drop_rate and rng.random() < config.fault_drop_rate:
        return _DroppedResponse(b"{" + b" " * 100 + b"}", 200, media_type=JSON)
    return None


def _slow(sim: Simulator, repo: Repository | None) -> float:
    """Extra seconds of delay for a request picked by the slow-response fault."""
    config = sim.config
    if not config.fault_slow_rate:
        return 0.0
    if config.fault_repositories is not None and (
        repo is None or repo.id not in config.fault_repositories
    ):
        return 0.0
    return config.fault_slow_ms / 1000 if sim.fault_rng.random() < config.fault_slow_rate else 0.0


def _etag(call: Call, version: str) -> str:
    request = call.request
    accept = request.headers.get("accept", "")
    raw = f"{call.credential}\n{version}\n{request.url.query}\n{accept}"
    return 'W/"' + hashlib.sha256(raw.encode()).hexdigest()[:40] + '"'


def _if_none_match(request: Request) -> set[str]:
    header = request.headers.get("if-none-match")
    if not header:
        return set()
    return {part.strip() for part in header.split(",")}


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def page_links(request: Request, page: int, per_page: int, total: int) -> dict[str, str]:
    """GitHub's `Link` header with absolute URLs; none when everything fits one page."""
    last = max(1, -(-total // per_page))
    if last == 1 and page == 1:
        return {}

    def url(target: int) -> str:
        query: dict[str, Any] = dict(request.query_params)
        query["per_page"] = per_page
        query["page"] = target
        return f"{base_url(request)}{request.url.path}?{urlencode(query)}"

    links = []
    if page < last:
        links.append(f'<{url(page + 1)}>; rel="next"')
        links.append(f'<{url(last)}>; rel="last"')
    if page > 1:
        links.append(f'<{url(1)}>; rel="first"')
        links.append(f'<{url(min(page - 1, last))}>; rel="prev"')
    return {"Link": ", ".join(links)} if links else {}


def paging(request: Request, default: int = 30) -> tuple[int, int]:
    """(page, per_page) from the query: per_page capped at 100 as GitHub does."""
    try:
        per_page = int(request.query_params.get("per_page", default))
        page = int(request.query_params.get("page", 1))
    except ValueError as failure:
        raise ValueError("per_page and page must be integers") from failure
    return max(1, page), min(100, max(1, per_page))
