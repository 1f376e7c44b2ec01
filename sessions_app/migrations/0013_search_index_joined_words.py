"""The PostgreSQL trigram index over message content with ``_ . / -`` read as letters.

pg_trgm splits text into words at every character that is not a letter or digit, so
``filter_auth.iter`` was indexed (and searched) as the three common words ``filter``, ``auth``
and ``iter``: at 10,000 sessions 15,784 messages held all three, and each was read to find the
6 that hold the identifier (~240 ms). Indexing the content with these four characters replaced
by four uncased letters (``ǀǁǂǃ``) keeps an identifier, a dotted name or a path one word whose
trigrams across the joins are rare: 79 candidates, ~10 ms. The search asks through the same
expression (``sessions_app.search.PG_INDEXED``). Under a database whose LC_CTYPE is ``C`` the
four letters are separators again: the index then answers as the old one did.

The index keeps its name (0010's ``fastupdate = off`` applies to it as it did).
"""

from django.db import migrations

INDEX = "messages_content_trgm"
# sessions_app.search.PG_INDEXED as of now (four replace() cost a quarter of one translate())
JOINED = "replace(replace(replace(replace(content, '_', 'ǀ'), '.', 'ǁ'), '/', 'ǂ'), '-', 'ǃ')"


def _pg_trgm_schema(cursor) -> str | None:
    cursor.execute(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
        " WHERE e.extname = 'pg_trgm'"
    )
    row = cursor.fetchone()
    return row[0] if row else None


def _rebuild(expression: str):
    def apply(apps, schema_editor):
        connection = schema_editor.connection
        if connection.vendor != "postgresql":
            return
        with connection.cursor() as cursor:
            where = _pg_trgm_schema(cursor)
            if not where:
                return  # no pg_trgm (0003 could not create it): search scans, as before
            cursor.execute(f"DROP INDEX IF EXISTS {INDEX}")
            cursor.execute(
                f"CREATE INDEX {INDEX} ON messages"
                f' USING gin (({expression}) "{where}".gin_trgm_ops) WITH (fastupdate = off)'
            )

    return apply


class Migration(migrations.Migration):
    dependencies = [("sessions_app", "0012_usage_cost")]
    operations = [migrations.RunPython(_rebuild(JOINED), _rebuild("content"))]
