"""Apply Django migrations on first use, so the archive needs no setup step."""

from __future__ import annotations

from django.core.management import call_command
from django.db import connections
from django.db.migrations.executor import MigrationExecutor


def pending_migrations(using: str = "default") -> list[str]:
    """Names of the migrations not yet applied to *using* (reads django_migrations only)."""
    executor = MigrationExecutor(connections[using])
    targets = executor.loader.graph.leaf_nodes()
    return [f"{m.app_label}.{m.name}" for m, _ in executor.migration_plan(targets)]


def ensure_schema(using: str = "default") -> bool:
    """Migrate *using* if anything is pending. Returns True when migrations ran."""
    if not pending_migrations(using):
        return False
    call_command("migrate", database=using, verbosity=0, interactive=False)
    return True
