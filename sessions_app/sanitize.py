"""Text cleaning for PostgreSQL, which cannot store NUL and rejects malformed text."""

from __future__ import annotations

import re

# C0 controls except \t \n \r, DEL, and C1 controls.
_CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def pg_text(value: str) -> str:
    """Remove NUL and other control characters (tab, newline, carriage return stay) and any
    lone surrogate. Every other character is kept as it is."""
    if value.isprintable():
        return value
    cleaned = _CONTROL_RE.sub("", value)
    try:
        cleaned.encode("utf-8")
    except UnicodeEncodeError:
        cleaned = cleaned.encode("utf-8", "replace").decode("utf-8")
    return cleaned


def pg_row(row: tuple) -> tuple:
    return tuple(pg_text(v) if isinstance(v, str) else v for v in row)
