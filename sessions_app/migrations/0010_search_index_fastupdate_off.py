"""The PostgreSQL trigram index without GIN's pending list (``fastupdate = off``).

With the pending list on, every pushed message is parked in an unsorted list that each search
scans in full until a VACUUM merges it; where autovacuum lags, the list grows without bound
(AgentsView's users saw one reach 283 GB). 0003 now creates the index this way; this fixes
the indexes that existing databases already have and merges what their lists hold."""

from django.db import DatabaseError, migrations, transaction

INDEX = "messages_content_trgm"


def _index_exists(cursor) -> bool:
    cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [INDEX])  # in the configured schema
    return bool(cursor.fetchone()[0])


def forwards(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        if not _index_exists(cursor):
            return  # pg_trgm was not available: search scans, there is no list to fix
        cursor.execute(f"ALTER INDEX {INDEX} SET (fastupdate = off)")
        # the setting stops new entries from queuing; the ones already queued are merged now
        try:
            with transaction.atomic(using=connection.alias):
                cursor.execute(f"SELECT gin_clean_pending_list('{INDEX}'::regclass)")
        except DatabaseError:
            pass  # not permitted to this role: the next VACUUM of messages merges them


def backwards(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        if _index_exists(cursor):
            cursor.execute(f"ALTER INDEX {INDEX} RESET (fastupdate)")


class Migration(migrations.Migration):
    dependencies = [("sessions_app", "0009_signal_choices")]
    operations = [migrations.RunPython(forwards, backwards)]
