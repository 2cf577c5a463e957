"""What can go wrong in the store, as one small hierarchy.

``RetryableStoreError`` (the database is unreachable, or a transaction lost a race) is worth
retrying later; every other ``StoreError`` is a permanent problem with the input or the data.
"""

from __future__ import annotations

from collections.abc import Iterable


class StoreError(Exception):
    """Base of every error the store raises on purpose."""


class RetryableStoreError(StoreError):
    """Nothing was written, and the same transaction may well succeed if tried again later."""


class DatabaseUnavailable(RetryableStoreError):
    """The database cannot be reached (or the connection broke)."""


class TransactionConflict(RetryableStoreError):
    """A concurrent transaction won: a deadlock, a serialization failure or a SQLite lock wait
    longer than the busy timeout."""


class InvalidDatabaseUrl(StoreError, ValueError):
    """The database URL is malformed or names an unsupported driver."""


class InvalidStoreInput(StoreError, ValueError):
    """A value handed to the store breaks one of its rules; nothing was written."""


class UnknownInstallation(StoreError, LookupError):
    def __init__(self, installation_ids: Iterable[int]) -> None:
        self.installation_ids = tuple(sorted(set(installation_ids)))
        super().__init__(f"unknown installation id(s): {_ids(self.installation_ids)}")


class UnknownRepository(StoreError, LookupError):
    def __init__(self, repository_ids: Iterable[int]) -> None:
        self.repository_ids = tuple(sorted(set(repository_ids)))
        super().__init__(f"unknown repository id(s): {_ids(self.repository_ids)}")


class RepositoryRemoved(StoreError):
    """Pull requests or check runs were written for a repository that is marked removed."""

    def __init__(self, repository_ids: Iterable[int]) -> None:
        self.repository_ids = tuple(sorted(set(repository_ids)))
        super().__init__(
            f"repository id(s) {_ids(self.repository_ids)} are marked removed: "
            "restore them with upsert_repositories before writing their pull requests"
        )


class UnknownRepositoryName(StoreError, LookupError):
    def __init__(self, full_name: str) -> None:
        self.full_name = full_name
        super().__init__(f"unknown repository {full_name!r}")


class UnknownDelivery(StoreError, LookupError):
    def __init__(self, guid: str) -> None:
        self.guid = guid
        super().__init__(f"unknown webhook delivery {guid!r}")


class UnknownSweep(StoreError, LookupError):
    def __init__(self, sweep_id: int) -> None:
        self.sweep_id = sweep_id
        super().__init__(f"unknown sweep id {sweep_id}")


def _ids(ids: tuple[int, ...]) -> str:
    shown = ", ".join(str(i) for i in ids[:10])
    return shown + (f" … ({len(ids)} in all)" if len(ids) > 10 else "")
