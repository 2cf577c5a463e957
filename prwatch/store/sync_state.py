"""What the sweep remembers between runs: ETags, per-repository progress, its own history, and
small named application values."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import select, update

from prwatch.store.base import MAX_IN_LIST, TransactionBase, chunked
from prwatch.store.errors import InvalidStoreInput, UnknownSweep
from prwatch.store.records import JsonValue, SweepRecord, SweepResult, SweepStatus, SyncState
from prwatch.store.rows import sweep_from_row, sweep_result_values, sync_state_from_row
from prwatch.store.schema import app_state, http_etags, repository_sync_state, sweeps

_FINGERPRINT = re.compile(r"[0-9a-f]{8,64}")


def token_fingerprint(token: str) -> str:
    """What the store keeps to tell tokens apart: a sha256 prefix, never the token itself."""
    return hashlib.sha256(token.encode()).hexdigest()[:16]


class SyncStateOperations(TransactionBase):
    # --- ETags ---

    async def get_etag(self, key: str) -> tuple[str, str] | None:
        """(etag, token_fingerprint) stored for ``key``, if any."""
        return (await self.get_etags([key])).get(key)

    async def get_etags(self, keys: Iterable[str]) -> dict[str, tuple[str, str]]:
        found: dict[str, tuple[str, str]] = {}
        for chunk in chunked(sorted(set(keys)), MAX_IN_LIST):
            result = await self._connection.execute(
                select(http_etags.c.key, http_etags.c.etag, http_etags.c.token_fingerprint).where(
                    http_etags.c.key.in_(chunk)
                )
            )
            for key, etag, fingerprint in result:
                found[key] = (etag, fingerprint)
        return found

    async def put_etags(self, items: Sequence[tuple[str, str, str]]) -> None:
        """Store (key, etag, token_fingerprint) triples in bulk; a later one for a key wins."""
        by_key: dict[str, tuple[str, str]] = {}
        for key, etag, fingerprint in items:
            if not key or not etag:
                raise InvalidStoreInput(f"ETag entry needs a key and an etag: {(key, etag)!r}")
            if not _FINGERPRINT.fullmatch(fingerprint):
                # Guards against a token ending up in the database by mistake.
                raise InvalidStoreInput(
                    "token_fingerprint must be 8-64 lowercase hex characters (see "
                    "token_fingerprint()), not the token"
                )
            by_key[key] = (etag, fingerprint)
        if not by_key:
            return
        now = self._clock()
        rows = [
            {"key": key, "etag": etag, "token_fingerprint": fingerprint, "stored_at": now}
            for key, (etag, fingerprint) in by_key.items()
        ]
        statement = self._insert(http_etags)
        new = statement.excluded
        upsert = statement.on_conflict_do_update(
            index_elements=["key"],
            set_={
                "etag": new.etag,
                "token_fingerprint": new.token_fingerprint,
                "stored_at": new.stored_at,
            },
        )
        await self._execute_bulk(upsert.returning(http_etags.c.key), rows)

    # --- per-repository sync state ---

    async def get_sync_state(self, repository_id: int) -> SyncState | None:
        return (await self.get_sync_states([repository_id])).get(repository_id)

    async def get_sync_states(self, repository_ids: Iterable[int]) -> dict[int, SyncState]:
        found: dict[int, SyncState] = {}
        for chunk in chunked(sorted(set(repository_ids)), MAX_IN_LIST):
            result = await self._connection.execute(
                select(repository_sync_state).where(
                    repository_sync_state.c.repository_id.in_(chunk)
                )
            )
            found.update({row.repository_id: sync_state_from_row(row) for row in result})
        return found

    async def put_sync_state(self, state: SyncState) -> None:
        """Insert or replace a repository's sync state; the repository must be stored."""
        if state.consecutive_failures < 0:
            raise InvalidStoreInput("consecutive_failures cannot be negative")
        await self._require_repositories([state.repository_id])
        statement = self._insert(repository_sync_state).values(
            repository_id=state.repository_id,
            pulls_watermark=state.pulls_watermark,
            last_full_listing_at=state.last_full_listing_at,
            last_swept_at=state.last_swept_at,
            last_error=state.last_error,
            consecutive_failures=state.consecutive_failures,
        )
        new = statement.excluded
        await self._connection.execute(
            statement.on_conflict_do_update(
                index_elements=["repository_id"],
                set_={
                    "pulls_watermark": new.pulls_watermark,
                    "last_full_listing_at": new.last_full_listing_at,
                    "last_swept_at": new.last_swept_at,
                    "last_error": new.last_error,
                    "consecutive_failures": new.consecutive_failures,
                },
            )
        )

    async def mark_swept(self, repository_ids: Iterable[int], at: datetime) -> None:
        """Set ``last_swept_at`` of repositories a sweep found unchanged, in one statement (per
        thousand): a sweep batches this instead of a write transaction per repository."""
        for chunk in chunked(sorted(set(repository_ids)), MAX_IN_LIST):
            await self._connection.execute(
                update(repository_sync_state)
                .where(repository_sync_state.c.repository_id.in_(chunk))
                .values(last_swept_at=at)
            )

    # --- sweeps ---

    async def start_sweep(self, started_at: datetime | None = None) -> int:
        """Record a sweep as running; returns its id."""
        values = sweep_result_values(SweepResult(status=SweepStatus.RUNNING))
        result = await self._connection.execute(
            sweeps.insert()
            .values(started_at=started_at or self._clock(), **values)
            .returning(sweeps.c.id)
        )
        return int(result.scalar_one())

    async def finish_sweep(self, sweep_id: int, result: SweepResult) -> SweepRecord:
        """Record a sweep's outcome; its duration is measured from its start to now."""
        if SweepStatus(result.status) is SweepStatus.RUNNING:
            raise InvalidStoreInput("a finished sweep needs a final status, not running")
        started = await self._connection.execute(
            select(sweeps.c.started_at).where(sweeps.c.id == sweep_id)
        )
        started_at: datetime | None = started.scalar_one_or_none()
        if started_at is None:
            raise UnknownSweep(sweep_id)
        now = self._clock()
        updated = await self._connection.execute(
            update(sweeps)
            .where(sweeps.c.id == sweep_id)
            .values(
                finished_at=now,
                duration_seconds=max(0.0, (now - started_at).total_seconds()),
                **sweep_result_values(result),
            )
            .returning(*sweeps.c)
        )
        return sweep_from_row(updated.one())

    async def recent_sweeps(self, limit: int = 20) -> list[SweepRecord]:
        """The latest sweeps, newest first."""
        if limit <= 0:
            raise InvalidStoreInput(f"limit must be positive, got {limit}")
        result = await self._connection.execute(
            select(sweeps).order_by(sweeps.c.id.desc()).limit(limit)
        )
        return [sweep_from_row(row) for row in result]

    # --- app state ---

    async def app_state_get(self, key: str) -> JsonValue:
        """The value stored under ``key``; None when there is none."""
        result = await self._connection.execute(
            select(app_state.c.value).where(app_state.c.key == key)
        )
        value: JsonValue = result.scalar_one_or_none()
        return value

    async def app_state_put(self, key: str, value: JsonValue) -> None:
        if not key:
            raise InvalidStoreInput("app state key cannot be empty")
        try:
            json.dumps(value)
        except (TypeError, ValueError) as error:
            raise InvalidStoreInput(f"app state {key!r} is not JSON-encodable: {error}") from None
        statement = self._insert(app_state).values(key=key, value=value, updated_at=self._clock())
        new = statement.excluded
        await self._connection.execute(
            statement.on_conflict_do_update(
                index_elements=["key"], set_={"value": new.value, "updated_at": new.updated_at}
            )
        )
