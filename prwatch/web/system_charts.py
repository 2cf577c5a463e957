"""The charts of how prwatch did over the last 24 hours, from the stored deliveries and
sweeps: deliveries per minute, delivery → applied latency, sweep durations, changes the sweeps
caught that no delivery brought, and the API budget left after each sweep."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prwatch.store import StoreTransaction, SweepRecord
from prwatch.store.history import MinuteCounts
from prwatch.web.charts import Chart, Series

WINDOW = timedelta(hours=24)


def minute_start(minute: int) -> datetime:
    return datetime.fromtimestamp(minute * 60, UTC)


async def system_charts(tx: StoreTransaction, now: datetime) -> list[Chart]:
    since = now - WINDOW
    minutes = await tx.deliveries_by_minute(since)
    sweeps = [s for s in await tx.sweeps_since(since) if s.finished_at is not None]
    return [
        deliveries_chart(minutes),
        latency_chart(minutes),
        sweep_duration_chart(sweeps),
        caught_chart(sweeps),
        budget_chart(sweeps),
    ]


def deliveries_chart(minutes: list[MinuteCounts]) -> Chart:
    points = [(minute_start(m.minute), float(m.received)) for m in minutes]
    total = sum(m.received for m in minutes)
    if total:
        busiest = max(minutes, key=lambda m: m.received)
        summary = (
            f"{total:,} webhook deliveries in the last 24 hours; the busiest minute, "
            f"{minute_start(busiest.minute):%H:%M} UTC, had {busiest.received:,}."
        )
    else:
        summary = "No webhook deliveries in the last 24 hours."
    series = [Series("deliveries per minute", points, "s-deliveries")]
    return Chart("deliveries", "Webhook deliveries per minute", "per minute", summary, series)


def latency_chart(minutes: list[MinuteCounts]) -> Chart:
    applied = [m for m in minutes if m.latency_max_seconds is not None]
    worst = [(minute_start(m.minute), m.latency_max_seconds or 0.0) for m in applied]
    average = [(minute_start(m.minute), m.latency_avg_seconds or 0.0) for m in applied]
    if applied:
        count = sum(m.applied for m in applied)
        mean = sum((m.latency_avg_seconds or 0.0) * m.applied for m in applied) / max(count, 1)
        slowest = max(applied, key=lambda m: m.latency_max_seconds or 0.0)
        summary = (
            f"{count:,} deliveries applied; {mean:.2f} s from receipt to applied on average, "
            f"the slowest {slowest.latency_max_seconds or 0.0:.2f} s at "
            f"{minute_start(slowest.minute):%H:%M} UTC."
        )
    else:
        summary = "No delivery was applied in the last 24 hours."
    series = [
        Series("slowest of the minute", worst, "s-worst", "line"),
        Series("average of the minute", average, "s-average", "line"),
    ]
    return Chart("latency", "Delivery → applied latency", "seconds", summary, series)


def sweep_duration_chart(sweeps: list[SweepRecord]) -> Chart:
    points = [(s.started_at, s.duration_seconds or 0.0) for s in sweeps]
    if sweeps:
        longest = max(sweeps, key=lambda s: s.duration_seconds or 0.0)
        summary = (
            f"{len(sweeps)} sweeps; the longest took {longest.duration_seconds or 0.0:.1f} s "
            f"(started {longest.started_at:%H:%M} UTC)."
        )
    else:
        summary = "No sweep finished in the last 24 hours."
    series = [Series("sweep duration", points, "s-sweeps", "dots")]
    return Chart("sweep-durations", "Sweep durations", "seconds", summary, series)


def caught_chart(sweeps: list[SweepRecord]) -> Chart:
    points = [(s.started_at, float(sum(s.result.changes_by_kind.values()))) for s in sweeps]
    caught = sum(int(v) for _, v in points)
    summary = (
        f"The sweeps caught {caught:,} changes that no delivery had brought."
        if sweeps
        else "No sweep finished in the last 24 hours."
    )
    series = [Series("changes caught", points, "s-caught", "dots")]
    return Chart("missed-changes", "Missed changes caught per sweep", "changes", summary, series)


def budget_chart(sweeps: list[SweepRecord]) -> Chart:
    known = [s for s in sweeps if s.result.rate_limit_remaining is not None]
    points = [(s.started_at, float(s.result.rate_limit_remaining or 0)) for s in known]
    if known:
        lowest = min(known, key=lambda s: s.result.rate_limit_remaining or 0)
        summary = (
            f"REST rate-limit points left after each sweep; the lowest, "
            f"{lowest.result.rate_limit_remaining:,}, after the sweep of "
            f"{lowest.started_at:%H:%M} UTC."
        )
    else:
        summary = "No sweep recorded the rate limit in the last 24 hours."
    series = [Series("points left", points, "s-budget", "dots")]
    return Chart("api-budget", "API budget left after each sweep", "points", summary, series)
