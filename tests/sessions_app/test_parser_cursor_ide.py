"""Cursor IDE: our store (an agent composer with tools and thinking, an older inline chat
named by its workspace store, a draft, a composer with missing turns), change markers, the
sign-in tokens never read, locked and corrupt databases, wrong types, and a real sync."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from sessions_app.models import Message, Session, ToolCall
from sessions_app.parsers.base import ParseOptions
from sessions_app.parsers.cursor_ide import parser
from tests.layouts import AGENT_FIXTURES, build_codex
from tests.sessions_app.agent_sync_checks import assert_synced_end_to_end
from tests.sessions_app.cursor_ide_store import (
    AGENT_CHAT,
    DRAFT,
    GAPPY,
    OLD_CHAT,
    SECRET,
    agent_chat,
    build,
)
from tests.sessions_app.store_helpers import (
    EXHAUSTIVE,
    copy_tree,
    locked,
    sync_command,
    sync_report,
    wrong_type_mutants,
)
from tests.sessions_app.test_parser_fuzz import check

USER = AGENT_FIXTURES / "cursor-ide" / "synthetic" / "User"
IDS = {f"cursor-ide:{c}" for c in (AGENT_CHAT, OLD_CHAT, GAPPY)}


def parse(database: Path, known=None):
    options = ParseOptions(max_line_bytes=1024 * 1024)
    if known is None:
        return parser.parse(database, database.parent, options)
    return parser.parse_changed(database, database.parent, known, options)


@pytest.fixture
def user(tmp_path) -> Path:
    return copy_tree(USER, tmp_path / "User")


def store(user: Path) -> Path:
    return user / "globalStorage" / "state.vscdb"


def test_the_checked_in_store_is_what_the_builder_writes(tmp_path):
    fresh = build(tmp_path / "User")
    ours = sqlite3.connect(USER / "globalStorage" / "state.vscdb")
    again = sqlite3.connect(fresh)
    query = "SELECT key, value FROM cursorDiskKV ORDER BY key"
    assert ours.execute(query).fetchall() == again.execute(query).fetchall()


def test_an_agent_composer(user):
    result = parse(store(user))
    assert result.issues == [f"composer {GAPPY}: 2 of 3 turns missing or unreadable"]
    assert set(result.markers) == {*IDS, f"cursor-ide:{DRAFT}"}  # the draft: no session
    sessions = {s.id: s for s in result.sessions}
    assert set(sessions) == IDS
    session = sessions[f"cursor-ide:{AGENT_CHAT}"]
    assert session.agent == "cursor-ide" and session.display_name == "Dashboard redirects to login"
    assert (session.project, session.cwd) == ("webapp", "/home/dev/projects/webapp")
    assert session.git_branch == "fix/login-redirect"  # the branch worked on last
    assert session.first_message == "Why does /dashboard redirect to /login after I sign in?"
    assert (session.message_count, session.user_message_count) == (6, 1)
    # the bubbles' own times; the composer's last update ends it
    assert session.started_at == datetime(2026, 3, 6, 10, 0, tzinfo=UTC)
    assert session.ended_at == datetime(2026, 3, 6, 10, 0, 21, 500000, tzinfo=UTC)
    thinking = session.messages[1]
    assert thinking.has_thinking and thinking.thinking_text == (
        "The session cookie may be read before it is set.")
    assert thinking.model == "claude-4.5-sonnet-thinking"
    assert orjson.loads(thinking.token_usage) == {"input_tokens": 12840, "output_tokens": 96}
    read, run, edit = (m.tool_calls[0] for m in session.messages[2:5])
    assert (read.tool_name, read.category, read.file_path) == (
        "read_file_v2", "Read", "/home/dev/projects/webapp/src/auth/guard.ts")
    assert orjson.loads(run.input_json) == {"command": "npm test -- auth", "isBackground": False}
    assert [e.status for e in run.result_events] == ["errored"]  # exit code 1
    assert run.result_content.startswith("FAIL src/auth/guard.test.ts")
    assert [e.status for e in edit.result_events] == ["cancelled"]  # the user rejected it
    assert session.messages[3].content == "[Bash]\n$ npm test -- auth"
    assert (session.total_output_tokens, session.peak_context_tokens) == (325, 14102)
    assert session.source_version == "13" and session.termination_status == "awaiting_user"


def test_an_older_inline_chat_and_a_composer_with_gaps(user):
    sessions = {s.id: s for s in parse(store(user)).sessions}
    old = sessions[f"cursor-ide:{OLD_CHAT}"]
    # it names no workspace: the workspace store listing it does
    assert (old.project, old.cwd) == ("api_server", "/home/dev/projects/api-server")
    assert [m.role for m in old.messages] == ["user", "assistant"]
    assert old.first_message == "How does the token bucket in limiter.go refill?"
    gappy = sessions[f"cursor-ide:{GAPPY}"]
    assert gappy.project == "unknown" and [m.content for m in gappy.messages] == [
        "Rename the env var"]


def test_only_changed_composers_are_read(user):
    database = store(user)
    first = parse(database)
    assert parse(database, first.markers).sessions == []
    composer, bubbles = agent_chat()
    bubbles[-1]["text"] = "Moved the session middleware up."
    connection = sqlite3.connect(database)
    # Cursor rewrites a bubble in place (the table replaces the row)
    connection.execute("INSERT INTO cursorDiskKV VALUES (?, ?)", (
        f"bubbleId:{AGENT_CHAT}:{bubbles[-1]['bubbleId']}", orjson.dumps(bubbles[-1])))
    connection.commit()
    connection.close()
    again = parse(database, first.markers)
    assert [s.id for s in again.sessions] == [f"cursor-ide:{AGENT_CHAT}"]
    assert again.sessions[0].messages[-1].content == "Moved the session middleware up."
    assert {k for k, v in again.markers.items() if first.markers[k] != v} == {
        f"cursor-ide:{AGENT_CHAT}"}


def test_layout_and_sniff(user, tmp_path):
    assert parser.matches(("state.vscdb",))
    assert not parser.matches(("workspaceStorage", "h", "state.vscdb"))
    assert parser.sniff(store(user)) and parser.root_of(store(user)) == store(user).parent
    other = tmp_path / "other.vscdb"
    sqlite3.connect(other).executescript("CREATE TABLE ItemTable (key TEXT, value BLOB);")
    assert not parser.sniff(other)
    result = parse(other)
    assert result.sessions == [] and "cursorDiskKV" in result.issues[0]


@pytest.mark.django_db
@pytest.mark.parametrize("content", [b"SQLite format 3\x00" + b"\x01" * 5000, b"not sqlite",
                                     b""])
def test_a_corrupt_store_is_one_warning(agent_env, content):
    build_codex(agent_env["codex"])
    (agent_env["cursor-ide"] / "state.vscdb").write_bytes(content)
    out, err = sync_command()
    assert "0 files with errors" in out
    assert err.count("state.vscdb") <= 1
    assert Session.objects.filter(agent="codex").exists()
    check("cursor-ide", agent_env["cursor-ide"] / "state.vscdb", agent_env["cursor-ide"])


@pytest.mark.django_db
def test_a_locked_store_is_read_at_the_next_sync(agent_env, monkeypatch):
    monkeypatch.setattr("sessions_app.parsers.database.BUSY_TIMEOUT_S", 0.05)
    build_codex(agent_env["codex"])
    shutil.copyfile(store(USER), agent_env["cursor-ide"] / "state.vscdb")
    with locked(agent_env["cursor-ide"] / "state.vscdb"):
        out, err = sync_command()
    assert "database is locked" in err and "0 files with errors" in out
    assert Session.objects.filter(agent="codex").exists()
    assert not Session.objects.filter(agent="cursor-ide").exists()
    sync_command()
    assert Session.objects.filter(agent="cursor-ide").count() == 3


@pytest.mark.parametrize("exhaustive", EXHAUSTIVE)
def test_wrong_types_in_any_value_never_raise(tmp_path, exhaustive):
    composer, bubbles = agent_chat()
    database = tmp_path / "state.vscdb"
    for key, document in [(f"composerData:{AGENT_CHAT}", composer),
                          *((f"bubbleId:{AGENT_CHAT}:{b['bubbleId']}", b) for b in bubbles[1:4])]:
        for where, mutant in wrong_type_mutants(document, exhaustive=exhaustive):
            shutil.copyfile(store(USER), database)
            connection = sqlite3.connect(database)
            connection.execute("INSERT INTO cursorDiskKV VALUES (?, ?)", (key, mutant))
            connection.commit()
            connection.close()
            try:
                check("cursor-ide", database, tmp_path)
            except Exception as exc:  # pragma: no cover - the failure names the mutant
                raise AssertionError(f"{key}: {where}") from exc


@pytest.mark.django_db
def test_sync_incremental_and_no_token_archived(agent_env):
    root = agent_env["cursor-ide"]  # Cursor's globalStorage
    shutil.copyfile(store(USER), root / "state.vscdb")
    copy_tree(USER / "workspaceStorage", root.parent / "workspaceStorage")
    assert_synced_end_to_end("cursor-ide", IDS)
    assert Session.objects.get(pk=f"cursor-ide:{OLD_CHAT}").project == "api_server"
    stored = Session.objects.get(pk=f"cursor-ide:{AGENT_CHAT}")
    assert stored.file_path == f"{root / 'state.vscdb'}#{AGENT_CHAT}"
    assert stored.tool_failure_signal_count >= 1
    for model, field in ((Message, "content"), (ToolCall, "input_json"),
                         (ToolCall, "result_content"), (Session, "first_message")):
        assert not model.objects.filter(**{f"{field}__contains": SECRET}).exists()
    # a new turn in one composer: only it is read again
    composer, bubbles = agent_chat()
    extra = dict(bubbles[0], bubbleId="9e9e9e9e-0000-4000-8000-000000000009",
                 text="And the logout redirect?")
    composer["fullConversationHeadersOnly"].append({"bubbleId": extra["bubbleId"], "type": 1})
    connection = sqlite3.connect(root / "state.vscdb")
    connection.execute("PRAGMA journal_mode = WAL")
    connection.executemany("INSERT INTO cursorDiskKV VALUES (?, ?)", [
        (f"bubbleId:{AGENT_CHAT}:{extra['bubbleId']}", orjson.dumps(extra)),
        (f"composerData:{AGENT_CHAT}", orjson.dumps(composer))])
    connection.commit()
    report = sync_report()  # the commit is in the -wal file alone (a companion)
    assert report.files_parsed == 1 and report.sessions_written == 1
    assert report.sessions_unchanged == 2
    assert Session.objects.get(pk=f"cursor-ide:{AGENT_CHAT}").user_message_count == 2
    assert sync_report().files_parsed == 0
    connection.close()  # a checkpoint: the file changes, no composer does
    report = sync_report()
    assert report.sessions_written == 0 and report.sessions_unchanged == 3
