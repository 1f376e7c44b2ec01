"""Goose: its sessions.db in the schema versions we know (v13, and v15 with parent links and
the usage ledger), the sync of a database source, bad databases and bad content."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import orjson
import pytest
from django.test import Client

from sessions_app.models import Session
from sessions_app.parsers import goose
from sessions_app.parsers.base import ParseOptions
from sessions_app.parsers.registry import parser_for
from tests.layouts import AGENT_FIXTURES, build_codex
from tests.sessions_app.store_helpers import (
    EXHAUSTIVE,
    copy_tree,
    locked,
    sync_command,
    sync_report,
    wrong_type_mutants,
)
from tests.sessions_app.test_parser_fuzz import check

pytestmark = pytest.mark.django_db

FIXTURES = AGENT_FIXTURES / "goose" / "ours"
V13 = FIXTURES / "sessions_dir" / "sessions.db"  # Goose's session directory itself
PATH_ROOT = FIXTURES / "path_root"  # what GOOSE_PATH_ROOT names: <root>/data/sessions
V15 = PATH_ROOT / "data" / "sessions" / "sessions.db"


def parse(path: Path, known=None):
    if known is None:
        return parser_for("goose").parse(path, path.parent, ParseOptions())
    return parser_for("goose").parse_changed(path, path.parent, known, ParseOptions())


def by_id(result) -> dict:
    return {s.id: s for s in result.sessions}


def test_schema_v13():
    result = parse(V13)
    assert set(result.markers) == {f"goose:20260412_{n}" for n in (1, 2, 3, 4)}
    sessions = by_id(result)
    assert set(sessions) == {"goose:20260412_1", "goose:20260412_2", "goose:20260412_3"}
    fix = sessions["goose:20260412_1"]
    assert (fix.project, fix.cwd, fix.display_name) == (
        "reports", "/home/dev/projects/reports", "Fix CSV export encoding")
    assert fix.first_message.startswith("The CSV export garbles accented names")
    # the tool-response rows and the hidden context row are not messages of their own
    assert (fix.message_count, fix.user_message_count) == (6, 1)
    assert fix.source_version == "goose-sqlite-v13"
    calls = [c for m in fix.messages for c in m.tool_calls]
    assert [(c.tool_name, c.category) for c in calls] == [
        ("developer__text_editor", "Read"), ("developer__shell", "Bash"),
        ("developer__text_editor", "Edit"), ("developer__shell", "Bash")]
    assert [e.status for c in calls for e in c.result_events] == [
        "completed", "errored", "completed", "completed"]
    assert fix.messages[1].has_thinking and fix.messages[1].model == "claude-sonnet-4-5"
    # no usage ledger in v13: the session's latest prompt and its output so far
    assert (fix.peak_context_tokens, fix.total_output_tokens) == (14000, 3000)
    sub = sessions["goose:20260412_2"]
    assert (sub.relationship_type, sub.parent_session_id) == ("subagent", None)
    scheduled = sessions["goose:20260412_3"]
    assert scheduled.session_kind == "scheduled"
    (bad_request,) = scheduled.messages[1].tool_calls  # a call Goose could not read
    assert [e.status for e in bad_request.result_events] == ["errored"]


def test_schema_v15_links_subagents_and_reads_the_ledger():
    sessions = by_id(parse(V15))
    parent, child = sessions["goose:20260413_1"], sessions["goose:20260413_2"]
    assert (child.parent_session_id, child.relationship_type) == ("goose:20260413_1",
                                                                 "subagent")
    assert parent.project == "infra" and parent.source_version == "goose-sqlite-v15"
    assert parent.total_output_tokens == 90 + 60 + 180
    assert parent.peak_context_tokens == 1200 + 5000 + 1200
    (shell,) = parent.messages[2].tool_calls
    assert [e.status for e in shell.result_events] == ["errored"]  # isError: true
    assert parent.messages[1].tool_calls[0].category == "Task"


def test_only_changed_sessions_are_read():
    everything = parse(V13)
    known = dict(everything.markers)
    known["goose:20260412_2"] = "stale"
    assert [s.id for s in parse(V13, known).sessions] == ["goose:20260412_2"]


@pytest.fixture
def path_root(agent_env):
    return copy_tree(PATH_ROOT, agent_env["goose"])


def test_sync_under_goose_path_root_and_the_api(path_root):
    out, err = sync_command()
    assert "0 files with errors" in out, err
    listed = Client().get("/api/v1/sessions?agent=goose&include_children=true"
                          "&include_one_shot=true").json()["sessions"]
    assert {s["id"] for s in listed} == {"goose:20260413_1", "goose:20260413_2"}
    stored = Session.objects.get(pk="goose:20260413_2")
    assert stored.file_path == f"{path_root / 'data' / 'sessions' / 'sessions.db'}#20260413_2"
    assert stored.parent_session_id == "goose:20260413_1"
    assert Session.objects.get(pk="goose:20260413_1").tool_failure_signal_count >= 1


def test_sync_of_the_session_directory_itself(agent_env):
    copy_tree(V13.parent, agent_env["goose"])
    sync_command()
    assert Session.objects.filter(agent="goose").count() == 3


def test_incremental_sync_reads_only_the_changed_session(path_root, monkeypatch):
    database = path_root / "data" / "sessions" / "sessions.db"
    sync_report()
    assert sync_report().files_parsed == 0
    connection = sqlite3.connect(database)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA wal_autocheckpoint = 0")
    try:
        with connection:
            connection.execute(
                "INSERT INTO messages (message_id, session_id, role, content_json,"
                " created_timestamp, metadata_json) VALUES ('m9', '20260413_2', 'user',"
                " '[{\"type\":\"text\",\"text\":\"and the prod cert?\"}]', 1776067300, '{}')")
        read: list[str] = []
        real = goose._session
        monkeypatch.setattr(goose, "_session",
                            lambda con, row, *a: read.append(row["id"]) or real(con, row, *a))
        report = sync_report()
        assert read == ["20260413_2"]
        assert (report.files_parsed, report.sessions_written, report.sessions_unchanged) == (
            1, 1, 1)
        assert Session.objects.get(pk="goose:20260413_2").message_count == 3
    finally:
        connection.close()


def test_a_deleted_session_is_kept(path_root):
    database = path_root / "data" / "sessions" / "sessions.db"
    sync_report()
    connection = sqlite3.connect(database)
    with connection:
        connection.execute("DELETE FROM messages WHERE session_id = '20260413_2'")
        connection.execute("DELETE FROM usage_ledger WHERE session_id = '20260413_2'")
        connection.execute("DELETE FROM sessions WHERE id = '20260413_2'")
    connection.close()
    assert sync_report().sessions_marked_missing == 1
    assert Session.objects.get(pk="goose:20260413_2").source_missing_at is not None


@pytest.mark.parametrize("content", [b"SQLite format 3\x00" + b"\x01" * 5000, b"not sqlite",
                                     b""])
def test_a_corrupt_database_is_a_warning(agent_env, content):
    build_codex(agent_env["codex"])
    (agent_env["goose"] / "sessions.db").write_bytes(content)
    out, err = sync_command()
    assert "0 files with errors" in out
    assert err.count("sessions.db") == 1
    assert Session.objects.filter(agent="codex").exists()


def test_a_locked_database_is_retried(agent_env, monkeypatch):
    monkeypatch.setattr("sessions_app.parsers.database.BUSY_TIMEOUT_S", 0.05)
    copy_tree(V13.parent, agent_env["goose"])
    with locked(agent_env["goose"] / "sessions.db"):
        out, err = sync_command()
    assert "database is locked" in err and "0 files with errors" in out
    sync_command()
    assert Session.objects.filter(agent="goose").count() == 3


@pytest.mark.parametrize("exhaustive", EXHAUSTIVE)
def test_wrong_types_in_any_content_never_raise(tmp_path, exhaustive):
    database = tmp_path / "sessions.db"
    source = sqlite3.connect(V15)
    rows = source.execute("SELECT id, content_json FROM messages").fetchall()
    source.close()
    for row_id, content in rows:
        for index, block in enumerate(orjson.loads(content)):
            for where, mutant in wrong_type_mutants({"b": block}, exhaustive=exhaustive):
                database.write_bytes(V15.read_bytes())
                blocks = orjson.loads(content)
                text = orjson.dumps(blocks).decode().replace(
                    orjson.dumps(blocks[index]).decode(),
                    mutant.decode("utf-8", "surrogatepass")[5:-1], 1)
                connection = sqlite3.connect(database)
                with connection:
                    connection.execute("UPDATE messages SET content_json = ? WHERE id = ?",
                                       (text, row_id))
                connection.close()
                try:
                    check("goose", database, tmp_path)
                except Exception as exc:
                    raise AssertionError(f"message {row_id} block {index} {where}") from exc


@pytest.mark.parametrize("sql", [
    "UPDATE messages SET content_json = 'not json' WHERE id = 2",
    "UPDATE messages SET content_json = '{\"type\":\"text\"}' WHERE id = 1",
    "UPDATE messages SET content_json = X'FFFF', metadata_json = 7 WHERE id = 3",
    "UPDATE messages SET created_timestamp = 'soon', role = 'tool' WHERE id = 4",
    "UPDATE sessions SET created_at = 99999999999999999, working_dir = X'00'"
    " WHERE id = '20260413_1'",
    "UPDATE sessions SET model_config_json = '[1]', parent_session_id = 3 WHERE id = '20260413_2'",
    "UPDATE usage_ledger SET input_tokens = 'many', output_tokens = 1e400,"
    " created_timestamp = 'now'",
    "UPDATE usage_ledger SET output_tokens = 9223372036854775807",
    "DROP TABLE usage_ledger",
    "DROP TABLE schema_version",
])
def test_wrong_column_values_cost_at_most_their_rows(tmp_path, sql):
    database = tmp_path / "sessions.db"
    database.write_bytes(V15.read_bytes())
    connection = sqlite3.connect(database)
    connection.executescript(sql)
    connection.close()
    check("goose", database, tmp_path)
    result = parse(database)
    assert all("\n" not in issue for issue in result.issues)
    assert "goose:20260413_2" in by_id(result) or "20260413_2" in sql
