"""Every GraphQL document prwatch sends validates against GitHub's published schema
(fixtures/github-graphql, from octokit/graphql-schema), and the simulator's schema agrees with
it wherever the two overlap: prwatch is right on the real GitHub, not only on its simulator."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    build_schema,
    parse,
    validate,
)

from prwatch.sim.graphql_schema import schema as simulator_schema
from prwatch.sync.check_query import COMMITS_PER_QUERY, RepositoryCommits, build_check_query

SCHEMA = Path(__file__).resolve().parents[3] / "fixtures" / "github-graphql" / "schema.graphql"


@pytest.fixture(scope="module")
def github_schema() -> GraphQLSchema:
    # The published SDL defines two fields of EnterpriseOwnerInfo twice, which strict SDL
    # validation refuses; the schema is GitHub's own, so it is taken as valid.
    return build_schema(SCHEMA.read_text(), assume_valid_sdl=True)


def batch(*sizes: int) -> list[RepositoryCommits]:
    return [
        RepositoryCommits(r, "octo", f"repo-{r}", tuple(f"{r:02x}{c:038x}" for c in range(n)))
        for r, n in enumerate(sizes)
    ]


@pytest.mark.parametrize("sizes", [(1,), (3, 1, 7), (COMMITS_PER_QUERY,), (100, 49)])
def test_check_queries_validate(github_schema: GraphQLSchema, sizes: tuple[int, ...]) -> None:
    query, _ = build_check_query(batch(*sizes))
    errors = validate(github_schema, parse(query))
    assert errors == [], [error.message for error in errors[:3]]
    assert validate(simulator_schema(), parse(query)) == []


def test_the_simulators_schema_is_a_subset_of_githubs(github_schema: GraphQLSchema) -> None:
    problems: list[str] = []
    for name, ours in simulator_schema().type_map.items():
        if name.startswith("__"):
            continue
        theirs = github_schema.type_map.get(name)
        if theirs is None or type(theirs) is not type(ours):
            problems.append(f"type {name}")
            continue
        if isinstance(ours, GraphQLObjectType | GraphQLInterfaceType | GraphQLInputObjectType):
            assert isinstance(
                theirs, GraphQLObjectType | GraphQLInterfaceType | GraphQLInputObjectType
            )
            for field_name, field in ours.fields.items():
                real = theirs.fields.get(field_name)
                if real is None or str(real.type) != str(field.type):
                    problems.append(f"{name}.{field_name}: {field.type}")
                    continue
                for arg, value in getattr(field, "args", {}).items():
                    real_arg = getattr(real, "args", {}).get(arg)
                    if real_arg is None or str(real_arg.type) != str(value.type):
                        problems.append(f"{name}.{field_name}({arg}: {value.type})")
        if isinstance(ours, GraphQLEnumType):
            assert isinstance(theirs, GraphQLEnumType)
            problems.extend(f"{name}.{v}" for v in set(ours.values) - set(theirs.values))
        if isinstance(ours, GraphQLUnionType):
            assert isinstance(theirs, GraphQLUnionType)
            real_members = {member.name for member in theirs.types}
            problems.extend(f"{name} | {m.name}" for m in ours.types if m.name not in real_members)
    assert problems == []
