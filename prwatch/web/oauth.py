"""``/login``, ``/login/callback`` and ``/logout``: Sign in with GitHub for people.

``/login`` hands out a one-time ``state`` (stored hashed, and bound to the browser by a cookie)
and sends the browser to GitHub; the callback checks both, exchanges the code, asks GitHub what
the person may see, and starts a session. Signing out is a form POST with a CSRF token.
"""

from __future__ import annotations

import base64
import html
import logging
import secrets
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

from cryptography.fernet import Fernet, InvalidToken
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from prwatch.access.signing import derive_key
from prwatch.access.tokens import token_hash
from prwatch.config import Settings
from prwatch.github import user_api
from prwatch.store import Store, StoreError
from prwatch.store.access import WebSessionRecord
from prwatch.web.sessions import (
    SESSION_COOKIE,
    SESSION_LIFETIME,
    VISIBILITY_LIMIT,
    Refresh,
    SessionReader,
    clear_session_cookie,
    is_https,
    new_session_id,
    set_session_cookie,
)
from prwatch.web.webhooks import request_context

log = logging.getLogger(__name__)

STATE_COOKIE = "prwatch_oauth_state"
STATE_LIFETIME = timedelta(minutes=10)
CALLBACK_PATH = "/login/callback"


def token_cipher(client_secret: str) -> Fernet:
    """Encrypts the people's GitHub tokens at rest (a key derived from the client secret)."""
    return Fernet(base64.urlsafe_b64encode(derive_key(client_secret, "user tokens")))


def visibility_refresh(settings: Settings, store: Store) -> Refresh:
    """Re-asks GitHub what a session's person may see (``SessionReader`` calls it when due)."""
    assert settings.client_secret is not None
    cipher = token_cipher(settings.client_secret)

    async def refresh(record: WebSessionRecord) -> WebSessionRecord | None:
        try:
            token = cipher.decrypt(record.github_token).decode()
            access = await user_api.user_access(settings.github_api_url, token)
        except (InvalidToken, user_api.UserTokenRejected):
            async with store.transaction() as tx:
                await tx.delete_web_session(record.session_hash)
            log.info("session ended: GitHub refused its token", extra={"user": record.user_login})
            return None
        except user_api.GitHubUnreachable as problem:
            if datetime.now(UTC) - record.visibility_checked_at < VISIBILITY_LIMIT:
                return record  # still within the limit: try again on the next request
            log.warning("session paused: GitHub unreachable", extra={"reason": str(problem)})
            return None
        async with store.transaction() as tx:
            await tx.update_web_session_visibility(
                record.session_hash,
                installation_ids=access.installation_ids,
                repository_ids=access.repository_ids,
            )
        return replace(
            record,
            installation_ids=access.installation_ids,
            repository_ids=access.repository_ids,
            visibility_checked_at=datetime.now(UTC),
        )

    return refresh


def _oauth_settings(request: Request) -> tuple[Settings, str, str] | None:
    settings = request_context(request).settings
    if settings.client_id is None or settings.client_secret is None:
        return None
    return settings, settings.client_id, settings.client_secret


def _page(status: int, title: str, text: str) -> HTMLResponse:
    body = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>prwatch</title>'
        f'<link rel="stylesheet" href="/static/prwatch.css"></head><body><h1>{html.escape(title)}'
        f'</h1><p>{html.escape(text)}</p><p><a href="/login">Sign in with GitHub</a></p>'
        "</body></html>"
    )
    return HTMLResponse(body, status_code=status)


def callback_url(request: Request) -> str:
    return str(request.base_url).rstrip("/") + CALLBACK_PATH


async def login(request: Request) -> Response:
    configured = _oauth_settings(request)
    if configured is None:
        return _page(
            503,
            "Sign in is not configured",
            "Set PRWATCH_CLIENT_ID and PRWATCH_CLIENT_SECRET (prwatch register writes them), "
            "or use an API token.",
        )
    settings, client_id, _ = configured
    state = secrets.token_urlsafe(32)
    async with request_context(request).store.transaction() as tx:
        await tx.put_oauth_state(token_hash(state), datetime.now(UTC) + STATE_LIFETIME)
    target = user_api.authorize_url(
        settings.github_api_url, client_id, callback_url(request), state
    )
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        STATE_COOKIE,
        state,
        max_age=int(STATE_LIFETIME.total_seconds()),
        path=CALLBACK_PATH,
        httponly=True,
        secure=is_https(request),
        samesite="lax",
    )
    return response


async def callback(request: Request) -> Response:
    configured = _oauth_settings(request)
    if configured is None:
        return _page(503, "Sign in is not configured", "Use an API token.")
    settings, client_id, client_secret = configured
    state = request.query_params.get("state", "")
    code = request.query_params.get("code", "")
    bound = request.cookies.get(STATE_COOKIE, "")
    if not state or not code or len(state) > 100 or len(code) > 200:
        return _page(400, "Sign in failed", "The sign-in answer was incomplete. Please retry.")
    if not secrets.compare_digest(state.encode(), bound.encode()):
        # Not this browser's sign-in: its own one (if any) stays usable.
        return _page(400, "Sign in failed", "This sign-in was not started here. Please retry.")
    async with request_context(request).store.transaction() as tx:
        fresh = await tx.take_oauth_state(token_hash(state))
    if not fresh:
        return _refused(request, 400, "This sign-in expired or was used already.")
    try:
        grant = await user_api.exchange_code(
            settings.github_api_url, client_id, client_secret, code, callback_url(request)
        )
        access = await user_api.user_access(settings.github_api_url, grant.token)
    except (user_api.OAuthRefused, user_api.UserTokenRejected) as refusal:
        log.info("sign-in refused by GitHub", extra={"reason": str(refusal)})
        return _refused(request, 401, "GitHub did not confirm this sign-in.")
    except user_api.GitHubUnreachable as problem:
        log.warning("sign-in failed: GitHub unreachable", extra={"reason": str(problem)})
        return _refused(request, 502, "GitHub could not be reached. Please try again.")
    lifetime = SESSION_LIFETIME
    if grant.expires_in is not None:
        lifetime = min(lifetime, timedelta(seconds=grant.expires_in))
    session_id = new_session_id()
    async with request_context(request).store.transaction() as tx:
        await tx.create_web_session(
            token_hash(session_id),
            user_id=access.user_id,
            user_login=access.login,
            github_token=token_cipher(client_secret).encrypt(grant.token.encode()),
            installation_ids=access.installation_ids,
            repository_ids=access.repository_ids,
            expires_at=datetime.now(UTC) + lifetime,
        )
    log.info("signed in", extra={"user": access.login})
    reader = SessionReader(request_context(request).store, client_secret)
    response = RedirectResponse("/", status_code=303)
    set_session_cookie(response, request, reader.cookie_value(session_id))
    response.delete_cookie(STATE_COOKIE, path=CALLBACK_PATH)
    return response


def _refused(request: Request, status: int, text: str) -> Response:
    response = _page(status, "Sign in failed", text)
    response.delete_cookie(STATE_COOKIE, path=CALLBACK_PATH)
    return response


async def logout(request: Request) -> Response:
    """GET shows the sign-out form; POST (with the session's CSRF token) signs out."""
    configured = _oauth_settings(request)
    cookie = request.cookies.get(SESSION_COOKIE)
    if configured is None or cookie is None:
        response: Response = RedirectResponse("/login", status_code=303)
        if cookie is not None:
            clear_session_cookie(response, request)
        return response
    reader = SessionReader(request_context(request).store, configured[2])
    session_hash = reader.session_hash(cookie)
    if session_hash is None:
        response = RedirectResponse("/login", status_code=303)
        clear_session_cookie(response, request)
        return response
    if request.method == "GET":
        return HTMLResponse(logout_form(reader.csrf_token(session_hash)))
    # A plain urlencoded form, parsed here (no multipart dependency for one field).
    form = parse_qs((await request.body())[:4096].decode(errors="replace"))
    token = (form.get("csrf") or [""])[0]
    if not reader.csrf_valid(session_hash, token):
        return _page(403, "Sign out refused", "The form was not this session's. Reload and retry.")
    try:
        async with request_context(request).store.transaction() as tx:
            await tx.delete_web_session(session_hash)
    except StoreError:
        return _page(503, "Sign out failed", "The database is not reachable right now.")
    response = _page(200, "Signed out", "You are signed out of prwatch.")
    clear_session_cookie(response, request)
    return response


def logout_form(csrf_token: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>prwatch</title>'
        '<link rel="stylesheet" href="/static/prwatch.css"></head><body>'
        + sign_out_button(csrf_token)
        + "</body></html>"
    )


def sign_out_button(csrf_token: str) -> str:
    return (
        '<form method="post" action="/logout" class="sign-out">'
        f'<input type="hidden" name="csrf" value="{html.escape(csrf_token)}">'
        '<button type="submit" data-testid="sign-out">Sign out</button></form>'
    )


OAUTH_ROUTES = [
    Route("/login", login, methods=["GET"]),
    Route(CALLBACK_PATH, callback, methods=["GET"]),
    Route("/logout", logout, methods=["GET", "POST"]),
]
