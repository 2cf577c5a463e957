"""Who is asking: the credential a request came with and what it may see."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from prwatch.domain.visibility import EVERYTHING, Visibility


class CallerKind(StrEnum):
    TOKEN = "token"  # an API token (tools)
    USER = "user"  # a person signed in with GitHub
    ANONYMOUS = "anonymous"  # no credential


@dataclass(frozen=True, slots=True)
class Caller:
    kind: CallerKind
    name: str  # the token's name or the user's login; "" when anonymous
    visibility: Visibility
    session_hash: str | None = None  # a signed-in person's session

    @property
    def authenticated(self) -> bool:
        return self.kind is not CallerKind.ANONYMOUS

    @property
    def operator(self) -> bool:
        """Whether the caller may read process-wide details (metrics, readiness checks):
        an API token without an installation scope."""
        return self.kind is CallerKind.TOKEN and self.visibility == EVERYTHING
