"""A GraphQL query's rate-limit cost and node count, computed from the query before it runs.

GitHub's documented rule (https://docs.github.com/graphql/overview/rate-limits-and-node-limits-
for-the-graphql-api): add up the requests needed to fulfil each connection, assuming every
`first`/`last` limit is reached — a connection under another connection's nodes is requested
once per parent node — divide by 100, round to the nearest whole number, minimum 1. The node
count multiplies the page sizes the same way and may not exceed 500,000.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    OperationDefinitionNode,
    get_named_type,
    is_abstract_type,
)
from graphql.execution.collect_fields import collect_fields, collect_sub_fields
from graphql.execution.values import get_argument_values

from prwatch.sim.graphql_paging import QueryError, page_size

MAX_NODES = 500_000
PAGED_FIELDS = frozenset({"nodes", "edges"})  # the fields of a connection repeated per node


@dataclass(frozen=True, slots=True)
class QueryCost:
    requests: int  # connection requests, each nested one counted once per parent node
    nodes: int

    @property
    def points(self) -> int:
        return max(1, (self.requests + 50) // 100)  # round half up, as GitHub's examples do

    def __add__(self, other: QueryCost) -> QueryCost:
        return QueryCost(self.requests + other.requests, self.nodes + other.nodes)


NOTHING = QueryCost(0, 0)


def is_connection(type_name: str) -> bool:
    return type_name.endswith("Connection")


def query_cost(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: dict[str, FragmentDefinitionNode],
    variables: dict[str, Any],
) -> QueryCost:
    """The cost of a validated operation with coerced `variables`; QueryError if refused.

    Refused: a connection without `first`/`last` (or with a bad one), more than 500,000 nodes.
    """
    root = schema.query_type
    assert root is not None
    walker = _Walker(schema, fragments, variables)
    fields = collect_fields(schema, fragments, variables, root, operation.selection_set)
    cost = walker.selections(root, fields, 1)
    if cost.nodes > MAX_NODES:
        raise QueryError(
            f"This query requests up to {cost.nodes:,} possible nodes which exceeds the maximum "
            f"limit of {MAX_NODES:,}.",
            "MAX_NODE_LIMIT_EXCEEDED",
        )
    return cost


class _Walker:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDefinitionNode],
        variables: dict[str, Any],
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables

    def selections(
        self, parent: GraphQLObjectType, fields: dict[str, list[FieldNode]], times: int
    ) -> QueryCost:
        """The cost of `fields` (by response key) selected `times` times on `parent`."""
        total = NOTHING
        for nodes in fields.values():
            name = nodes[0].name.value
            definition = parent.fields.get(name)
            if definition is None:
                continue  # __typename and other introspection fields cost nothing
            named = get_named_type(definition.type)
            if is_connection(named.name):
                arguments = get_argument_values(definition, nodes[0], self.variables)
                size = page_size(name, arguments)
                total += QueryCost(times, times * size)
                total += self.subfields(named, nodes, times, size)
            elif isinstance(named, GraphQLObjectType) or is_abstract_type(named):
                total += self.subfields(named, nodes, times, None)
        return total

    def subfields(
        self, named: Any, nodes: list[FieldNode], times: int, page: int | None
    ) -> QueryCost:
        """Below an object: the dearest of its possible types when the field is abstract."""
        if isinstance(named, GraphQLInterfaceType | GraphQLUnionType):
            candidates = list(self.schema.get_possible_types(named))
        else:
            candidates = [named]
        dearest = NOTHING
        for candidate in candidates:
            fields = collect_sub_fields(
                self.schema, self.fragments, self.variables, candidate, nodes
            )
            if page is None:
                cost = self.selections(candidate, fields, times)
            else:
                cost = NOTHING
                for key, field_nodes in fields.items():
                    repeat = page if field_nodes[0].name.value in PAGED_FIELDS else 1
                    cost += self.selections(candidate, {key: field_nodes}, times * repeat)
            if (cost.requests, cost.nodes) > (dearest.requests, dearest.nodes):
                dearest = cost
        return dearest
