"""The Zed parser: threads in both table shapes and both JSON shapes, change markers, locked and
corrupt databases, damaged rows, and a real sync."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from agentsview.config import load_config
from sessions_app.models import Session
from sessions_app.parsers.base import DatabaseReadError, ParseOptions
from sessions_app.parsers.zed import parser
from sessions_app.services.sync import run_sync
from tests.sessions_app.agent_sync_checks import assert_synced_end_to_end, sync_command
from tests.sessions_app.zed_threads import (
    CHILD,
    LEGACY,
    MAIN,
    MAIN_DOC,
    SYNTHETIC,
    SYNTHETIC_DB,
    build,
    build_legacy_table,
)

OPTIONS = ParseOptions(max_line_bytes=1024 * 1024)
IDS = {f"zed:{MAIN}", f"zed:{CHILD}", f"zed:{LEGACY}"}


def parse(path: Path):
    return parser.parse(path, path.parent.parent, OPTIONS)


def by_id(result) -> dict:
    return {s.id: s for s in result.sessions}


@pytest.fixture
def db(tmp_path) -> Path:
    return build(tmp_path / "zed" / "threads" / "threads.db", SYNTHETIC)


def test_the_committed_database_is_what_the_builder_makes(db):
    committed, built = by_id(parse(SYNTHETIC_DB)), by_id(parse(db))
    assert set(committed) == set(built) == IDS
    for sid, session in committed.items():
        assert [m.content for m in session.messages] == [m.content for m in built[sid].messages]


def test_a_current_thread(db):
    result = parse(db)
    assert result.issues == [] and result.records == 4
    session = by_id(result)[f"zed:{MAIN}"]
    assert session.agent == "zed" and session.source_version == "0.3.0"
    assert session.project == "webapp" and session.cwd == "/home/dev/projects/webapp"
    assert session.display_name == "Fix the login redirect"
    assert session.parent_session_id is None
    assert session.first_message == "Why does login redirect to /404?"
    assert session.user_message_count == 2 and session.message_count == 6
    assert session.started_at == datetime(2026, 3, 5, 9, 0, tzinfo=UTC)
    assert session.ended_at == datetime(2026, 3, 5, 9, 4, tzinfo=UTC)
    # no message has a time of its own: the thread's creation and last update bound them
    assert session.messages[0].timestamp == session.started_at
    assert session.messages[-1].timestamp == session.ended_at
    read, terminal, edit = (m.tool_calls[0] for m in session.messages[1:4])
    assert (read.tool_name, read.category, read.file_path) == ("read_file", "Read",
                                                               "webapp/src/auth.ts")
    assert orjson.loads(read.input_json) == {"path": "webapp/src/auth.ts"}
    assert session.messages[2].content == "Running the tests.\n[Bash]\n$ npm test"
    assert [e.status for e in terminal.result_events] == ["errored"]
    assert terminal.result_content == "1 failing: redirects home"
    assert (edit.category, [e.status for e in edit.result_events]) == ("Edit", [""])
    first = session.messages[1]
    assert first.has_thinking and first.thinking_text == "Check the auth router first."
    assert session.messages[-1].has_thinking  # a redacted block
    assert all(m.model == "claude-sonnet-4-5" for m in session.messages if m.role == "assistant")
    # each user turn's token usage, on the turn's last answer
    assert orjson.loads(session.messages[3].token_usage)["cache_read_input_tokens"] == 800
    assert session.messages[3].context_tokens == 2100
    assert session.total_output_tokens == 320 and session.peak_context_tokens == 2600
    assert session.termination_status == "awaiting_user"


def test_a_subagent_thread_links_to_its_parent(db):
    session = by_id(parse(db))[f"zed:{CHILD}"]
    assert session.parent_session_id == f"zed:{MAIN}"
    assert session.relationship_type == "subagent"
    assert session.messages[1].content == "[Grep: redirect]"
    assert session.messages[1].tool_calls[0].category == "Grep"


def test_a_legacy_thread(db):
    session = by_id(parse(db))[f"zed:{LEGACY}"]
    assert session.source_version == "0.2.0"
    assert session.project == "cli_tool"  # from the project snapshot: no folders column value
    assert session.first_message == "What is in src?"
    assert [m.role for m in session.messages] == ["user", "assistant", "assistant"]
    call = session.messages[1].tool_calls[0]
    assert (call.tool_name, call.category, call.result_content_length) == (
        "list_directory", "Read", len("main.rs\nlib.rs"))
    assert orjson.loads(session.messages[2].token_usage) == {"input_tokens": 1000,
                                                             "output_tokens": 15}


def test_the_legacy_table_of_the_shared_fixture(tmp_path):
    oldest = {"summary": "Old", "updated_at": "2025-03-01T10:00:00Z", "messages": [
        {"id": 0, "role": "user", "text": "hello from the first agent panel"},
        {"id": 1, "role": "assistant", "text": "hi", "tool_uses": [], "tool_results": []}]}
    path = build_legacy_table(tmp_path / "threads" / "threads.db", [
        ("t-old", "Old", "2025-03-01T10:00:00Z", None, None, None, "zstd", oldest),
        (MAIN, "Fix the login redirect", "2026-03-05T09:04:00Z", None, None, None, "zstd",
         MAIN_DOC),
    ])
    result = parse(path)
    assert result.issues == []
    sessions = by_id(result)
    old = sessions["zed:t-old"]
    assert (old.project, old.first_message, old.message_count) == (
        "unknown", "hello from the first agent panel", 2)
    assert old.started_at == old.ended_at == datetime(2025, 3, 1, 10, tzinfo=UTC)
    assert sessions[f"zed:{MAIN}"].message_count == 6


def test_only_changed_threads_are_read_again(db):
    first = parser.parse_changed(db, db.parent.parent, {}, OPTIONS)
    assert set(first.markers) == IDS and len(first.sessions) == 3
    assert parser.parse_changed(db, db.parent.parent, first.markers, OPTIONS).sessions == []
    with sqlite3.connect(db) as connection:
        connection.execute("UPDATE threads SET summary = 'Renamed', updated_at ="
                           " '2026-03-05T10:00:00+00:00' WHERE id = ?", (CHILD,))
    again = parser.parse_changed(db, db.parent.parent, first.markers, OPTIONS)
    assert [s.id for s in again.sessions] == [f"zed:{CHILD}"]
    assert again.sessions[0].display_name == "Renamed"
    assert set(again.markers) == IDS


@pytest.mark.parametrize("damage", [
    ("data", b"\x28\xb5\x2f\xfd garbage"),  # a zstd frame header, then nothing valid
    ("data", b"not json at all"),
    ("data_type", "brotli"),
    ("data", b"[1, 2, 3]"),
])
def test_a_damaged_row_costs_only_its_thread(db, damage):
    column, value = damage
    with sqlite3.connect(db) as connection:
        connection.execute(f"UPDATE threads SET {column} = ? WHERE id = ?", (value, CHILD))
        if column == "data" and not value.startswith(b"\x28"):
            connection.execute("UPDATE threads SET data_type = 'json' WHERE id = ?", (CHILD,))
    result = parse(db)
    assert {s.id for s in result.sessions} == {f"zed:{MAIN}", f"zed:{LEGACY}"}
    assert any(issue.startswith(f"thread {CHILD}") for issue in result.issues)
    assert f"zed:{CHILD}" in result.markers  # still there: not marked gone


@pytest.mark.parametrize("document", [
    {"messages": [{"User": {"content": {"Text": 5}}}, {"Agent": []}, {"Agent": {"content": [
        {"ToolUse": {"id": 3, "name": None, "input": [1]}}, {"Thinking": "x"}, 7],
        "tool_results": {"x": 5}}}], "request_token_usage": {"u": {"input_tokens": 1e308}}},
    {"messages": [{"role": "user", "segments": "text"}, {"role": "assistant", "segments": [
        {"type": "text", "text": ["x"]}], "tool_uses": {"a": 1}, "tool_results": [None]}],
     "request_token_usage": [None, "x"], "initial_project_snapshot": {"worktree_snapshots": [5]}},
    {"messages": "none", "model": "x", "subagent_context": [1]},
])
def test_wrong_types_inside_a_thread(tmp_path, document):
    path = build(tmp_path / "threads" / "threads.db", [
        ("t1", "x", "2026-01-01T00:00:00Z", None, 3, b"\xff/a", "json", document),
        ("t2", "y", "2026-01-01T00:00:00Z", None, None, None, "zstd", MAIN_DOC),
    ])
    result = parse(path)
    assert "zed:t2" in by_id(result)


def test_a_corrupt_or_foreign_database_is_one_issue(tmp_path):
    path = tmp_path / "threads" / "threads.db"
    path.parent.mkdir()
    path.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000)
    result = parse(path)
    assert result.sessions == [] and len(result.issues) == 1
    assert "not read this time" in result.issues[0]
    with pytest.raises(DatabaseReadError):
        parser.parse_changed(path, tmp_path, {}, OPTIONS)
    path.unlink()
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE other (x)")
    assert "no Zed threads table" in parse(path).issues[0]
    assert not parser.sniff(path)


def test_a_locked_database_is_one_issue(db):
    holder = sqlite3.connect(db, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        result = parse(db)
        assert result.sessions == []
        assert result.issues and "locked" in result.issues[0]
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert len(parse(db).sessions) == 3  # nothing was written to it


def test_paths(db):
    assert parser.matches(("threads", "threads.db"))
    assert not parser.matches(("threads.db",)) and not parser.matches(("x", "threads.db"))
    assert parser.root_of(db) == db.parent.parent and parser.sniff(db)
    assert parser.companion_paths(db) == (db.with_name("threads.db-wal"),)


@pytest.mark.django_db
def test_sync_stores_each_thread_and_rereads_only_a_changed_one(agent_env):
    target = agent_env["zed"] / "threads" / "threads.db"
    target.parent.mkdir(parents=True)
    shutil.copyfile(SYNTHETIC_DB, target)
    assert_synced_end_to_end("zed", IDS)
    stored = Session.objects.get(pk=f"zed:{CHILD}")
    assert stored.file_path == f"{target}#{CHILD}"
    assert stored.parent_session_id == f"zed:{MAIN}"
    with sqlite3.connect(target) as connection:
        connection.execute("UPDATE threads SET summary = 'Renamed', updated_at ="
                           " '2026-03-05T10:00:00+00:00' WHERE id = ?", (CHILD,))
    report = run_sync(load_config())
    assert report.files_parsed == 1 and report.sessions_written == 1
    assert Session.objects.get(pk=f"zed:{CHILD}").display_name == "Renamed"


@pytest.mark.django_db
def test_sync_of_a_corrupt_database_warns_and_goes_on(agent_env):
    target = agent_env["zed"] / "threads" / "threads.db"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"SQLite format 3\x00" + b"\x00" * 100 + b"\xff" * 2000)
    pi = agent_env["pi"] / "--home-dev-x--" / "s.jsonl"
    pi.parent.mkdir()
    pi.write_bytes(orjson.dumps({"type": "session", "id": "p1", "cwd": "/home/dev/x"}) + b"\n"
                   + orjson.dumps({"type": "message", "message": {"role": "user",
                                                                  "content": "still here"}}))
    out, err = sync_command()
    assert "threads.db" in err and "not read this time" in err
    assert Session.objects.filter(pk="pi:p1").exists()


@pytest.mark.parametrize("old, new", [
    (b"folder_paths TEXT", b"folder\x80paths TEXT"),
    (b"CREATE TABLE threads", b"CREATE TABLE thr\x80ads"),
    (b"data_type TEXT NOT NULL", b"data_type TEXT NOT \xff\xfe\xfd"),
])
def test_invalid_utf8_in_the_schema_never_raises(db, old, new):
    data = db.read_bytes()
    db.write_bytes(data.replace(old, new, 1))
    result = parse(db)
    assert result.sessions or result.issues
