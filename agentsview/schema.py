"""Apply Django migrations on first use, so the archive needs no setup step."""

from __future__ import annotations

import pkgutil
from importlib import import_module

from django.apps import apps
from django.core.management import call_command
from django.db import connections, router
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.recorder import MigrationRecorder


def _migration_files(using: str) -> set[tuple[str, str]]:
    """(app, name) of every migration on disk for the apps that migrate on *using*, found
    without importing them."""
    found: set[tuple[str, str]] = set()
    for config in apps.get_app_configs():
        if not any(router.allow_migrate_model(using, m) for m in config.get_models()):
            continue
        try:
            package = import_module(f"{config.name}.migrations")
        except ModuleNotFoundError:
            continue
        for module in pkgutil.iter_modules(package.__path__):
            if not module.ispkg and module.name[0] not in "_~":
                found.add((config.label, module.name))
    return found


def pending_migrations(using: str = "default") -> list[str]:
    """Names of the migrations not yet applied to *using*.

    The usual case (nothing pending) costs one query and a directory listing per app; only
    when something looks unapplied does Django's migration loader decide exactly.
    """
    connection = connections[using]
    recorder = MigrationRecorder(connection)
    if recorder.has_table():
        applied = set(recorder.applied_migrations())
        if _migration_files(using) <= applied:
            return []
    executor = MigrationExecutor(connection)
    targets = executor.loader.graph.leaf_nodes()
    return [f"{m.app_label}.{m.name}" for m, _ in executor.migration_plan(targets)]


def ensure_schema(using: str = "default") -> bool:
    """Migrate *using* if anything is pending. Returns True when migrations ran."""
    if not pending_migrations(using):
        return False
    call_command("migrate", database=using, verbosity=0, interactive=False)
    return True
