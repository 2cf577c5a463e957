"""Rate-limit accounting (primary budgets, secondary limits) and request statistics.

GraphQL charges its own resource: `limiter.charge(subject, "graphql", points, now)` where
`subject` is `installation_subject(installation_id)`; `limiter.status(...)` gives the headers.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

WINDOW_S = 3600
MINUTE_S = 60


def installation_subject(installation_id: int) -> str:
    return f"installation:{installation_id}"


APP_SUBJECT = "app"


@dataclass(slots=True)
class Budget:
    limit: int
    used: int
    reset: int  # epoch seconds

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)

    def headers(self, resource: str) -> dict[str, str]:
        return {
            "x-ratelimit-limit": str(self.limit),
            "x-ratelimit-remaining": str(self.remaining),
            "x-ratelimit-used": str(self.used),
            "x-ratelimit-reset": str(self.reset),
            "x-ratelimit-resource": resource,
        }


class RateLimiter:
    """Primary limits: `limit` points per hour per (subject, resource), from first use."""

    def __init__(self, limits: dict[str, int]) -> None:
        self.limits = limits  # resource -> points per hour; shared with the config
        self._budgets: dict[tuple[str, str], Budget] = {}

    def status(self, subject: str, resource: str, now: int) -> Budget:
        key = (subject, resource)
        budget = self._budgets.get(key)
        limit = self.limits[resource]
        if budget is None or budget.reset <= now:
            budget = self._budgets[key] = Budget(limit, 0, now + WINDOW_S)
        budget.limit = limit
        return budget

    def charge(self, subject: str, resource: str, points: int, now: int) -> bool:
        """Spend `points`; False (and nothing spent) when the budget cannot cover them."""
        budget = self.status(subject, resource, now)
        if budget.used + points > budget.limit:
            return False
        budget.used += points
        return True

    def reset(self) -> None:
        self._budgets.clear()


class SecondaryLimiter:
    """Per-route (method + path template) per-minute caps per subject, and concurrency."""

    def __init__(self) -> None:
        self.in_flight = 0
        self._windows: dict[tuple[str, str], tuple[int, int]] = {}  # -> (window start, count)

    def hit(self, subject: str, route: str, now: int, cap: int) -> int | None:
        """Count one request; the seconds to wait when over the cap, else None."""
        key = (subject, route)
        start, count = self._windows.get(key, (now, 0))
        if now - start >= MINUTE_S:
            start, count = now, 0
        count += 1
        self._windows[key] = (start, count)
        if count > cap:
            return max(1, start + MINUTE_S - now)
        return None

    def reset(self) -> None:
        self._windows.clear()


class Stats:
    """Requests by route template and outcome, and rate-limit points spent."""

    def __init__(self) -> None:
        self.requests: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.points: dict[str, int] = {"core": 0, "graphql": 0}

    def count(self, route: str, outcome: str) -> None:
        self.requests[route][outcome] += 1

    def spend(self, resource: str, points: int) -> None:
        self.points[resource] = self.points.get(resource, 0) + points

    def snapshot(self) -> dict[str, Any]:
        requests = {route: dict(outcomes) for route, outcomes in sorted(self.requests.items())}
        total = sum(sum(outcomes.values()) for outcomes in requests.values())
        return {"total": total, "requests": requests, "points": dict(self.points)}

    def total(self, outcome: str | None = None) -> int:
        return sum(
            n
            for outcomes in self.requests.values()
            for o, n in outcomes.items()
            if outcome is None or o == outcome
        )

    def reset(self) -> None:
        self.requests.clear()
        self.points = {"core": 0, "graphql": 0}
