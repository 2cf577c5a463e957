"""The typed decoding of a check query's answer finds exactly what the general parser finds:
the same runs and statuses, the same values, the same malformed nodes reported and skipped
(and an answer of the wrong shape is left to the general parser)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from prwatch.domain.check_runs import CheckRunRow
from prwatch.github.responses import GraphQLResponse
from prwatch.sync import check_reply
from prwatch.sync.check_query import CheckRollups, RepositoryCommits, parse_check_rollups
from prwatch.sync.check_reply import decode_check_rollups
from prwatch.sync.shared_check_queries import query_check_rollups


def sha(n: int) -> str:
    return f"{n:040x}"


def repo(repository_id: int, count: int, start: int = 0) -> RepositoryCommits:
    return RepositoryCommits(
        repository_id, "octo", f"r{repository_id}", tuple(sha(start + i) for i in range(count))
    )


def run_node(run_id: int, **changes: Any) -> dict[str, Any]:
    node = {
        "__typename": "CheckRun",
        "databaseId": run_id,
        "name": f"check-{run_id}",
        "status": "COMPLETED",
        "conclusion": "SUCCESS",
        "startedAt": "2026-01-01T00:00:00Z",
        "completedAt": "2026-01-01T00:01:00Z",
        "checkSuite": {"databaseId": 7, "app": {"slug": "ci"}},
    }
    return node | changes


def status_node(context: str, **changes: Any) -> dict[str, Any]:
    node = {
        "__typename": "StatusContext",
        "context": context,
        "state": "SUCCESS",
        "description": "Build #7 passed",
        "targetUrl": "https://ci.example.com/7",
        "createdAt": "2026-01-01T00:02:00Z",
    }
    return node | changes


def answer(*nodes: dict[str, Any], has_next_page: bool = False) -> dict[str, Any]:
    contexts = {"pageInfo": {"hasNextPage": has_next_page}, "nodes": list(nodes)}
    return {
        "rateLimit": {"cost": 1, "remaining": 4999, "limit": 5000},
        "r0": {"databaseId": 1, "c0": {"oid": sha(0), "statusCheckRollup": {"contexts": contexts}}},
    }


def both(
    batch: list[RepositoryCommits], data: Any, errors: list[dict[str, Any]] | None = None
) -> tuple[CheckRollups | None, CheckRollups]:
    fast = decode_check_rollups(batch, json.dumps(data).encode(), errors or [])
    return fast, parse_check_rollups(batch, data, errors or [])


def test_the_usual_answer_decodes_to_what_the_general_parser_finds() -> None:
    batch = [repo(1, 4)]
    data = {
        "r0": {
            "c0": {
                "statusCheckRollup": {
                    "contexts": {
                        "pageInfo": {"hasNextPage": False},
                        "nodes": [
                            run_node(1),
                            run_node(2, status="IN_PROGRESS", conclusion=None, completedAt=None),
                            run_node(3, checkSuite=None),
                            run_node(4, checkSuite={"databaseId": None, "app": None}),
                            run_node(5, databaseId=None),  # nullable: skipped, not reported
                            status_node("ci/jenkins"),
                            status_node("ci/lint", description=None, targetUrl=None),
                        ],
                    }
                }
            },
            "c1": {"statusCheckRollup": None},
            "c2": None,
            "c3": {"statusCheckRollup": {"contexts": {"pageInfo": {"hasNextPage": True}}}},
        }
    }
    fast, slow = both(batch, data)
    assert fast is not None and fast == slow
    runs = fast.runs[(1, sha(0))]
    assert [type(run) for run in runs] == [CheckRunRow] * 4
    assert runs[0] == (
        1,
        1,
        sha(0),
        "check-1",
        "completed",
        "success",
        datetime(2026, 1, 1, tzinfo=UTC),
        datetime(2026, 1, 1, 0, 1, tzinfo=UTC),
        "ci",
        7,
    )
    assert [status.context for status in fast.statuses[(1, sha(0))]] == ["ci/jenkins", "ci/lint"]
    assert fast.truncated == {(1, sha(3))}
    assert not fast.skipped


def test_a_shared_answer_decodes_one_block_per_commit_and_places_errors() -> None:
    batch = [repo(1, 2), repo(2, 1, start=5), repo(3, 1, start=7), repo(4, 1, start=9)]
    rollup = {"statusCheckRollup": {"contexts": {"nodes": [run_node(4)]}}}
    data = {"r0": {"c0": None}, "r1": {"c0": rollup}, "r2": None, "r3": None, "r4": {"c0": rollup}}
    errors = [
        {"type": "FORBIDDEN", "path": ["r0", "c0"], "message": "Resource not accessible"},
        {"type": "NOT_FOUND", "path": ["r2"], "message": "Could not resolve"},
        {"type": "FORBIDDEN", "path": ["r3"], "message": "Resource not accessible"},
        {"type": "MAX_NODE_LIMIT_EXCEEDED", "path": ["rateLimit"], "message": "cost only"},
    ]
    fast, slow = both(batch, data, errors)
    assert fast is not None and fast == slow
    assert set(fast.unreadable) == {(1, sha(0))}
    assert [run.id for run in fast.runs[(1, sha(1))]] == [4]
    assert fast.missing_repositories == {2}
    assert set(fast.failed_repositories) == {3}
    assert [run.head_sha for run in fast.runs[(4, sha(9))]] == [sha(9)]


FUTURE = (datetime.now(UTC) + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")

# Nodes of the schema's types whose values break a boundary rule (reported and skipped) or
# need the validators' normalising (kept as they keep them).
HOSTILE_VALUES = [
    pytest.param(run_node(9, name="x" * 5000), False, id="overlong name: cut"),
    pytest.param(run_node(9, name="bad\x00name"), True, id="NUL in a name"),
    pytest.param(run_node(9, name="déploiement ✓"), False, id="non-ASCII name"),
    pytest.param(run_node(9, name=""), False, id="empty name"),
    pytest.param(run_node(0), True, id="id 0"),
    pytest.param(run_node(-4), True, id="negative id"),
    pytest.param(run_node(2**63), True, id="id past 64 bits"),
    pytest.param(run_node(2**70), True, id="id past 70 bits"),
    pytest.param(run_node(9, status="in_progress"), False, id="lower-case status"),
    pytest.param(run_node(9, status="EXPLODED"), True, id="unknown status"),
    pytest.param(run_node(9, conclusion="SUPERSEDED"), False, id="new conclusion"),
    pytest.param(run_node(9, conclusion="not a word!"), True, id="conclusion not a keyword"),
    pytest.param(run_node(9, conclusion="x" * 40), True, id="overlong conclusion"),
    pytest.param(run_node(9, startedAt=FUTURE), True, id="started in 3 days"),
    pytest.param(run_node(9, startedAt="2026-01-01T00:00:00"), True, id="naive timestamp"),
    pytest.param(run_node(9, startedAt="yesterday"), True, id="not a timestamp"),
    pytest.param(run_node(9, completedAt="2026-01-01t00:00:00z"), True, id="lower-case t and z"),
    pytest.param(run_node(9, startedAt="2026-01-01T01:00:00+01:00"), False, id="offset"),
    pytest.param(run_node(9, checkSuite={"databaseId": 0}), True, id="suite id 0"),
    pytest.param(run_node(9, checkSuite={"app": {"slug": ""}}), True, id="empty slug"),
    pytest.param(run_node(9, checkSuite={"app": {"slug": "s" * 300}}), True, id="long slug"),
    pytest.param(status_node("ci", state="EXPECTED"), True, id="expected status"),
    pytest.param(status_node("ci", state="success"), False, id="lower-case state"),
    pytest.param(status_node(""), True, id="empty context"),
    pytest.param(status_node("c" * 1001), True, id="overlong context"),
    pytest.param(status_node("ci", description="d" * 5000), False, id="long description: cut"),
    pytest.param(status_node("ci", targetUrl=""), True, id="empty target URL"),
    pytest.param(status_node("ci", targetUrl="u" * 3000), True, id="overlong target URL"),
    pytest.param(status_node("ci", createdAt=FUTURE), True, id="status in 3 days"),
    pytest.param(status_node("ci\x00"), True, id="NUL in a context"),
]


@pytest.mark.parametrize(("node", "reported"), HOSTILE_VALUES)
def test_hostile_values_are_judged_as_the_validators_judge_them(
    node: dict[str, Any], reported: bool
) -> None:
    data = answer(run_node(1), node, status_node("ci/other"))
    fast, slow = both([repo(1, 1)], data)
    assert fast is not None and fast == slow
    key = (1, sha(0))
    assert bool(fast.skipped.get(key)) == reported
    assert 1 in [run.id for run in fast.runs[key]]  # the rest of the commit still counts
    assert "ci/other" in [status.context for status in fast.statuses[key]]


# Answers not shaped as GitHub's schema says: the typed decoding does not take them, the
# general parser does (and reports and skips what it reported and skipped before).
WRONG_SHAPES = [
    # JSON may escape a lone surrogate; msgspec refuses to decode one at all.
    pytest.param(answer(run_node(1), run_node(9, name="\ud800")), id="lone surrogate"),
    pytest.param(answer(run_node(1), run_node(9, name=5)), id="name of the wrong type"),
    pytest.param(answer(run_node(1), run_node(9, databaseId="9")), id="id as a string"),
    pytest.param(answer(run_node(1), run_node(9, databaseId=True)), id="id as a boolean"),
    pytest.param(answer(run_node(1), run_node(9, startedAt=12)), id="timestamp as a number"),
    pytest.param(answer(run_node(1), {"__typename": "CheckRun"}), id="fields missing"),
    pytest.param(answer(run_node(1), {"__typename": "Mystery"}), id="unknown node type"),
    pytest.param(answer(run_node(1), {"name": "untyped"}), id="no __typename"),
    pytest.param(answer(run_node(1), "a string"), id="node not an object"),
    pytest.param(answer(run_node(1), run_node(9, checkSuite=[])), id="suite not an object"),
    pytest.param({"r0": {"c0": "commit"}}, id="commit not an object"),
    pytest.param({"r0": []}, id="repository block not an object"),
    pytest.param(
        {"r0": {"c0": {"statusCheckRollup": {"contexts": {"pageInfo": {"hasNextPage": 1}}}}}},
        id="hasNextPage not a boolean",
    ),
]


@pytest.mark.parametrize("data", WRONG_SHAPES)
def test_answers_of_the_wrong_shape_are_left_to_the_general_parser(data: Any) -> None:
    fast, slow = both([repo(1, 1)], data)
    assert fast is None
    if "rateLimit" in data:  # one odd node among good ones: the good one still counts
        assert [run.id for run in slow.runs[(1, sha(0))]] == [1]


def test_an_answer_that_is_not_json_is_left_to_the_general_parser() -> None:
    assert decode_check_rollups([repo(1, 1)], b"{not json", []) is None
    assert decode_check_rollups([repo(1, 1)], b"[1, 2]", []) is None


def test_a_commit_sha_of_upper_case_is_kept_as_the_validators_keep_it() -> None:
    batch = [RepositoryCommits(1, "octo", "r1", ("A" * 40, "not-a-sha"))]
    rollup = {"statusCheckRollup": {"contexts": {"nodes": [run_node(1), status_node("ci")]}}}
    data = {"r0": {"c0": rollup, "c1": rollup}}
    fast, slow = both(batch, data)
    assert fast is not None and fast == slow
    assert [run.head_sha for run in fast.runs[(1, "A" * 40)]] == ["a" * 40]
    assert fast.runs[(1, "not-a-sha")] == [] and len(fast.skipped[(1, "not-a-sha")]) == 2


def test_a_timestamp_refused_once_is_refused_again() -> None:
    # Only timestamps that passed are remembered: a future one is reported each time.
    data = answer(run_node(1), run_node(2, startedAt=FUTURE))
    for _ in range(2):
        fast = decode_check_rollups([repo(1, 1)], json.dumps(data).encode(), [])
        assert fast is not None and len(fast.skipped[(1, sha(0))]) == 1
    assert FUTURE not in check_reply._SEEN_TIMESTAMPS


class _Answering:
    def __init__(self, response: GraphQLResponse) -> None:
        self.response = response

    async def graphql(self, query: str, **kwargs: Any) -> GraphQLResponse:
        return self.response


async def test_the_check_query_decodes_the_json_it_was_handed_and_falls_back_when_odd() -> None:
    batch = [repo(1, 1)]
    usual = answer(run_node(1), status_node("ci"))
    odd = answer(run_node(1), run_node(2, name=5), status_node("ci"))
    for data in (usual, odd):
        response = GraphQLResponse(data_json=json.dumps(data).encode())
        found = await query_check_rollups(_Answering(response), 1, batch)
        assert found == parse_check_rollups(batch, data)
        assert [run.id for run in found.runs[(1, sha(0))]] == [1]
