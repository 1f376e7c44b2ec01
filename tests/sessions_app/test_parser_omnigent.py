"""Omnigent chat.db: the repo item payloads in a current-generation database (binary ids,
coded item types), a sub-agent conversation, the older text-id generation, only changed
conversations re-read, bad input (bad item data, a locked or corrupt database, never
written), and the sync of an Omnigent directory."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from datetime import UTC, datetime

import orjson
import pytest

from sessions_app.models import Session, ToolResultEvent
from sessions_app.parsers import database
from sessions_app.parsers.base import ParseOptions
from sessions_app.parsers.registry import parser_for
from tests.sessions_app.agent_cases import (
    api_sessions,
    fixture,
    parse,
    place,
    sync_command,
    sync_report,
)

DB = fixture("omnigent", "synthetic", "omnigent", "chat.db")
MAIN = "omnigent:0:6f1c2a9e3b4d4e5f8a7b9c0d1e2f3a4b"
SCOUT = "omnigent:0:7a2d3b0f4c5e4f609b8c0d1e2f3a4b5c"


@pytest.fixture
def chat_db(tmp_path):
    return place(DB, tmp_path / "omnigent" / "chat.db")


def by_id(result):
    return {s.id: s for s in result.sessions}


def test_the_main_conversation(chat_db):
    result = parse("omnigent", chat_db)
    assert result.issues == []
    assert set(result.markers) == {MAIN, SCOUT}
    main = by_id(result)[MAIN]
    assert (main.project, main.cwd, main.git_branch) == ("webapp", "/home/dev/projects/webapp",
                                                         "release/1.4")
    assert main.first_message == "do the thing"  # the meta user message is not shown
    assert (main.message_count, main.user_message_count) == (8, 2)
    shell_step, read_step, answer = main.messages[1:4]
    assert shell_step.thinking_text == (
        "Weighing whether to shell out or read the file directly.")
    [shell] = shell_step.tool_calls
    assert (shell.tool_name, shell.category, shell.tool_use_id) == ("sys_os_shell", "Bash",
                                                                   "toolu_1")
    assert shell.result_content == "/work/proj" and shell.result_events[0].status == "completed"
    assert "[Bash]\n$ pwd" in shell_step.content
    [read] = read_step.tool_calls
    assert read.result_events[0].status == "errored"  # its output item's status is failed
    assert {m.model for m in (shell_step, read_step, answer)} == {"claude-opus-4-8"}
    assert answer.output_tokens == 640  # the session usage, on its last answer
    assert orjson.loads(answer.token_usage) == {"input_tokens": 5200, "output_tokens": 640}
    slash, terminal, error, compaction = main.messages[4:]
    assert (slash.content, slash.is_system) == ("/bulletproof", False)
    assert (terminal.content, terminal.is_system) == ("$ git push", True)
    assert error.content == "[error] RuntimeError: inner executor error: terminated"
    assert compaction.is_compact_boundary
    assert main.started_at == datetime(2026, 7, 7, 9, tzinfo=UTC)
    assert main.ended_at == datetime(2026, 7, 7, 9, 5, tzinfo=UTC)
    assert shell_step.timestamp == datetime(2026, 7, 7, 9, 0, 6, tzinfo=UTC)  # the item's own


def test_a_sub_agent_names_its_parent_and_inherits_the_workspace(chat_db):
    scout = by_id(parse("omnigent", chat_db))[SCOUT]
    assert (scout.parent_session_id, scout.relationship_type) == (MAIN, "subagent")
    assert (scout.project, scout.git_branch) == ("webapp", "release/1.4")
    assert [m.content for m in scout.messages] == ["scout the release notes", "scout report"]


def text_id_generation(path):
    """The split text-id generation: VARCHAR ids and item types, model in agent_configuration."""
    conn = sqlite3.connect(path)
    conn.executescript("""
        CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY);
        CREATE TABLE conversations (workspace_id BIGINT DEFAULT 0, id VARCHAR(64),
            created_at INTEGER, updated_at INTEGER, title VARCHAR(768) DEFAULT '',
            parent_conversation_id VARCHAR(64), root_conversation_id VARCHAR(64));
        CREATE TABLE conversation_items (workspace_id BIGINT DEFAULT 0, id VARCHAR(64),
            conversation_id VARCHAR(64), created_at INTEGER, status VARCHAR(16),
            position INTEGER, type VARCHAR(32), data TEXT, search_text TEXT);
        CREATE TABLE omnigent_conversation_metadata (workspace_id BIGINT DEFAULT 0,
            id VARCHAR(64), kind VARCHAR(16), sub_agent_name VARCHAR(128),
            workspace VARCHAR(2048), git_branch VARCHAR(255), session_usage TEXT);
        CREATE TABLE agent_configuration (workspace_id BIGINT DEFAULT 0,
            conversation_id VARCHAR(64), model_override VARCHAR(128));
        INSERT INTO conversations VALUES (0, 'conv_a1', 1780000000, 1780000100, 'Old one',
            NULL, 'conv_a1');
        INSERT INTO omnigent_conversation_metadata VALUES (0, 'conv_a1', 'default', NULL,
            '/srv/api-server', 'main', NULL);
        INSERT INTO agent_configuration VALUES (0, 'conv_a1', 'gpt-5');
    """)
    items = [("message", {"role": "user", "content": [{"type": "input_text", "text": "hi"}]}),
             ("message", {"role": "assistant", "agent": "polly",
                          "content": [{"type": "output_text", "text": "hello"}]}),
             ("message", "not json at all")]
    for position, (kind, data) in enumerate(items):
        conn.execute("INSERT INTO conversation_items VALUES (0, ?, 'conv_a1', ?, 'completed',"
                     " ?, ?, ?, '')", (f"msg_{position}", 1780000000 + position, position, kind,
                                       data if isinstance(data, str) else json.dumps(data)))
    conn.commit()
    conn.close()


def test_the_text_id_generation(tmp_path):
    path = tmp_path / "chat.db"
    text_id_generation(path)
    result = parse("omnigent", path)
    assert result.issues == [
        "conversation conv_a1: 1 item(s) whose data is not a JSON object, skipped"]
    [session] = result.sessions
    assert session.id == "omnigent:0:conv_a1"
    assert session.project == "api_server"
    assert [(m.role, m.content, m.model) for m in session.messages] == [
        ("user", "hi", ""), ("assistant", "hello", "gpt-5")]


def test_only_changed_conversations_are_read_again(chat_db):
    omnigent = parser_for("omnigent")
    first = omnigent.parse_changed(chat_db, chat_db.parent, {}, ParseOptions())
    assert omnigent.parse_changed(chat_db, chat_db.parent, first.markers,
                                  ParseOptions()).sessions == []
    with sqlite3.connect(chat_db) as conn:  # usage changes without touching updated_at
        conn.execute("UPDATE omnigent_conversation_metadata SET session_usage ="
                     " '{\"input_tokens\": 9000, \"output_tokens\": 900}' WHERE kind = 1")
    conn.close()
    changed = omnigent.parse_changed(chat_db, chat_db.parent, first.markers, ParseOptions())
    assert [s.id for s in changed.sessions] == [MAIN]
    assert changed.sessions[0].total_output_tokens == 900


@pytest.mark.parametrize("sql", [
    "UPDATE conversation_items SET data = '{\"role\": \"user\", \"content\": [{\"type\": "
    "\"input_text\", \"text\": 7}], \"is_meta\": \"yes\"}' WHERE position = 0",
    "UPDATE conversation_items SET type = 7, status = 3 WHERE position = 4",
    "UPDATE conversation_items SET created_at = 1e300 WHERE position = 5",
    "UPDATE conversations SET session_overrides = '{cut', created_at = 'soon'",
    "UPDATE omnigent_conversation_metadata SET session_usage = X'0001FFFF'",
    "UPDATE omnigent_conversation_metadata SET session_usage = '{\"output_tokens\": 1e999}'",
])
def test_odd_values_cost_only_themselves(chat_db, sql):
    with sqlite3.connect(chat_db) as conn:
        conn.execute(sql)
    conn.close()
    result = parse("omnigent", chat_db)
    assert SCOUT in by_id(result)
    assert all("\n" not in issue for issue in result.issues)


def test_a_locked_database_is_one_warning_and_never_written(chat_db, monkeypatch):
    monkeypatch.setattr(database, "BUSY_TIMEOUT_S", 0.05)
    before = hashlib.sha256(chat_db.read_bytes()).hexdigest()
    writer = sqlite3.connect(chat_db, isolation_level=None)
    writer.execute("BEGIN EXCLUSIVE")
    try:
        result = parse("omnigent", chat_db)
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert result.sessions == [] and len(result.issues) == 1
    assert "database is locked" in result.issues[0]
    assert hashlib.sha256(chat_db.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in chat_db.parent.iterdir()) == ["chat.db"]


@pytest.mark.parametrize("data", [b"", b"SQLite format 3\x00" + b"\x00" * 200, b"not a db\n"])
def test_a_corrupt_or_foreign_database_is_one_warning(tmp_path, data):
    path = tmp_path / "chat.db"
    path.write_bytes(data)
    result = parse("omnigent", path)
    assert result.sessions == [] and len(result.issues) == 1


@pytest.mark.django_db
def test_sync_archives_the_conversations_and_the_api_lists_them(agent_env):
    store = place(DB, agent_env["omnigent"] / "chat.db")
    out, err, code = sync_command()
    assert code == 0, err
    assert set(Session.objects.filter(agent="omnigent").values_list("id", flat=True)) == {
        MAIN, SCOUT}
    assert {s["id"] for s in api_sessions("omnigent")} == {MAIN, SCOUT}
    assert Session.objects.get(pk=SCOUT).parent_session_id == MAIN
    assert ToolResultEvent.objects.filter(session_id=MAIN, status="errored").count() == 1
    assert Session.objects.get(pk=MAIN).file_path == f"{store}#0:6f1c2a9e3b4d4e5f8a7b9c0d1e2f3a4b"
    assert sync_report().files_parsed == 0
