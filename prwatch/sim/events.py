"""What a world mutation tells the outside: one webhook delivery's event, action and payload."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class WorldEvent:
    event: str  # the X-GitHub-Event value
    action: str | None
    installation_id: int | None
    repository_id: int | None
    payload: dict[str, Any]


class NotFoundError(LookupError):
    """The named object does not exist (or is deleted) in the simulated world."""


class InvalidMutationError(ValueError):
    """The mutation makes no sense for the object's current state (e.g. merging a closed PR)."""
