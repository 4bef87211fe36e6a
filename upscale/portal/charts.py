"""Bar charts drawn on the server as SVG geometry: no JavaScript, no outside asset.

The template draws what this computes; the numbers stay readable to screen readers through
each bar's <title> and the chart's summary.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

WIDTH = 640
HEIGHT = 200
_LEFT = 44  # room for the y-axis labels
_RIGHT = 8
_TOP = 10
_BOTTOM = 26  # room for the date labels


@dataclass(frozen=True)
class Segment:
    y: float
    height: float
    kind: str  # CSS class suffix: the series it belongs to


@dataclass(frozen=True)
class Bar:
    x: float
    width: float
    segments: list[Segment]
    label: str  # tooltip and accessible text


@dataclass(frozen=True)
class Tick:
    y: float
    label: str


@dataclass(frozen=True)
class XLabel:
    x: float
    label: str


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    plot_left: int
    plot_right: int
    baseline: float
    bars: list[Bar]
    ticks: list[Tick]
    x_labels: list[XLabel]
    total: int


def nice_ceiling(value: int) -> int:
    """The smallest 1, 2 or 5 times a power of ten that is at least ``value`` (at least 1)."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return step * power
    raise AssertionError("unreachable")


def stacked_bars(days: list[date], series: list[tuple[str, list[int]]], unit: str) -> BarChart:
    """Bars per day, each stacking the given series (name, values) from the baseline up."""
    totals = [sum(values[i] for _, values in series) for i in range(len(days))]
    top = nice_ceiling(max(totals, default=0))
    plot_height = HEIGHT - _TOP - _BOTTOM
    baseline = HEIGHT - _BOTTOM
    slot = (WIDTH - _LEFT - _RIGHT) / max(1, len(days))
    bars = []
    for i, day in enumerate(days):
        y = float(baseline)
        segments = []
        for kind, values in series:
            height = values[i] / top * plot_height
            if height > 0:
                y -= height
                segments.append(Segment(round(y, 2), round(height, 2), kind))
        parts = ", ".join(f"{values[i]:,} {kind}" for kind, values in series if values[i])
        label = f"{day:%b} {day.day}: {totals[i]:,} {unit}" + (f" ({parts})" if len(series) > 1 and parts else "")
        bars.append(Bar(round(_LEFT + i * slot + slot * 0.15, 2), round(slot * 0.7, 2), segments, label))
    ticks = [Tick(round(baseline - plot_height * f, 2), f"{int(top * f):,}") for f in (0, 0.5, 1)]
    if top == 1:
        ticks = [ticks[0], ticks[2]]  # no "0.5 requests"
    # A date label every week, counted back from today so that today is always labelled.
    x_labels = [
        XLabel(round(_LEFT + i * slot + slot / 2, 2), f"{day:%b} {day.day}")
        for i, day in enumerate(days) if (len(days) - 1 - i) % 7 == 0
    ]
    return BarChart(WIDTH, HEIGHT, _LEFT, WIDTH - _RIGHT, baseline, bars, ticks, x_labels, sum(totals))
