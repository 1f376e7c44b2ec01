"""The shared PostgreSQL schema: created before Django migrates, migrated under a lock."""

from __future__ import annotations

import hashlib

from django.apps import apps
from django.db import DatabaseError, connections, router

from agentsview.config import PgConfig
from agentsview.schema import ensure_schema, pending_migrations
from sync_app.pg_connection import PgError, connect, describe


def create_pg_schema(sender, using: str, **kwargs) -> None:
    """pre_migrate hook: create the configured schema (``search_path``) if it is missing.

    Django creates ``django_migrations`` in the first schema of the search path, so the
    schema has to exist before the migration recorder runs. A cheap catalog lookup first,
    so a database that already has it sees no DDL.
    """
    connection = connections[using]
    schema = connection.settings_dict.get("SCHEMA")
    if connection.vendor != "postgresql" or not schema:
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [schema])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')


def migration_lock_key(schema: str) -> int:
    """A stable 64-bit advisory-lock key per schema (the same in every process and release,
    unlike Python's salted ``hash()``)."""
    digest = hashlib.sha256(f"agentsview:migrate:{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def migrate_pg(using: str, schema: str) -> bool:
    """Apply pending migrations to the shared database; True when any ran.

    The usual case (nothing pending) is one query and no DDL. Otherwise the migration runs
    under an advisory lock, so two machines pushing for the first time do not race.
    """
    if not pending_migrations(using):
        return False
    key = migration_lock_key(schema)
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [key])
        try:
            return ensure_schema(using)  # re-checks: the other pusher may have done it
        finally:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [key])


def open_for_writing(pg: PgConfig, command: str, using: str = "pg") -> None:
    """Connect now (a bad host, port or password is one clear line), then apply pending
    migrations under the lock. Raises ``PgError``."""
    connect(using, pg, command)
    try:
        migrate_pg(using, pg.schema)
    except DatabaseError as exc:
        raise PgError(
            f"{command}: cannot create or update the schema {pg.schema}: {describe(exc, pg)}"
        ) from None


def check_compatible(schema: str, *, using: str = "pg") -> None:
    """Refuse a schema whose session tables lack columns this release reads."""
    connection = connections[using]
    with connection.cursor() as cursor:
        tables = set(connection.introspection.table_names(cursor))
        for model in apps.get_app_config("sessions_app").get_models():
            if not router.allow_migrate_model(using, model):
                continue  # local bookkeeping (source files): not in the shared database
            table = model._meta.db_table
            if table not in tables:
                raise PgError(f"pg serve: schema {schema} has no table {table}; run pg push"
                              " once (it creates the schema), then start pg serve again")
            present = {c.name for c in connection.introspection.get_table_description(
                cursor, table)}
            missing = sorted({f.column for f in model._meta.concrete_fields} - present)
            if missing:
                raise PgError(
                    f"pg serve: schema {schema} is incompatible: {table} lacks"
                    f" {', '.join(missing)}; run pg push with a role that can write (it"
                    " migrates the schema), then start pg serve again"
                )
