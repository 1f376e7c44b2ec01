"""Template filters for health scores on any page: a penalty's name as people say it."""

from __future__ import annotations

from django import template

from analytics_app.scoring import PENALTY_LABELS

register = template.Library()


@register.filter
def penalty_label(name: str) -> str:
    """``tool calls failed`` for ``tool_failure_signals`` (the name itself when unknown)."""
    return PENALTY_LABELS.get(name, name.replace("_", " "))
