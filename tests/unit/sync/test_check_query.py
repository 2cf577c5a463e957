from __future__ import annotations

from typing import Any

import pytest
from graphql import parse

from prwatch.github.errors import UnexpectedResponse
from prwatch.sync.check_query import (
    COMMITS_PER_QUERY,
    RepositoryCommits,
    build_check_query,
    parse_check_rollups,
)


def sha(n: int) -> str:
    return f"{n:040x}"


def repo(repository_id: int, count: int, start: int = 0) -> RepositoryCommits:
    return RepositoryCommits(
        repository_id, "octo", f"r{repository_id}", tuple(sha(start + i) for i in range(count))
    )


def test_the_query_is_valid_graphql_and_its_text_depends_only_on_the_shape() -> None:
    one, variables = build_check_query([repo(1, 3)])
    parse(one)
    other, other_variables = build_check_query([repo(2, 3, start=50)])
    assert one == other  # GitHub can reuse the parsed query across repositories
    assert variables != other_variables
    assert variables["o0"] == "octo" and variables["n0"] == "r1"
    assert variables["s0_2"] == sha(2)


def test_a_batch_is_bounded_and_shas_are_checked() -> None:
    with pytest.raises(ValueError, match="at most"):
        build_check_query([repo(1, COMMITS_PER_QUERY + 1)])
    with pytest.raises(ValueError, match="not a commit SHA"):
        build_check_query([RepositoryCommits(1, "o", "r", ("HEAD",))])


def run_node(run_id: int, status: str = "COMPLETED", conclusion: str | None = "SUCCESS") -> Any:
    return {
        "__typename": "CheckRun",
        "databaseId": run_id,
        "name": f"check-{run_id}",
        "status": status,
        "conclusion": conclusion,
        "startedAt": "2026-01-01T00:00:00Z",
        "completedAt": "2026-01-01T00:01:00Z" if status == "COMPLETED" else None,
        "checkSuite": {"databaseId": 7, "app": {"slug": "ci"}},
    }


def test_a_shared_query_text_depends_only_on_its_number_of_commits() -> None:
    # One repository block per commit once several repositories share a query: however the
    # commits are packed, the same number of them is the same text.
    packed, variables = build_check_query([repo(1, 100), repo(2, 49, start=200)])
    other, _ = build_check_query([repo(3, 2), repo(4, 120, start=300), repo(5, 27, start=500)])
    assert packed == other
    assert packed.count("repository(") == COMMITS_PER_QUERY
    assert (variables["n99"], variables["s99_0"]) == ("r1", sha(99))
    assert (variables["n100"], variables["s100_0"]) == ("r2", sha(200))
    alone, _ = build_check_query([repo(6, 149)])
    assert alone.count("repository(") == 1  # a query that is not shared reads as before


def test_parsing_rollups_nulls_statuses_and_truncation() -> None:
    batch = [repo(1, 4)]
    data = {
        "r0": {
            "c0": {
                "statusCheckRollup": {
                    "contexts": {
                        "pageInfo": {"hasNextPage": False},
                        "nodes": [
                            run_node(1),
                            run_node(2, "IN_PROGRESS", None),
                            {"__typename": "StatusContext"},
                        ],
                    }
                }
            },
            "c1": {"statusCheckRollup": None},  # no checks at all
            "c2": None,  # unknown commit (yet)
            "c3": {
                "statusCheckRollup": {
                    "contexts": {"pageInfo": {"hasNextPage": True}, "nodes": [run_node(3)]}
                }
            },
        },
    }
    found = parse_check_rollups(batch, data)
    first = found.runs[(1, sha(0))]
    assert [(r.id, r.status, r.conclusion, r.head_sha) for r in first] == [
        (1, "completed", "success", sha(0)),
        (2, "in_progress", None, sha(0)),
    ]
    assert found.runs[(1, sha(1))] == [] and found.runs[(1, sha(2))] == []
    assert found.truncated == {(1, sha(3))}
    assert found.missing_repositories == set()


def test_parsing_a_shared_query_reads_one_block_per_commit() -> None:
    batch = [repo(1, 2), repo(2, 1, start=9)]
    rollup = {"statusCheckRollup": {"contexts": {"nodes": [run_node(4)]}}}
    data = {
        "r0": {"c0": rollup},
        "r1": {"c0": {"statusCheckRollup": None}},
        "r2": None,  # GitHub does not resolve the repository
    }
    found = parse_check_rollups(batch, data)
    assert [run.id for run in found.runs[(1, sha(0))]] == [4]
    assert found.runs[(1, sha(1))] == []
    assert found.missing_repositories == {2}


def test_the_query_validates_against_githubs_published_schema() -> None:
    # GitHub's published schema, not the simulator's subset: the StatusContext
    # fields prwatch reads exist there with these names.
    from pathlib import Path

    from graphql import build_schema, validate

    path = Path(__file__).parents[3] / "fixtures" / "github-graphql" / "schema.graphql"
    schema = build_schema(path.read_text(), assume_valid_sdl=True)
    query, _ = build_check_query([repo(1, 2), repo(2, 1, start=5)])
    assert validate(schema, parse(query)) == []
    assert "... on StatusContext { context state description targetUrl createdAt }" in query


def status_node(context: str, state: str = "SUCCESS") -> Any:
    return {
        "__typename": "StatusContext",
        "context": context,
        "state": state,
        "description": "Build #7 passed",
        "targetUrl": "https://ci.example.com/7",
        "createdAt": "2026-01-01T00:02:00Z",
    }


def test_status_contexts_sit_beside_check_runs_and_odd_states_are_skipped() -> None:
    batch = [repo(1, 1)]
    nodes = [run_node(5), status_node("ci/jenkins"), status_node("odd", "EXPECTED")]
    data = {"r0": {"c0": {"statusCheckRollup": {"contexts": {"nodes": nodes}}}}}
    found = parse_check_rollups(batch, data)
    assert [run.id for run in found.runs[(1, sha(0))]] == [5]
    (status,) = found.statuses[(1, sha(0))]
    assert (status.context, status.state, status.sha) == ("ci/jenkins", "success", sha(0))
    assert status.description == "Build #7 passed"
    assert status.target_url == "https://ci.example.com/7"
    assert status.updated_at == status.created_at
    assert status.created_at.isoformat() == "2026-01-01T00:02:00+00:00"
    (skipped,) = found.skipped[(1, sha(0))]
    assert "unknown commit status state 'expected'" in skipped.note
    assert (skipped.kind.value, skipped.reason.value) == ("commit_status", "unknown_state")


def test_check_runs_without_a_database_id_are_skipped_not_fatal() -> None:
    """`CheckRun.databaseId` is nullable in GitHub's schema."""
    nameless = run_node(5) | {"databaseId": None}
    data = {
        "r0": {
            "c0": {
                "statusCheckRollup": {
                    "contexts": {
                        "pageInfo": {"hasNextPage": False},
                        "nodes": [run_node(4), nameless, run_node(6) | {"status": "WHATEVER"}],
                    }
                }
            }
        }
    }
    found = parse_check_rollups([repo(1, 1)], data)
    assert [run.id for run in found.runs[(1, sha(0))]] == [4]
    (skipped,) = found.skipped[(1, sha(0))]  # the malformed one is reported, not fatal
    assert (skipped.kind.value, skipped.reason.value) == ("check_run", "unknown_state")


def test_errors_are_placed_on_their_commit_or_repository() -> None:
    # A shared query: one repository block per commit (r0, r1: repository 1; r2: 2; r3: 3).
    batch = [repo(1, 2), repo(2, 1, start=5), repo(3, 1, start=7)]
    data = {
        "r0": {"c0": None},
        "r1": {"c0": {"statusCheckRollup": None}},
        "r2": None,
        "r3": None,
    }
    errors = [
        {"type": "FORBIDDEN", "path": ["r0", "c0"], "message": "Resource not accessible"},
        {"type": "NOT_FOUND", "path": ["r2"], "message": "Could not resolve"},
        {"type": "FORBIDDEN", "path": ["r3"], "message": "Resource not accessible"},
    ]
    found = parse_check_rollups(batch, data, errors)
    assert set(found.unreadable) == {(1, sha(0))}
    assert found.runs[(1, sha(1))] == []
    assert found.missing_repositories == {2}
    assert set(found.failed_repositories) == {3}
    with pytest.raises(UnexpectedResponse):
        parse_check_rollups(batch, data, [{"type": "INTERNAL", "message": "boom"}])


def test_a_commit_out_of_shape_is_read_over_rest_and_spoils_no_other() -> None:
    """One commit's block of a shared query that is not what was asked for: that commit is
    read over REST; a node without a type is skipped and reported."""
    good = {"statusCheckRollup": {"contexts": {"nodes": [run_node(4)]}}}
    odd_shapes = [
        "not an object",
        {"statusCheckRollup": ["not", "an", "object"]},
        {"statusCheckRollup": {"contexts": "nodes"}},
        {"statusCheckRollup": {"contexts": {"nodes": {"a": 1}}}},
        {"statusCheckRollup": {"contexts": {"nodes": [], "pageInfo": "next"}}},
    ]
    batch = [repo(1, len(odd_shapes) + 1)]
    data = {"r0": {f"c{i}": shape for i, shape in enumerate([*odd_shapes, good])}}
    found = parse_check_rollups(batch, data)
    assert set(found.unreadable) == {(1, sha(i)) for i in range(len(odd_shapes))}
    assert [run.id for run in found.runs[(1, sha(len(odd_shapes)))]] == [4]

    typeless = {"statusCheckRollup": {"contexts": {"nodes": ["x", {"name": "n"}, run_node(5)]}}}
    found = parse_check_rollups([repo(1, 1)], {"r0": {"c0": typeless}})
    assert [run.id for run in found.runs[(1, sha(0))]] == [5]
    assert [item.kind.value for item in found.skipped[(1, sha(0))]] == ["rollup_node"] * 2
