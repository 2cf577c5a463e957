"""Every request but the few GitHub and probes must reach carries a credential.

``Authorization: Bearer <API token>`` works everywhere; a signed-in person's session cookie
works on pages and the API. Without a credential, ``/api/*``, ``/metrics`` and ``/readyz``'s
details answer 401 JSON with ``WWW-Authenticate: Bearer`` (RFC 6750), pages redirect (303) to
``/login``. The caller and what it may see go to ``request.state`` (``prwatch.web.access``).

A plain ASGI middleware (not ``BaseHTTPMiddleware``), so that streamed answers pass untouched.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from asyncio import FIRST_COMPLETED
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from enum import Enum

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from prwatch.access.caller import Caller, CallerKind
from prwatch.access.tokens import is_well_formed, token_hash
from prwatch.context import ProcessContext
from prwatch.domain.visibility import EVERYTHING, NOTHING, Visibility
from prwatch.store import RetryableStoreError, StoreError
from prwatch.web.api_errors import api_error_response
from prwatch.web.sessions import SESSION_COOKIE, SessionReader, clear_session_cookie
from prwatch.web.webhooks import request_context

log = logging.getLogger(__name__)

# How stale a token's "last used" may get: one write a minute per token at most, not one a request.
LAST_USED_RESOLUTION = timedelta(seconds=60)
LOGIN_PATH = "/login"
# How often an answer still running (a stream) checks that its credential still holds.
RECHECK_SECONDS = 5.0


class Rule(Enum):
    PUBLIC = "public"  # no credential looked at: the webhook, liveness, the sign-in flow, assets
    PROBE = "probe"  # readiness: anyone gets {"ready": …}, operators get the details
    OPERATOR = "operator"  # metrics: an unscoped API token
    API = "api"  # JSON read routes
    PAGE = "page"  # pages and fragments


PUBLIC_PATHS = frozenset({"/webhooks", "/healthz", LOGIN_PATH, "/login/callback", "/logout"})
PUBLIC_PREFIXES = ("/static/",)


def rule_for(path: str) -> Rule:
    if path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES):
        return Rule.PUBLIC
    if path == "/readyz":
        return Rule.PROBE
    if path == "/metrics":
        return Rule.OPERATOR
    if path == "/api" or path.startswith("/api/"):
        return Rule.API
    return Rule.PAGE


def unauthorized(message: str, *, error: str | None = None) -> JSONResponse:
    challenge = "Bearer" if error is None else f'Bearer error="{error}"'
    return api_error_response(401, message, headers={"WWW-Authenticate": challenge})


class AccessControl:
    def __init__(
        self,
        app: ASGIApp,
        *,
        public_read: bool = False,
        sessions: Callable[[ProcessContext], SessionReader | None] | None = None,
    ) -> None:
        self.app = app
        self.public_read = public_read
        self.sessions = sessions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        rule = rule_for(scope["path"])
        if rule is Rule.PUBLIC:
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        try:
            outcome = await self._authenticate(request, rule)
        except StoreError as problem:
            if rule is Rule.PROBE:  # readiness answers (not ready) even without a database
                outcome = Caller(CallerKind.ANONYMOUS, "", NOTHING)
            elif isinstance(problem, RetryableStoreError):
                outcome = api_error_response(503, "database unavailable")
            else:
                raise
        if isinstance(outcome, Response):
            await outcome(scope, receive, send)
            return
        if rule is Rule.OPERATOR and not outcome.operator:
            await api_error_response(404, "not found")(scope, receive, send)
            return
        scope.setdefault("state", {})
        scope["state"]["caller"] = outcome
        scope["state"]["visibility"] = outcome.visibility
        if not outcome.authenticated:
            await self.app(scope, receive, send)
            return
        await self._serve_while_valid(scope, receive, send, request, rule, outcome)

    async def _serve_while_valid(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        request: Request,
        rule: Rule,
        caller: Caller,
    ) -> None:
        """Serve, and end an answer still running (a stream) once its credential stops being
        what it was: revoked, expired, signed out, or seeing something else now. The answer is
        closed properly (its last chunk sent), and nothing more of it goes out."""
        lock = asyncio.Lock()
        progress = {"started": False, "complete": False, "ended": False}

        async def guarded_send(message: Message) -> None:
            async with lock:
                if progress["ended"]:
                    return
                if message["type"] == "http.response.start":
                    progress["started"] = True
                elif message["type"] == "http.response.body" and not message.get("more_body"):
                    progress["complete"] = True
                await send(message)

        serving = asyncio.ensure_future(self.app(scope, receive, guarded_send))
        watching = asyncio.ensure_future(self._watch(request, rule, caller))
        try:
            done, _ = await asyncio.wait({serving, watching}, return_when=FIRST_COMPLETED)
            if watching in done and serving not in done:
                async with lock:
                    progress["ended"] = True
                    if progress["started"] and not progress["complete"]:
                        await send({"type": "http.response.body", "body": b"", "more_body": False})
                    elif not progress["started"]:
                        await unauthorized("the credential ended", error="invalid_token")(
                            scope, receive, send
                        )
        finally:
            watching.cancel()
            if not serving.done():
                serving.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watching
            with contextlib.suppress(asyncio.CancelledError):
                await serving  # re-raises what the app raised

    async def _watch(self, request: Request, rule: Rule, caller: Caller) -> None:
        """Returns when the request's credential no longer yields ``caller``."""
        while True:
            await asyncio.sleep(RECHECK_SECONDS)
            try:
                again = await self._authenticate(request, rule)
            except StoreError:
                continue  # the database is away: the next check decides
            if again != caller:
                log.info("credential ended during an answer", extra={"caller": caller.name})
                return

    async def _authenticate(self, request: Request, rule: Rule) -> Caller | Response:
        context = request_context(request)
        authorization = request.headers.get("authorization")
        if authorization is not None:
            return await self._bearer(context, authorization)
        cookie = request.cookies.get(SESSION_COOKIE)
        stale_cookie = False
        if cookie is not None:
            reader = self._session_reader(request, context)
            found = await reader.caller(cookie) if reader is not None else None
            if found is not None:
                return found
            stale_cookie = True  # tampered, expired or signed out: as if there were none
        if rule is Rule.PROBE:
            return Caller(CallerKind.ANONYMOUS, "", NOTHING)
        if self.public_read and rule in (Rule.API, Rule.PAGE):
            async with context.store.transaction(read_only=True) as tx:
                public = await tx.public_repository_ids()
            return Caller(CallerKind.ANONYMOUS, "", Visibility(None, public))
        response: Response
        if rule is Rule.PAGE:
            response = RedirectResponse(LOGIN_PATH, status_code=303)
        else:
            response = unauthorized("authentication required")
        if stale_cookie:
            clear_session_cookie(response, request)
        return response

    def _session_reader(self, request: Request, context: ProcessContext) -> SessionReader | None:
        """One reader per app, made on first use (the context exists only once the app runs)."""
        state = request.app.state
        reader = getattr(state, "session_reader", None)
        if isinstance(reader, SessionReader) or self.sessions is None:
            return reader
        reader = self.sessions(context)
        state.session_reader = reader
        return reader

    async def _bearer(self, context: ProcessContext, authorization: str) -> Caller | Response:
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return unauthorized(
                "the Authorization header must be 'Bearer <token>'", error="invalid_request"
            )
        if not is_well_formed(token):
            return unauthorized("invalid token", error="invalid_token")
        async with context.store.transaction(read_only=True) as tx:
            record = await tx.find_api_token(token_hash(token))
        now = datetime.now(UTC)
        if record is None or record.expired(now):
            # Unknown, revoked and expired tokens look alike from outside.
            return unauthorized("invalid token", error="invalid_token")
        if record.last_used_at is None or now - record.last_used_at >= LAST_USED_RESOLUTION:
            await _touch(context, record.id, now)
        scope = record.installation_ids
        return Caller(
            CallerKind.TOKEN, record.name, EVERYTHING if scope is None else Visibility(scope, None)
        )


async def _touch(context: ProcessContext, token_id: int, now: datetime) -> None:
    try:
        async with context.store.transaction() as tx:
            await tx.touch_api_token(token_id, now)
    except StoreError as error:  # bookkeeping only: never fail the request over it
        log.warning("could not record a token's last use", extra={"error": str(error)})
