"""Hostile deliveries, signed as GitHub signs, thrown at POST /webhooks, and what became of them.

Each input is a real payload with one field made hostile (or a header, or the body's shape).
After each one the whole store is read back and held to the boundary rules; an input counts
as stored wrongly when a stored value breaks a rule, when a refused delivery changed anything
or was not recorded as failed, or when an accepted one was not applied as normalised.

    python -m tests.integration.webhooks.hostile_inputs [DATABASE_URL]

prints the counts (tried, 4xx, 5xx, stored wrongly) for one database (SQLite in a temporary
folder when none is given); ``test_hostile_inputs.py`` asserts them on both databases.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import re
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from prwatch.github.validation import MAX_ID, MAX_JSON_DEPTH, MAX_PR_NUMBER, MAX_TITLE
from prwatch.sim.signing import sign
from prwatch.store import DeliveryStatus
from prwatch.store.schema import (
    check_runs,
    commit_statuses,
    installations,
    pull_request_reviews,
    pull_requests,
    repositories,
)
from tests.integration.webhooks.harness import SECRET, WebhookEnv, payload, webhook_env

Payload = dict[str, Any]
Mutation = Callable[[Payload], None]
SHA = re.compile(r"[0-9a-f]{40}")
FULL_NAME = re.compile(r"[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,154}")
UPPER_SHA = "ABCDEF0123456789ABCDEF0123456789ABCDEF01"


@dataclass(frozen=True)
class Hostile:
    """One input: a base payload, what to do to it, and whether prwatch must refuse it."""

    name: str
    event: str
    action: str
    mutate: Mutation
    refused: bool = True
    raw: bytes | None = None  # the body as bytes, instead of the mutated payload
    headers: dict[str, str] = field(default_factory=dict)
    # For an accepted input: what the stored rows (by table) must then show.
    stored: Callable[[dict[str, list[dict[str, Any]]]], bool] | None = None


def _set(*path_then_value: object) -> Mutation:
    """Set the field at the path (all arguments but the last) to the last argument."""
    *path, value = path_then_value

    def mutate(body: Payload) -> None:
        target: Any = body
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return mutate


def _pr(rows: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """The stored PR of the payloads (number 2), or {}."""
    return next((row for row in rows["pull_requests"] if row["number"] == 2), {})


def _drop(*path: str) -> Mutation:
    def mutate(body: Payload) -> None:
        target: Any = body
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return mutate


def _nested(depth: int) -> object:
    value: object = []
    for _ in range(depth - 1):
        value = [value]
    return value


def _deep_body(depth: int) -> bytes:
    body = json.dumps(payload("pull_request", "opened"))[:-1]
    return (body + ', "extra": ' + "[" * depth + "]" * depth + "}").encode()


BAD_IDS: list[object] = [0, -1, MAX_ID + 1, 2**64, 10**30, "1", 1.5, True, None, [], {}]
BAD_NUMBERS: list[object] = [0, -5, MAX_PR_NUMBER + 1, 2**40, "2", 2.0, False]
BAD_SHAS: list[object] = [
    "",
    "abc",
    "g" * 40,
    "a" * 39,
    "a" * 41,
    "a" * 39 + "\x00",
    " " + "a" * 39,
    "a" * 64,
    40,
    None,
]
BAD_STRINGS: list[object] = ["bad\x00value", "lone \ud800 surrogate", 12, ["x"], {"x": 1}]
BAD_TIMES: list[object] = [
    "yesterday",
    "2999-01-01T00:00:00Z",
    "2019-05-15T15:20:33",  # no time zone
    "0001-01-01T00:00:00+01:00",  # out of range once in UTC
    "2019-13-45T99:99:99Z",
    1557933633,
    "",
]


def hostile_inputs() -> Iterator[Hostile]:
    pr = ("pull_request",)
    for value in BAD_IDS:
        yield Hostile(
            f"pull_request.id={value!r}", "pull_request", "opened", _set(*pr, "id", value)
        )
        yield Hostile(
            f"repository.id={value!r}", "pull_request", "opened", _set("repository", "id", value)
        )
        if value is not None:  # an absent installation id is allowed: the repository may be known
            yield Hostile(
                f"installation.id={value!r}",
                "pull_request",
                "opened",
                _set("installation", "id", value),
            )
        yield Hostile(
            f"check_run.id={value!r}", "check_run", "created", _set("check_run", "id", value)
        )
    for value in BAD_NUMBERS:
        yield Hostile(f"number={value!r}", "pull_request", "opened", _set(*pr, "number", value))
    for value in BAD_SHAS:
        yield Hostile(
            f"head.sha={value!r}", "pull_request", "opened", _set(*pr, "head", "sha", value)
        )
        yield Hostile(
            f"check_run.head_sha={value!r}",
            "check_run",
            "created",
            _set("check_run", "head_sha", value),
        )
    yield Hostile(
        "check_suite.head_sha not a SHA",
        "check_suite",
        "completed",
        _set("check_suite", "head_sha", "HEAD"),
    )
    for value in BAD_STRINGS:
        yield Hostile(f"title={value!r}", "pull_request", "opened", _set(*pr, "title", value))
        yield Hostile(
            f"head.ref={value!r}", "pull_request", "opened", _set(*pr, "head", "ref", value)
        )
        yield Hostile(
            f"user.login={value!r}", "pull_request", "opened", _set(*pr, "user", "login", value)
        )
        yield Hostile(
            f"label={value!r}", "pull_request", "opened", _set(*pr, "labels", [{"name": value}])
        )
        yield Hostile(
            f"check_run.name={value!r}", "check_run", "created", _set("check_run", "name", value)
        )
        yield Hostile(
            f"full_name={value!r}", "pull_request", "opened", _set("repository", "full_name", value)
        )
    yield Hostile(
        "login of 300 characters", "pull_request", "opened", _set(*pr, "user", "login", "u" * 300)
    )
    yield Hostile(
        "node_id of 200 characters", "pull_request", "opened", _set(*pr, "node_id", "N" * 200)
    )
    yield Hostile(
        "full_name without an owner",
        "pull_request",
        "opened",
        _set("repository", "full_name", "Hello-World"),
    )
    yield Hostile(
        "2,000 labels",
        "pull_request",
        "opened",
        _set(*pr, "labels", [{"name": f"l{i}"} for i in range(2000)]),
    )
    yield Hostile(
        "conclusion with a NUL",
        "check_run",
        "completed",
        _set("check_run", "conclusion", "success\x00"),
    )
    yield Hostile("status unknown", "check_run", "created", _set("check_run", "status", "exploded"))
    for value in BAD_TIMES:
        yield Hostile(
            f"updated_at={value!r}", "pull_request", "opened", _set(*pr, "updated_at", value)
        )
        yield Hostile(
            f"check_run.started_at={value!r}",
            "check_run",
            "created",
            _set("check_run", "started_at", value),
        )
    yield Hostile("created_at missing", "pull_request", "opened", _drop(*pr, "created_at"))
    yield Hostile("pull_request not an object", "pull_request", "opened", _set(*pr, [1, 2]))
    yield Hostile("action of 300 characters", "pull_request", "opened", _set("action", "a" * 300))
    yield Hostile("action with a NUL", "pull_request", "opened", _set("action", "opened\x00"))
    yield Hostile("action not a string", "pull_request", "opened", _set("action", 7))
    yield Hostile(
        "event of 300 characters",
        "pull_request",
        "opened",
        lambda b: None,
        headers={"X-GitHub-Event": "e" * 300},
    )
    yield Hostile(
        "event with spaces",
        "pull_request",
        "opened",
        lambda b: None,
        headers={"X-GitHub-Event": "pull request"},
    )
    yield Hostile(
        "GUID of 100 characters",
        "pull_request",
        "opened",
        lambda b: None,
        headers={"X-GitHub-Delivery": "g" * 100},
    )
    yield Hostile(
        "GUID with spaces",
        "pull_request",
        "opened",
        lambda b: None,
        headers={"X-GitHub-Delivery": "a b c"},
    )
    yield Hostile(
        "nested 10,000 deep in an unread field",
        "pull_request",
        "opened",
        lambda b: None,
        raw=_deep_body(10_000),
    )
    yield Hostile(
        "nested 1,000 deep", "pull_request", "opened", lambda b: None, raw=_deep_body(1_000)
    )
    yield Hostile(
        f"nested {MAX_JSON_DEPTH + 1} deep in a label",
        "pull_request",
        "opened",
        _set(*pr, "labels", [{"name": "x", "extra": _nested(MAX_JSON_DEPTH)}]),
    )
    yield Hostile(
        "an unhandled event with an id past 64 bits",
        "star",
        "created",
        _set("installation", "id", 2**70),
    )
    yield Hostile(
        "an unhandled event nested 5,000 deep",
        "star",
        "created",
        lambda b: None,
        raw=b'{"action": "created", "x": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    )
    yield Hostile(
        "invalid UTF-8 in a string",
        "pull_request",
        "opened",
        lambda b: None,
        raw=json.dumps(payload("pull_request", "opened"))
        .encode()
        .replace(b'"title": "', b'"title": "\xff\xfe', 1),
    )
    yield Hostile(
        "installation account login with a NUL",
        "installation",
        "created",
        _set("installation", "account", "login", "octo\x00cat"),
    )
    yield Hostile(
        "installation repository full_name too long",
        "installation",
        "created",
        _set("repositories", 0, "full_name", "o/" + "r" * 300),
    )
    yield Hostile(
        "added repository id past 64 bits",
        "installation_repositories",
        "added",
        _set("repositories_added", 0, "id", 2**64),
    )
    yield Hostile(
        "renamed repository full_name with a NUL",
        "repository",
        "renamed",
        _set("repository", "full_name", "a/b\x00"),
    )
    yield from _more_hostile_inputs()
    # Real GitHub could send these: stored, normalised.
    yield Hostile(
        "upper-case head SHA (stored lower-cased)",
        "pull_request",
        "opened",
        _set(*pr, "head", "sha", UPPER_SHA),
        refused=False,
        stored=lambda rows: _pr(rows).get("head_sha") == UPPER_SHA.lower(),
    )
    yield Hostile(
        "title of 100,000 characters (stored cut)",
        "pull_request",
        "opened",
        _set(*pr, "title", "t" * 100_000),
        refused=False,
        stored=lambda rows: _pr(rows).get("title") == "t" * MAX_TITLE,
    )
    yield Hostile(
        "largest PR number",
        "pull_request",
        "opened",
        _set(*pr, "number", MAX_PR_NUMBER),
        refused=False,
    )
    yield Hostile(
        "largest id", "check_run", "created", _set("check_run", "id", MAX_ID), refused=False
    )


def _more_hostile_inputs() -> Iterator[Hostile]:
    """Fields of statuses, reviews, auto-merge, check runs and installations, and names that
    pass a length bound but not a column's (PostgreSQL refuses them, SQLite keeps them)."""
    pr = ("pull_request",)
    status = ("status", "with-installation")
    for name, mutate in [
        ("sha of 64 hex digits", _set("sha", "a" * 64)),
        ("sha not a SHA", _set("sha", "HEAD")),
        ("context with a NUL", _set("context", "ci\x00")),
        ("context of 2,000 characters", _set("context", "c" * 2000)),
        ("context empty", _set("context", "")),
        ("description with a NUL", _set("description", "ok\x00")),
        ("target_url of 3,000 characters", _set("target_url", "https://x/" + "u" * 3000)),
        ("state unknown", _set("state", "exploded")),
        ("state of 300 characters", _set("state", "s" * 300)),
        ("updated_at in 2999", _set("updated_at", "2999-01-01T00:00:00Z")),
        ("created_at missing", _drop("created_at")),
        ("id past 64 bits", _set("id", 2**64)),
    ]:
        yield Hostile(f"status.{name}", *status, mutate)
    review = ("pull_request_review", "submitted")
    for name, mutate in [
        ("id 0", _set("review", "id", 0)),
        ("id past 64 bits", _set("review", "id", 2**64)),
        ("state unknown", _set("review", "state", "exploded")),
        ("user.login with a NUL", _set("review", "user", "login", "octo\x00")),
        ("user.login of 300 characters", _set("review", "user", "login", "u" * 300)),
        ("commit_id of 64 hex digits", _set("review", "commit_id", "a" * 64)),
        ("commit_id not a SHA", _set("review", "commit_id", "HEAD")),
        ("submitted_at in 2999", _set("review", "submitted_at", "2999-01-01T00:00:00Z")),
        ("its PR's head.sha not a SHA", _set("pull_request", "head", "sha", "HEAD")),
    ]:
        yield Hostile(f"review.{name}", *review, mutate)
    opened = ("pull_request", "opened")
    for name, mutate in [
        (
            "auto_merge.merge_method of 20 characters",
            _set(*pr, "auto_merge", {"merge_method": "m" * 20, "enabled_by": None}),
        ),
        (
            "auto_merge.enabled_by.login with a NUL",
            _set(*pr, "auto_merge", {"merge_method": "squash", "enabled_by": {"login": "a\x00"}}),
        ),
        ("auto_merge not an object", _set(*pr, "auto_merge", "squash")),
        ("base.sha of 64 hex digits", _set(*pr, "base", "sha", "b" * 64)),
        ("labels not a list", _set(*pr, "labels", "bug")),
        ("label not an object", _set(*pr, "labels", ["bug"])),
        ("merged_at in 2999", _set(*pr, "merged_at", "2999-01-01T00:00:00Z")),
        ("draft not a boolean", _set(*pr, "draft", "yes")),
        ("state unknown", _set(*pr, "state", "exploded")),
        # 255 characters, but "İ" lowers to two: the stored lower-case key would not fit.
        (
            "full_name with letters that lower to two",
            _set("repository", "full_name", "o/" + "İ" * 253),
        ),
        ("full_name with a space", _set("repository", "full_name", "octo cat/Hello-World")),
        ("full_name with two slashes", _set("repository", "full_name", "a/b/c")),
        ("owner.type of 40 characters", _set("repository", "owner", "type", "T" * 40)),
    ]:
        yield Hostile(name, *opened, mutate)
    run = ("check_run", "created")
    for name, mutate in [
        ("app.slug with a NUL", _set("check_run", "app", "slug", "ci\x00")),
        ("check_suite.id past 64 bits", _set("check_run", "check_suite", "id", 2**64)),
        ("completed_at in 2999", _set("check_run", "completed_at", "2999-01-01T00:00:00Z")),
        ("conclusion of 40 characters", _set("check_run", "conclusion", "c" * 40)),
        ("conclusion not a word", _set("check_run", "conclusion", "no way")),
    ]:
        yield Hostile(f"check_run.{name}", *run, mutate)
    for name, mutate in [
        ("account.type of 40 characters", _set("installation", "account", "type", "T" * 40)),
        ("suspended_at in 2999", _set("installation", "suspended_at", "2999-01-01T00:00:00Z")),
        ("id 0", _set("installation", "id", 0)),
    ]:
        yield Hostile(f"installation.{name}", "installation", "created", mutate)
    yield Hostile(
        "check_suite.latest_check_runs_count negative",
        "check_suite",
        "completed",
        _set("check_suite", "latest_check_runs_count", -1),
    )
    # GitHub could send these: stored, normalised.
    yield Hostile(
        "status.sha upper-case (stored lower-cased)",
        *status,
        _set("sha", UPPER_SHA),
        refused=False,
        stored=lambda rows: any(row["sha"] == UPPER_SHA.lower() for row in rows["commit_statuses"]),
    )


@dataclass
class Tally:
    tried: int = 0
    refused_4xx: int = 0
    server_errors_5xx: int = 0
    accepted_2xx: int = 0
    stored_wrongly: int = 0
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"tried {self.tried}, 4xx {self.refused_4xx}, 5xx {self.server_errors_5xx}, "
            f"2xx {self.accepted_2xx}, stored wrongly {self.stored_wrongly}"
        )


def body_of(hostile: Hostile) -> bytes:
    if hostile.raw is not None:
        return hostile.raw
    if hostile.event == "star":  # not handled: stored as ignored when it passes
        base: Payload = {"action": "created", "installation": {"id": 1}, "starred_at": None}
    else:
        base = copy.deepcopy(payload(hostile.event, hostile.action))
    hostile.mutate(base)
    return json.dumps(base).encode()


async def send(env: WebhookEnv, hostile: Hostile, body: bytes) -> tuple[int, str]:
    guid = str(uuid.uuid4())
    headers = {
        "X-GitHub-Event": hostile.event,
        "X-GitHub-Delivery": guid,
        "X-Hub-Signature-256": sign(SECRET, body),
        "Content-Type": "application/json",
    } | hostile.headers
    try:
        response = await env.client.post("/webhooks", content=body, headers=headers)
    except Exception:  # what the ASGI transport passes on is what a server answers 500 for
        return 500, headers["X-GitHub-Delivery"]
    await env.queue.drain()
    return response.status_code, headers["X-GitHub-Delivery"]


async def stored_rows(env: WebhookEnv) -> dict[str, list[dict[str, Any]]]:
    async with env.store.engine.connect() as connection:
        rows = {}
        for table in (
            pull_requests,
            check_runs,
            repositories,
            installations,
            commit_statuses,
            pull_request_reviews,
        ):
            result = await connection.execute(select(table))
            rows[table.name] = [dict(row._mapping) for row in result]
    return rows


def rule_breaks(rows: dict[str, list[dict[str, Any]]]) -> list[str]:
    """Every stored value that breaks a boundary rule."""
    broken: list[str] = []
    horizon = datetime.now(UTC) + timedelta(days=1)
    for table, table_rows in rows.items():
        for row in table_rows:
            for column, value in row.items():
                where = f"{table}.{column}={str(value)[:40]!r}"
                if isinstance(value, str) and ("\x00" in value or len(value) > MAX_TITLE):
                    broken.append(where)
                if column.endswith("sha") and not (isinstance(value, str) and SHA.fullmatch(value)):
                    broken.append(where)
                if column == "commit_id" and value is not None and not SHA.fullmatch(str(value)):
                    broken.append(where)
                if column == "full_name" and not (
                    isinstance(value, str) and FULL_NAME.fullmatch(value)
                ):
                    broken.append(where)
                if (
                    isinstance(value, int)
                    and not isinstance(value, bool)
                    and not -1 <= value <= MAX_ID
                ):
                    broken.append(where)
                if isinstance(value, datetime):
                    moment = value if value.tzinfo else value.replace(tzinfo=UTC)
                    if moment > horizon:
                        broken.append(where)
            if table == "pull_requests" and not 0 < row["number"] <= MAX_PR_NUMBER:
                broken.append(f"pull_requests.number={row['number']}")
    return broken


async def run_hostile_inputs(env: WebhookEnv) -> Tally:
    tally = Tally()
    for hostile in hostile_inputs():
        tally.tried += 1
        before = await stored_rows(env)
        changes_before = len(await env.changes())
        body = body_of(hostile)
        status, guid = await send(env, hostile, body)
        after = await stored_rows(env)
        problems = [f"{hostile.name}: {broken}" for broken in rule_breaks(after)]
        if status >= 500:
            tally.server_errors_5xx += 1
            problems.append(f"{hostile.name}: answered {status}")
        elif status >= 400:
            tally.refused_4xx += 1
            if not hostile.refused:
                problems.append(f"{hostile.name}: refused ({status}), GitHub could send it")
            if after != before or len(await env.changes()) != changes_before:
                problems.append(f"{hostile.name}: refused but applied")
            async with env.store.transaction(read_only=True) as tx:
                recorded = await tx.get_delivery(guid)
            if status == 422 and (recorded is None or recorded.status is not DeliveryStatus.FAILED):
                problems.append(f"{hostile.name}: refused but not recorded as failed")
        else:
            tally.accepted_2xx += 1
            if hostile.refused:
                problems.append(f"{hostile.name}: accepted ({status})")
            if hostile.stored is not None and not hostile.stored(after):
                problems.append(f"{hostile.name}: not stored as normalised")
        if any("answered 5" not in problem for problem in problems):
            tally.stored_wrongly += 1
        tally.problems += problems
    return tally


async def main(database_url: str | None) -> int:
    with tempfile.TemporaryDirectory() as folder:
        url = database_url or f"sqlite+aiosqlite:///{Path(folder) / 'prwatch.db'}"
        async with webhook_env(url) as env:
            tally = await run_hostile_inputs(env)
    print(f"{url.split(':', 1)[0]}: {tally.line()}")
    for problem in tally.problems:
        print("  " + problem)
    return 0 if not tally.problems else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        prog="python -m tests.integration.webhooks.hostile_inputs",
        description="Throw signed hostile deliveries at POST /webhooks and count the answers "
        "(tried, 4xx, 5xx, 2xx, stored wrongly); exit 1 if any input was mishandled.",
    )
    parser.add_argument(
        "database_url",
        nargs="?",
        help="SQLAlchemy URL of an empty database (default: SQLite in a temporary folder)",
    )
    sys.exit(asyncio.run(main(parser.parse_args().database_url)))
