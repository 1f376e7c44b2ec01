"""Which database holds which table.

Two kinds of database: this machine's local archive, and the shared PostgreSQL of the team.
A process reaches the shared one either as ``pg`` (``pg_push`` writes there) or as its
``default`` (under ``pg_serve``, where accounts and tokens live there too); either way it is
recognised by its ``SCHEMA`` setting. The shared database holds everything except this
machine's own sync bookkeeping and push state, which only a local archive has. The decision
depends on the database, never on the alias, because Django records a migration as applied
on a database even where the router skipped its tables: both ways of reaching the shared
database must agree on what it contains.

Queries go to ``default`` unless the caller names ``pg`` explicitly (only the push does).
"""

from __future__ import annotations

from django.conf import settings

PG_ALIAS = "pg"

# (app_label, model_name) of the tables that exist only in a local archive.
LOCAL_ONLY_MODELS = frozenset(
    {
        ("sessions_app", "sourcefile"),
        ("sync_app", "pushtarget"),
        ("sync_app", "pushedsession"),
    }
)


def is_shared_database(alias: str) -> bool:
    return alias == PG_ALIAS or bool(settings.DATABASES.get(alias, {}).get("SCHEMA"))


class AgentsViewRouter:
    def db_for_read(self, model, **hints):
        return None  # default, unless the query says .using("pg")

    def db_for_write(self, model, **hints):
        return None

    def allow_relation(self, obj1, obj2, **hints):
        return obj1._state.db == obj2._state.db

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        if not is_shared_database(db):
            return True
        if model_name is None:  # RunSQL/RunPython: local-only ones say so with a hint
            return hints.get("shared", True)
        return (app_label, model_name) not in LOCAL_ONLY_MODELS
