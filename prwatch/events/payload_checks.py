"""Checks a delivery must pass before it is stored, for the events whose states are closed
enums: a `status` whose state GitHub never sends is refused with a 4xx, nothing stored, rather
than stored and failed later where nobody sees why.

Only the fields these events' jobs key their rows by are judged here; the jobs parse the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from prwatch.github.payloads import PayloadError, commit_status_from_json

# A repository id the parsers need but that plays no part in what they judge.
_ANY_REPOSITORY = 0


def _status(payload: Mapping[str, Any]) -> None:
    commit_status_from_json(payload, _ANY_REPOSITORY)


_CHECKS: Mapping[str, Callable[[Mapping[str, Any]], None]] = {"status": _status}


def refusal(event: str, payload: Mapping[str, Any]) -> str | None:
    """Why a delivery of ``event`` with this payload must be refused; None when it passes."""
    check = _CHECKS.get(event)
    if check is None:
        return None
    try:
        check(payload)
    except PayloadError as error:
        return str(error)
    return None


def checked_events() -> frozenset[str]:
    return frozenset(_CHECKS)
