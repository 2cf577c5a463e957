"""Access control's rows: API tokens (hashes only), signed-in people's sessions, OAuth states."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, select, update

from prwatch.store.base import TransactionBase
from prwatch.store.errors import InvalidStoreInput, StoreError
from prwatch.store.schema import api_tokens, oauth_states, repositories, web_sessions

HASH_LENGTH = 64  # SHA-256, hex
MAX_TOKEN_NAME = 100


class DuplicateTokenName(StoreError, ValueError):
    def __init__(self, name: str) -> None:
        super().__init__(f"a token named {name!r} exists already")
        self.name = name


@dataclass(frozen=True, slots=True)
class ApiTokenRecord:
    id: int
    name: str
    installation_ids: frozenset[int] | None  # None: every installation
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now


@dataclass(frozen=True, slots=True)
class WebSessionRecord:
    session_hash: str
    user_id: int
    user_login: str
    github_token: bytes  # encrypted
    installation_ids: frozenset[int]
    repository_ids: frozenset[int]
    visibility_checked_at: datetime
    created_at: datetime
    expires_at: datetime


class AccessOperations(TransactionBase):
    # --- API tokens ---

    async def create_api_token(
        self,
        name: str,
        token_hash: str,
        *,
        installation_ids: Iterable[int] | None = None,
        expires_at: datetime | None = None,
    ) -> ApiTokenRecord:
        if not name or len(name) > MAX_TOKEN_NAME or name != name.strip():
            raise InvalidStoreInput(f"a token name is 1 to {MAX_TOKEN_NAME} characters")
        _check_hash(token_hash)
        scope = None if installation_ids is None else sorted(set(installation_ids))
        existing = await self._connection.execute(
            select(api_tokens.c.id).where(api_tokens.c.name == name)
        )
        if existing.first() is not None:
            raise DuplicateTokenName(name)
        result = await self._connection.execute(
            api_tokens.insert()
            .values(
                name=name,
                token_hash=token_hash,
                installation_ids=scope,
                created_at=self._clock(),
                expires_at=expires_at,
            )
            .returning(*api_tokens.c)
        )
        return _token_from_row(result.one())

    async def list_api_tokens(self) -> list[ApiTokenRecord]:
        result = await self._connection.execute(select(api_tokens).order_by(api_tokens.c.name))
        return [_token_from_row(row) for row in result]

    async def find_api_token(self, token_hash: str) -> ApiTokenRecord | None:
        result = await self._connection.execute(
            select(api_tokens).where(api_tokens.c.token_hash == token_hash)
        )
        row = result.first()
        return None if row is None else _token_from_row(row)

    async def revoke_api_token(self, name: str) -> bool:
        """Delete the token called ``name``; False when there is none."""
        result = await self._connection.execute(delete(api_tokens).where(api_tokens.c.name == name))
        return bool(result.rowcount)

    async def touch_api_token(self, token_id: int, used_at: datetime) -> None:
        await self._connection.execute(
            update(api_tokens).where(api_tokens.c.id == token_id).values(last_used_at=used_at)
        )

    # --- what anonymous readers may see when public read is on ---

    async def public_repository_ids(self) -> frozenset[int]:
        result = await self._connection.execute(
            select(repositories.c.id).where(
                repositories.c.private.is_(False), repositories.c.removed_at.is_(None)
            )
        )
        return frozenset(int(value) for value in result.scalars())

    # --- sessions of signed-in people ---

    async def create_web_session(
        self,
        session_hash: str,
        *,
        user_id: int,
        user_login: str,
        github_token: bytes,
        installation_ids: Iterable[int],
        repository_ids: Iterable[int],
        expires_at: datetime,
    ) -> None:
        _check_hash(session_hash)
        now = self._clock()
        await self._connection.execute(
            web_sessions.insert().values(
                session_hash=session_hash,
                user_id=user_id,
                user_login=user_login,
                github_token=github_token,
                installation_ids=sorted(set(installation_ids)),
                repository_ids=sorted(set(repository_ids)),
                visibility_checked_at=now,
                created_at=now,
                expires_at=expires_at,
            )
        )

    async def get_web_session(self, session_hash: str) -> WebSessionRecord | None:
        result = await self._connection.execute(
            select(web_sessions).where(web_sessions.c.session_hash == session_hash)
        )
        row = result.first()
        return None if row is None else _session_from_row(row)

    async def update_web_session_visibility(
        self,
        session_hash: str,
        *,
        installation_ids: Iterable[int],
        repository_ids: Iterable[int],
    ) -> None:
        await self._connection.execute(
            update(web_sessions)
            .where(web_sessions.c.session_hash == session_hash)
            .values(
                installation_ids=sorted(set(installation_ids)),
                repository_ids=sorted(set(repository_ids)),
                visibility_checked_at=self._clock(),
            )
        )

    async def delete_web_session(self, session_hash: str) -> None:
        await self._connection.execute(
            delete(web_sessions).where(web_sessions.c.session_hash == session_hash)
        )

    async def delete_expired_web_sessions(self) -> int:
        result = await self._connection.execute(
            delete(web_sessions).where(web_sessions.c.expires_at <= self._clock())
        )
        return int(result.rowcount or 0)

    # --- OAuth states (one use each) ---

    async def put_oauth_state(self, state_hash: str, expires_at: datetime) -> None:
        _check_hash(state_hash)
        now = self._clock()
        await self._connection.execute(delete(oauth_states).where(oauth_states.c.expires_at <= now))
        await self._connection.execute(
            oauth_states.insert().values(
                state_hash=state_hash, created_at=now, expires_at=expires_at
            )
        )

    async def take_oauth_state(self, state_hash: str) -> bool:
        """Use up a state: True once for a state handed out and not expired, then never."""
        result = await self._connection.execute(
            delete(oauth_states).where(
                oauth_states.c.state_hash == state_hash,
                oauth_states.c.expires_at > self._clock(),
            )
        )
        return bool(result.rowcount)


def _check_hash(value: str) -> None:
    if len(value) != HASH_LENGTH or any(c not in "0123456789abcdef" for c in value):
        raise InvalidStoreInput("expected a SHA-256 hex digest")


def _ids(value: Any) -> frozenset[int]:
    return frozenset(int(item) for item in value or ())


def _token_from_row(row: Row[Any]) -> ApiTokenRecord:
    scope = row.installation_ids
    return ApiTokenRecord(
        id=int(row.id),
        name=row.name,
        installation_ids=None if scope is None else _ids(scope),
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        expires_at=row.expires_at,
    )


def _session_from_row(row: Row[Any]) -> WebSessionRecord:
    return WebSessionRecord(
        session_hash=row.session_hash,
        user_id=int(row.user_id),
        user_login=row.user_login,
        github_token=bytes(row.github_token),
        installation_ids=_ids(row.installation_ids),
        repository_ids=_ids(row.repository_ids),
        visibility_checked_at=row.visibility_checked_at,
        created_at=row.created_at,
        expires_at=row.expires_at,
    )
