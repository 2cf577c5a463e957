"""The client's reading of rate-limit answers, on top of the sans-I/O ``ratelimit`` module.

Differences from the pure helpers, on purpose: a malformed ``x-ratelimit-*`` header must not
fail an otherwise good response (it only means no budget is recorded), and times here are the
client's epoch-seconds clock, which tests own.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from prwatch.github.limits import Budget
from prwatch.github.ratelimit import (
    MIN_SECONDARY_WAIT_SECONDS,
    LimitKind,
    LimitVerdict,
    RateLimit,
    backoff_seconds,
    classify_limit_response,
    parse_rate_limit,
    parse_retry_after,
)

__all__ = ["RateLimit", "budget_of", "graphql_limit_delay", "limit_delay", "read_rate_limit"]


def read_rate_limit(headers: Mapping[str, str]) -> RateLimit | None:
    try:
        return parse_rate_limit(headers)
    except ValueError:
        return None


def budget_of(rate: RateLimit) -> Budget:
    return Budget(remaining=rate.remaining, limit=rate.limit, reset_at=rate.reset.timestamp())


def limit_delay(
    status: int, headers: Mapping[str, str], body: bytes, now: float, retry: int
) -> tuple[LimitKind, float] | None:
    """For a 403/429: the limit hit and the seconds to wait before ``retry`` (0 = first), or
    None when the answer is not a rate limit (a permission refusal, say)."""
    if status not in (403, 429):
        return None
    try:
        verdict = classify_limit_response(status, headers, body)
    except ValueError:
        # An unreadable retry-after: a 429 is still "too many requests"; a 403 we cannot tell.
        if status != 429:
            return None
        return LimitKind.SECONDARY, MIN_SECONDARY_WAIT_SECONDS * 2**retry
    if not verdict.is_limited:
        return None
    return verdict.kind, backoff_seconds(verdict, _utc(now), retry)


def graphql_limit_delay(
    kind: LimitKind,
    rate: RateLimit | None,
    headers: Mapping[str, str],
    now: float,
    retry: int = 0,
) -> float:
    """Seconds to wait before ``retry`` (0 = first) after GraphQL reported ``kind`` of limit
    in a 200: `retry-after` first, else as ``backoff_seconds`` says; a primary refusal with
    points left (the query alone costs more than remains) waits for the reset."""
    try:
        retry_after, retry_at = parse_retry_after(headers)
    except ValueError:
        retry_after, retry_at = None, None  # unreadable: as if absent
    told = retry_after is not None or retry_at is not None
    if not told and kind is LimitKind.PRIMARY and rate is not None and rate.remaining > 0:
        return max(0.0, rate.reset.timestamp() - now)
    verdict = LimitVerdict(kind, rate, retry_after, retry_at)
    return backoff_seconds(verdict, _utc(now), retry)


def _utc(epoch_seconds: float) -> datetime:
    return datetime.fromtimestamp(epoch_seconds, UTC)
