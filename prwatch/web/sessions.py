"""Signed-in people's sessions: a random session id in a signed, ``HttpOnly``, ``SameSite=Lax``
cookie (``Secure`` over https), and everything else server-side: the expiry, the user's GitHub
token (encrypted) and what GitHub last said the user may see, re-asked every few minutes."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from starlette.requests import Request
from starlette.responses import Response

from prwatch.access.caller import Caller, CallerKind
from prwatch.access.signing import derive_key, sign, unsign
from prwatch.access.tokens import token_hash
from prwatch.domain.visibility import Visibility
from prwatch.store import Store
from prwatch.store.access import WebSessionRecord

log = logging.getLogger(__name__)

SESSION_COOKIE = "prwatch_session"
SESSION_LIFETIME = timedelta(hours=8)  # GitHub's user tokens of Apps live 8 hours too
# GitHub is asked again what the user may see after this long (at most 10 minutes of stale
# access after a person loses it on GitHub).
VISIBILITY_REFRESH = timedelta(minutes=5)
VISIBILITY_LIMIT = timedelta(minutes=10)  # past this, GitHub must have confirmed it again
_SESSION_ID_BYTES = 32

# Given a session whose visibility is due, the refreshed one; None ends the session (GitHub
# refused the user's token).
Refresh = Callable[[WebSessionRecord], Awaitable[WebSessionRecord | None]]


def new_session_id() -> str:
    return secrets.token_urlsafe(_SESSION_ID_BYTES)


class SessionReader:
    def __init__(
        self,
        store: Store,
        client_secret: str,
        *,
        refresh: Refresh | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.key = derive_key(client_secret, "session cookie")
        self.csrf_key = derive_key(client_secret, "csrf")
        self.refresh = refresh
        self.clock = clock

    def cookie_value(self, session_id: str) -> str:
        return sign(self.key, session_id)

    def session_hash(self, cookie: str) -> str | None:
        """The stored hash of a cookie's session id; None for a cookie not signed by us."""
        session_id = unsign(self.key, cookie)
        return None if session_id is None else token_hash(session_id)

    def csrf_token(self, session_hash: str) -> str:
        """The token a state-changing form of this session must carry (bound to the session)."""
        return hmac.new(self.csrf_key, session_hash.encode(), hashlib.sha256).hexdigest()

    def csrf_valid(self, session_hash: str, token: str) -> bool:
        return hmac.compare_digest(self.csrf_token(session_hash), token)

    async def caller(self, cookie: str) -> Caller | None:
        """The signed-in person of a session cookie, or None (tampered, unknown, expired)."""
        session_hash = self.session_hash(cookie)
        if session_hash is None:
            return None
        async with self.store.transaction(read_only=True) as tx:
            record = await tx.get_web_session(session_hash)
        now = self.clock()
        if record is None:
            return None
        if record.expires_at <= now:
            async with self.store.transaction() as tx:
                await tx.delete_web_session(session_hash)
            return None
        if self.refresh is not None and now - record.visibility_checked_at >= VISIBILITY_REFRESH:
            refreshed = await self.refresh(record)
            if refreshed is None:
                return None
            record = refreshed
        return Caller(
            CallerKind.USER,
            record.user_login,
            Visibility(record.installation_ids, record.repository_ids),
            session_hash=session_hash,
        )


def is_https(request: Request) -> bool:
    return request.url.scheme == "https"


def set_session_cookie(response: Response, request: Request, value: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        value,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        path="/",
        httponly=True,
        secure=is_https(request),
        samesite="lax",
    )


def clear_session_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, secure=is_https(request), samesite="lax"
    )
