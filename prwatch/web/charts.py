"""Server-side SVG charts over a time window: no chart library, no script, readable at any
width (the SVG scales to its box), and described in words for screen readers."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import escape

from markupsafe import Markup

WIDTH, HEIGHT = 720, 200
LEFT, RIGHT, TOP, BOTTOM = 52, 12, 12, 26
TICK_HOURS = 4
LINE_GAP = timedelta(minutes=30)


@dataclass(frozen=True, slots=True)
class Series:
    label: str
    points: Sequence[tuple[datetime, float]]
    css_class: str  # colours live in the stylesheet
    shape: str = "bars"  # bars (one per point), line (joined where points are close), dots


@dataclass(frozen=True, slots=True)
class Chart:
    key: str
    title: str
    unit: str
    summary: str  # the chart in one sentence: its <desc> and the caption under it
    series: Sequence[Series]


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2 or 5 times a power of ten at or above ``value`` (1 for nothing)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return float(step * power)
    return float(10 * power)


def render_chart(chart: Chart, start: datetime, end: datetime) -> Markup:
    span = (end - start).total_seconds() or 1.0
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top_value = nice_ceiling(max((v for s in chart.series for _, v in s.points), default=0.0))

    def x(at: datetime) -> float:
        return LEFT + plot_w * min(max((at - start).total_seconds() / span, 0.0), 1.0)

    def y(value: float) -> float:
        return TOP + plot_h * (1 - min(max(value / top_value, 0.0), 1.0))

    title_id, desc_id = f"{chart.key}-title", f"{chart.key}-desc"
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{title_id} {desc_id}" data-testid="chart-{escape(chart.key)}">',
        f'<title id="{title_id}">{escape(chart.title)}</title>',
        f'<desc id="{desc_id}">{escape(chart.summary)}</desc>',
    ]
    for fraction in (0.0, 0.5, 1.0):
        value = top_value * fraction
        gy = y(value)
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{gy:.1f}" y2="{gy:.1f}"/>'
        )
        parts.append(
            f'<text class="axis" x="{LEFT - 6}" y="{gy + 4:.1f}" text-anchor="end">'
            f"{escape(_number(value))}</text>"
        )
    tick = _first_tick(start)
    while tick <= end:
        tx = x(tick)
        parts.append(
            f'<line class="tick" x1="{tx:.1f}" x2="{tx:.1f}" '
            f'y1="{TOP + plot_h}" y2="{TOP + plot_h + 4}"/>'
        )
        parts.append(
            f'<text class="axis" x="{tx:.1f}" y="{HEIGHT - 8}" text-anchor="middle">'
            f"{tick:%H:%M}</text>"
        )
        tick += timedelta(hours=TICK_HOURS)
    parts.append(f'<text class="axis unit" x="{LEFT}" y="{TOP - 2}">{escape(chart.unit)}</text>')
    bar_width = max(plot_w / max(span / 60, 1), 1.0)  # a minute wide, at least a pixel
    for series in chart.series:
        parts.append(_series(series, x, y, bar_width, TOP + plot_h))
    parts.append("</svg>")
    return Markup("".join(parts))


def _series(
    series: Series,
    x: Callable[[datetime], float],
    y: Callable[[float], float],
    bar_width: float,
    base: float,
) -> str:
    label = escape(series.label)
    if not series.points:
        return ""
    if series.shape == "bars":
        path = "".join(
            f"M{x(at):.1f} {base:.1f}V{y(value):.1f}" for at, value in series.points if value > 0
        )
        return (
            f'<path class="{series.css_class}" stroke-width="{bar_width:.1f}" d="{path}">'
            f"<title>{label}</title></path>"
        )
    if series.shape == "dots":
        dots = "".join(
            f'<circle cx="{x(at):.1f}" cy="{y(value):.1f}" r="3">'
            f"<title>{label} {at:%H:%M}: {escape(_number(value))}</title></circle>"
            for at, value in series.points
        )
        return f'<g class="{series.css_class}">{dots}</g>'
    # Points closer than LINE_GAP are joined; a point alone gets a dot, so it still shows.
    commands: list[str] = []
    alone: list[str] = []
    points = list(series.points)
    for index, (at, value) in enumerate(points):
        joined_before = index > 0 and at - points[index - 1][0] <= LINE_GAP
        joined_after = index + 1 < len(points) and points[index + 1][0] - at <= LINE_GAP
        commands.append(f"{'L' if joined_before else 'M'}{x(at):.1f} {y(value):.1f}")
        if not joined_before and not joined_after:
            alone.append(f'<circle cx="{x(at):.1f}" cy="{y(value):.1f}" r="2"/>')
    return (
        f'<g class="{series.css_class}"><path fill="none" d="{"".join(commands)}">'
        f"<title>{label}</title></path>{''.join(alone)}</g>"
    )


def _first_tick(start: datetime) -> datetime:
    hour = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    hour += timedelta(hours=(TICK_HOURS - hour.hour % TICK_HOURS) % TICK_HOURS or 0)
    return hour if hour >= start else hour + timedelta(hours=TICK_HOURS)


def _number(value: float) -> str:
    if value >= 10_000:
        return f"{value / 1000:,.0f}k"
    if value >= 10 or value == int(value):
        return f"{value:,.0f}"
    return f"{value:.2g}"
