"""How the client reads GitHub's rate-limit answers: headers → budget, 403/429 → wait or not.

https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api#exceeding-the-rate-limit
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from prwatch.github.errors import LimitKind
from prwatch.github.limits import Budget

SECONDARY_MESSAGE = "secondary rate limit"
SECONDARY_DEFAULT_WAIT = 60.0  # GitHub: without retry-after, wait at least a minute


@dataclass(frozen=True, slots=True)
class RateLimit:
    limit: int
    remaining: int
    used: int
    reset: int  # epoch seconds
    resource: str


def read_rate_limit(headers: Mapping[str, str]) -> RateLimit | None:
    try:
        limit = int(headers["x-ratelimit-limit"])
        remaining = int(headers["x-ratelimit-remaining"])
        reset = int(headers["x-ratelimit-reset"])
    except (KeyError, ValueError):
        return None
    used_text = headers.get("x-ratelimit-used", "")
    used = int(used_text) if used_text.isdigit() else max(limit - remaining, 0)
    return RateLimit(limit, remaining, used, reset, headers.get("x-ratelimit-resource", "core"))


def budget_of(rate: RateLimit) -> Budget:
    return Budget(remaining=rate.remaining, limit=rate.limit, reset_at=float(rate.reset))


def limit_delay(
    status: int, headers: Mapping[str, str], body: bytes, now: float, attempt: int
) -> tuple[LimitKind, float] | None:
    """For a 403/429: the kind of limit hit and the seconds to wait, or None if not a limit."""
    if status not in (403, 429):
        return None
    retry_after = headers.get("retry-after", "")
    secondary = SECONDARY_MESSAGE in body.decode("utf-8", "replace").lower()
    if retry_after.strip().isdigit():
        return ("secondary" if secondary or _remaining(headers) != 0 else "primary"), float(
            retry_after
        )
    if _remaining(headers) == 0:
        rate = read_rate_limit(headers)
        return "primary", max(0.0, rate.reset - now) if rate is not None else SECONDARY_DEFAULT_WAIT
    if secondary:
        return "secondary", SECONDARY_DEFAULT_WAIT * 2 ** max(attempt - 1, 0)
    return None


def _remaining(headers: Mapping[str, str]) -> int | None:
    text = headers.get("x-ratelimit-remaining", "")
    return int(text) if text.isdigit() else None
