"""Commit statuses in the store: the latest per (commit, context), fenced like the domain's
``is_status_current`` (a newer ``updated_at`` wins; within a second the higher status id)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import and_, or_, select

from prwatch.domain.models import CommitStatusSnapshot
from prwatch.domain.statuses import StatusKey
from prwatch.store.base import MAX_IN_LIST, TransactionBase, chunked
from prwatch.store.rows import commit_status_from_row
from prwatch.store.schema import commit_statuses

_STATUS_KEY = ("repository_id", "sha", "context")
_STATUS_KEPT_ON_UPDATE = {*_STATUS_KEY, "first_seen_at"}


class StatusOperations(TransactionBase):
    async def load_commit_statuses(
        self, repository_id: int, shas: Iterable[str]
    ) -> dict[StatusKey, CommitStatusSnapshot]:
        """The stored statuses of these commits of a repository, by (sha, context)."""
        wanted = sorted(set(shas))
        if not wanted:
            return {}
        read_ahead = self._read_ahead.get(repository_id)
        if (
            read_ahead is not None
            and (known := read_ahead.load_commit_statuses(set(wanted))) is not None
        ):
            return known
        await self._flush_writes()
        found: dict[StatusKey, CommitStatusSnapshot] = {}
        for chunk in chunked(wanted, MAX_IN_LIST):
            result = await self._connection.execute(
                select(commit_statuses).where(
                    commit_statuses.c.repository_id == repository_id,
                    commit_statuses.c.sha.in_(chunk),
                )
            )
            for row in result:
                status = commit_status_from_row(row)
                found[(status.sha, status.context)] = status
        return found

    def _build_commit_status_upsert(self) -> Any:
        statement = self._insert(commit_statuses)
        new = statement.excluded
        old = commit_statuses.c
        return statement.on_conflict_do_update(
            index_elements=list(_STATUS_KEY),
            set_={
                column.name: new[column.name]
                for column in commit_statuses.columns
                if column.name not in _STATUS_KEPT_ON_UPDATE
            },
            where=or_(
                new.updated_at > old.updated_at,
                and_(
                    new.updated_at == old.updated_at,
                    or_(
                        new.status_id.is_(None),
                        old.status_id.is_(None),
                        new.status_id >= old.status_id,
                    ),
                ),
            ),
        ).returning(old.sha)
