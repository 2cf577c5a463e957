"""Parsed and validated GraphQL documents, kept by query text, with what is derived from them.

Pollers repeat their queries' text and vary only the variables (prwatch's check query is one
text per number of commits), so parsing and validation — most of a query's cost in
graphql-core — happen once per distinct text. Least recently used documents go first once
the texts held pass `max_chars`; a 100-commit check query (28,000 characters) holds ~1.7 MB.

A document's static cost depends on the variables only through the few the walk reads
(page sizes, `@skip`/`@include` conditions): `DocumentEntry.cost` remembers each cost with
the variable values it read, and reuses it for any request whose values agree
(`DocumentEntry.static`).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    Location,
    Node,
    OperationDefinitionNode,
    parse,
    validate,
)

from prwatch.sim.generate import collector_paused
from prwatch.sim.graphql_paging import QueryError

MAX_CHARS = 4_000_000  # ~250 MB of 100-commit check queries
COSTS_PER_OPERATION = 8
_MISSING = object()
T = TypeVar("T")

Errors = list[dict[str, Any]]
ErrorShaper = Callable[[GraphQLError], dict[str, Any]]


class _CompactLocation(Location):
    """A node's place in the query without the token chain: all that errors read of it
    (`source` and `start`, for `locations`), at half the document's memory."""

    __slots__ = ()

    def __init__(self, start: int, end: int, source: Any) -> None:
        self.start = start
        self.end = end
        self.source = source


def _compact_locations(document: DocumentNode) -> None:
    token = document.loc.start_token if document.loc is not None else None
    while token is not None:  # a doubly linked chain: unlinked, it goes by reference count
        following = token.next
        token.prev = token.next = None
        token = following
    stack: list[Node] = [document]
    while stack:
        node = stack.pop()
        loc = node.loc
        if loc is not None:
            node.loc = _CompactLocation(loc.start, loc.end, loc.source)
        stack.extend(child_nodes(node))


def child_nodes(node: Node) -> Iterator[Node]:
    """The AST nodes directly below ``node``."""
    for key in node.keys:
        if key == "loc":
            continue
        value = getattr(node, key, None)
        if isinstance(value, Node):
            yield value
        elif isinstance(value, list | tuple):
            yield from (item for item in value if isinstance(item, Node))


class ReadTracker(Mapping[str, Any]):
    """Coerced variables that remember which names were read, and what was found there."""

    def __init__(self, variables: Mapping[str, Any]) -> None:
        self._variables = variables
        self.reads: dict[str, Any] = {}
        self.nonempty: bool | None = None  # whether `not variables` was asked, and its answer
        self.read_all = False

    def __getitem__(self, name: str) -> Any:
        value = self._variables.get(name, _MISSING)
        self.reads[name] = value
        if value is _MISSING:
            raise KeyError(name)
        return value

    def __bool__(self) -> bool:
        self.nonempty = bool(self._variables)
        return self.nonempty

    def __len__(self) -> int:
        self.read_all = True
        return len(self._variables)

    def __iter__(self) -> Iterator[str]:
        self.read_all = True
        return iter(self._variables)


@dataclass(slots=True)
class _Remembered:
    reads: dict[str, Any] | None  # None: it read every variable, kept in `variables`
    nonempty: bool | None
    variables: dict[str, Any] | None
    outcome: object  # what `compute` returned, or the QueryError it raised

    def applies(self, variables: Mapping[str, Any]) -> bool:
        if self.reads is None:
            return self.variables == dict(variables)
        if self.nonempty is not None and self.nonempty != bool(variables):
            return False
        return all(variables.get(name, _MISSING) == value for name, value in self.reads.items())


@dataclass(slots=True)
class DocumentEntry:
    document: DocumentNode
    fragments: dict[str, FragmentDefinitionNode]
    # Selection shapes by the ids of a field's nodes (see graphql_results.selection_shape).
    shapes: dict[tuple[int, ...], tuple[str, tuple[str, ...]]] = field(default_factory=dict)
    _costs: dict[int, list[_Remembered]] = field(default_factory=dict)

    def static(
        self,
        operation: OperationDefinitionNode,
        variables: dict[str, Any],
        compute: Callable[[Mapping[str, Any]], T],
    ) -> T:
        """`compute(variables)`, or what it gave before for variables that agree on every
        value it read. `compute` must depend on nothing but the operation and the variables
        (the static cost does). A QueryError it raised is remembered and raised the same way."""
        remembered = self._costs.setdefault(id(operation), [])
        for entry in remembered:
            if entry.applies(variables):
                if isinstance(entry.outcome, QueryError):
                    raise entry.outcome
                return cast(T, entry.outcome)
        tracker = ReadTracker(variables)
        outcome: object  # what `compute` returned, or the QueryError it raised
        try:
            outcome = compute(tracker)
        except QueryError as refusal:
            outcome = refusal
        reads = None if tracker.read_all else tracker.reads
        everything = dict(variables) if reads is None else None
        remembered.insert(0, _Remembered(reads, tracker.nonempty, everything, outcome))
        del remembered[COSTS_PER_OPERATION:]
        if isinstance(outcome, QueryError):
            raise outcome
        return outcome


class DocumentCache:
    """Documents by query text, parsed and validated against `schema`; bounded by size."""

    def __init__(
        self, schema: GraphQLSchema, shape_error: ErrorShaper, *, max_chars: int = MAX_CHARS
    ) -> None:
        self.schema = schema
        self.shape_error = shape_error
        self.max_chars = max_chars
        self._entries: OrderedDict[str, DocumentEntry | Errors] = OrderedDict()
        self._chars = 0
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, query: str) -> DocumentEntry | Errors:
        """The document of `query`, or the syntax or validation errors GitHub would answer."""
        found = self._entries.get(query)
        if found is not None:
            self._entries.move_to_end(query)
            self.hits += 1
            return found
        self.misses += 1
        found = self._prepare(query)
        if len(query) <= self.max_chars:
            self._entries[query] = found
            self._chars += len(query)
            while self._chars > self.max_chars:
                evicted, _ = self._entries.popitem(last=False)
                self._chars -= len(evicted)
        return found

    def clear(self) -> None:
        self._entries.clear()
        self._chars = 0

    def _prepare(self, query: str) -> DocumentEntry | Errors:
        # Parsing and validating a large query allocates hundreds of thousands of objects
        # that either stay (the tree) or die by reference count (the token chain, unlinked
        # below): the collector would only walk the heap meanwhile, repeatedly.
        with collector_paused():
            try:
                document = parse(query)
            except GraphQLError as error:
                return [self.shape_error(error)]
            errors = validate(self.schema, document)
            if errors:
                return [self.shape_error(error) for error in errors]
            _compact_locations(document)
        fragments = {
            definition.name.value: definition
            for definition in document.definitions
            if isinstance(definition, FragmentDefinitionNode)
        }
        return DocumentEntry(document, fragments)
