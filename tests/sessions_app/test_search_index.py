"""The SQLite search index during a sync: suspended and rebuilt once for a large write, kept
up row by row for a small one, and repaired after a sync that died while it was suspended
(in-process, and as real processes killed with SIGKILL)."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from sessions_app.models import Message
from sessions_app.search import matching_session_ids
from sessions_app.services import search_index
from tests.layouts import build_claude, build_codex
from tests.pg_processes import REPO, Machine

pytestmark = pytest.mark.django_db

# terms of the fixture transcripts, and one that is in none
TERMS = ["redirect", "login", "auth", "rate limit", "README", "pytest", "no-such-word-xyz"]


def sync() -> str:
    out = StringIO()
    call_command("sync", stdout=out, stderr=StringIO())
    return out.getvalue()


def indexed(term: str) -> set[str]:
    """Sessions the FTS index itself finds (rowids from the index, then their sessions)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT rowid FROM messages_fts WHERE content LIKE %s", [f"%{term}%"])
        rowids = [row[0] for row in cursor.fetchall()]
    return set(Message.objects.filter(id__in=rowids).values_list("session_id", flat=True))


def hits() -> dict[str, set[str]]:
    found = {term: indexed(term) for term in TERMS}
    # the search the API runs agrees
    assert found == {term: matching_session_ids("default", [term]) for term in TERMS}
    return found


def truth() -> dict[str, set[str]]:
    """What the index must answer: a scan of the message rows themselves."""
    return {term: set(Message.objects.filter(content__icontains=term)
                      .values_list("session_id", flat=True)) for term in TERMS}


def integrity_ok() -> None:
    with connection.cursor() as cursor:  # raises on a corrupt index
        cursor.execute("INSERT INTO messages_fts(messages_fts, rank) VALUES ('integrity-check', 1)")


def triggers() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        return {row[0] for row in cursor.fetchall()} & set(search_index.TRIGGERS)


@pytest.fixture
def fixtures(agent_env):
    build_claude(agent_env["claude"])
    build_codex(agent_env["codex"])
    return agent_env


def test_a_large_sync_rebuilds_the_index_once_and_restores_the_triggers(fixtures, monkeypatch):
    monkeypatch.setattr(search_index, "BULK_MIN_FILES", 1)  # the fixtures are a few files
    suspended = []
    real_suspend = search_index.suspend

    def spy(using: str = "default") -> bool:
        suspended.append(using)
        return real_suspend(using)

    monkeypatch.setattr(search_index, "suspend", spy)
    sync()
    assert suspended == ["default"]  # a cold sync is all new bytes
    assert triggers() == set(search_index.TRIGGERS)
    expected = truth()
    assert any(expected.values()) and hits() == expected
    integrity_ok()


def test_a_small_sync_keeps_the_index_up_row_by_row(fixtures, monkeypatch):
    sync()  # the fixtures are fewer files than BULK_MIN_FILES: no suspension
    assert triggers() == set(search_index.TRIGGERS)
    assert hits() == truth()
    integrity_ok()


def test_an_index_left_suspended_by_a_dead_sync_is_rebuilt_by_the_next(fixtures):
    sync()
    # what a sync killed between suspending and rebuilding leaves behind: no triggers, and
    # rows written (and deleted) that the index never saw
    assert search_index.suspend("default")
    Message.objects.filter(session__id__startswith="codex:").update(content="zebra crossing")
    Message.objects.filter(ordinal=0).delete()
    assert indexed("zebra") == set()
    out = sync()  # finds the triggers gone and rebuilds before writing anything
    assert "Synced 0 sessions" in out
    assert triggers() == set(search_index.TRIGGERS)
    assert indexed("zebra") == set(
        Message.objects.filter(content="zebra crossing").values_list("session_id", flat=True))
    assert hits() == truth()
    integrity_ok()


@pytest.mark.parametrize(("files", "pending", "archived", "expected"), [
    (2000, 500_000_000, 0, True),  # a cold sync
    (60, 100, 500, True),  # exactly a sixth of all bytes
    (60, 99, 501, False),
    (49, 10**9, 0, False),  # too few files to matter
    (21, 5_000_000, 480_000_000, False),  # the 1% appended of the benchmark
])
def test_when_suspending_pays(files, pending, archived, expected):
    assert search_index.worth_suspending(files, pending, archived) is expected


def _sqlite(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)


@pytest.mark.slow
def test_a_sync_killed_while_the_index_is_suspended_leaves_it_to_the_next(tmp_path):
    """As processes: SIGKILL a cold sync of 82 files after it dropped the triggers and wrote
    most sessions, then check that the next sync (20-odd files: no bulk mode of its own)
    rebuilds the index to match the rows."""
    corpus = tmp_path / "corpus"
    subprocess.run([sys.executable, str(REPO / "bench" / "corpus.py"), "--sessions", "80",
                    "--out", str(corpus), "--quiet"], check=True, timeout=120)
    machine = Machine(tmp_path / "laptop", "laptop", "postgresql://unused@127.0.0.1/x", "x")
    machine.env.update(CLAUDE_PROJECTS_DIR=str(corpus / "claude" / "projects"),
                       CODEX_SESSIONS_DIR=str(corpus / "codex" / "sessions"))
    db = machine.data / "agentsview.db"
    proc = machine.start("sync")
    killed_with = None
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.005)
            if not db.exists():
                continue
            try:
                with _sqlite(db) as conn:
                    names = {r[0] for r in conn.execute(
                        "SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')")}
                    rows = (conn.execute("SELECT COUNT(*) FROM messages").fetchone()[0]
                            if "messages" in names else 0)
                    written = (conn.execute("SELECT COUNT(*) FROM sessions").fetchone()[0]
                               if "sessions" in names else 0)
            except Exception:  # the schema is being created: look again
                continue
            # late enough that what is left is too small for the next sync to suspend and
            # rebuild on its own (< BULK_MIN_FILES files): only the repair can mend the index
            if ("messages_fts" in names and not names & set(search_index.TRIGGERS)
                    and written >= 60):
                proc.send_signal(signal.SIGKILL)
                killed_with = rows
                break
    finally:
        if proc.poll() is None and killed_with is None:
            proc.kill()
        proc.wait(timeout=30)
    assert killed_with, "the sync ended before it could be caught with the index suspended"
    assert proc.returncode == -signal.SIGKILL
    with _sqlite(db) as conn:  # the state it left: no triggers, rows the index never saw
        assert not {r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger'")} & set(search_index.TRIGGERS)

    again = machine.run("sync")
    assert again.returncode == 0, again.stderr
    with _sqlite(db) as conn:
        assert {r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger'")} >= set(search_index.TRIGGERS)
        total = conn.execute("SELECT COUNT(*) FROM messages").fetchone()[0]
        assert total > killed_with
        for term in ("auth", "config", "zebra-not-there"):
            like = {r[0] for r in conn.execute(
                "SELECT id FROM messages WHERE content LIKE ?", (f"%{term}%",))}
            indexed = {r[0] for r in conn.execute(
                "SELECT rowid FROM messages_fts WHERE content LIKE ?", (f"%{term}%",))}
            assert indexed == like, term
    rw = sqlite3.connect(db)  # FTS5's own check of the index against the rows
    try:
        rw.execute("INSERT INTO messages_fts(messages_fts, rank) VALUES ('integrity-check', 1)")
    finally:
        rw.close()
