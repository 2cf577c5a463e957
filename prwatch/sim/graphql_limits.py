"""GraphQL's limits on server time: CPU seconds per minute, and the per-query timeout.

GitHub allows at most 60 seconds of GraphQL CPU time per 60 seconds of real time (a secondary
limit: 403 with `retry-after`), and cuts a query that runs longer than 10 seconds (an HTTP
502 or 504 whose body says the query may have timed out).
https://docs.github.com/en/graphql/overview/rate-limits-and-query-limits-for-the-graphql-api#secondary-rate-limits
https://docs.github.com/en/graphql/overview/rate-limits-and-query-limits-for-the-graphql-api#timeouts

A simulated query's server time is what executing it took here plus a modelled share per node
it may return (`SimConfig.graphql_ms_per_node`, off by default), so tests and benchmarks can
make big queries as slow as GitHub's without sleeping.
"""

from __future__ import annotations

from prwatch.sim.limits import MINUTE_S

TIMEOUT_MESSAGE = (
    "Something went wrong while executing your query. This may be the result of a timeout, or "
    "it could be a GitHub bug. Please include `0000:0000:0000000:0000000:00000000` when "
    "reporting this issue."
)


def server_seconds(measured: float, nodes: int, ms_per_node: float) -> float:
    return measured + nodes * ms_per_node / 1000


class CpuTimePerMinute:
    """Seconds of GraphQL server time per subject in the current minute."""

    def __init__(self) -> None:
        self._windows: dict[str, tuple[int, float]] = {}  # subject -> (window start, seconds)

    def wait(self, subject: str, now: int, cap: float) -> int | None:
        """The seconds to wait when the minute's time is spent, else None."""
        start, spent = self._current(subject, now)
        return max(1, start + MINUTE_S - now) if spent >= cap else None

    def record(self, subject: str, seconds: float, now: int) -> None:
        start, spent = self._current(subject, now)
        self._windows[subject] = (start, spent + seconds)

    def _current(self, subject: str, now: int) -> tuple[int, float]:
        start, spent = self._windows.get(subject, (now, 0.0))
        return (now, 0.0) if now - start >= MINUTE_S else (start, spent)

    def reset(self) -> None:
        self._windows.clear()
