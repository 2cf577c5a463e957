"""The receiver's judgement of a signed delivery, before anything of it is stored as pending.

A delivery passes when every field prwatch would store from it passes the boundary rules
(``prwatch.github.validation``): its event and action names, routing ids and nesting depth,
and, for the events prwatch acts on, the objects their jobs parse, read by the very parsers
the jobs use. A delivery that does not pass is answered 4xx and recorded as failed with the
reason; its job would only have failed the same way, later and unseen by GitHub.

What is checked per event follows its planner (``prwatch.events.activity``, ``.inventory``):
an action the planner ignores is not parsed here either.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from prwatch.events.envelope import (
    Envelope,
    MalformedDelivery,
    decode_payload,
    envelope_of,
    object_list,
    required_object,
    routing_fields,
)
from prwatch.events.errors import PermanentDeliveryError
from prwatch.events.repositories import check_repository_owner
from prwatch.events.reviews import REVIEW_ACTIONS, review_observation
from prwatch.github import validation
from prwatch.github.payloads import (
    check_run_from_json,
    commit_status_from_json,
    installation_from_json,
    pull_request_from_json,
    repository_from_json,
)
from prwatch.github.validation import InvalidValue

# Stands in for an installation id a payload lacks: the parsers only carry it along.
_NO_INSTALLATION = 0
INSTALLATION_ACTIONS = frozenset({"created", "deleted", "suspend", "unsuspend"})
REPOSITORY_ACTIONS = frozenset({"renamed", "transferred", "deleted"})


class InvalidDelivery(ValueError):
    """A signed delivery with a field prwatch refuses to store; the message says which."""


PayloadCheck = Callable[[str | None, Mapping[str, Any]], None]


def check_delivery(event: str, body: bytes) -> Envelope:
    """The delivery's routing fields once it passed; ``MalformedDelivery`` when the body is
    not a JSON object, ``InvalidDelivery`` when a field breaks a boundary rule."""
    try:
        validation.event_name(event, "X-GitHub-Event")
        validation.check_json_depth(body)
    except InvalidValue as error:
        raise InvalidDelivery(str(error)) from None
    routing = routing_fields(body)  # MalformedDelivery unless a JSON object
    try:
        payload = decode_payload(body, event) if event in PAYLOAD_CHECKS else None
    except PermanentDeliveryError as error:  # JSON to the skim, not to json.loads (bad UTF-8)
        raise MalformedDelivery(str(error)) from None
    envelope = envelope_of(routing)
    try:
        _check_routing(routing)
        if payload is not None:
            PAYLOAD_CHECKS[event](envelope.action, payload)
    except (InvalidValue, PermanentDeliveryError) as error:
        raise InvalidDelivery(str(error)) from None
    return envelope


def _check_routing(fields: Mapping[str, Any]) -> None:
    """The action, installation id and repository id as the receiver stores them: present
    ones must be well-formed (``envelope_of`` drops odd ones silently)."""
    action = fields.get("action")
    if action is not None:
        validation.event_name(action, "action")
    for key in ("installation", "repository"):
        holder = fields.get(key)
        if isinstance(holder, Mapping) and holder.get("id") is not None:
            validation.github_id(holder["id"], f"{key}.id")


def _installation_id(payload: Mapping[str, Any]) -> int:
    installation = payload.get("installation")
    if isinstance(installation, Mapping) and installation.get("id") is not None:
        return validation.github_id(installation["id"], "installation.id")
    return _NO_INSTALLATION


def _repository_id(payload: Mapping[str, Any]) -> int:
    repository = required_object(payload, "repository")
    snapshot = repository_from_json(repository, _installation_id(payload))
    check_repository_owner(repository)
    return snapshot.id


def _pull_request(action: str | None, payload: Mapping[str, Any]) -> None:
    pull_request_from_json(required_object(payload, "pull_request"), _repository_id(payload))


def _check_run(action: str | None, payload: Mapping[str, Any]) -> None:
    check_run_from_json(required_object(payload, "check_run"), _repository_id(payload))


def _status(action: str | None, payload: Mapping[str, Any]) -> None:
    commit_status_from_json(payload, _repository_id(payload))


def _pull_request_review(action: str | None, payload: Mapping[str, Any]) -> None:
    if action in REVIEW_ACTIONS:
        review_observation(payload, _repository_id(payload))


def _check_suite(action: str | None, payload: Mapping[str, Any]) -> None:
    _repository_id(payload)
    if action != "completed":
        return
    suite = required_object(payload, "check_suite")
    validation.github_id(suite.get("id"), "check_suite.id")
    validation.commit_sha(suite.get("head_sha"), "check_suite.head_sha")
    count = suite.get("latest_check_runs_count")
    if count is not None and (
        not isinstance(count, int) or isinstance(count, bool) or not 0 <= count <= 2**31
    ):
        raise InvalidValue(
            f"check_suite.latest_check_runs_count: {validation.shown(count)} is not a count"
        )


def _installation(action: str | None, payload: Mapping[str, Any]) -> None:
    if action not in INSTALLATION_ACTIONS:
        return
    installation = installation_from_json(required_object(payload, "installation"))
    if action == "created":
        for item in object_list(payload, "repositories"):
            repository_from_json(item, installation.id)


def _installation_repositories(action: str | None, payload: Mapping[str, Any]) -> None:
    if action not in ("added", "removed"):
        return
    installation = installation_from_json(required_object(payload, "installation"))
    for key in ("repositories_added", "repositories_removed"):
        for item in object_list(payload, key):
            repository_from_json(item, installation.id)


def _repository(action: str | None, payload: Mapping[str, Any]) -> None:
    if action in REPOSITORY_ACTIONS:
        repository_from_json(required_object(payload, "repository"), _installation_id(payload))


PAYLOAD_CHECKS: Mapping[str, PayloadCheck] = {
    "pull_request": _pull_request,
    "check_run": _check_run,
    "check_suite": _check_suite,
    "status": _status,
    "pull_request_review": _pull_request_review,
    "installation": _installation,
    "installation_repositories": _installation_repositories,
    "repository": _repository,
}
