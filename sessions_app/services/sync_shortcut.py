"""``sync`` with nothing to do, answered before Django starts.

A sync run by cron or before every push mostly finds nothing new, and Django's start-up
(~0.4 s) and loading every agent's parser (~0.1 s) were most of its time. So a plain
``agentsview sync`` (or ``manage.py sync``) first asks this module, which imports neither.
The last complete sync left a stamp (``sync-state.json`` in the data dir) naming the code,
the configuration, the archive file, every entry under the agent directories (path, size,
mtime) as it found them when it started, the files outside them that its sources depend on
(a database's ``-wal``, Crush's project databases) and the state of the archive's file
records. When all of these are as the stamp has them and no session's signals are due to
be finalised, a sync would parse nothing and change nothing: the shortcut prints the line
such a sync prints. Anything else, or any doubt (no stamp, a database error), and the full
sync runs.

The full sync removes the stamp before it writes anything and leaves a new one only when it
finished without an error or a warning, so an interrupted sync (its search index perhaps
suspended) is always followed by a full one. ``session sync``, deletes and restores change
the file records the stamp holds, so the sync after them is a full one too.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import stat
import sys
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from agentsview.config import Config
from agentsview.files import write_atomically
from sessions_app.services.sync_report import SyncReport

STAMP_NAME = "sync-state.json"
SETTINGS = "agentsview.settings"  # the settings whose archive is config.db_path
PACKAGES = ("agentsview", "sessions_app", "sync_app", "analytics_app")
ROOT = Path(__file__).resolve().parents[2]


def code_identity() -> str:
    """Every file of the app's packages (path, size, mtime) and the Python and Django
    versions: a change to any (an upgrade, an edit) makes the next sync a full one."""
    import django  # its version only: django/__init__.py, not the framework

    digest = hashlib.sha256(f"{sys.version}|{django.__version__}".encode())
    for package in PACKAGES:
        for directory, subdirs, files in os.walk(ROOT / package):
            subdirs[:] = sorted(d for d in subdirs if d != "__pycache__")
            for name in sorted(files):
                st = os.stat(os.path.join(directory, name))
                digest.update(f"{directory}/{name}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def config_identity(config: Config) -> str:
    """The whole configuration (agent directories, rules, prices, machine name...), the
    same in every process (sets sorted: their order changes with each interpreter)."""
    return hashlib.sha256(orjson.dumps(config, default=_plain,
                                       option=orjson.OPT_SORT_KEYS)).hexdigest()


def _plain(value: object) -> object:
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    if isinstance(value, Mapping):
        return dict(value)
    return str(value)  # paths, decimals


def stamp_path(config: Config) -> Path:
    return config.data_dir / STAMP_NAME


def applies(config: Config) -> bool:
    """The archive is the SQLite file in the data dir (not a DATABASE_URL, not a test's)."""
    return (config.database_url is None
            and os.environ.get("DJANGO_SETTINGS_MODULE", SETTINGS) == SETTINGS
            and os.environ.get("AGENTSVIEW_SERVE_PG", "").lower() not in ("1", "true", "yes"))


def forget(config: Config) -> None:
    """Before a sync writes: no shortcut until it finishes cleanly."""
    stamp_path(config).unlink(missing_ok=True)


MAX_DEPTH = 13  # one deeper than discovery's, so whatever it could see is covered


def tree_digest(config: Config) -> str:
    """Every entry under every agent directory (its path, kind, size and mtime; symlinked
    directories followed once), and which directories are missing."""
    digest = hashlib.sha256()
    for agent in sorted(config.agent_dirs):
        for root in config.agent_dirs[agent]:
            digest.update(f"{agent}|{root}\n".encode())
            _walk(root, digest)
    return digest.hexdigest()


def _walk(root: Path, digest: Any) -> None:
    try:
        st = root.stat()
    except OSError as exc:
        digest.update(f"! {exc.errno}\n".encode())
        return
    visited = {(st.st_dev, st.st_ino)}
    stack = [(str(root), 0)]
    while stack:
        directory, depth = stack.pop()
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as exc:
            digest.update(f"{directory} ! {exc.errno}\n".encode())
            continue
        for entry in entries:
            try:
                st = entry.stat(follow_symlinks=True)
            except OSError as exc:
                digest.update(f"{entry.path} ! {exc.errno}\n".encode())
                continue
            is_dir = stat.S_ISDIR(st.st_mode)
            digest.update(f"{entry.path}|{is_dir}|{st.st_size}|{st.st_mtime_ns}\n".encode())
            key = (st.st_dev, st.st_ino)
            if is_dir and key not in visited and depth + 1 < MAX_DEPTH:
                visited.add(key)
                stack.append((entry.path, depth + 1))


def outside_state(paths: list[str]) -> list[list]:
    """``[path, size, mtime_ns]`` of each file (``-1, -1`` for one that is absent)."""
    state = []
    for path in paths:
        try:
            st = os.stat(path)
            state.append([path, st.st_size, st.st_mtime_ns])
        except OSError:
            state.append([path, -1, -1])
    return state


RECORDS_SQL = "SELECT count(*), max(synced_at), max(id) FROM source_files"
WAITING_SQL = ("SELECT ended_at FROM sessions WHERE signals_pending_since IS NOT NULL"
               " AND ended_at IS NOT NULL")


def records_state(cursor: Any) -> list:
    """How many file records the archive holds and the newest write to them."""
    cursor.execute(RECORDS_SQL)
    return [str(value) for value in cursor.fetchone()]


def archive_identity(config: Config) -> list[int]:
    st = config.db_path.stat()
    return [st.st_dev, st.st_ino]


def remember(config: Config, *, tree: str, outside: list[str], records: list,
             unchanged: int, recency: timedelta) -> None:
    """After a clean, complete sync: what the next no-change sync compares with. *tree*:
    ``tree_digest`` when the sync started; *outside*: the files outside the agent
    directories its sources depend on; *records*: ``records_state`` at its end; *unchanged*:
    the sessions its files hold; *recency*: how long after its last activity a session's
    signals stop waiting (``outcome.RECENCY_WINDOW``)."""
    stamp = {"code": code_identity(), "config": config_identity(config),
             "archive": archive_identity(config), "tree": tree,
             "outside": outside_state(outside), "records": records,
             "sessions": unchanged, "pending_after_s": recency.total_seconds()}
    write_atomically(stamp_path(config), orjson.dumps(stamp))


def nothing_to_do(config: Config, now: datetime | None = None) -> SyncReport | None:
    """The report of a sync that has nothing to do, or None when a full sync must run."""
    started = time.monotonic()
    if not applies(config) or not config.db_path.is_file():
        return None
    try:
        stamp = orjson.loads(stamp_path(config).read_bytes())
        recency = timedelta(seconds=float(stamp["pending_after_s"]))
        if (stamp["config"] != config_identity(config)
                or stamp["archive"] != archive_identity(config)
                or stamp["outside"] != outside_state([p for p, *_ in stamp["outside"]])
                or stamp["tree"] != tree_digest(config)
                or stamp["code"] != code_identity()):
            return None
        connection = sqlite3.connect(config.db_path, timeout=1.0)
        try:
            if records_state(connection.cursor()) != stamp["records"]:
                return None  # another command changed the file records since
            waiting = [ended for (ended,) in connection.execute(WAITING_SQL)]
        finally:
            connection.close()
        due = (now or datetime.now(UTC)) - recency
        if any(datetime.fromisoformat(ended).replace(tzinfo=UTC) < due for ended in waiting):
            return None  # a session's signals are due to be finalised
        report = SyncReport(sessions_unchanged=int(stamp["sessions"]))
    except (OSError, ValueError, KeyError, TypeError, sqlite3.Error):
        return None
    report.elapsed = time.monotonic() - started
    return report
