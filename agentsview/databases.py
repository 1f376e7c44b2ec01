"""Turn the configuration into Django ``DATABASES`` entries."""

from __future__ import annotations

import environ

from agentsview.config import Config, PgConfig

SQLITE_OPTIONS = {
    # WAL lets the dashboard read while a sync writes; NORMAL is durable across app crashes
    # in WAL mode and makes each per-session commit cheap.
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
    "timeout": 30,  # busy timeout in seconds when another process holds the write lock
    "transaction_mode": "IMMEDIATE",  # take the write lock up front: no upgrade deadlocks
}
PG_CONNECT_TIMEOUT = 10


def default_database(config: Config) -> dict:
    """The local archive: ``DATABASE_URL`` when set, else SQLite in the data dir."""
    if config.database_url:
        db = environ.Env.db_url_config(config.database_url)
        if db["ENGINE"].endswith("sqlite3"):
            db.setdefault("OPTIONS", {}).update(SQLITE_OPTIONS)
        return db
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(config.db_path),
        "OPTIONS": dict(SQLITE_OPTIONS),
        # serve's threads keep their connection: opening one (and its PRAGMAs) cost more
        # than answering a request
        "CONN_MAX_AGE": 300,
    }


def pg_database(pg: PgConfig) -> dict:
    """The shared PostgreSQL: its schema first on the search path, UTC, a bounded connect."""
    db = environ.Env.db_url_config(pg.url)
    options = db.setdefault("OPTIONS", {})
    options["options"] = f"-c search_path={pg.schema} -c TimeZone=UTC"
    options.setdefault("connect_timeout", PG_CONNECT_TIMEOUT)
    # Operators see which machine holds a connection in pg_stat_activity.
    options.setdefault("application_name", f"agentsview {pg.machine_name}"[:63])
    db["TEST"] = {"DEPENDENCIES": []}
    db["SCHEMA"] = pg.schema  # read by the pre-migrate hook that creates the schema
    return db
