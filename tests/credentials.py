"""API tokens for tests: made through the store as ``prwatch token create`` makes them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from prwatch.access.tokens import new_token, token_hash
from prwatch.store import Store


async def create_token(
    store: Store,
    name: str = "tests",
    *,
    installation_ids: Iterable[int] | None = None,
    expires_at: datetime | None = None,
) -> str:
    token = new_token()
    async with store.transaction() as tx:
        await tx.create_api_token(
            name, token_hash(token), installation_ids=installation_ids, expires_at=expires_at
        )
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def create_session(
    store: Store,
    client_secret: str,
    *,
    installation_ids: Iterable[int],
    repository_ids: Iterable[int],
    login: str = "octocat",
    expires_at: datetime | None = None,
) -> str:
    """A signed-in person's session as the sign-in flow stores it; its cookie value."""
    from datetime import UTC

    from prwatch.web.sessions import SESSION_LIFETIME, SessionReader, new_session_id

    reader = SessionReader(store, client_secret)
    session_id = new_session_id()
    async with store.transaction() as tx:
        await tx.create_web_session(
            token_hash(session_id),
            user_id=1,
            user_login=login,
            github_token=b"not used by these tests",
            installation_ids=installation_ids,
            repository_ids=repository_ids,
            expires_at=expires_at or datetime.now(UTC) + SESSION_LIFETIME,
        )
    return reader.cookie_value(session_id)
