"""The PostgreSQL schema that holds the shared tables must exist before Django migrates."""

from __future__ import annotations

from django.db import connections


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
