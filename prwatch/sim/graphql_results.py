"""Reuse of a commit's completed selection across queries, while the commit's checks stand still.

A sweep asks every open PR's head commit for its check runs, every few minutes, and nearly
always gets the same answer; completing those selections is nearly all of a check query's
cost in graphql-core. So the JSON of a completed `Commit` selection is kept, keyed by

- the selection's shape: the printed selection sets (the field's own alias and arguments
  are not part of it), the fragments they spread and the values of the variables they use;
- the commit: repository id and oid;

and valid while the commit's version stands: `world.sha_rev[(repository, oid)]`, which every
change to the commit's check suites and runs bumps (the same version the REST check-run
ETags use), and `world.check_apps_rev` for the apps the suites name. A selection whose
completion met a field error is not kept (an error's path and location belong to one query).

A reused selection enters the result as a placeholder string that `Splices.apply` replaces
with the kept JSON text once the response body is encoded.
"""

from __future__ import annotations

import json
import re
import secrets
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLAbstractType,
    GraphQLError,
    GraphQLOutputType,
    GraphQLResolveInfo,
    Node,
    VariableNode,
    print_ast,
)
from graphql.pyutils import Path

from prwatch.sim.graphql_documents import child_nodes
from prwatch.sim.graphql_schema import Commit, GitHubExecutionContext, QueryContext
from prwatch.sim.render import dumps
from prwatch.sim.world import World

MAX_CHARS = 256_000_000  # ~1.4 KB per commit with five check runs: ~180,000 commits

Shape = tuple[str, tuple[str, ...]]  # printed selections and fragments, variables they use
Version = tuple[int, int]


class CommitResults:
    """Completed commit selections as JSON text; least recently used first out past
    `max_chars`. Belongs to one world: another world empties it."""

    def __init__(self, *, max_chars: int = MAX_CHARS) -> None:
        self.max_chars = max_chars
        self._world: World | None = None
        self._entries: OrderedDict[tuple[Any, ...], tuple[Version, str]] = OrderedDict()
        self._chars = 0
        self._interned: dict[str, str] = {}
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def attach(self, world: World) -> None:
        if world is not self._world:
            self.clear()
            self._world = world

    def clear(self) -> None:
        self._entries.clear()
        self._interned.clear()
        self._chars = 0

    def get(self, key: tuple[Any, ...], version: Version) -> str | None:
        found = self._entries.get(key)
        if found is None or found[0] != version:
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return found[1]

    def put(self, key: tuple[Any, ...], version: Version, text: str) -> None:
        if len(text) > self.max_chars:
            return
        replaced = self._entries.pop(key, None)
        if replaced is not None:
            self._chars -= len(replaced[1])
        self._entries[key] = (version, text)
        self._chars += len(text)
        while self._chars > self.max_chars:
            _, (_, evicted) = self._entries.popitem(last=False)
            self._chars -= len(evicted)

    def intern(self, text: str) -> str:
        """One copy of each selection shape's text among the keys."""
        return self._interned.setdefault(text, text)


class Splices:
    """Placeholders standing for JSON text in a result, replaced once the result is encoded."""

    _NONCE = secrets.token_hex(8)  # no string of a world or a query can hold it
    _PATTERN = re.compile('"\\\\u0000' + _NONCE + ':([0-9]+)"')

    def __init__(self) -> None:
        self._texts: list[str] = []

    def __bool__(self) -> bool:
        return bool(self._texts)

    def placeholder(self, text: str) -> str:
        self._texts.append(text)
        return f"\x00{self._NONCE}:{len(self._texts) - 1}"

    def apply(self, encoded: str) -> str:
        """`encoded` (JSON of a result holding placeholders) with each replaced by its text."""
        if not self._texts:
            return encoded
        texts = self._texts
        return self._PATTERN.sub(lambda match: texts[int(match.group(1))], encoded)


def selection_shape(
    field_nodes: list[FieldNode], fragments: Mapping[str, FragmentDefinitionNode]
) -> Shape:
    """What a field's completed value depends on in the query: its selection sets, the
    fragments they spread (transitively) and the names of the variables they use."""
    printed: list[str] = []
    spread: dict[str, str] = {}
    variables: set[str] = set()
    stack: list[Node] = []
    for field_node in field_nodes:
        if field_node.selection_set is not None:
            printed.append(_text(field_node.selection_set))
            stack.append(field_node.selection_set)
    while stack:
        node = stack.pop()
        if isinstance(node, VariableNode):
            variables.add(node.name.value)
        elif isinstance(node, FragmentSpreadNode):
            name = node.name.value
            definition = fragments.get(name)
            if name not in spread and definition is not None:
                spread[name] = _text(definition)
                stack.append(definition)
        stack.extend(child_nodes(node))
    text = "\n".join(printed + [spread[name] for name in sorted(spread)])
    return text, tuple(sorted(variables))


def _text(node: Node) -> str:
    """The node's query text: the same text is the same syntax tree (the converse need not
    hold, which only costs a reuse)."""
    loc = node.loc
    return print_ast(node) if loc is None else loc.source.body[loc.start : loc.end]


@dataclass(frozen=True, slots=True, kw_only=True)
class ReuseContext(QueryContext):
    """A query's context when completed commit selections may be reused."""

    results: CommitResults
    fragments: Mapping[str, FragmentDefinitionNode]
    shapes: dict[tuple[int, ...], Shape]  # the document's, by the ids of a field's nodes
    splices: Splices = field(default_factory=Splices)


class ReusingExecutionContext(GitHubExecutionContext):
    """Completes a `Commit` from the kept JSON when its version has not moved."""

    field_errors = 0

    def handle_field_error(
        self, error: GraphQLError, return_type: GraphQLOutputType, path: Path
    ) -> None:
        self.field_errors += 1
        super().handle_field_error(error, return_type, path)

    def complete_abstract_value(
        self,
        return_type: GraphQLAbstractType,
        field_nodes: list[FieldNode],
        info: GraphQLResolveInfo,
        path: Path,
        result: Any,
    ) -> Any:
        # `Commit` is only ever returned as a `GitObject`: hooking abstract values only keeps
        # the per-field cost of every other field as it was.
        context = info.context
        if not isinstance(result, Commit) or not isinstance(context, ReuseContext):
            return super().complete_abstract_value(return_type, field_nodes, info, path, result)
        key = self._key(context, field_nodes, result)
        world = context.world
        version = (world.sha_rev.get((result.repo.id, result.oid), 0), world.check_apps_rev)
        if key is not None:
            text = context.results.get(key, version)
            if text is not None:
                return context.splices.placeholder(text)
        errors_before = self.field_errors
        completed = super().complete_abstract_value(return_type, field_nodes, info, path, result)
        if key is not None and self.field_errors == errors_before:
            context.results.put(key, version, dumps(completed))
        return completed

    def _key(
        self, context: ReuseContext, field_nodes: list[FieldNode], commit: Commit
    ) -> tuple[Any, ...] | None:
        ids = tuple(map(id, field_nodes))
        shape = context.shapes.get(ids)
        if shape is None:
            text, names = selection_shape(field_nodes, context.fragments)
            shape = context.shapes[ids] = (context.results.intern(text), names)
        text, names = shape
        values: tuple[str, ...] = ()
        if names:
            variables = self.variable_values
            try:
                values = tuple(
                    json.dumps(variables.get(name), sort_keys=True, default=_unencodable)
                    for name in names
                )
            except TypeError:
                return None  # a value without a faithful text: complete it every time
        # What the installation may read decides what a selection completes to.
        granted = tuple(sorted(context.permissions.items())) if context.permissions else ()
        return (text, values, commit.repo.id, commit.oid, granted)


def _unencodable(value: object) -> Any:
    raise TypeError(f"{type(value).__name__} is not JSON")
