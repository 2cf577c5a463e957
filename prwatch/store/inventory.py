"""Installations and repositories: what prwatch watches. Marked when they go, never deleted."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select, update

from prwatch.domain.models import InstallationSnapshot, RemovalReason, RepositorySnapshot
from prwatch.domain.visibility import Visibility
from prwatch.store.base import (
    TransactionBase,
    check_full_name,
    select_repository_by_name,
)
from prwatch.store.errors import InvalidStoreInput, UnknownInstallation, UnknownRepository
from prwatch.store.records import InstallationRecord, RepositoryRecord
from prwatch.store.rows import installation_from_row, repository_from_row
from prwatch.store.schema import installations, pull_requests, repositories
from prwatch.store.scope import scope_clause


class InventoryOperations(TransactionBase):
    # --- installations ---

    async def upsert_installation(self, snapshot: InstallationSnapshot) -> None:
        """Insert or refresh an installation; a removed one counts as present again."""
        now = self._clock()
        statement = self._insert(installations).values(
            id=snapshot.id,
            account_login=snapshot.account_login,
            account_type=snapshot.account_type,
            suspended_at=now if snapshot.suspended else None,
            removed_at=None,
            removed_reason=None,
            created_at=now,
            updated_at=now,
        )
        new = statement.excluded
        await self._connection.execute(
            statement.on_conflict_do_update(
                index_elements=["id"],
                set_={
                    "account_login": new.account_login,
                    "account_type": new.account_type,
                    # Keep the time the suspension started, not the time we saw it again.
                    "suspended_at": (
                        func.coalesce(installations.c.suspended_at, new.suspended_at)
                        if snapshot.suspended
                        else None
                    ),
                    "removed_at": None,
                    "removed_reason": None,
                    "updated_at": new.updated_at,
                },
            )
        )

    async def mark_installation_suspended(self, installation_id: int, suspended: bool) -> bool:
        """Record a suspension (or its end). True when that changed anything."""
        record = await self._require_installation(installation_id)
        if (record.suspended_at is not None) == suspended:
            return False
        now = self._clock()
        await self._connection.execute(
            update(installations)
            .where(installations.c.id == installation_id)
            .values(suspended_at=now if suspended else None, updated_at=now)
        )
        return True

    async def mark_installation_removed(
        self, installation_id: int, reason: RemovalReason
    ) -> list[int]:
        """Mark the installation removed, and with it each of its repositories (whose pull
        requests are tombstoned). Returns the ids of the repositories newly marked removed."""
        reason = RemovalReason(reason)
        record = await self._require_installation(installation_id)
        if record.removed_at is None:
            now = self._clock()
            await self._connection.execute(
                update(installations)
                .where(installations.c.id == installation_id)
                .values(removed_at=now, removed_reason=reason.value, updated_at=now)
            )
        live = await self._connection.execute(
            select(repositories.c.id).where(
                repositories.c.installation_id == installation_id,
                repositories.c.removed_at.is_(None),
            )
        )
        removed = sorted(live.scalars())
        for repository_id in removed:
            await self.mark_repository_removed(repository_id, reason)
        return removed

    async def get_installation(self, installation_id: int) -> InstallationRecord | None:
        result = await self._connection.execute(
            select(installations).where(installations.c.id == installation_id)
        )
        row = result.first()
        return None if row is None else installation_from_row(row)

    async def list_installations(
        self, *, include_removed: bool = False, visibility: Visibility | None = None
    ) -> list[InstallationRecord]:
        """Installations, by id; with ``visibility``, those the caller sees anything of."""
        statement = select(installations).order_by(installations.c.id)
        if visibility is not None and visibility.installation_ids is not None:
            statement = statement.where(installations.c.id.in_(sorted(visibility.installation_ids)))
        if not include_removed:
            statement = statement.where(installations.c.removed_at.is_(None))
        result = await self._connection.execute(statement)
        return [installation_from_row(row) for row in result]

    async def _require_installation(self, installation_id: int) -> InstallationRecord:
        record = await self.get_installation(installation_id)
        if record is None:
            raise UnknownInstallation([installation_id])
        return record

    # --- repositories ---

    async def upsert_repositories(self, snapshots: Sequence[RepositorySnapshot]) -> None:
        """Insert or refresh repositories in bulk; a removed one is restored (its pull requests
        stay tombstoned until they are written again). Their installations must be stored."""
        by_id: dict[int, RepositorySnapshot] = {}
        for snapshot in snapshots:
            check_full_name(snapshot.full_name)
            if by_id.setdefault(snapshot.id, snapshot) != snapshot:
                raise InvalidStoreInput(f"repository {snapshot.id} given twice, differently")
        if not by_id:
            return
        await self._require_installations(s.installation_id for s in by_id.values())
        await self._flush_writes()
        self._forget_repositories()
        now = self._clock()
        rows = [
            {
                "id": s.id,
                "installation_id": s.installation_id,
                "full_name": s.full_name,
                "full_name_key": s.full_name.lower(),
                "private": s.private,
                "removed_at": None,
                "removed_reason": None,
                "first_seen_at": now,
                "updated_at": now,
            }
            for s in by_id.values()
        ]
        statement = self._insert(repositories)
        new = statement.excluded
        upsert = statement.on_conflict_do_update(
            index_elements=["id"],
            set_={
                "installation_id": new.installation_id,
                "full_name": new.full_name,
                "full_name_key": new.full_name_key,
                "private": new.private,
                "removed_at": None,
                "removed_reason": None,
                "updated_at": new.updated_at,
            },
        )
        await self._execute_bulk(upsert.returning(repositories.c.id), rows)

    async def mark_repository_removed(self, repository_id: int, reason: RemovalReason) -> int:
        """Mark the repository removed and tombstone its pull requests; nothing is deleted.

        Returns how many pull requests were tombstoned (0 when it was already removed).
        """
        reason = RemovalReason(reason)
        record = await self._require_repository(repository_id)
        if record.removed_at is not None:
            return 0
        await self._flush_writes()
        self._forget_repositories()
        now = self._clock()
        await self._connection.execute(
            update(repositories)
            .where(repositories.c.id == repository_id)
            .values(removed_at=now, removed_reason=reason.value, updated_at=now)
        )
        result = await self._connection.execute(
            update(pull_requests)
            .where(
                pull_requests.c.repository_id == repository_id,
                pull_requests.c.removed_at.is_(None),
            )
            .values(removed_at=now)
        )
        return int(result.rowcount)

    async def rename_repository(self, repository_id: int, full_name: str) -> str | None:
        """Give the repository its new OWNER/NAME. Returns the old name, or None if unchanged."""
        check_full_name(full_name)
        record = await self._require_repository(repository_id)
        if record.full_name == full_name:
            return None
        await self._connection.execute(
            update(repositories)
            .where(repositories.c.id == repository_id)
            .values(full_name=full_name, full_name_key=full_name.lower(), updated_at=self._clock())
        )
        return record.full_name

    async def get_repository(self, repository_id: int) -> RepositoryRecord | None:
        result = await self._connection.execute(
            select(repositories).where(repositories.c.id == repository_id)
        )
        row = result.first()
        return None if row is None else repository_from_row(row)

    async def get_repository_by_name(self, full_name: str) -> RepositoryRecord | None:
        """The repository called OWNER/NAME, in any case; a present one over a removed one."""
        result = await self._connection.execute(select_repository_by_name(full_name))
        row = result.first()
        return None if row is None else repository_from_row(row)

    async def list_repositories(
        self,
        installation_id: int | None = None,
        *,
        include_removed: bool = False,
        visibility: Visibility | None = None,
    ) -> list[RepositoryRecord]:
        statement = (
            select(repositories)
            .where(scope_clause(visibility, repositories.c.installation_id, repositories.c.id))
            .order_by(repositories.c.id)
        )
        if installation_id is not None:
            statement = statement.where(repositories.c.installation_id == installation_id)
        if not include_removed:
            statement = statement.where(repositories.c.removed_at.is_(None))
        result = await self._connection.execute(statement)
        return [repository_from_row(row) for row in result]

    async def _require_repository(self, repository_id: int) -> RepositoryRecord:
        record = await self.get_repository(repository_id)
        if record is None:
            raise UnknownRepository([repository_id])
        return record
