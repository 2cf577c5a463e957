from __future__ import annotations

from typing import Any

import pytest
from graphql import parse

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


def test_parsing_rollups_nulls_statuses_and_truncation() -> None:
    batch = [repo(1, 4), repo(2, 1, start=9)]
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
        "r1": None,  # GitHub does not resolve the repository
    }
    found = parse_check_rollups(batch, data)
    first = found.runs[(1, sha(0))]
    assert [(r.id, r.status, r.conclusion, r.head_sha) for r in first] == [
        (1, "completed", "success", sha(0)),
        (2, "in_progress", None, sha(0)),
    ]
    assert found.runs[(1, sha(1))] == [] and found.runs[(1, sha(2))] == []
    assert found.truncated == {(1, sha(3))}
    assert found.missing_repositories == {2}
