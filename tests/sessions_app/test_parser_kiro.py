"""Kiro CLI: the SQLite store (the repo payloads and a richer conversation), only changed
conversations re-read, the legacy JSONL store, bad input (a malformed payload, a locked or
corrupt database, which is never written), and the sync of a Kiro directory."""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import UTC, datetime

import orjson
import pytest

from sessions_app.models import Session, SourceFile, ToolResultEvent
from sessions_app.parsers import database
from sessions_app.parsers.base import DatabaseReadError, ParseOptions
from sessions_app.parsers.registry import parser_for
from tests.sessions_app.agent_cases import (
    api_sessions,
    fixture,
    parse,
    place,
    sync_command,
    sync_report,
)

DB = fixture("kiro", "synthetic", "kiro-cli", "data.sqlite3")
LEGACY_ID = "a41c7e20-5d3b-4c9a-8f16-2e0b9d7c6a53"
LEGACY = fixture("kiro", "synthetic", "sessions-cli", f"{LEGACY_ID}.jsonl")
RICH_ID = "kiro:3f9a6c2e-1b7d-4e55-a0c3-8d2f1e6b7a90"
STORED = {RICH_ID, "kiro:overlap-session", "kiro:sqlite-session"}


@pytest.fixture
def store(tmp_path):
    return place(DB, tmp_path / "kiro-cli" / "data.sqlite3")


def sessions_by_id(result):
    return {s.id: s for s in result.sessions}


def test_the_store_holds_the_repo_payloads(store):
    result = parse("kiro", store)
    # the malformed payload costs its conversation only, with a warning naming it
    assert result.issues == ["conversation broken-session: cut short (incomplete JSON), ignored"]
    assert set(result.markers) == STORED | {"kiro:broken-session"}
    found = sessions_by_id(result)
    assert set(found) == STORED
    standard = found["kiro:sqlite-session"]
    assert (standard.project, standard.cwd) == ("kiro_app", "/home/user/code/kiro-app")
    assert standard.first_message == "Build the Kiro parser"
    assert (standard.message_count, standard.user_message_count) == (4, 2)
    assert standard.started_at == datetime(2026, 5, 17, 10, tzinfo=UTC)  # created_at
    assert standard.ended_at == datetime(2026, 5, 17, 10, 0, 30, tzinfo=UTC)
    [call] = standard.messages[3].tool_calls
    assert (call.tool_name, call.category) == ("execute_bash", "Bash")
    assert standard.termination_status == "tool_call_pending"
    overlap = found["kiro:overlap-session"]
    assert overlap.cwd == "/home/user/code/current-kiro"  # its newest row wins


def test_results_failures_edits_and_thinking(store):
    rich = sessions_by_id(parse("kiro", store))[RICH_ID]
    assert rich.project == "webapp"
    assert (rich.message_count, rich.user_message_count) == (6, 2)
    lint, fix, relint = (m.tool_calls[0] for m in rich.messages if m.tool_calls)
    assert lint.result_events[0].status == "errored"  # exit_status 1 in the Json block
    assert orjson.loads(lint.result_content)["exit_status"] == "1"
    assert (fix.tool_name, fix.category, fix.file_path) == (
        "Edit", "Edit", "/home/dev/projects/webapp/src/app.ts")  # fs_write str_replace
    assert fix.result_content == "Replaced 1 occurrence"
    assert relint.result_events[0].status == "errored"  # cancelled by the user
    assert rich.messages[2].thinking_text == "Remove the unused variable."
    assert {m.model for m in rich.messages if m.role == "assistant"} == {"claude-sonnet-4"}
    assert rich.messages[1].timestamp == datetime(2026, 7, 6, 12, 0, 4, tzinfo=UTC)
    assert rich.messages[4].content == "skip that, just commit"


def test_only_changed_conversations_are_read_again(store):
    kiro = parser_for("kiro")
    first = kiro.parse_changed(store, store.parent, {}, ParseOptions())
    again = kiro.parse_changed(store, store.parent, first.markers, ParseOptions())
    assert again.sessions == [] and again.markers == first.markers
    with sqlite3.connect(store) as conn:
        conn.execute("UPDATE conversations_v2 SET updated_at = updated_at + 1000"
                     " WHERE conversation_id = 'sqlite-session'")
    conn.close()
    changed = kiro.parse_changed(store, store.parent, first.markers, ParseOptions())
    assert [s.id for s in changed.sessions] == ["kiro:sqlite-session"]


def test_a_locked_database_is_one_warning_and_never_written(store, monkeypatch):
    monkeypatch.setattr(database, "BUSY_TIMEOUT_S", 0.05)
    before = hashlib.sha256(store.read_bytes()).hexdigest()
    writer = sqlite3.connect(store, isolation_level=None)
    writer.execute("BEGIN EXCLUSIVE")
    try:
        result = parse("kiro", store)
        assert result.sessions == []
        assert len(result.issues) == 1 and "database is locked" in result.issues[0]
        with pytest.raises(DatabaseReadError):
            parser_for("kiro").parse_changed(store, store.parent, {}, ParseOptions())
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert hashlib.sha256(store.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in store.parent.iterdir()) == ["data.sqlite3"]


@pytest.mark.parametrize("damage", [
    lambda data: data[:100] + b"\x00" * 20 + data[120:],  # a broken header
    lambda data: data[: len(data) // 3],  # cut short
    lambda data: b"SQLite format 3\x00" + b"\xff" * 5000,
])
def test_a_corrupt_database_is_one_warning(store, damage):
    store.write_bytes(damage(store.read_bytes()))
    result = parse("kiro", store)
    assert len(result.issues) >= 1
    assert all("\n" not in issue for issue in result.issues)


def test_the_legacy_jsonl_store():
    result = parse("kiro", LEGACY)
    assert result.issues == [] and result.markers is None
    [session] = result.sessions
    assert session.id == f"kiro:{LEGACY_ID}"
    assert (session.project, session.cwd) == ("webapp", "/home/dev/projects/webapp")
    assert session.first_message == "What does the deploy script do?"
    assert (session.message_count, session.user_message_count) == (3, 1)
    [read] = session.messages[1].tool_calls
    assert (read.tool_name, read.category, read.file_path) == ("read", "Read",
                                                               "scripts/deploy.sh")
    assert read.result_events[0].status == "completed"
    assert session.started_at == datetime(2026, 7, 7, 12, tzinfo=UTC)
    assert session.ended_at == datetime(2026, 7, 7, 12, 0, 30, tzinfo=UTC)


def test_a_legacy_sidecar_cut_in_half(tmp_path):
    path = place(LEGACY, tmp_path / LEGACY.name)
    place(LEGACY.with_suffix(".json"), tmp_path / f"{LEGACY_ID}.json")
    sidecar = tmp_path / f"{LEGACY_ID}.json"
    sidecar.write_bytes(sidecar.read_bytes()[:40])
    result = parse("kiro", path)
    assert result.issues == [f"{LEGACY_ID}.json: cut short (incomplete JSON), ignored"]
    assert result.sessions[0].project == "unknown"


@pytest.mark.django_db
def test_sync_archives_both_stores_and_rereads_only_what_changed(agent_env):
    root = agent_env["kiro"]
    store = place(DB, root / "data.sqlite3")
    place(LEGACY, root / LEGACY.name)
    place(LEGACY.with_suffix(".json"), root / f"{LEGACY_ID}.json")
    out, err, code = sync_command()
    assert code == 0, err
    assert f"warning: {store}: conversation broken-session: cut short" in err
    ids = STORED | {f"kiro:{LEGACY_ID}"}
    assert set(Session.objects.filter(agent="kiro").values_list("id", flat=True)) == ids
    assert {s["id"] for s in api_sessions("kiro")} == ids
    assert Session.objects.get(pk=RICH_ID).file_path == f"{store}#3f9a6c2e-1b7d-4e55-a0c3-" \
        "8d2f1e6b7a90"
    assert ToolResultEvent.objects.filter(session_id=RICH_ID, status="errored").count() == 2
    assert sync_report().files_parsed == 0
    # a commit in WAL mode writes only the -wal: the sync sees it and reads that conversation
    writer = sqlite3.connect(store, isolation_level=None)
    try:
        writer.execute("PRAGMA journal_mode=WAL")
        writer.execute("PRAGMA wal_autocheckpoint=0")
        payload = orjson.dumps({"conversation_id": "new-one", "history": [{"user": {
            "content": {"Prompt": {"prompt": "One more thing"}}}}]}).decode()
        writer.execute("INSERT INTO conversations_v2 VALUES ('/home/dev/x', 'new-one', ?, 1, 2)",
                       (payload,))
        report = sync_report()
        assert report.files_parsed == 1
        assert Session.objects.get(pk="kiro:new-one").first_message == "One more thing"
        assert SourceFile.objects.filter(agent="kiro").count() == 2
    finally:
        writer.close()


@pytest.mark.django_db
def test_a_locked_store_is_read_at_the_next_sync(agent_env, monkeypatch):
    monkeypatch.setattr(database, "BUSY_TIMEOUT_S", 0.05)
    store = place(DB, agent_env["kiro"] / "data.sqlite3")
    writer = sqlite3.connect(store, isolation_level=None)
    writer.execute("BEGIN EXCLUSIVE")
    try:
        out, err, code = sync_command()
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert code == 0, err
    assert f"warning: {store}: database is locked" in err
    assert not Session.objects.filter(agent="kiro").exists()
    assert sync_report().files_parsed == 1
    assert set(Session.objects.filter(agent="kiro").values_list("id", flat=True)) == STORED
