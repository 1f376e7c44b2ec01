"""The file name an export is downloaded under."""

from __future__ import annotations

import re

from sessions_app.export.text import parse_time

_HEADER_UNSAFE_RE = re.compile(r"[^A-Za-z0-9_.\-]")


def export_filename(session: dict, extension: str) -> str:
    """`<project>-<YYYYMMDD of started_at>.<extension>`, safe inside a quoted header value.

    Anything outside ASCII letters, digits, `_`, `.` and `-` becomes `_`. A missing or
    unparseable start time gives `unknown`; a missing project gives `session`.
    """
    project = _HEADER_UNSAFE_RE.sub("_", str(session.get("project") or "").strip())[:100]
    if not project.strip("._"):
        project = "session"
    started = parse_time(session.get("started_at"))
    date = started.strftime("%Y%m%d") if started else "unknown"
    ext = _HEADER_UNSAFE_RE.sub("_", str(extension or "").lstrip(".")) or "txt"
    return f"{project}-{date}.{ext}"
