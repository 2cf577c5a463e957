"""What a caller may see, as a SQL condition: visibility pushed into the query, never applied
in Python after a LIMIT (which would make pages short and cursors skip)."""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import ColumnElement, and_, or_, select, true

from prwatch.store.schema import repositories


class Scope(Protocol):
    """What a caller may see (``prwatch.web.access.Visibility`` is one): ``None`` is no limit."""

    @property
    def installation_ids(self) -> frozenset[int] | None: ...

    @property
    def repository_ids(self) -> frozenset[int] | None: ...


def scope_clause(
    scope: Scope | None,
    installation_column: ColumnElement[Any],
    repository_column: ColumnElement[Any],
) -> ColumnElement[bool]:
    """The SQL condition a row with these installation and repository columns must meet."""
    conditions: list[ColumnElement[bool]] = []
    if scope is not None and scope.installation_ids is not None:
        ids = sorted(scope.installation_ids)
        # A row without an installation id belongs to its repository's installation.
        conditions.append(
            or_(
                installation_column.in_(ids),
                and_(
                    installation_column.is_(None),
                    repository_column.in_(
                        select(repositories.c.id).where(repositories.c.installation_id.in_(ids))
                    ),
                ),
            )
        )
    if scope is not None and scope.repository_ids is not None:
        conditions.append(repository_column.in_(sorted(scope.repository_ids)))
    return and_(true(), *conditions)
