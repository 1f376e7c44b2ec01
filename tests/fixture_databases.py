"""The SQLite databases among the agent fixtures are not committed (build outputs): the tests
build them when they start, from the SQL dumps beside them or from the modules that write them
the way the agent does. A database newer than its source is kept."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from tests.layouts import AGENT_FIXTURES

# database -> the SQL it is built from (paths under tests/fixtures/agents)
FROM_SQL = {
    "crush/ours/projects_tree/webshop/.crush/crush.db":
        "crush/ours/projects_tree/webshop/.crush/crush.db.sql",
    "goose/ours/path_root/data/sessions/sessions.db":
        "goose/ours/path_root/data/sessions/sessions.db.sql",
    "goose/ours/sessions_dir/sessions.db": "goose/ours/sessions_dir/sessions.db.sql",
    "kiro/synthetic/kiro-cli/data.sqlite3": "kiro/synthetic/kiro-cli.sql",
    "omnigent/synthetic/omnigent/chat.db": "omnigent/synthetic/chat.db.sql",
    "opencode/ours/opencode_dir/opencode.db": "opencode/ours/opencode.db.sql",
    "opencode/synthetic/opencode_dir/opencode.db": "opencode/synthetic/opencode.db.sql",
}


def _stale(database: Path, *sources: Path) -> bool:
    return not database.exists() or any(
        s.stat().st_mtime_ns > database.stat().st_mtime_ns for s in sources)


def _from_sql(database: Path, sql: Path) -> None:
    database.parent.mkdir(parents=True, exist_ok=True)
    partial = database.with_name(f".{database.name}.{os.getpid()}")
    partial.unlink(missing_ok=True)
    connection = sqlite3.connect(partial)
    try:
        connection.executescript(sql.read_text())
    finally:
        connection.close()
    os.replace(partial, database)


def build_all() -> None:
    """Every fixture database that is missing or older than its source."""
    for database, sql in FROM_SQL.items():
        if _stale(AGENT_FIXTURES / database, AGENT_FIXTURES / sql):
            _from_sql(AGENT_FIXTURES / database, AGENT_FIXTURES / sql)
    from tests.sessions_app import cursor_ide_store, zed_threads

    if _stale(zed_threads.SYNTHETIC_DB, Path(zed_threads.__file__)):
        zed_threads.SYNTHETIC_DB.unlink(missing_ok=True)
        zed_threads.build(zed_threads.SYNTHETIC_DB, zed_threads.SYNTHETIC)
    if _stale(cursor_ide_store.USER / "globalStorage" / "state.vscdb",
              Path(cursor_ide_store.__file__)):
        cursor_ide_store.build(cursor_ide_store.USER)
