"""The PostgreSQL trigram index gets GIN's pending list back, bounded at 4 MB, and each push
merges it when it is done.

0010 turned the pending list off so that it could never grow behind a slow autovacuum; that
made every pushed message update the index at once, and a first push of 2,000 sessions took
62.9 s instead of 26.1 s (a raw COPY: 1,709 rows/s against 8,291). The list is bounded anyway:
once it holds more than ``gin_pending_list_limit`` the writing backend merges it in bulk; the
limit is set on the index (4 MB, PostgreSQL's default) so that no server-wide setting can make
it large. A push that wrote messages merges what is left (``gin_clean_pending_list``), so
searches after it read no list at all (``sync_app/services/push.py``)."""

from django.db import migrations

INDEX = "messages_content_trgm"
PENDING_LIST_KB = 4096


def _index_exists(cursor) -> bool:
    cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [INDEX])  # in the configured schema
    return bool(cursor.fetchone()[0])


def forwards(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        if _index_exists(cursor):
            cursor.execute(f"ALTER INDEX {INDEX} SET (fastupdate = on,"
                           f" gin_pending_list_limit = {PENDING_LIST_KB})")


def backwards(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        if _index_exists(cursor):
            cursor.execute(f"ALTER INDEX {INDEX} SET (fastupdate = off)")
            cursor.execute(f"ALTER INDEX {INDEX} RESET (gin_pending_list_limit)")
            cursor.execute(f"SELECT gin_clean_pending_list('{INDEX}'::regclass)")


class Migration(migrations.Migration):
    dependencies = [("sessions_app", "0013_search_index_joined_words")]
    operations = [migrations.RunPython(forwards, backwards)]
