"""Crush: a project's crush.db (task sessions, failures, the latest request's tokens),
found in a tree of projects, as a data directory, or through Crush's projects.json; the sync
of database sources, bad databases and bad parts."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import orjson
import pytest
from django.test import Client

from sessions_app.models import Session
from sessions_app.parsers import crush
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

FIXTURES = AGENT_FIXTURES / "crush" / "ours"
TREE = FIXTURES / "projects_tree"
DB = TREE / "webshop" / ".crush" / "crush.db"
MAIN = "crush:5f0c7a2e-8b1d-4c3e-9f70-2a6b8c4d1e01"
TASK = "crush:a7c1d3e5-0000-4000-8000-000000000a02$$call_c3"
OTHER = "crush:5f0c7a2e-8b1d-4c3e-9f70-2a6b8c4d1e02"


def parse(path: Path):
    return parser_for("crush").parse(path, path.parent, ParseOptions())


def by_id(result) -> dict:
    return {s.id: s for s in result.sessions}


def test_a_project_database(tmp_path):
    tree = copy_tree(TREE, tmp_path / "code")  # outside this checkout: no git root above
    result = parse(tree / "webshop" / ".crush" / "crush.db")
    sessions = by_id(result)
    assert set(sessions) == {MAIN, TASK, OTHER}  # not the title generator's session
    main = sessions[MAIN]
    assert main.cwd == str(tree / "webshop") and main.project == "webshop"
    assert main.display_name == "Add pagination to /orders"
    assert (main.message_count, main.user_message_count) == (6, 1)  # tool rows paired away
    calls = {c.tool_use_id: c for m in main.messages for c in m.tool_calls}
    assert {cid: [e.status for e in c.result_events] for cid, c in calls.items()} == {
        "call_c1": ["completed"],
        "call_c2": ["errored"],  # "Exit code 1" in the output of bash
        "call_c3": ["completed"],
        "call_c4": ["errored"],  # is_error
        "call_c5": ["completed"],
    }
    assert calls["call_c3"].subagent_session_id == TASK
    assert (main.peak_context_tokens, main.total_output_tokens) == (18500, 640)
    assert main.messages[1].has_thinking
    task = sessions[TASK]
    assert (task.parent_session_id, task.relationship_type) == (MAIN, "subagent")
    other = sessions[OTHER]
    assert other.termination_status == "interrupted"  # its last turn was cancelled
    assert other.messages[1].is_compact_boundary
    assert "[Attachment: budget.png]" in other.messages[0].content


def _projects_file(global_dir: Path, projects: list[Path]) -> Path:
    global_dir.mkdir(parents=True, exist_ok=True)
    path = global_dir / "projects.json"
    path.write_text(json.dumps({"projects": [
        {"path": str(p), "data_dir": str(p / ".crush"), "last_accessed": "2026-04-14T11:00:00Z"}
        for p in projects]}, indent=2))
    return path


def test_sync_through_projects_json(agent_env, tmp_path):
    projects = copy_tree(TREE, tmp_path / "code")
    _projects_file(agent_env["crush"], [projects / "webshop", projects / "gone"])
    out, err = sync_command()
    assert "0 files with errors" in out, err
    listed = Client().get("/api/v1/sessions?agent=crush&include_children=true"
                          "&include_one_shot=true").json()["sessions"]
    assert {s["id"] for s in listed} == {MAIN, TASK, OTHER}
    assert Session.objects.get(pk=MAIN).file_path == f"{agent_env['crush']}/projects.json#" \
        "5f0c7a2e-8b1d-4c3e-9f70-2a6b8c4d1e01"
    assert sync_report().files_parsed == 0
    # a commit in the project's database (WAL, not checkpointed) is a change of projects.json
    writer = sqlite3.connect(projects / "webshop" / ".crush" / "crush.db")
    writer.execute("PRAGMA journal_mode = WAL")
    writer.execute("PRAGMA wal_autocheckpoint = 0")
    try:
        with writer:
            writer.execute("INSERT INTO messages (id, session_id, role, parts, created_at,"
                           " updated_at) VALUES ('u9', ?, 'user', ?, 1776165000, 1776165000)",
                           (OTHER.removeprefix("crush:"),
                            json.dumps([{"type": "text", "data": {"text": "go on"}}])))
        read: list[str] = []
        real = crush._session
        original = crush._session

        def spy(con, row, *args):
            read.append(row["id"])
            return real(con, row, *args)

        crush._session = spy
        try:
            report = sync_report()
        finally:
            crush._session = original
        assert read == [OTHER.removeprefix("crush:")]
        assert (report.files_parsed, report.sessions_written, report.sessions_unchanged) == (
            1, 1, 2)
    finally:
        writer.close()


def test_sync_of_a_tree_of_projects_and_of_a_data_directory(agent_env, tmp_path):
    copy_tree(TREE, agent_env["crush"])
    sync_command()
    assert Session.objects.filter(agent="crush").count() == 3
    assert Session.objects.get(pk=MAIN).project == "webshop"


def test_an_unreadable_project_database_keeps_its_sessions(agent_env, tmp_path, monkeypatch):
    monkeypatch.setattr("sessions_app.parsers.database.BUSY_TIMEOUT_S", 0.05)
    projects = copy_tree(TREE, tmp_path / "code")
    listing = _projects_file(agent_env["crush"], [projects / "webshop"])
    sync_command()
    database = projects / "webshop" / ".crush" / "crush.db"
    with locked(database):
        listing.touch()  # something changed: the listing is read again
        report = sync_report()
    assert any("database is locked" in w for w in report.warnings)
    assert report.sessions_marked_missing == 0  # unreadable is not gone
    assert Session.objects.filter(agent="crush", source_missing_at__isnull=True).count() == 3


@pytest.mark.parametrize("content", [b"SQLite format 3\x00" + b"\xee" * 3000, b"plain text"])
def test_a_corrupt_database_is_a_warning(agent_env, content):
    build_codex(agent_env["codex"])
    (agent_env["crush"] / "crush.db").write_bytes(content)
    out, err = sync_command()
    assert "0 files with errors" in out and err.count("crush.db") == 1
    assert Session.objects.filter(agent="codex").exists()


def test_a_bad_projects_json_is_a_warning(agent_env):
    (agent_env["crush"] / "projects.json").write_text('{"projects": [{"path": ')
    out, err = sync_command()
    assert "0 files with errors" in out and "projects.json is not a JSON object" in err


def _mutate_parts(tmp_path: Path, *, exhaustive: bool) -> None:
    database = tmp_path / ".crush" / "crush.db"
    database.parent.mkdir()
    database.write_bytes(DB.read_bytes())
    connection = sqlite3.connect(database)
    rows = connection.execute("SELECT id, session_id, parts FROM messages").fetchall()
    try:
        for row_id, session_id, parts in rows:
            with connection:  # only this message's session: each mutant parses that one
                connection.execute("DELETE FROM messages WHERE session_id != ?", (session_id,))
                connection.execute("DELETE FROM sessions WHERE id != ?", (session_id,))
            for where, mutant in wrong_type_mutants({"parts": orjson.loads(parts)},
                                                     exhaustive=exhaustive):
                with connection:
                    connection.execute("UPDATE messages SET parts = ? WHERE id = ?",
                                       (mutant.decode("utf-8", "surrogatepass")[9:-1], row_id))
                try:
                    check("crush", database, tmp_path)
                except Exception as exc:
                    raise AssertionError(f"message {row_id} {where}") from exc
            connection.close()
            database.write_bytes(DB.read_bytes())
            connection = sqlite3.connect(database)
    finally:
        connection.close()


@pytest.mark.parametrize("exhaustive", EXHAUSTIVE)
def test_wrong_types_in_any_part_never_raise(tmp_path, exhaustive):
    _mutate_parts(tmp_path, exhaustive=exhaustive)


@pytest.mark.parametrize("sql", [
    "UPDATE messages SET parts = 'not json' WHERE id = 'a1'",
    "UPDATE messages SET parts = '{}' WHERE id = 'u1'",
    "UPDATE messages SET parts = X'FF00', model = 3 WHERE id = 'a3'",
    "UPDATE messages SET created_at = 'soon', is_summary_message = 'x' WHERE id = 'a4'",
    "UPDATE sessions SET prompt_tokens = 99999999999999999999, title = X'00'",
    "UPDATE sessions SET created_at = 1e400, updated_at = -5",
    "UPDATE messages SET parts = '[{\"type\":\"tool_call\",\"data\":{\"id\":\"x\","
    "\"name\":\"bash\",\"input\":\"{\\\"command\\\": \\\"ls\"}}]' WHERE id = 'a4'",
])
def test_wrong_column_values_cost_at_most_their_rows(tmp_path, sql):
    database = tmp_path / "crush.db"
    database.write_bytes(DB.read_bytes())
    connection = sqlite3.connect(database)
    connection.executescript(sql)
    connection.close()
    check("crush", database, tmp_path)
    assert all("\n" not in issue for issue in parse(database).issues)
