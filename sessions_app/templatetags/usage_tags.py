"""Template filters for amounts of money: ``{{ microdollars|usd }}`` (cents) and
``{{ microdollars|usd_exact }}``; None reads "unknown", never $0.00."""

from __future__ import annotations

from django import template

from sessions_app.usage.display import usd as _usd

register = template.Library()


@register.filter
def usd(microdollars: int | None) -> str:
    return _usd(microdollars)


@register.filter
def usd_exact(microdollars: int | None) -> str:
    return _usd(microdollars, exact=True)
