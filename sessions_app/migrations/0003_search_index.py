"""The search index on message content: FTS5 trigram on SQLite, pg_trgm GIN on PostgreSQL."""

from django.db import DatabaseError, migrations, transaction

SQLITE_FORWARD = [
    "CREATE VIRTUAL TABLE messages_fts USING fts5("
    "content, content='messages', content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN "
    "INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content); END",
    "CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN "
    "INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content);"
    " END",
    "CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages BEGIN "
    "INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content);"
    " INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content); END",
    "INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS messages_fts_update",
    "DROP TRIGGER IF EXISTS messages_fts_delete",
    "DROP TRIGGER IF EXISTS messages_fts_insert",
    "DROP TABLE IF EXISTS messages_fts",
]


def _pg_trgm_schema(cursor) -> str | None:
    cursor.execute(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
        " WHERE e.extname = 'pg_trgm'"
    )
    row = cursor.fetchone()
    return row[0] if row else None


def forwards(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor == "sqlite":
        for statement in SQLITE_FORWARD:
            schema_editor.execute(statement)
        return
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        where = _pg_trgm_schema(cursor)
        # pg_trgm goes to "public" so that dropping one team schema never drops it for another;
        # a role that may not create it there gets it in its own schema, else no index (search
        # still answers, by scanning).
        for target in ("public", None):
            if where:
                break
            try:
                with transaction.atomic(using=connection.alias):
                    suffix = f" WITH SCHEMA {target}" if target else ""
                    cursor.execute(f"CREATE EXTENSION IF NOT EXISTS pg_trgm{suffix}")
                where = _pg_trgm_schema(cursor)
            except DatabaseError:
                continue
        if where:
            cursor.execute(
                f'CREATE INDEX IF NOT EXISTS messages_content_trgm ON messages'
                f' USING gin (content "{where}".gin_trgm_ops) WITH (fastupdate = off)'
            )


def backwards(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor == "sqlite":
        for statement in SQLITE_BACKWARD:
            schema_editor.execute(statement)
    elif connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS messages_content_trgm")


class Migration(migrations.Migration):
    dependencies = [("sessions_app", "0002_session_push_owner_session_pushed_at")]
    operations = [migrations.RunPython(forwards, backwards)]
