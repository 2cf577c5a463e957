"""What the GitHub client returns: raw statuses, headers and bytes, decoded only on request."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from prwatch.github.errors import UnexpectedResponse
from prwatch.github.ratelimit_reading import RateLimit


@dataclass(frozen=True, slots=True)
class ApiResponse:
    status: int
    headers: Mapping[str, str] = field(repr=False)  # case-insensitive when built by the client
    body: bytes = field(repr=False)
    etag: str | None
    rate_limit: RateLimit | None
    url: str  # the URL that answered: after a redirect, the new location
    links: Mapping[str, str] = field(default_factory=dict)  # Link header: rel → absolute URL
    redirected_from: str | None = None  # set when a 301/302/307/308 was followed
    token_fingerprint: str | None = None  # of the installation token that fetched this (ETags)

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json(self) -> Any:
        """The decoded body (plain ``json.loads``: githubkit's models are slow and too strict)."""
        try:
            return json.loads(self.body)
        except ValueError:
            raise UnexpectedResponse(
                f"{self.status} from {self.url} is not JSON ({len(self.body)} bytes)"
            ) from None

    def message(self) -> str:
        """GitHub's error ``message``, or an empty string."""
        try:
            decoded = json.loads(self.body)
        except ValueError:
            return ""
        value = decoded.get("message") if isinstance(decoded, dict) else None
        return value if isinstance(value, str) else ""


@dataclass(frozen=True, slots=True)
class GraphQLResponse:
    data: Any
    errors: tuple[Mapping[str, Any], ...]
    rate_limit: RateLimit | None
    cost: int  # points charged: ``rateLimit { cost }`` when the query asked for it, else 1
    token_fingerprint: str | None = None

    def error_types(self) -> tuple[str, ...]:
        return tuple(str(error.get("type", "")) for error in self.errors)


def graphql_cost(data: object) -> int:
    """Points a query cost, from its ``rateLimit { cost }`` field; 1 (GitHub's minimum) when
    the query did not ask."""
    if isinstance(data, dict):
        rate = data.get("rateLimit")
        if isinstance(rate, dict):
            cost = rate.get("cost")
            if isinstance(cost, int) and not isinstance(cost, bool) and cost >= 1:
                return cost
    return 1
