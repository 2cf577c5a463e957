"""What the authenticated caller of a request may see. Every read route filters what it returns
through ``visibility(request)``; a thing outside it answers 404 exactly like a thing that does not
exist. The authentication middleware (``prwatch.web.authentication``) sets it."""

from __future__ import annotations

from starlette.requests import Request

from prwatch.access.caller import Caller, CallerKind
from prwatch.domain.visibility import EVERYTHING, NOTHING, Visibility

__all__ = ["EVERYTHING", "NOTHING", "Caller", "CallerKind", "Visibility", "caller", "visibility"]

_NOBODY = Caller(CallerKind.ANONYMOUS, "", NOTHING)


def caller(request: Request) -> Caller:
    """The request's caller; an anonymous one who sees nothing when no middleware set it
    (fail closed)."""
    found = request.scope.get("state", {}).get("caller")
    return found if isinstance(found, Caller) else _NOBODY


def visibility(request: Request) -> Visibility:
    return caller(request).visibility
