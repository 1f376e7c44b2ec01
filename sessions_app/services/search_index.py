"""Upkeep of the SQLite search index (FTS5 trigram over ``messages.content``) during a sync.

Three triggers keep the index in step with every message written. Row by row, that upkeep
costs several times what one bulk ``rebuild`` of the same rows does (on the 2,000-session
benchmark corpus, about 40% of a cold sync), so a sync that writes a large share of the
archive suspends the triggers and rebuilds the index once at the end.

Crash safety: the suspended state is the triggers' absence, which is stored in the database
itself. If a sync dies before rebuilding (SIGKILL, power loss), the next sync finds the
triggers missing and rebuilds before it writes anything, so the index never stays behind.
Searches running meanwhile may miss the newest messages; they never see wrong rows (every
hit is confirmed against the message row).

PostgreSQL's pg_trgm GIN index needs none of this: it is maintained by the database.
"""

from __future__ import annotations

from django.db import connections, transaction

TRIGGERS = {
    "messages_fts_insert": (
        "CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN "
        "INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content); END"
    ),
    "messages_fts_delete": (
        "CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN "
        "INSERT INTO messages_fts(messages_fts, rowid, content) "
        "VALUES ('delete', old.id, old.content); END"
    ),
    "messages_fts_update": (
        "CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages BEGIN "
        "INSERT INTO messages_fts(messages_fts, rowid, content) "
        "VALUES ('delete', old.id, old.content); "
        "INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content); END"
    ),
}
# Suspend the triggers when the files to parse are at least this share of all archived bytes
# (incremental upkeep costs about six times a rebuild per row, and a rebuild reads every row)
BULK_SHARE = 1 / 6
BULK_MIN_FILES = 50


def _has_index(using: str) -> bool:
    connection = connections[using]
    if connection.vendor != "sqlite":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'messages_fts'")
        return cursor.fetchone() is not None


def _present_triggers(using: str) -> set[str]:
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name IN "
                       f"({', '.join('?' * len(TRIGGERS))})", list(TRIGGERS))
        return {row[0] for row in cursor.fetchall()}


def worth_suspending(files_to_parse: int, bytes_to_parse: int, bytes_archived: int) -> bool:
    """Whether rebuilding once beats keeping the index up to date row by row."""
    total = bytes_to_parse + bytes_archived
    return files_to_parse >= BULK_MIN_FILES and bytes_to_parse >= BULK_SHARE * total


def suspend(using: str = "default") -> bool:
    """Drop the upkeep triggers (in one transaction); False where there is no FTS index."""
    if not _has_index(using):
        return False
    with transaction.atomic(using=using), connections[using].cursor() as cursor:
        for name in TRIGGERS:
            cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
    return True


def rebuild(using: str = "default") -> None:
    """Re-index every message and restore the triggers, in one transaction."""
    with transaction.atomic(using=using), connections[using].cursor() as cursor:
        cursor.execute("INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')")
        # a rebuild leaves segments half merged, and FTS5 would finish that merge a little at
        # a time in the next syncs' writes (1% appended to the 2,000-session corpus: 0.66 s
        # instead of 0.42 s); merging them now costs a few seconds once
        cursor.execute("INSERT INTO messages_fts(messages_fts) VALUES ('optimize')")
        present = _present_triggers(using)
        for name, sql in TRIGGERS.items():
            if name not in present:
                cursor.execute(sql)


def repair(using: str = "default") -> bool:
    """Rebuild the index if an earlier sync stopped while the triggers were suspended."""
    if not _has_index(using) or _present_triggers(using) == set(TRIGGERS):
        return False
    rebuild(using)
    return True
