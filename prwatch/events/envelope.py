"""What the receiver reads of a delivery before storing it: no more than the routing fields.

Parsing is one ``json.loads``; the snapshot parsers run later, in the delivery's job.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from prwatch.events.errors import PermanentDeliveryError

# Events prwatch acts on; any other is stored as ignored and never processed.
HANDLED_EVENTS = frozenset(
    {
        "pull_request",
        "check_run",
        "check_suite",
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
    payload: Mapping[str, Any]


def read_envelope(body: bytes) -> Envelope:
    """Decode the body and pick the routing fields; MalformedDelivery unless a JSON object."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise MalformedDelivery("body is not JSON") from None
    if not isinstance(payload, dict):
        raise MalformedDelivery("body is not a JSON object")
    action = payload.get("action")
    return Envelope(
        action=action if isinstance(action, str) else None,
        installation_id=_id_of(payload.get("installation")),
        repository_id=_id_of(payload.get("repository")),
        payload=payload,
    )


def decode_payload(body: bytes) -> Mapping[str, Any]:
    """A stored delivery's payload, for its job; PermanentDeliveryError when it cannot be."""
    try:
        return read_envelope(body).payload
    except MalformedDelivery as error:
        raise PermanentDeliveryError(str(error)) from None


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
