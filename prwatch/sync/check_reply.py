"""A check query's answer decoded straight into typed structs (msgspec), for the sweep's
hot path.

A no-change sweep reads every open head's rollup each time: 149 commits, ~500 check runs and
140 KB of JSON per query. Decoding that into dicts and reading each value through the
field-by-field validators cost more than the rest of a repository's sweep. Here the JSON is
decoded into structs shaped like the query (``query_layout``), and each node is checked
inline, with the same bounds as ``prwatch.github.payloads``.

The validators stay the reference: whatever this decoder is not sure of goes to them.
An answer not shaped as the schema says (a value of the wrong type, a node of another kind)
is not decoded here at all — ``decode_check_rollups`` returns None and the caller parses it
the general way (``parse_check_rollups``), which reports and skips malformed nodes one by
one. A node of the right types whose values are not plainly within bounds (non-ASCII text,
a state outside GitHub's enum, an unseen timestamp that fails) is handed to
``check_run_from_graphql`` / ``commit_status_from_graphql`` on its own, so its error, or its
normalised value, is exactly theirs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

import msgspec

from prwatch.domain.check_runs import CheckRunRow
from prwatch.domain.models import CommitStatusSnapshot
from prwatch.domain.ordering import CHECK_RUN_STATUSES
from prwatch.domain.statuses import STATUS_STATES
from prwatch.github import validation
from prwatch.github.payloads import (
    MAX_CONTEXT_LENGTH,
    PayloadError,
    check_run_from_graphql,
    commit_status_from_graphql,
)
from prwatch.github.validation import MAX_CHECK_NAME, MAX_DESCRIPTION, MAX_ID, MAX_SLUG, MAX_URL
from prwatch.sync.check_query import CheckRollups, RepositoryCommits, place_errors, query_layout
from prwatch.sync.skipped import SkippedItem, SkippedKind

# GraphQL's enums as the schema spells them, and REST's lower case that prwatch keeps.
_RUN_STATUSES = {status.upper(): status for status in CHECK_RUN_STATUSES}
# CheckConclusionState (fixtures/github-graphql/schema.graphql); another value still parses,
# through the validators.
_CONCLUSIONS = {
    name: name.lower()
    for name in (
        "ACTION_REQUIRED",
        "CANCELLED",
        "FAILURE",
        "NEUTRAL",
        "SKIPPED",
        "STALE",
        "STARTUP_FAILURE",
        "SUCCESS",
        "TIMED_OUT",
    )
}
_STATUS_STATES = {state.upper(): state for state in STATUS_STATES}
_LOWER_SHA = re.compile(r"[0-9a-f]{40}")


# gc=False: the structs of an answer hold no cycles, and ~3,000 of them a query kept the
# cycle collector running (a full collection of the process's heap every few queries).
class _App(msgspec.Struct, gc=False):
    slug: str | None = None


class _CheckSuite(msgspec.Struct, rename="camel", gc=False):
    database_id: int | None = None
    app: _App | None = None


class _CheckRun(msgspec.Struct, rename="camel", tag_field="__typename", tag="CheckRun", gc=False):
    name: str
    status: str
    database_id: int | None = None
    conclusion: str | None = None
    started_at: str | None = None
    completed_at: str | None = None
    check_suite: _CheckSuite | None = None


class _StatusContext(
    msgspec.Struct, rename="camel", tag_field="__typename", tag="StatusContext", gc=False
):
    context: str
    state: str
    created_at: str
    description: str | None = None
    target_url: str | None = None


class _PageInfo(msgspec.Struct, rename="camel", gc=False):
    has_next_page: bool = False


class _Contexts(msgspec.Struct, rename="camel", gc=False):
    page_info: _PageInfo | None = None
    nodes: list[_CheckRun | _StatusContext] | None = None


class _Rollup(msgspec.Struct, gc=False):
    contexts: _Contexts | None = None


class _Commit(msgspec.Struct, rename="camel", gc=False):
    status_check_rollup: _Rollup | None = None


@lru_cache(maxsize=512)
def _decoder(shape: tuple[int, ...]) -> msgspec.json.Decoder[Any]:
    """A decoder of the ``data`` of a query whose repository blocks hold ``shape`` commits
    each (the aliases r0…, c0… of ``build_check_query``). Query texts come in a few hundred
    shapes at most (see ``query_layout``), so each is built once."""
    blocks = [(f"r{r}", _repository_block(commits) | None, None) for r, commits in enumerate(shape)]
    return msgspec.json.Decoder(msgspec.defstruct(f"CheckData{len(shape)}", blocks, gc=False))


@lru_cache(maxsize=256)
def _repository_block(commits: int) -> Any:
    fields = [(f"c{c}", _Commit | None, None) for c in range(commits)]
    return msgspec.defstruct(f"RepositoryBlock{commits}", fields, gc=False)


def decode_check_rollups(
    batch: Sequence[RepositoryCommits],
    data_json: bytes,
    errors: Sequence[Mapping[str, Any]] = (),
) -> CheckRollups | None:
    """What ``parse_check_rollups`` finds in the same answer, from its ``data`` as JSON;
    None when the answer is not shaped as the schema says (parse it the general way)."""
    layout = query_layout(batch)
    try:
        data = _decoder(tuple(len(repo.shas) for repo in layout)).decode(data_json)
    except msgspec.DecodeError:
        return None
    found = CheckRollups()
    place_errors(layout, errors, found)
    for r, repo in enumerate(layout):
        repository_id = repo.repository_id
        if repository_id in found.failed_repositories:
            continue
        block = getattr(data, f"r{r}")
        if block is None:
            found.missing_repositories.add(repository_id)
            continue
        for c, sha in enumerate(repo.shas):
            key = (repository_id, sha)
            runs: list[CheckRunRow] = []
            statuses: list[CommitStatusSnapshot] = []
            found.runs[key], found.statuses[key] = runs, statuses
            commit = getattr(block, f"c{c}")
            if key in found.unreadable or commit is None:
                continue
            rollup = commit.status_check_rollup
            contexts = None if rollup is None else rollup.contexts
            if contexts is None:
                continue
            if contexts.page_info is not None and contexts.page_info.has_next_page:
                found.truncated.add(key)
            # The query only asks for lower-case SHAs; anything else is the validators' to judge.
            plain_sha = _LOWER_SHA.fullmatch(sha) is not None
            for node in contexts.nodes or ():
                try:
                    if type(node) is _CheckRun:
                        if node.database_id is not None:  # nullable: a run without an id
                            runs.append(_check_run(node, repository_id, sha, plain_sha))
                    else:
                        statuses.append(_status(node, repository_id, sha, plain_sha))
                except PayloadError as error:
                    kind = (
                        SkippedKind.CHECK_RUN
                        if type(node) is _CheckRun
                        else SkippedKind.COMMIT_STATUS
                    )
                    found.skipped.setdefault(key, []).append(SkippedItem.refused(kind, error))
    return found


def _check_run(node: _CheckRun, repository_id: int, sha: str, plain_sha: bool) -> CheckRunRow:
    """What ``check_run_from_graphql`` makes of the node, checked inline when its values are
    plainly within bounds (``plain_sha``: ``sha`` is a lower-case SHA)."""
    run_id = node.database_id
    assert run_id is not None
    name = node.name
    suite = node.check_suite
    app = None if suite is None else suite.app
    slug = None if app is None else app.slug
    suite_id = None if suite is None else suite.database_id
    status = _RUN_STATUSES.get(node.status)
    conclusion = node.conclusion
    started = _SEEN_TIMESTAMPS.get(node.started_at, _UNSEEN)
    completed = _SEEN_TIMESTAMPS.get(node.completed_at, _UNSEEN)
    if (
        plain_sha
        and 0 < run_id <= MAX_ID
        and len(name) <= MAX_CHECK_NAME
        and name.isascii()  # so no lone surrogate either
        and "\x00" not in name
        and status is not None
        and (conclusion is None or conclusion in _CONCLUSIONS)
        and (slug is None or (slug != "" and _plain(slug, MAX_SLUG)))
        and (suite_id is None or 0 < suite_id <= MAX_ID)
    ):
        try:
            if started is _UNSEEN:
                started = _timestamp(node.started_at)
            if completed is _UNSEEN:
                completed = _timestamp(node.completed_at)
        except _Unsure:
            pass
        else:
            return _ROW(
                CheckRunRow,
                (
                    run_id,
                    repository_id,
                    sha,
                    name,
                    status,
                    None if conclusion is None else _CONCLUSIONS[conclusion],
                    started,
                    completed,
                    slug,
                    suite_id,
                ),
            )
    return CheckRunRow.of(check_run_from_graphql(msgspec.to_builtins(node), repository_id, sha))


# NamedTuple's own constructor is a Python function; a sweep builds ~100 rows per repository.
_ROW = tuple.__new__


def _status(
    node: _StatusContext, repository_id: int, sha: str, plain_sha: bool
) -> CommitStatusSnapshot:
    """What ``commit_status_from_graphql`` makes of the node (see ``_check_run``)."""
    state = _STATUS_STATES.get(node.state)
    description, target_url = node.description, node.target_url
    if (
        plain_sha
        and node.context != ""
        and _plain(node.context, MAX_CONTEXT_LENGTH)
        and state is not None
        and (description is None or _plain(description, MAX_DESCRIPTION))
        and (target_url is None or (target_url != "" and _plain(target_url, MAX_URL)))
    ):
        try:
            created = _timestamp(node.created_at)
        except _Unsure:
            pass
        else:
            if created is not None:
                return CommitStatusSnapshot(
                    repository_id=repository_id,
                    sha=sha,
                    context=node.context,
                    state=state,
                    description=description,
                    target_url=target_url,
                    created_at=created,
                    updated_at=created,
                )
    return commit_status_from_graphql(msgspec.to_builtins(node), repository_id, sha)


def _plain(text: str, limit: int) -> bool:
    """Text the validators would keep as it is: ASCII (so no lone surrogate), no NUL, within
    ``limit``."""
    return len(text) <= limit and text.isascii() and "\x00" not in text


class _Unsure(Exception):
    """A value the inline checks leave to the validators."""


# Timestamps that passed ``validation.timestamp`` once (and None, as the validators read a
# missing one). Its one time-dependent rule (not more than a day ahead of now) only loosens
# as time goes on, so a value that passed still passes; check runs keep their timestamps, so
# sweeps meet the same ones again and again.
_SEEN_TIMESTAMPS: dict[str | None, datetime | None] = {None: None}
_MAX_SEEN_TIMESTAMPS = 200_000
_UNSEEN: Any = object()


def _timestamp(value: str | None) -> datetime | None:
    """The value as ``validation.timestamp`` reads it; ``_Unsure`` when it refuses it (the
    validators then say why, in their words)."""
    known = _SEEN_TIMESTAMPS.get(value, _UNSEEN)
    if known is not _UNSEEN:
        return known  # type: ignore[no-any-return]
    try:
        parsed = validation.timestamp(value, "timestamp")
    except validation.InvalidValue:
        raise _Unsure from None
    if len(_SEEN_TIMESTAMPS) >= _MAX_SEEN_TIMESTAMPS:
        _SEEN_TIMESTAMPS.clear()
        _SEEN_TIMESTAMPS[None] = None
    _SEEN_TIMESTAMPS[value] = parsed
    return parsed
