"""Which database holds which table.

``default`` is the database this process serves: the local archive on a laptop (SQLite, or
``DATABASE_URL``), the shared PostgreSQL under ``pg_serve``. It holds every table.
``pg`` is the shared PostgreSQL that ``pg_push`` writes to; it holds only the session data
(and the push markers that describe it), never this machine's sync bookkeeping or push state.
Queries go to ``default`` unless the caller names ``pg`` explicitly (only the push does).
"""

from __future__ import annotations

PG_ALIAS = "pg"

# (app_label, model_name) of the tables that exist in the shared PostgreSQL.
SHARED_MODELS = frozenset(
    {
        ("sessions_app", "session"),
        ("sessions_app", "message"),
        ("sessions_app", "toolcall"),
        ("sessions_app", "toolresultevent"),
        ("sync_app", "pushmarker"),
    }
)
SHARED_APPS = frozenset(app for app, _ in SHARED_MODELS)


class AgentsViewRouter:
    def db_for_read(self, model, **hints):
        return None  # default, unless the query says .using("pg")

    def db_for_write(self, model, **hints):
        return None

    def allow_relation(self, obj1, obj2, **hints):
        return obj1._state.db == obj2._state.db

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        if db != PG_ALIAS:
            return True
        if model_name is None:
            # RunSQL/RunPython without a model: PostgreSQL-only indexes of the session tables.
            return app_label in SHARED_APPS and hints.get("shared", True)
        return (app_label, model_name) in SHARED_MODELS
