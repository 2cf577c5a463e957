"""Reviews and per-PR signals in the store. A review row is fenced like the domain's
``is_review_current``: once dismissed, it stays dismissed. A signal row is what the last apply
derived (merge signal) or read (review decision), written as is under the repository lock."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import or_, select

from prwatch.domain.models import PullRequestSignal, ReviewSnapshot
from prwatch.store.base import MAX_IN_LIST, TransactionBase, chunked
from prwatch.store.rows import review_from_row, signal_from_row
from prwatch.store.schema import pull_request_reviews, pull_request_signals

_REVIEW_KEPT_ON_UPDATE = {"id", "first_seen_at"}
_SIGNAL_KEY = ("repository_id", "number")


class ReviewOperations(TransactionBase):
    async def load_reviews(
        self, repository_id: int, pr_numbers: Iterable[int]
    ) -> dict[int, ReviewSnapshot]:
        """The stored reviews of these PRs of a repository, by review id."""
        wanted = sorted(set(pr_numbers))
        if not wanted:
            return {}
        await self._flush_writes()
        found: dict[int, ReviewSnapshot] = {}
        for chunk in chunked(wanted, MAX_IN_LIST):
            result = await self._connection.execute(
                select(pull_request_reviews).where(
                    pull_request_reviews.c.repository_id == repository_id,
                    pull_request_reviews.c.pr_number.in_(chunk),
                )
            )
            found.update({row.id: review_from_row(row) for row in result})
        return found

    async def load_signals(
        self, repository_id: int, numbers: Iterable[int]
    ) -> dict[int, PullRequestSignal]:
        wanted = sorted(set(numbers))
        if not wanted:
            return {}
        read_ahead = self._read_ahead.get(repository_id)
        if read_ahead is not None and (known := read_ahead.load_signals(set(wanted))) is not None:
            return known
        await self._flush_writes()
        found: dict[int, PullRequestSignal] = {}
        for chunk in chunked(wanted, MAX_IN_LIST):
            result = await self._connection.execute(
                select(pull_request_signals).where(
                    pull_request_signals.c.repository_id == repository_id,
                    pull_request_signals.c.number.in_(chunk),
                )
            )
            found.update({row.number: signal_from_row(row) for row in result})
        return found

    def _build_review_upsert(self) -> Any:
        statement = self._insert(pull_request_reviews)
        new = statement.excluded
        return statement.on_conflict_do_update(
            index_elements=["id"],
            set_={
                column.name: new[column.name]
                for column in pull_request_reviews.columns
                if column.name not in _REVIEW_KEPT_ON_UPDATE
            },
            where=or_(pull_request_reviews.c.state != "dismissed", new.state == "dismissed"),
        ).returning(pull_request_reviews.c.id)

    def _build_signal_upsert(self) -> Any:
        statement = self._insert(pull_request_signals)
        new = statement.excluded
        return statement.on_conflict_do_update(
            index_elements=list(_SIGNAL_KEY),
            set_={name: new[name] for name in ("review_decision", "merge_signal", "updated_at")},
        ).returning(pull_request_signals.c.number)
