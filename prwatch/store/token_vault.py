"""Sealed installation tokens in the app state table (see ``prwatch.github.stored_tokens``).

Each read or write is its own short transaction: a token is read once per process and
installation, and written once an hour.
"""

from __future__ import annotations

from prwatch.store.store import Store


class StoreTokenVault:
    """A ``TokenVault`` on the store. Raises ``StoreError``s."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def __repr__(self) -> str:
        return "StoreTokenVault()"

    async def read(self, key: str) -> bytes | None:
        async with self._store.transaction(read_only=True) as tx:
            value = await tx.app_state_get(key)
        return value.encode("ascii") if isinstance(value, str) else None

    async def write(self, key: str, entry: bytes) -> None:
        async with self._store.transaction() as tx:
            # Fernet entries are URL-safe base64: ASCII text in a JSON value.
            await tx.app_state_put(key, entry.decode("ascii"))
