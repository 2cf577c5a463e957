"""Relay connections for the simulated GraphQL API: page-size rules and keyset cursors.

GitHub's rules, enforced both before execution (for the cost) and while resolving:
`first` or `last` is required, at most 100, never negative, and not both at once
(https://docs.github.com/graphql/overview/rate-limits-and-node-limits-for-the-graphql-api).

Cursors carry the sort key of the node they point at, not an offset: a page fetched after the
list changed continues after that node, wherever it now sits, as GitHub's cursors do.
"""

from __future__ import annotations

import base64
import binascii
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

MAX_PAGE_SIZE = 100
CURSOR_PREFIX = "cursor:v2:"

T = TypeVar("T")
SortKey = tuple[int, ...]


class QueryError(Exception):
    """A GitHub-style GraphQL error: a message and, for some errors, a `type`."""

    def __init__(self, message: str, type: str | None = None) -> None:
        super().__init__(message)
        self.type = type

    @property
    def extensions(self) -> dict[str, Any]:
        # graphql-core copies an original error's `extensions` onto the GraphQLError it reports.
        return {"type": self.type} if self.type else {}


@dataclass(frozen=True, slots=True)
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@dataclass(frozen=True, slots=True)
class Edge:
    cursor: str
    node: object


@dataclass(frozen=True, slots=True)
class Connection:
    total_count: int
    edges: list[Edge]
    page_info: PageInfo

    @property
    def nodes(self) -> list[object]:
        return [edge.node for edge in self.edges]


def page_size(connection: str, arguments: Mapping[str, Any]) -> int:
    """The number of nodes a connection field may return, or a QueryError as GitHub words it."""
    first, last = arguments.get("first"), arguments.get("last")
    if first is None and last is None:
        raise QueryError(
            f"You must provide a `first` or `last` value to properly paginate the "
            f"`{connection}` connection.",
            "MISSING_PAGINATION_BOUNDARIES",
        )
    if first is not None and last is not None:
        raise QueryError(
            f"Passing both `first` and `last` to paginate the `{connection}` connection is not "
            "supported."
        )
    name, value = ("first", first) if first is not None else ("last", last)
    assert isinstance(value, int)
    if value < 0:
        raise QueryError(f"`{name}` on the `{connection}` connection cannot be less than zero.")
    if value > MAX_PAGE_SIZE:
        raise QueryError(
            f"Requesting {value} records on the `{connection}` connection exceeds the `{name}` "
            f"limit of {MAX_PAGE_SIZE} records.",
            "EXCESSIVE_PAGINATION",
        )
    return value


def encode_cursor(key: SortKey) -> str:
    text = CURSOR_PREFIX + ",".join(str(part) for part in key)
    return base64.b64encode(text.encode()).decode()


def decode_cursor(cursor: str) -> SortKey:
    invalid = QueryError(
        f"`{cursor}` does not appear to be a valid cursor.", "INVALID_CURSOR_ARGUMENTS"
    )
    try:
        text = base64.b64decode(cursor.encode(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as error:
        raise invalid from error
    if not text.startswith(CURSOR_PREFIX):
        raise invalid
    try:
        return tuple(int(part) for part in text[len(CURSOR_PREFIX) :].split(","))
    except ValueError as error:
        raise invalid from error


def paginate(
    items: Sequence[T],
    key: Callable[[T], SortKey],
    connection: str,
    arguments: Mapping[str, Any],
) -> Connection:
    """One page of `items`, which must be sorted by `key` ascending with no two keys equal.

    `arguments` holds the field's `first`, `after`, `last` and `before` (missing ones are None).
    """
    size = page_size(connection, arguments)
    start, end = 0, len(items)
    after, before = arguments.get("after"), arguments.get("before")
    if after is not None:
        start = bisect_right(items, decode_cursor(after), key=key)
    if before is not None:
        end = max(start, bisect_left(items, decode_cursor(before), key=key))
    if arguments.get("first") is not None:
        end = min(end, start + size)
    else:
        start = max(start, end - size)
    edges = [Edge(encode_cursor(key(item)), item) for item in items[start:end]]
    info = PageInfo(
        has_next_page=end < len(items),
        has_previous_page=start > 0,
        start_cursor=edges[0].cursor if edges else None,
        end_cursor=edges[-1].cursor if edges else None,
    )
    return Connection(len(items), edges, info)
