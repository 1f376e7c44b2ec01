"""Geometry of the analytics page's charts, drawn as inline SVG by the template.

Pure functions from the analytics API's data to coordinates: no JavaScript and no chart
library, so the page works offline and under the strict Content-Security-Policy (colours come
from CSS classes, never from style attributes).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
WEEKDAYS = ("Mon", "", "Wed", "", "Fri", "", "")


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2 or 5 × 10^k at or above *value* (an axis maximum people can read)."""
    if value <= 0:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power  # pragma: no cover - the loop always returns


def axis_ticks(peak: float, *, whole: bool = True) -> tuple[float, list[float]]:
    """A round axis maximum at or above *peak* and its ticks. With *whole*, every tick is a
    whole number: the charts count sessions and messages, and half a session means nothing;
    amounts (dollars) take fractional ticks so that cents do not sit under a $2 axis."""
    top = max(nice_ceiling(peak), 2) if whole else nice_ceiling(peak)
    parts = 5 if top / 10 ** math.floor(math.log10(top)) == 5 else 2
    return top, [top * i / parts for i in range(parts + 1)]


def _count(value: float) -> str:
    """``1,234`` (a fraction keeps one decimal)."""
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,.1f}"


def short_number(value: float) -> str:
    if value >= 1_000_000:
        return f"{value / 1_000_000:.1f}M".replace(".0M", "M")
    if value >= 10_000:
        return f"{value / 1000:.0f}k"
    if value >= 1000:
        return f"{value / 1000:.1f}k".replace(".0k", "k")
    return f"{value:g}"


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    title: str


def column_chart(points: Sequence[tuple[str, float]], *, unit: str, width: int = 720,
                 height: int = 180, max_labels: int = 8) -> dict:
    """Vertical bars for (label, value) points, with a y axis from 0 to a round maximum."""
    left, bottom, top = 44, 22, 8
    plot_w, plot_h = width - left - 4, height - bottom - top
    peak, ticks = axis_ticks(max((v for _, v in points), default=0))
    slot = plot_w / max(len(points), 1)
    gap = min(2.0, slot * 0.2)
    bars = []
    for i, (label, value) in enumerate(points):
        h = plot_h * value / peak
        bars.append(Bar(round(left + i * slot + gap / 2, 2), round(top + plot_h - h, 2),
                        round(max(slot - gap, 0.5), 2), round(h, 2),
                        f"{label}: {_count(value)} {unit}"))
    every = max(1, math.ceil(len(points) / max_labels))
    xlabels = [{"x": round(left + (i + 0.5) * slot, 2), "label": label}
               for i, (label, _) in enumerate(points) if i % every == 0]
    yticks = [{"y": round(top + plot_h * (1 - t / peak), 2), "label": short_number(t)}
              for t in ticks]
    return {"width": width, "height": height, "bars": bars, "xlabels": xlabels,
            "yticks": yticks, "left": left, "right": width - 4, "baseline": top + plot_h,
            "label_y": height - 6, "empty": not any(v for _, v in points)}


def bucket_start(day: date, granularity: str) -> date:
    if granularity == "week":
        return day - timedelta(days=day.weekday())
    if granularity == "month":
        return day.replace(day=1)
    return day


def _next_bucket(day: date, granularity: str) -> date:
    if granularity == "week":
        return day + timedelta(days=7)
    if granularity == "month":
        return (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return day + timedelta(days=1)


def filled_series(series: Sequence[dict], key: str, first: date, last: date,
                  granularity: str) -> list[tuple[str, float]]:
    """``(bucket, value)`` for every bucket from *first* to *last*, zeros where the API
    reported nothing, so the x axis is real time rather than just the active days."""
    values = {point["date"]: point[key] for point in series}
    points, day = [], bucket_start(first, granularity)
    while day <= last:
        points.append((day.isoformat(), values.get(day.isoformat(), 0)))
        day = _next_bucket(day, granularity)
    return points


def heatmap(entries: Sequence[dict], *, cell: int = 11, gap: int = 2) -> dict:
    """A calendar grid (weeks as columns, Monday on top) of ``{date, value, level}`` entries."""
    if not entries:
        return {"width": 0, "height": 0, "cells": [], "months": [], "days": []}
    first = date.fromisoformat(entries[0]["date"])
    offset = first.weekday()
    step = cell + gap
    left, top = 28, 16
    cells, months, last_month = [], [], None
    for i, entry in enumerate(entries):
        day = date.fromisoformat(entry["date"])
        column, row = divmod(i + offset, 7)
        x, y = left + column * step, top + row * step
        cells.append({"x": x, "y": y, "level": entry["level"],
                      "title": f"{entry['date']}: {entry['value']}"})
        if (row == 0 or i == 0) and day.month != last_month:
            if months and x - months[-1]["x"] < 3 * step:
                months.pop()  # a month with only a few days in view: no room for its name
            months.append({"x": x, "label": MONTHS[day.month - 1]})
            last_month = day.month
    columns = (len(entries) + offset + 6) // 7
    days = [{"y": top + r * step + cell - 2, "label": label}
            for r, label in enumerate(WEEKDAYS) if label]
    return {"width": left + columns * step + 20, "height": top + 7 * step, "cells": cells,
            "months": months, "days": days, "cell": cell}


def bar_rows(items: Sequence[tuple[str, float]], *, limit: int = 12) -> list[dict]:
    """Horizontal bars (widths in percent of the largest) for a ranked list."""
    shown = sorted(items, key=lambda kv: (-kv[1], kv[0]))[:limit]
    peak = max((v for _, v in shown), default=0) or 1
    return [{"label": label, "value": value, "pct": round(100 * value / peak, 1)}
            for label, value in shown]
