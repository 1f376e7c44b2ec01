"""What every server process on this machine agrees on about access, kept in a small SQLite
file in the data dir (``settings.AGENTSVIEW_ACCESS_STORE``): the dashboard sign-ins ended by
*Sign out*, and the failed credentials of each client address.

It is not the database the server serves: ``pg serve`` may read PostgreSQL with a read-only
role, and a signed session cookie must stay ended after a restart. Requests only read it;
it is written on a sign-out and on a failed credential. No token is ever stored, only a
random sign-in id and, per client address, the times of its failures.
"""

from __future__ import annotations

import math
import sqlite3
import threading
import time
from pathlib import Path

from django.conf import settings

MAX_FAILURES = 10  # failed credentials a client address may send ...
FAILURE_WINDOW = 60.0  # ... within this many seconds; then it gets 429 until one ages out

clock = time.time  # tests move it forward

SCHEMA = """
CREATE TABLE IF NOT EXISTS signed_out (sid TEXT PRIMARY KEY, expires REAL NOT NULL)
    WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS failures (client TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS failures_by_client ON failures (client, at);
"""

_local = threading.local()


def _db() -> sqlite3.Connection:
    """This thread's connection to the store (each thread of a gthread worker has its own)."""
    path = Path(settings.AGENTSVIEW_ACCESS_STORE)
    cached = getattr(_local, "db", None)
    if cached is not None and cached[0] == path:
        return cached[1]
    db = sqlite3.connect(path, timeout=10, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.executescript(SCHEMA)
    if cached is not None:
        cached[1].close()
    _local.db = (path, db)
    return db


def end_sign_in(sid: str, expires: float) -> None:
    """Record that the sign-in *sid* is over (kept until its cookie would expire anyway)."""
    db = _db()
    db.execute("INSERT OR REPLACE INTO signed_out (sid, expires) VALUES (?, ?)", (sid, expires))
    db.execute("DELETE FROM signed_out WHERE expires < ?", (clock(),))


def sign_in_ended(sid: str) -> bool:
    return _db().execute("SELECT 1 FROM signed_out WHERE sid = ?", (sid,)).fetchone() is not None


def record_failure(client: str) -> None:
    """A wrong token or password from *client* (its address)."""
    now = clock()
    db = _db()
    db.execute("INSERT INTO failures (client, at) VALUES (?, ?)", (client, now))
    db.execute("DELETE FROM failures WHERE at <= ?", (now - FAILURE_WINDOW,))


def locked_out(client: str) -> int | None:
    """Seconds *client* must wait before its next credential is checked (at least 1), or None
    when it has sent fewer than MAX_FAILURES wrong ones within FAILURE_WINDOW."""
    now = clock()
    rows = _db().execute(
        "SELECT at FROM failures WHERE client = ? AND at > ? ORDER BY at DESC LIMIT ?",
        (client, now - FAILURE_WINDOW, MAX_FAILURES),
    ).fetchall()
    if len(rows) < MAX_FAILURES:
        return None
    # free again when the oldest of the last MAX_FAILURES leaves the window
    return max(1, math.ceil(rows[-1][0] + FAILURE_WINDOW - now))
