"""Installation tokens kept in the database, for the embedded mode's successive processes.

GitHub ties ETags to the token (weak ETags, ``Vary: Authorization``), and a new process mints a
new token: a ``prwatch sweep`` run by cron would miss every stored ETag and pay a point per
repository for pages that did not change. So the embedded mode keeps each installation's token,
sealed with a key derived from the App's private key (``prwatch.github.token_sealing``, as the
Redis mode does), in the database: the next process within the token's hour reuses it.

No lock across processes: two processes that both find no usable token each mint one, the last
one stored wins, and both tokens stay valid (GitHub issues several per installation). A token
GitHub rejected is never handed back (a new one is minted and replaces it); a database that
cannot be read or written, or an entry that does not open (the App key changed), only means a
locally minted token, with a warning. The sharing never fails a request.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Protocol

from prwatch.github.auth import AppCredentials, InstallationToken, TokenFetcher
from prwatch.github.token_sealing import TokenSeal, UnreadableToken

log = logging.getLogger(__name__)

KEY_PREFIX = "installation-token:"


def stored_token_key(app_id: int, installation_id: int) -> str:
    return f"{KEY_PREFIX}{app_id}:{installation_id}"


class TokenVault(Protocol):
    """Where sealed entries are kept (the store's app state)."""

    async def read(self, key: str) -> bytes | None: ...

    async def write(self, key: str, entry: bytes) -> None: ...


class StoredTokenSharing:
    """``TokenSharing`` through a ``TokenVault``. ``unavailable`` are the vault's errors that
    mean "cannot read or write now" (mint locally instead)."""

    def __init__(
        self,
        vault: TokenVault,
        credentials: AppCredentials,
        *,
        unavailable: tuple[type[Exception], ...],
        refresh_margin_seconds: float = 300.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if refresh_margin_seconds < 0:
            raise ValueError("refresh_margin_seconds must not be negative")
        self._vault = vault
        self._app_id = credentials.app_id
        self._seal = TokenSeal(credentials)
        self._unavailable = unavailable
        self._margin = refresh_margin_seconds
        self._clock = clock

    def __repr__(self) -> str:
        return f"StoredTokenSharing(app_id={self._app_id})"

    async def aclose(self) -> None:
        return None  # the vault belongs to its owner (the store)

    async def obtain(
        self, installation_id: int, mint: TokenFetcher, rejected: InstallationToken | None
    ) -> InstallationToken:
        key = stored_token_key(self._app_id, installation_id)
        stored = await self._read(key, installation_id)
        if stored is not None and self._usable(stored, rejected):
            return stored
        token = await mint(installation_id)
        if self._clock() < token.expires_at - self._margin:
            await self._write(key, token)
        return token

    def _usable(self, token: InstallationToken, rejected: InstallationToken | None) -> bool:
        if rejected is not None and token.token == rejected.token:
            return False
        return self._clock() < token.expires_at - self._margin

    async def _read(self, key: str, installation_id: int) -> InstallationToken | None:
        try:
            entry = await self._vault.read(key)
        except self._unavailable as error:
            log.warning(
                "stored installation token unavailable, minting locally",
                extra={"installation_id": installation_id, "error": type(error).__name__},
            )
            return None
        if entry is None:
            return None
        try:
            return self._seal.open(entry, installation_id)
        except UnreadableToken:
            log.warning(
                "stored installation token unreadable, replacing it",
                extra={"installation_id": installation_id},
            )
            return None

    async def _write(self, key: str, token: InstallationToken) -> None:
        try:
            await self._vault.write(key, self._seal.seal(token))
        except self._unavailable as error:
            log.warning(
                "installation token not stored, kept locally",
                extra={"installation_id": token.installation_id, "error": type(error).__name__},
            )
