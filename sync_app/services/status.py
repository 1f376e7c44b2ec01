"""What the shared database holds, for ``pg status``."""

from __future__ import annotations

from django.db import connections


def archive_counts(using: str) -> tuple[int, int] | None:
    """Sessions and messages of every machine; None when the tables do not exist yet."""
    connection = connections[using]
    with connection.cursor() as cursor:
        tables = set(connection.introspection.table_names(cursor))
        if not {"sessions", "messages"} <= tables:
            return None
        cursor.execute("SELECT (SELECT COUNT(*) FROM sessions), (SELECT COUNT(*) FROM messages)")
        sessions, messages = cursor.fetchone()
    return sessions, messages
