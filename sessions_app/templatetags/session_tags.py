"""Template filters of the session pages: ages, times a browser can localise, durations and
numbers people read."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from django import template
from django.utils.html import format_html

from agentsview.humanize import age as humanize_age
from sessions_app.parsers.registry import AGENTS

register = template.Library()


def _moment(value: str | datetime | None) -> datetime | None:
    if isinstance(value, str):
        return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None
    return value


@register.filter
def age(value: str | datetime | None) -> str:
    """``5m``, ``3h``, ``2d``, ``7w`` since a time (a datetime or an RFC 3339 string)."""
    return humanize_age(_moment(value))


TIME_HTML = '<time datetime="{}" title="{} UTC" data-style="{}">{} UTC</time>'
# a time as the API writes it (agentsview.timefmt.rfc3339) from year 1000 on (earlier ones it
# writes unpadded, as strftime does), read by position
_API_TIME = re.compile(r"[1-9]\d{3}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?Z")


@register.simple_tag
def when(value: str | datetime | None, style: str = "relative") -> str:
    """A ``<time>`` showing the moment to the minute in UTC; ``app.js`` rewrites it in the
    reader's zone (with how long ago, when *style* is ``relative``); the exact UTC time stays
    on hover. An unknown time is a dash. A session page writes a few hundred: an API time
    string is cut into its parts rather than parsed and formatted again."""
    if isinstance(value, str) and _API_TIME.fullmatch(value):
        day, clock = value[:10], value[11:19]
        return format_html(TIME_HTML, f"{day}T{clock}Z", f"{day} {clock}", style,
                           f"{day} {clock[:5]}")
    moment = _moment(value)
    if moment is None:
        return "—"
    moment = moment.astimezone(UTC)
    exact = moment.isoformat(timespec="seconds").replace("+00:00", "Z")
    return format_html(TIME_HTML, exact, moment.strftime("%Y-%m-%d %H:%M:%S"), style,
                       moment.strftime("%Y-%m-%d %H:%M"))


def human_duration(seconds: float | None) -> str:
    """``45s``, ``12m``, ``2h 5m``, ``3d 4h``: two units at most, as people say it."""
    if seconds is None or seconds < 0:
        return ""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if hours == 0:
        return f"{minutes}m"
    if days == 0:
        return f"{hours}h {minutes % 60}m" if minutes % 60 else f"{hours}h"
    return f"{days}d {hours % 24}h" if hours % 24 else f"{days}d"


@register.simple_tag
def duration(start: str | datetime | None, end: str | datetime | None) -> str:
    """How long from *start* to *end*; empty when either is unknown."""
    first, last = _moment(start), _moment(end)
    if first is None or last is None:
        return ""
    return human_duration((last - first).total_seconds())


@register.filter
def thousands(value: int | float | None) -> str:
    """``7,542,793``; empty for None."""
    if value is None or value == "":
        return ""
    return f"{value:,}" if isinstance(value, int) else f"{value:,.1f}"


@register.filter
def short_model(name: str) -> str:
    """A model's name without its date suffix (``claude-sonnet-4-20250514`` reads
    ``claude-sonnet-4``)."""
    head, _, tail = (name or "").rpartition("-")
    return head if head and tail.isdigit() and len(tail) == 8 else name or ""


@register.filter
def agent_name(key: str) -> str:
    """An agent's display name (``Claude Code`` for ``claude``), from the registry."""
    spec = AGENTS.get(key)
    return spec.display_name if spec is not None else key
