"""Times as the API and the CLI print them: RFC 3339 in UTC, trailing fraction zeros trimmed
(``2026-03-02T09:00:00.5Z``, ``2024-01-01T10:00:00Z``)."""

from __future__ import annotations

from datetime import UTC, datetime


def rfc3339(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is not UTC:
        moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    if moment.year < 1000:  # strftime writes such a year unpadded: kept as it was
        text = moment.strftime("%Y-%m-%dT%H:%M:%S")
        if moment.microsecond:
            text += f".{moment.microsecond:06d}".rstrip("0")
        return text + "Z"
    # isoformat is ``YYYY-MM-DDTHH:MM:SS[.ffffff]+00:00``, a third cheaper than strftime (a
    # page of sessions writes a thousand times)
    if moment.microsecond:
        return moment.isoformat()[:26].rstrip("0") + "Z"
    return moment.isoformat()[:19] + "Z"
