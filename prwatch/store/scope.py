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


def scope_allows(
    scope: Scope | None, installation_id: int | None, repository_id: int | None
) -> bool:
    """``scope_clause`` for one row already read (a change the stream is about to send). A row
    without an installation id passes an installation limit only through ``scope_clause``'s
    lookup of its repository, which needs the database: here it does not pass."""
    if scope is None:
        return True
    if scope.installation_ids is not None and installation_id not in scope.installation_ids:
        return False
    return scope.repository_ids is None or repository_id in scope.repository_ids
