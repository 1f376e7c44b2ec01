"""Terminal-friendly renderings: ages, truncated text, aligned tables."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime


def age(moment: datetime | None, now: datetime | None = None) -> str:
    """``5m``, ``3h``, ``2d``, ``7w``; ``-`` when unknown."""
    if moment is None:
        return "-"
    seconds = max(0, int(((now or datetime.now(UTC)) - moment).total_seconds()))
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def truncate(text: str, width: int) -> str:
    """Cut *text* to *width* terminal columns, ending with '…' when cut."""
    text = " ".join(text.split())
    if _width(text) <= width:
        return text
    out, used = [], 0
    for char in text:
        w = _width(char)
        if used + w > width - 1:
            break
        out.append(char)
        used += w
    return "".join(out) + "…"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, right: set[int] = frozenset()
          ) -> str:
    """Columns padded to their widest cell; columns in *right* are right-aligned."""
    widths = [_width(h) for h in headers]
    for row in rows:
        widths = [max(w, _width(cell)) for w, cell in zip(widths, row, strict=True)]

    def line(cells: Sequence[str]) -> str:
        parts = []
        for i, (cell, w) in enumerate(zip(cells, widths, strict=True)):
            pad = " " * (w - _width(cell))
            parts.append(pad + cell if i in right else cell + pad)
        return "  ".join(parts).rstrip()

    return "\n".join([line(headers), *(line(r) for r in rows)])
