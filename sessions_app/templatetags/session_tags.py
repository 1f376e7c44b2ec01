"""Template filters of the session pages."""

from __future__ import annotations

from datetime import datetime

from django import template

from agentsview.humanize import age as humanize_age

register = template.Library()


@register.filter
def age(value: str | datetime | None) -> str:
    """``5m``, ``3h``, ``2d``, ``7w`` since a time (a datetime or an RFC 3339 string)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if value else None
    return humanize_age(value)
