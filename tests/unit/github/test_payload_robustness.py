"""Whatever a field holds, parsing either succeeds or raises PayloadError: never a KeyError,
TypeError or AttributeError from deep inside."""

from __future__ import annotations

import contextlib
import copy
import json
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from prwatch.github.payloads import (
    PayloadError,
    check_run_from_graphql,
    check_run_from_json,
    installation_from_json,
    pull_request_from_json,
)

PAYLOADS = Path(__file__).resolve().parents[3] / "fixtures" / "github-payloads"


def load(event: str, action: str, key: str) -> dict[str, Any]:
    payload = json.loads((PAYLOADS / event / f"{action}.payload.json").read_text())
    return payload[key]  # type: ignore[no-any-return]


PR = load("pull_request", "opened", "pull_request")
CHECK_RUN = load("check_run", "completed", "check_run")
INSTALLATION = load("installation", "created", "installation")
GRAPHQL_NODE = {
    "databaseId": 1,
    "name": "build",
    "status": "COMPLETED",
    "conclusion": "SUCCESS",
    "startedAt": "2024-05-01T12:00:00Z",
    "completedAt": "2024-05-01T12:03:00Z",
    "checkSuite": {"databaseId": 2, "app": {"slug": "ci"}},
}

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=30)
    | st.sampled_from(["2019-05-15T15:20:33Z", "open", "closed", "completed", "COMPLETED"]),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(["name", "sha", "ref", "login", "id", "slug"]), children)
    ),
    max_leaves=8,
)

# Paths of the fields the parsers read, including nested ones.
PR_PATHS = [
    *[(key,) for key in PR if key not in ("head", "base", "user", "labels")],
    ("head",),
    ("base",),
    ("user",),
    ("labels",),
    ("head", "sha"),
    ("head", "ref"),
    ("base", "sha"),
    ("base", "ref"),
    ("user", "login"),
]
CHECK_RUN_PATHS = [(key,) for key in CHECK_RUN] + [("app", "slug"), ("check_suite", "id")]
INSTALLATION_PATHS = [(key,) for key in INSTALLATION] + [("account", "login"), ("account", "type")]
GRAPHQL_PATHS = [(key,) for key in GRAPHQL_NODE] + [
    ("checkSuite", "databaseId"),
    ("checkSuite", "app"),
]


def mutated(obj: dict[str, Any], path: tuple[str, ...], value: Any, delete: bool) -> Any:
    result = copy.deepcopy(obj)
    parent = result
    for key in path[:-1]:
        parent = parent[key]
        if not isinstance(parent, dict):
            return result
    if delete:
        parent.pop(path[-1], None)
    else:
        parent[path[-1]] = value
    return result


def parses_or_payload_error(parse: Any, obj: Any) -> None:
    with contextlib.suppress(PayloadError):
        parse(obj)


cases = st.tuples(json_values, st.booleans())


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(PR_PATHS), cases)
def test_pull_request_parsing_fails_only_with_payload_error(
    path: tuple[str, ...], case: tuple[Any, bool]
) -> None:
    parses_or_payload_error(lambda obj: pull_request_from_json(obj, 1), mutated(PR, path, *case))


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(CHECK_RUN_PATHS), cases)
def test_check_run_parsing_fails_only_with_payload_error(
    path: tuple[str, ...], case: tuple[Any, bool]
) -> None:
    obj = mutated(CHECK_RUN, path, *case)
    parses_or_payload_error(lambda o: check_run_from_json(o, 1), obj)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(GRAPHQL_PATHS), cases)
def test_graphql_parsing_fails_only_with_payload_error(
    path: tuple[str, ...], case: tuple[Any, bool]
) -> None:
    obj = mutated(GRAPHQL_NODE, path, *case)
    parses_or_payload_error(lambda o: check_run_from_graphql(o, 1, "f" * 40), obj)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(INSTALLATION_PATHS), cases)
def test_installation_parsing_fails_only_with_payload_error(
    path: tuple[str, ...], case: tuple[Any, bool]
) -> None:
    parses_or_payload_error(installation_from_json, mutated(INSTALLATION, path, *case))


@given(json_values)
def test_any_json_value_as_the_whole_object(value: Any) -> None:
    for parse in (
        lambda o: pull_request_from_json(o, 1),
        lambda o: check_run_from_json(o, 1),
        lambda o: check_run_from_graphql(o, 1, "f" * 40),
        installation_from_json,
    ):
        parses_or_payload_error(parse, value)
