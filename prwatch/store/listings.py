"""Paged reads for the read API and the pages: repositories and pull requests in key order,
with the caller's visibility and the filters pushed into SQL, so that a page of ``limit`` rows
holds exactly the next ``limit`` visible, matching rows."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, cast, exists, func, or_, select
from sqlalchemy.dialects.postgresql import JSONB

from prwatch.domain.models import PullRequestSnapshot
from prwatch.store.base import TransactionBase, chunked, select_repository_by_name
from prwatch.store.errors import InvalidStoreInput
from prwatch.store.reads import PR_STATE_FILTERS
from prwatch.store.records import RepositoryRecord, StoredChange
from prwatch.store.rows import change_from_row, pull_request_from_row, repository_from_row
from prwatch.store.schema import changes, pull_request_signals, pull_requests, repositories
from prwatch.store.scope import Scope, scope_clause

MAX_PAGE = 10_000
MERGE_SIGNALS = ("success", "pending", "failure")


@dataclass(frozen=True, slots=True)
class PullFilter:
    """Which pull requests of a repository a listing returns."""

    state: str = "open"  # open, closed or all
    label: str | None = None  # carries this label (exact name)
    updated_since: datetime | None = None  # updated at or after
    text: str | None = None  # in the title or the author's login, any case
    merge_signal: str | None = None  # success, pending or failure, as last derived
    include_drafts: bool = True


class ListingOperations(TransactionBase):
    async def page_repositories(
        self, *, after_id: int = 0, limit: int = 100, scope: Scope | None = None
    ) -> list[RepositoryRecord]:
        """Repositories (removed ones too) with an id above ``after_id``, by id."""
        _check_page(limit)
        statement = (
            select(repositories)
            .where(
                repositories.c.id > after_id,
                scope_clause(scope, repositories.c.installation_id, repositories.c.id),
            )
            .order_by(repositories.c.id)
            .limit(limit)
        )
        result = await self._connection.execute(statement)
        return [repository_from_row(row) for row in result]

    async def visible_repository(
        self, full_name: str, scope: Scope | None = None
    ) -> RepositoryRecord | None:
        """The repository called OWNER/NAME (any case) if ``scope`` lets the caller see it."""
        statement = select_repository_by_name(full_name).where(
            scope_clause(scope, repositories.c.installation_id, repositories.c.id)
        )
        row = (await self._connection.execute(statement)).first()
        return None if row is None else repository_from_row(row)

    async def repository_names(self, ids: Collection[int]) -> dict[int, str]:
        """The current full name of each repository id known (removed ones too)."""
        names: dict[int, str] = {}
        for chunk in chunked(sorted(set(ids)), 1_000):
            result = await self._connection.execute(
                select(repositories.c.id, repositories.c.full_name).where(
                    repositories.c.id.in_(chunk)
                )
            )
            names.update({int(row.id): str(row.full_name) for row in result})
        return names

    async def page_pull_requests(
        self,
        repository_id: int,
        pull_filter: PullFilter = PullFilter(),
        *,
        after_number: int = 0,
        limit: int = 100,
        newest_first: bool = False,
    ) -> list[PullRequestSnapshot]:
        """A repository's (not tombstoned) pull requests matching ``pull_filter`` with a number
        above ``after_number``, by number (or the most recently updated first)."""
        _check_page(limit)
        statement = self._matching(repository_id, pull_filter).where(
            pull_requests.c.number > after_number
        )
        if newest_first:
            statement = statement.order_by(
                pull_requests.c.updated_at.desc(), pull_requests.c.number.desc()
            )
        else:
            statement = statement.order_by(pull_requests.c.number)
        result = await self._connection.execute(statement.limit(limit))
        return [pull_request_from_row(row) for row in result]

    async def count_pull_requests(self, repository_id: int, pull_filter: PullFilter) -> int:
        matching = self._matching(repository_id, pull_filter).subquery()
        result = await self._connection.execute(select(func.count()).select_from(matching))
        return int(result.scalar_one())

    def _matching(self, repository_id: int, pull_filter: PullFilter) -> Select[Any]:
        if pull_filter.state not in PR_STATE_FILTERS:
            raise InvalidStoreInput(f"state must be one of {', '.join(PR_STATE_FILTERS)}")
        statement: Select[Any] = select(pull_requests).where(
            pull_requests.c.repository_id == repository_id,
            pull_requests.c.removed_at.is_(None),
        )
        if pull_filter.state != "all":
            statement = statement.where(pull_requests.c.state == pull_filter.state)
        if pull_filter.updated_since is not None:
            statement = statement.where(pull_requests.c.updated_at >= pull_filter.updated_since)
        if pull_filter.label is not None:
            statement = statement.where(self._has_label(pull_filter.label))
        if pull_filter.merge_signal is not None:
            if pull_filter.merge_signal not in MERGE_SIGNALS:
                raise InvalidStoreInput(f"merge_signal must be one of {', '.join(MERGE_SIGNALS)}")
            statement = statement.where(
                exists(
                    select(1).where(
                        pull_request_signals.c.repository_id == pull_requests.c.repository_id,
                        pull_request_signals.c.number == pull_requests.c.number,
                        pull_request_signals.c.merge_signal == pull_filter.merge_signal,
                    )
                )
            )
        if not pull_filter.include_drafts:
            statement = statement.where(pull_requests.c.draft.is_(False))
        if pull_filter.text:
            pattern = "%" + _escape_like(pull_filter.text) + "%"
            statement = statement.where(
                or_(
                    pull_requests.c.title.ilike(pattern, escape="\\"),
                    pull_requests.c.author.ilike(pattern, escape="\\"),
                )
            )
        return statement

    async def latest_changes(
        self,
        limit: int,
        *,
        repository_id: int | None = None,
        pr_number: int | None = None,
        scope: Scope | None = None,
    ) -> list[StoredChange]:
        """The newest ``limit`` changes (of one repository, one pull request), oldest first."""
        _check_page(limit)
        statement = (
            select(changes)
            .where(scope_clause(scope, changes.c.installation_id, changes.c.repository_id))
            .order_by(changes.c.id.desc())
            .limit(limit)
        )
        if repository_id is not None:
            statement = statement.where(changes.c.repository_id == repository_id)
        if pr_number is not None:
            statement = statement.where(changes.c.pr_number == pr_number)
        result = await self._connection.execute(statement)
        return [change_from_row(row) for row in reversed(result.all())]

    def _has_label(self, label: str) -> ColumnElement[bool]:
        """``labels`` (a JSON list of names) holds ``label``, tested by the database's own JSON
        functions: text matching on the JSON would trip over escapes and LIKE's wildcards."""
        if self._connection.dialect.name == "postgresql":
            return cast(pull_requests.c.labels, JSONB).contains([label])
        each = func.json_each(pull_requests.c.labels).table_valued("value").alias("label")
        return exists(select(1).select_from(each).where(each.c.value == label))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _check_page(limit: int) -> None:
    if not 0 < limit <= MAX_PAGE:
        raise InvalidStoreInput(f"limit must be 1 to {MAX_PAGE}, got {limit}")
