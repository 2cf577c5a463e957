"""Decode a webhook body keeping only the fields prwatch reads of it.

A `pull_request` delivery is about 25 KB of JSON; the receiver needs three routing fields of
it, and the delivery's job a few dozen (the PR, the repository's id and name, the installation
id). `json.loads` builds every nested object only for prwatch to drop them; msgspec skips
unknown fields while decoding (still checking that they are well-formed JSON), at a fraction
of the CPU. As in `prwatch.github.skim`, the result is the plain dicts `json.loads` would give,
minus the unread fields, so `prwatch.github.payloads` stays the one mapping to snapshots and
reads both alike; types are left to it (`Any` below).

When a body's shape is not what the skim expects (a nested object that is not one, a list of
something else), or msgspec refuses it, the caller gets `None` and decodes in full with
`json.loads`: odd payloads are judged exactly as before, by the same code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypedDict

import msgspec

from prwatch.github.skim import PullRequestFields


class _Id(TypedDict, total=False):
    id: Any


class Routing(TypedDict, total=False):
    """What the receiver reads: the action and the ids it stores beside the body."""

    action: Any
    installation: _Id | None
    repository: _Id | None


class _Owner(TypedDict, total=False):
    login: Any
    type: Any


class _Repository(TypedDict, total=False):
    # `repository_from_json`, and the owner `prwatch.events.repositories` reads.
    id: Any
    full_name: Any
    private: Any
    owner: _Owner | None


class _App(TypedDict, total=False):
    slug: Any


class _CheckRun(TypedDict, total=False):
    # `check_run_from_json`.
    id: Any
    head_sha: Any
    name: Any
    status: Any
    conclusion: Any
    started_at: Any
    completed_at: Any
    app: _App | None
    check_suite: _Id | None


class _CheckSuite(TypedDict, total=False):
    # `prwatch.events.activity.plan_check_suite`.
    id: Any
    head_sha: Any
    latest_check_runs_count: Any


class _PullRequestEvent(TypedDict, total=False):
    action: Any
    installation: _Id | None
    repository: _Repository | None
    pull_request: PullRequestFields | None


class _CheckRunEvent(TypedDict, total=False):
    action: Any
    installation: _Id | None
    repository: _Repository | None
    check_run: _CheckRun | None


class _CheckSuiteEvent(TypedDict, total=False):
    action: Any
    installation: _Id | None
    repository: _Repository | None
    check_suite: _CheckSuite | None


_ROUTING = msgspec.json.Decoder(Routing)
# The activity events, by far the most frequent; the inventory events (installation,
# repositories) are rare and read more of their payload: they are decoded in full.
_PAYLOADS: Mapping[str, msgspec.json.Decoder[Any]] = {
    "pull_request": msgspec.json.Decoder(_PullRequestEvent),
    "check_run": msgspec.json.Decoder(_CheckRunEvent),
    "check_suite": msgspec.json.Decoder(_CheckSuiteEvent),
}


def skim_routing(body: bytes) -> Routing | None:
    """The body's action, installation and repository objects (ids only); None when the body
    is not shaped for the skim, or not JSON: decode it in full then."""
    try:
        routing: Routing = _ROUTING.decode(body)
    except (msgspec.ValidationError, msgspec.DecodeError):
        return None
    return routing


def skim_payload(event: str, body: bytes) -> dict[str, Any] | None:
    """The body of an ``event`` delivery with only the fields its job reads; None when the
    event is not skimmed or the body's shape is off: decode it in full then."""
    decoder = _PAYLOADS.get(event)
    if decoder is None:
        return None
    try:
        payload: dict[str, Any] = decoder.decode(body)
    except (msgspec.ValidationError, msgspec.DecodeError):
        return None
    return payload
