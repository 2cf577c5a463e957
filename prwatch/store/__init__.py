"""All of prwatch's SQL: the schema, its migrations, and the store.

Build an engine with ``create_engine(url)`` (``sqlite+aiosqlite:///PATH`` or
``postgresql+asyncpg://…``), migrate with ``await upgrade_database(url)``, wrap the engine in a
``Store``, and do everything inside one transaction per job or request::

    async with store.transaction() as tx:          # BEGIN … COMMIT, ROLLBACK on error
        await tx.lock_repository(repository_id)    # serialize applies to one repository
        stored = await tx.load_pull_requests(repository_id, numbers)
        ...                                        # change detection (prwatch.domain)
        cursors = await tx.write_change_set(change_set, source=Source.SWEEP)

``StoreTransaction`` offers, by topic:

* apply path: ``lock_repository(id)``, ``load_pull_requests(repo_id, numbers=None)``,
  ``load_open_pull_requests(repo_id)``, ``load_check_runs(repo_id, *, ids=None,
  head_shas=None)``, ``pull_request_numbers_by_head_sha(repo_id, shas) -> dict[str, int]``
  (how a check run finds its PR, forks included), ``write_change_set(change_set, *, source,
  delivery_id=None, installation_id=None) -> list[int]`` (the new change cursors). Rows are
  fenced in SQL too: a pull request only moves to an equal or newer ``updated_at``; a check
  run never goes back in status (queued/waiting/requested/pending < in_progress < completed),
  and between completed snapshots the later ``completed_at`` wins.
* installations: ``upsert_installation(snap)``, ``mark_installation_suspended(id, bool) ->
  bool``, ``mark_installation_removed(id, reason) -> list[int]`` (repositories removed with
  it), ``get_installation(id)``, ``list_installations(*, include_removed=False)``.
* repositories: ``upsert_repositories(snaps)``, ``mark_repository_removed(id, reason) -> int``
  (pull requests tombstoned), ``rename_repository(id, full_name) -> str | None`` (old name),
  ``get_repository(id)``, ``get_repository_by_name(full_name)``,
  ``list_repositories(installation_id=None, *, include_removed=False)``.
* sync state: ``get_etag(key)``, ``get_etags(keys)``, ``put_etags([(key, etag,
  fingerprint)])`` with ``token_fingerprint(token)``; ``get_sync_state(repo_id)``,
  ``get_sync_states(ids)``, ``put_sync_state(SyncState)``; ``start_sweep() -> int``,
  ``finish_sweep(id, SweepResult) -> SweepRecord``, ``recent_sweeps(limit)``;
  ``app_state_get(key)``, ``app_state_put(key, value)``.
* webhook deliveries: ``record_delivery(guid, event, action, installation_id, repository_id,
  payload) -> bool`` (False for a GUID seen before), ``claim_delivery(guid)``,
  ``mark_delivery(guid, status, error=None)``, ``get_delivery(guid)``,
  ``pending_deliveries(older_than, limit)``, ``delivery_counts()``.
* read side: ``list_pull_requests(full_name, state)``, ``get_pull_request(full_name, number)``
  (with the check runs of its head commit), ``pull_request_counts()``,
  ``changes_after(cursor, limit, *, repository_id=None, pr_number=None)``,
  ``last_change_cursor()``.

Errors are ``StoreError``s (see ``prwatch.store.errors``): ``RetryableStoreError``
(``DatabaseUnavailable``, ``TransactionConflict``) is worth a retry; the rest are permanent.
Bad input raises before anything is written, and the transaction rolls back as a whole.
"""

from prwatch.store.engine import create_engine
from prwatch.store.errors import (
    DatabaseUnavailable,
    InvalidDatabaseUrl,
    InvalidStoreInput,
    RepositoryRemoved,
    RetryableStoreError,
    StoreError,
    TransactionConflict,
    UnknownDelivery,
    UnknownInstallation,
    UnknownRepository,
    UnknownRepositoryName,
    UnknownSweep,
)
from prwatch.store.migrations import current_revision, head_revision, upgrade_database
from prwatch.store.records import (
    DeliveryStatus,
    InstallationRecord,
    JsonValue,
    RepositoryRecord,
    StoredChange,
    StoredDelivery,
    SweepRecord,
    SweepResult,
    SweepStatus,
    SyncState,
)
from prwatch.store.store import Store, StoreTransaction
from prwatch.store.sync_state import token_fingerprint

__all__ = [
    "DatabaseUnavailable",
    "DeliveryStatus",
    "InstallationRecord",
    "InvalidDatabaseUrl",
    "InvalidStoreInput",
    "JsonValue",
    "RepositoryRecord",
    "RepositoryRemoved",
    "RetryableStoreError",
    "Store",
    "StoreError",
    "StoreTransaction",
    "StoredChange",
    "StoredDelivery",
    "SweepRecord",
    "SweepResult",
    "SweepStatus",
    "SyncState",
    "TransactionConflict",
    "UnknownDelivery",
    "UnknownInstallation",
    "UnknownRepository",
    "UnknownRepositoryName",
    "UnknownSweep",
    "create_engine",
    "current_revision",
    "head_revision",
    "token_fingerprint",
    "upgrade_database",
]
