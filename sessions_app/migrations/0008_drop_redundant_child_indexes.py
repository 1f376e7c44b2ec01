"""Fewer indexes on the child tables, so that writing messages, tool calls and result events
(sync, push) maintains fewer of them.

- The foreign keys' own indexes (and, on PostgreSQL, their ``_like`` twins) repeat the first
  column of the unique (session, ...) position constraints, whose indexes serve every lookup
  by session.
- ``(session, role)``, ``(session, category)`` and ``(category)`` served analytics queries
  over messages and tool calls; the analytics read per-session rollups now.

The foreign keys' ``db_index`` change is state only: on SQLite, Django would otherwise
rebuild the three tables (copying every row and losing the search index's triggers) just to
drop an index. The indexes are dropped by name instead.
"""

from django.db import migrations, models
import django.db.models.deletion

FK_INDEXES = {
    "messages": "messages_session_id_8b58efc4",
    "tool_calls": "tool_calls_session_id_e3278af6",
    "tool_result_events": "tool_result_events_session_id_49306e2f",
}


def drop_fk_indexes(apps, schema_editor):
    for name in FK_INDEXES.values():
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f'DROP INDEX IF EXISTS "{name}_like"')


def create_fk_indexes(apps, schema_editor):
    postgres = schema_editor.connection.vendor == "postgresql"
    for table, name in FK_INDEXES.items():
        schema_editor.execute(f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" ("session_id")')
        if postgres:
            schema_editor.execute(f'CREATE INDEX IF NOT EXISTS "{name}_like" ON "{table}" '
                                  '("session_id" varchar_pattern_ops)')


class Migration(migrations.Migration):

    dependencies = [
        ('sessions_app', '0007_session_list_order_indexes'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='message',
            name='messages_session_role',
        ),
        migrations.RemoveIndex(
            model_name='toolcall',
            name='tool_calls_session_category',
        ),
        migrations.RemoveIndex(
            model_name='toolcall',
            name='tool_calls_category',
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='message',
                    name='session',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='messages', to='sessions_app.session'),
                ),
                migrations.AlterField(
                    model_name='toolcall',
                    name='session',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='tool_calls', to='sessions_app.session'),
                ),
                migrations.AlterField(
                    model_name='toolresultevent',
                    name='session',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='tool_result_events', to='sessions_app.session'),
                ),
            ],
            database_operations=[migrations.RunPython(drop_fk_indexes, create_fk_indexes)],
        ),
    ]
