"""Durations as people type them (``30s``, ``5m``, ``2h``, ``1d``, ``1h30m``) and print them."""

from __future__ import annotations

import argparse
import re
from datetime import timedelta

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)([smhd])")
_WHOLE = re.compile(r"(?:[0-9]+(?:\.[0-9]+)?[smhd])+")
EXPECTED = "expected a duration such as 30s, 5m, 2h, 1d or 1h30m"


def parse_duration(text: str) -> timedelta:
    """``2h`` → two hours. Raises ``ValueError`` (with ``EXPECTED``) on anything else,
    including a zero or a bare number (is ``5`` seconds or minutes?)."""
    compact = text.strip().lower()
    if not _WHOLE.fullmatch(compact):
        raise ValueError(EXPECTED)
    seconds = sum(float(n) * UNITS[unit] for n, unit in _PART.findall(compact))
    if seconds <= 0:
        raise ValueError(EXPECTED)
    return timedelta(seconds=seconds)


def duration_arg(text: str) -> timedelta:
    """``parse_duration`` as an argparse ``type=``: a bad value is argparse's usage error."""
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def seconds_arg(text: str) -> float:
    """``duration_arg`` in seconds (intervals and timeouts)."""
    return duration_arg(text).total_seconds()


def format_duration(value: timedelta | float) -> str:
    """The shortest exact spelling in the same notation: ``2h``, ``1h30m``, ``45s``, ``0.5s``."""
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    if seconds < 60 and seconds != int(seconds):
        return f"{seconds:g}s"
    whole = round(seconds)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if whole >= size:
            parts.append(f"{whole // size}{unit}")
            whole %= size
    return "".join(parts) or "0s"
