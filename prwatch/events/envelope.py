"""What the receiver reads of a delivery before storing it: no more than the routing fields;
and the payload a delivery's job reads.

Both skim the body (``prwatch.github.webhook_skim``): the receiver decodes the three routing
fields, the job the fields its event's planner reads. A body the skim does not fit is decoded
in full with ``json.loads`` and judged as before. The snapshot parsers run in the job.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from prwatch.events.errors import PermanentDeliveryError
from prwatch.github.webhook_skim import skim_payload, skim_routing

# Events prwatch acts on; any other is stored as ignored and never processed.
HANDLED_EVENTS = frozenset(
    {
        "pull_request",
        "check_run",
        "check_suite",
        "status",
        "pull_request_review",
        "installation",
        "installation_repositories",
        "repository",
    }
)


class MalformedDelivery(ValueError):
    """The body is not a JSON object."""


@dataclass(frozen=True, slots=True)
class Envelope:
    action: str | None
    installation_id: int | None
    repository_id: int | None


def read_envelope(body: bytes) -> Envelope:
    """Pick the routing fields of the body; MalformedDelivery unless a JSON object."""
    return envelope_of(routing_fields(body))


def routing_fields(body: bytes) -> Mapping[str, Any]:
    """The body's action, installation and repository, as decoded (not judged yet);
    MalformedDelivery unless a JSON object."""
    fields: Mapping[str, Any] | None = skim_routing(body)
    return _decode(body) if fields is None else fields


def envelope_of(fields: Mapping[str, Any]) -> Envelope:
    """The well-typed routing fields of ``routing_fields``' answer; odd ones become None."""
    action = fields.get("action")
    return Envelope(
        action=action if isinstance(action, str) else None,
        installation_id=_id_of(fields.get("installation")),
        repository_id=_id_of(fields.get("repository")),
    )


def decode_payload(body: bytes, event: str | None = None) -> Mapping[str, Any]:
    """A stored delivery's payload, for its job: for the activity events (``event``) only the
    fields their planners read. PermanentDeliveryError unless a JSON object."""
    skimmed = None if event is None else skim_payload(event, body)
    if skimmed is not None:
        return skimmed
    try:
        return _decode(body)
    except MalformedDelivery as error:
        raise PermanentDeliveryError(str(error)) from None


def _decode(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise MalformedDelivery("body is not JSON") from None
    if not isinstance(payload, dict):
        raise MalformedDelivery("body is not a JSON object")
    return payload


def _id_of(obj: object) -> int | None:
    if not isinstance(obj, dict):
        return None
    value = obj.get("id")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def required_object(payload: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = payload.get(key)
    if not isinstance(value, dict):
        raise PermanentDeliveryError(f"payload has no {key!r} object")
    return value


def object_list(payload: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    """A list of objects (absent or null: empty)."""
    value = payload.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise PermanentDeliveryError(f"payload field {key!r} is not a list of objects")
    return value
