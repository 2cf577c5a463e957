"""Declared parameters of the read API: each one parses its raw text (a bad value is a 400 that
names it, never a 500) and describes itself for the OpenAPI document, from the same fields."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from starlette.requests import Request

from prwatch.web.api_errors import InvalidParameter, NotFound

# The database's BIGINT: a larger number could never match a stored id, and would overflow.
MAX_INT64 = 2**63 - 1
# Pull request numbers are stored as INTEGER.
MAX_INT32 = 2**31 - 1
MAX_TEXT = 1_000


class Parameter(Protocol):
    @property
    def name(self) -> str: ...

    def openapi(self) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class IntegerQuery:
    name: str
    description: str
    default: int
    minimum: int = 0
    maximum: int = MAX_INT64

    def read(self, request: Request) -> int:
        raw = request.query_params.get(self.name)
        if raw is None:
            return self.default
        value = parse_integer(self.name, raw)
        if not self.minimum <= value <= self.maximum:
            raise InvalidParameter(
                self.name, f"{self.name} must be {self.minimum} to {self.maximum}, got {raw}"
            )
        return value

    def openapi(self) -> dict[str, Any]:
        schema = {"type": "integer", "minimum": self.minimum, "maximum": self.maximum}
        return _query(self, schema | {"default": self.default})


@dataclass(frozen=True, slots=True)
class ChoiceQuery:
    name: str
    description: str
    choices: tuple[str, ...]
    default: str

    def read(self, request: Request) -> str:
        raw = request.query_params.get(self.name, self.default)
        if raw not in self.choices:
            raise InvalidParameter(
                self.name, f"{self.name} must be one of {', '.join(self.choices)}"
            )
        return raw

    def openapi(self) -> dict[str, Any]:
        schema = {"type": "string", "enum": list(self.choices), "default": self.default}
        return _query(self, schema)


@dataclass(frozen=True, slots=True)
class FilterQuery:
    """One of a closed set of values, or no filter when absent."""

    name: str
    description: str
    choices: tuple[str, ...]

    def read(self, request: Request) -> str | None:
        raw = request.query_params.get(self.name)
        if raw is not None and raw not in self.choices:
            raise InvalidParameter(
                self.name, f"{self.name} must be one of {', '.join(self.choices)}"
            )
        return raw

    def openapi(self) -> dict[str, Any]:
        return _query(self, {"type": "string", "enum": list(self.choices)})


@dataclass(frozen=True, slots=True)
class TextQuery:
    name: str
    description: str
    max_length: int = MAX_TEXT

    def read(self, request: Request) -> str | None:
        raw = request.query_params.get(self.name)
        if raw is None:
            return None
        if not raw or len(raw) > self.max_length:
            raise InvalidParameter(
                self.name, f"{self.name} must be 1 to {self.max_length} characters"
            )
        return raw

    def openapi(self) -> dict[str, Any]:
        return _query(self, {"type": "string", "minLength": 1, "maxLength": self.max_length})


@dataclass(frozen=True, slots=True)
class TimestampQuery:
    name: str
    description: str

    def read(self, request: Request) -> datetime | None:
        raw = request.query_params.get(self.name)
        if raw is None:
            return None
        try:
            value = datetime.fromisoformat(raw) if len(raw) <= 64 else None
        except ValueError:
            value = None
        if value is None:
            raise InvalidParameter(
                self.name, f"{self.name} must be an ISO 8601 time, e.g. 2026-01-31T12:00:00Z"
            )
        # A time without an offset is read as UTC, like every time the API answers with.
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def openapi(self) -> dict[str, Any]:
        return _query(self, {"type": "string", "format": "date-time"})


@dataclass(frozen=True, slots=True)
class CursorQuery:
    """An opaque page cursor: what a listing answered as ``next``. It wraps a key, but clients
    must not build or read it (the encoding may change)."""

    name: str
    description: str
    kind: str  # tells the cursors of two listings apart

    def read(self, request: Request) -> int:
        raw = request.query_params.get(self.name)
        if raw is None:
            return 0
        key = self.decode(raw)
        if key is None:
            raise InvalidParameter(self.name, f"{self.name} is not a cursor this listing gave")
        return key

    def encode(self, key: int) -> str:
        return base64.urlsafe_b64encode(f"{self.kind}:{key}".encode()).decode().rstrip("=")

    def decode(self, raw: str) -> int | None:
        if len(raw) > 64:
            return None
        try:
            text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode("ascii")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return None
        kind, colon, digits = text.partition(":")
        if kind != self.kind or not colon or not digits.isdigit() or len(digits) > 19:
            return None
        key = int(digits)
        return key if key <= MAX_INT64 else None

    def openapi(self) -> dict[str, Any]:
        return _query(self, {"type": "string"})


@dataclass(frozen=True, slots=True)
class TextPath:
    name: str
    description: str

    def read(self, request: Request) -> str:
        value: str = request.path_params[self.name]
        return value

    def openapi(self) -> dict[str, Any]:
        return _path(self, {"type": "string"})


@dataclass(frozen=True, slots=True)
class NumberPath:
    """A positive number in the path; one too large to exist is simply not found."""

    name: str
    description: str
    maximum: int = MAX_INT32

    def read(self, request: Request) -> int:
        raw: str = request.path_params[self.name]
        digits = raw.lstrip("0")
        if not raw.isascii() or not raw.isdigit() or not digits:
            raise InvalidParameter(self.name, f"{self.name} must be a positive integer")
        if len(digits) > len(str(self.maximum)) or int(digits) > self.maximum:
            raise NotFound("no such pull request")
        return int(digits)

    def openapi(self) -> dict[str, Any]:
        return _path(self, {"type": "integer", "minimum": 1, "maximum": self.maximum})


def parse_integer(name: str, raw: str) -> int:
    """A decimal integer; bounded in length first, so a huge one costs nothing to refuse."""
    text = raw.strip()
    digits = text[1:] if text[:1] in "+-" else text
    if not digits.isascii() or not digits.isdigit():
        raise InvalidParameter(name, f"{name} must be an integer")
    if len(digits) > 19:
        raise InvalidParameter(name, f"{name} is out of range")
    return int(text)


def _query(parameter: Any, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": parameter.name,
        "in": "query",
        "required": False,
        "description": parameter.description,
        "schema": schema,
    }


def _path(parameter: Any, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": parameter.name,
        "in": "path",
        "required": True,
        "description": parameter.description,
        "schema": schema,
    }
