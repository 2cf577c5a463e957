"""What the caller of a request may see.

Every read route filters what it returns through ``visibility(request)``; a thing outside it
answers 404 exactly like a thing that does not exist. Authentication sets
``request.state.visibility``; without it a request sees everything.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request


@dataclass(frozen=True, slots=True)
class Visibility:
    installation_ids: frozenset[int] | None  # None: every installation
    repository_ids: frozenset[int] | None  # None: every repository of those installations

    def allows(self, installation_id: int, repository_id: int) -> bool:
        if self.installation_ids is not None and installation_id not in self.installation_ids:
            return False
        return self.repository_ids is None or repository_id in self.repository_ids


EVERYTHING = Visibility(None, None)


def visibility(request: Request) -> Visibility:
    """What the authenticated caller of ``request`` may see."""
    found = getattr(request.state, "visibility", None)
    return found if isinstance(found, Visibility) else EVERYTHING
