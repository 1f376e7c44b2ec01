"""Text helpers every export shares: dropping characters XML forbids, reading timestamps."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

# Characters XML 1.0 forbids (C0 controls except tab/newline/CR, the two non-characters,
# lone surrogates). C1 controls are legal but invisible mischief; drop them too.
_XML_INVALID_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff\ud800-\udfff]")


def clean(text: Any) -> str:
    """Coerce to str and drop the characters that would make either export ill-formed."""
    if text is None:
        return ""
    if not isinstance(text, str):
        text = str(text)
    return _XML_INVALID_RE.sub("", text)


def parse_time(value: Any) -> datetime | None:
    """Parse an RFC 3339 string; None when absent or unparseable."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError:
        return None


def display_time(value: Any) -> str:
    """`YYYY-MM-DD HH:MM:SS` in the timestamp's own offset; the raw text if unparseable."""
    parsed = parse_time(value)
    if parsed is None:
        return "" if value is None else clean(value)
    return parsed.strftime("%Y-%m-%d %H:%M:%S")
