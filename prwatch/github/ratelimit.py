"""Rate limits, sans I/O: read the headers, tell a limit answer from a refusal, say how long
to wait.

https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api
https://docs.github.com/en/rest/using-the-rest-api/best-practices-for-using-the-rest-api#handle-rate-limit-errors-appropriately
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import StrEnum

DEFAULT_RESOURCE = "core"
# Without retry-after or an exhausted budget, GitHub asks for at least a minute, then longer.
MIN_SECONDARY_WAIT_SECONDS = 60.0
# `x-ratelimit-reset` has one-second resolution; waiting to the exact second may be too early.
RESET_MARGIN_SECONDS = 1.0
_SECONDARY_MESSAGES = ("secondary rate limit", "abuse detection")  # the latter is the old wording
# GraphQL's primary limit: an error of type RATE_LIMITED, or RATE_LIMIT in some answers
# (githubkit accepts both since early 2026).
GRAPHQL_RATE_LIMIT_TYPES = frozenset({"RATE_LIMITED", "RATE_LIMIT"})
# Bounds of the headers' integers: points fit a 32-bit column (a sweep records the lowest
# remaining), a reset time a datetime (past year 9999 `fromtimestamp` raises OverflowError).
MAX_POINTS = 2**31 - 1
MAX_RESET_EPOCH = 2**34  # the year 2514
_RESOURCE = re.compile(r"[a-z][a-z_]{0,39}")  # core, graphql, search, code_scanning_upload, …


class LimitKind(StrEnum):
    NOT_LIMITED = "not_limited"  # any other answer, including a 403 for missing permissions
    PRIMARY = "primary"  # the hour's budget is spent: wait for the reset
    SECONDARY = "secondary"  # too fast or too concurrent: wait retry-after or back off


@dataclass(frozen=True, slots=True)
class RateLimit:
    """The `x-ratelimit-*` headers of one response."""

    limit: int
    remaining: int
    used: int
    reset: datetime  # when `remaining` goes back to `limit`, aware UTC
    resource: str  # core, graphql, search, …


@dataclass(frozen=True, slots=True)
class LimitVerdict:
    """What a response says about rate limiting."""

    kind: LimitKind
    rate_limit: RateLimit | None = None
    retry_after_seconds: float | None = None  # `retry-after: 30`
    retry_at: datetime | None = None  # `retry-after` given as an HTTP date

    @property
    def is_limited(self) -> bool:
        return self.kind is not LimitKind.NOT_LIMITED


def parse_rate_limit(headers: Mapping[str, str]) -> RateLimit | None:
    """The rate limit a response reports, or None when it carries no rate-limit headers.

    Header names are matched case-insensitively. A header that is present but not a number
    raises ValueError: it means the answer did not come from GitHub as documented.
    """
    lowered = _lowercase(headers)
    if not {"x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"} <= lowered.keys():
        return None
    limit = _integer(lowered, "x-ratelimit-limit", MAX_POINTS)
    remaining = _integer(lowered, "x-ratelimit-remaining", MAX_POINTS)
    used = (
        _integer(lowered, "x-ratelimit-used", MAX_POINTS)
        if "x-ratelimit-used" in lowered
        else max(limit - remaining, 0)
    )
    reset = datetime.fromtimestamp(_integer(lowered, "x-ratelimit-reset", MAX_RESET_EPOCH), tz=UTC)
    resource = lowered.get("x-ratelimit-resource", "").strip() or DEFAULT_RESOURCE
    if not _RESOURCE.fullmatch(resource):  # a metric label: GitHub's names only, few of them
        raise ValueError(f"header x-ratelimit-resource: not a resource name: {resource[:40]!r}")
    return RateLimit(limit, remaining, used, reset, resource)


def classify_limit_response(status: int, headers: Mapping[str, str], body: bytes) -> LimitVerdict:
    """Is this answer a rate limit, and which one?

    REST: 403 or 429 with `x-ratelimit-remaining: 0` is the primary limit; 403 or 429 saying
    "secondary rate limit" or carrying `retry-after` is a secondary limit. GraphQL answers its
    limits with HTTP 200 too (see graphql_limit_kind).
    """
    lowered = _lowercase(headers)
    rate_limit = parse_rate_limit(lowered)
    retry_after_seconds, retry_at = _retry_after(lowered.get("retry-after"))
    has_retry_after = retry_after_seconds is not None or retry_at is not None

    def verdict(kind: LimitKind) -> LimitVerdict:
        return LimitVerdict(kind, rate_limit, retry_after_seconds, retry_at)

    if status == 200:
        return verdict(_graphql_limit_in(body))
    if status not in (403, 429):
        return verdict(LimitKind.NOT_LIMITED)
    message = body.decode("utf-8", "replace").lower()
    if any(phrase in message for phrase in _SECONDARY_MESSAGES):
        return verdict(LimitKind.SECONDARY)
    if rate_limit is not None and rate_limit.remaining == 0:
        return verdict(LimitKind.PRIMARY)
    # 429 is "Too Many Requests" whatever the body says; a bare 403 is a permission refusal.
    if has_retry_after or status == 429:
        return verdict(LimitKind.SECONDARY)
    return verdict(LimitKind.NOT_LIMITED)


def backoff_seconds(verdict: LimitVerdict, now: datetime, attempt: int) -> float:
    """Seconds to wait before trying again, in GitHub's documented order.

    `retry-after` first; else, with the budget spent, until the reset; else at least a minute,
    doubling with each `attempt` (0 for the first retry). Unbounded: the caller caps it.
    """
    if not verdict.is_limited:
        raise ValueError("not a rate-limit answer: there is nothing to back off from")
    if attempt < 0:
        raise ValueError(f"attempt must not be negative, got {attempt}")
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if verdict.retry_after_seconds is not None:
        return verdict.retry_after_seconds
    if verdict.retry_at is not None:
        return max(0.0, (verdict.retry_at - now).total_seconds())
    rate_limit = verdict.rate_limit
    if rate_limit is not None and rate_limit.remaining == 0:
        wait = rate_limit.reset - now + timedelta(seconds=RESET_MARGIN_SECONDS)
        return max(0.0, wait.total_seconds())
    return float(MIN_SECONDARY_WAIT_SECONDS * 2**attempt)


def _lowercase(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def _integer(headers: Mapping[str, str], name: str, maximum: int) -> int:
    text = headers[name].strip()
    try:
        value = int(text[:20])  # no number of ours has 20 digits; int() of 5,000 raises
    except ValueError:
        raise ValueError(f"header {name}: expected an integer, got {text[:40]!r}") from None
    if len(text) > 20 or not 0 <= value <= maximum:
        raise ValueError(f"header {name}: {text[:40]!r} is not between 0 and {maximum}")
    return value


def parse_retry_after(headers: Mapping[str, str]) -> tuple[float | None, datetime | None]:
    """`retry-after` as (seconds, None), (None, an HTTP date), or (None, None) when absent;
    ValueError when present but neither."""
    return _retry_after(_lowercase(headers).get("retry-after"))


def _retry_after(value: str | None) -> tuple[float | None, datetime | None]:
    """`retry-after` is delay-seconds (what GitHub sends) or an HTTP date (RFC 9110 §10.2.3)."""
    if value is None or not value.strip():
        return None, None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        if seconds < 0 or not math.isfinite(seconds):
            raise ValueError(f"header retry-after: not a delay: {text!r}")
        return seconds, None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        raise ValueError(
            f"header retry-after: neither seconds nor an HTTP date: {text!r}"
        ) from None
    return None, when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def graphql_limit_kind(errors: Iterable[object]) -> LimitKind:
    """Which limit a GraphQL answer's `errors` report: an error of type RATE_LIMITED or
    RATE_LIMIT is the primary limit, one saying "secondary rate limit" the secondary one
    (GitHub answers both with HTTP 200 as well as with 403/429).
    https://docs.github.com/en/graphql/overview/rate-limits-and-query-limits-for-the-graphql-api
    """
    kind = LimitKind.NOT_LIMITED
    for error in errors:
        if not isinstance(error, Mapping):
            continue
        message = str(error.get("message") or "").lower()
        if any(phrase in message for phrase in _SECONDARY_MESSAGES):
            return LimitKind.SECONDARY
        if error.get("type") in GRAPHQL_RATE_LIMIT_TYPES:
            kind = LimitKind.PRIMARY
    return kind


def _graphql_limit_in(body: bytes) -> LimitKind:
    # Cheap test first: a 2 MB page of results must not be parsed twice for nothing.
    if b"RATE_LIMIT" not in body and not any(
        phrase.encode() in body.lower() for phrase in _SECONDARY_MESSAGES
    ):
        return LimitKind.NOT_LIMITED
    try:
        document = json.loads(body)
    except ValueError:
        return LimitKind.NOT_LIMITED
    errors = document.get("errors") if isinstance(document, dict) else None
    return graphql_limit_kind(errors) if isinstance(errors, list) else LimitKind.NOT_LIMITED
