"""Times as the API and the CLI print them: RFC 3339 in UTC, trailing fraction zeros trimmed
(``2026-03-02T09:00:00.5Z``, ``2024-01-01T10:00:00Z``)."""

from __future__ import annotations

from datetime import UTC, datetime


def rfc3339(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond:06d}".rstrip("0")
    return text + "Z"
