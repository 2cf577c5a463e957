"""Request accounting: what each sweep spent, by route and outcome, and in rate-limit points."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

# Outcomes that are not HTTP statuses.
TIMEOUT = "timeout"
CONNECTION_ERROR = "connection_error"


@dataclass(frozen=True, slots=True)
class StatsSnapshot:
    requests: Mapping[tuple[str, str], int] = field(default_factory=dict)  # (route, outcome)
    points: Mapping[str, int] = field(default_factory=dict)  # resource → points spent

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())

    def by_outcome(self) -> dict[str, int]:
        totals: Counter[str] = Counter()
        for (_, outcome), count in self.requests.items():
            totals[outcome] += count
        return dict(totals)


class RequestStats:
    """Counts every HTTP exchange (each retry too) and the primary-limit points it cost.

    Core costs 1 point per request except 304s, which GitHub does not charge
    (https://docs.github.com/en/rest/using-the-rest-api/best-practices-for-using-the-rest-api);
    GraphQL costs what the response reports.
    """

    def __init__(self) -> None:
        self._requests: Counter[tuple[str, str]] = Counter()
        self._points: Counter[str] = Counter()

    def record_request(self, route: str, outcome: int | str) -> None:
        self._requests[(route, str(outcome))] += 1

    def record_points(self, resource: str, points: int) -> None:
        if points > 0:
            self._points[resource] += points

    def snapshot(self) -> StatsSnapshot:
        return StatsSnapshot(
            requests=MappingProxyType(dict(self._requests)),
            points=MappingProxyType(dict(self._points)),
        )

    def snapshot_and_reset(self) -> StatsSnapshot:
        taken = self.snapshot()
        self._requests.clear()
        self._points.clear()
        return taken
