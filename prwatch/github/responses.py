"""What the GitHub client returns: raw statuses, headers and bytes, decoded only on request."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec

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


class GraphQLResponse:
    """A GraphQL answer: its ``data`` (decoded), ``errors``, rate limit and cost.

    The client hands ``data`` over as JSON text (``data_json``) and decodes it only when asked:
    a check query's answer (140 KB for 149 commits) is decoded straight into typed structs
    instead (``prwatch.sync.check_reply``), never into dicts."""

    __slots__ = ("_data", "cost", "data_json", "errors", "rate_limit", "token_fingerprint")

    def __init__(
        self,
        data: Any = None,
        errors: tuple[Mapping[str, Any], ...] = (),
        rate_limit: RateLimit | None = None,
        cost: int = 1,  # points charged: ``rateLimit { cost }`` when asked for, else 1
        token_fingerprint: str | None = None,
        *,
        data_json: bytes | None = None,
    ) -> None:
        self._data = _UNDECODED if data_json is not None else data
        self.data_json = data_json  # the answer's `data` member as JSON, when the client kept it
        self.errors = errors
        self.rate_limit = rate_limit
        self.cost = cost
        self.token_fingerprint = token_fingerprint

    @property
    def data(self) -> Any:
        if self._data is _UNDECODED:
            assert self.data_json is not None
            self._data = json.loads(self.data_json)
        return self._data

    def error_types(self) -> tuple[str, ...]:
        return tuple(str(error.get("type", "")) for error in self.errors)

    def __repr__(self) -> str:
        return f"GraphQLResponse(cost={self.cost}, errors={len(self.errors)})"


_UNDECODED = object()


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


class _Envelope(msgspec.Struct):
    """A GraphQL answer's members, ``data`` left as JSON text (empty when absent)."""

    data: msgspec.Raw = msgspec.Raw(b"")
    errors: Any = None


class _Costed(msgspec.Struct, rename="camel"):
    rate_limit: Any = None


def read_graphql_body(
    response: ApiResponse, route: str
) -> tuple[bytes | None, tuple[Mapping[str, Any], ...]]:
    """A 200 GraphQL answer's ``data`` as JSON text (None when absent or null) and its
    errors (the objects among them), without decoding ``data``. Raises UnexpectedResponse
    for a body that is not a JSON object."""
    try:
        envelope = msgspec.json.decode(response.body, type=_Envelope)
    except msgspec.DecodeError:
        body = response.json()  # raises the usual error for a body that is not JSON
        raise UnexpectedResponse(f"{route} answered a JSON {type(body).__name__}") from None
    listed = envelope.errors if isinstance(envelope.errors, list) else ()
    errors = tuple(e for e in listed if isinstance(e, dict))
    data = bytes(envelope.data)
    return (None if data in (b"", b"null") else data), errors


def graphql_cost_of(data_json: bytes | None) -> int:
    """``graphql_cost`` of an answer's ``data`` given as JSON text."""
    if data_json is None:
        return 1
    try:
        costed = msgspec.json.decode(data_json, type=_Costed)
    except msgspec.DecodeError:  # not an object: no cost reported
        return 1
    return graphql_cost({"rateLimit": costed.rate_limit})
