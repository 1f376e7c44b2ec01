"""OpenCode: its SQLite database (the golden sessions, our richer one) and its legacy JSON
tree; database change detection (one session rewritten, a WAL-mode commit noticed); bad
databases and bad JSON costing only what they break."""

from __future__ import annotations

import json
import os
import sqlite3
from io import StringIO
from pathlib import Path

import orjson
import pytest
from django.core.management import call_command
from django.test import Client

from sessions_app.models import Session, SourceFile
from sessions_app.parsers import opencode
from sessions_app.parsers.base import ParseOptions
from sessions_app.parsers.registry import parser_for
from tests.layouts import AGENT_FIXTURES
from tests.sessions_app.store_helpers import (
    EXHAUSTIVE,
    copy_tree,
    locked,
    sync_command,
    sync_report,
    wrong_type_mutants,
)
from tests.sessions_app.test_parser_fuzz import check

FIXTURES = AGENT_FIXTURES / "opencode"
GOLDEN_DB = FIXTURES / "synthetic" / "opencode_dir" / "opencode.db"
RICH_DB = FIXTURES / "ours" / "opencode_dir" / "opencode.db"
LEGACY = FIXTURES / "ours" / "legacy_dir"
LEGACY_SESSION = (LEGACY / "storage" / "session" / "4b0ea68d7af9a6031a7ffda7ad66e0cb4f2ff9b6"
                  / "ses_legacy01.json")
SHARED_GOLDEN = Path("/work/shared/reference/golden/http")
GOLDEN_SESSIONS = json.loads((SHARED_GOLDEN / "sessions-all.json").read_text()) \
    if SHARED_GOLDEN.is_dir() else None
OPTIONS = ParseOptions()

pytestmark = pytest.mark.django_db


def parse(path: Path, known=None):
    if known is None:
        return parser_for("opencode").parse(path, path.parent, OPTIONS)
    return parser_for("opencode").parse_changed(path, path.parent, known, OPTIONS)


def by_id(result) -> dict:
    return {s.id: s for s in result.sessions}


# --- what the fixtures parse to ---------------------------------------------------------------

def test_the_golden_database_parses_to_agentsviews_sessions():
    sessions = by_id(parse(GOLDEN_DB))
    main, child = sessions["opencode:ses_main01"], sessions["opencode:ses_child01"]
    assert (main.project, main.cwd, main.display_name) == (
        "cli_tool", "/home/dev/projects/cli-tool", "Add --json output flag")
    assert main.first_message == "Add a --json flag to the list command in src/cli.py"
    assert (main.message_count, main.user_message_count) == (2, 1)
    assert (main.total_output_tokens, main.peak_context_tokens) == (300, 3000)
    assert main.started_at.isoformat() == "2026-03-07T08:00:00+00:00"
    assert main.ended_at.isoformat() == "2026-03-07T08:00:30+00:00"
    assert main.parent_session_id is None
    assert (child.parent_session_id, child.relationship_type) == ("opencode:ses_main01",
                                                                 "subagent")
    assert child.first_message == "Locate where list output is printed."
    assert not child.has_total_output_tokens and not child.has_peak_context_tokens
    reply = main.messages[1]
    assert reply.has_thinking and reply.thinking_text == "Find the list command implementation."
    assert reply.model == "gpt-5"
    assert [(c.tool_use_id, c.tool_name, c.category) for c in reply.tool_calls] == [
        ("call_oc1", "read", "Read"), ("call_oc2", "edit", "Edit"), ("call_oc3", "bash", "Bash")]
    assert orjson.loads(reply.tool_calls[0].input_json) == {
        "filePath": "/home/dev/projects/cli-tool/src/cli.py"}
    assert reply.tool_calls[2].result_content == "3 passed in 0.12s\n"
    assert [e.status for c in reply.tool_calls for e in c.result_events] == ["completed"] * 3


def test_our_database_records_failures_subagents_and_tokens():
    sessions = by_id(parse(RICH_DB))
    assert set(sessions) == {"opencode:ses_rich01", "opencode:ses_rich02", "opencode:ses_rich03"}
    rich = sessions["opencode:ses_rich01"]
    assert rich.termination_status == "interrupted"  # its last turn was aborted
    assert rich.user_message_count == 2
    # the synthetic part (a file OpenCode read for the prompt) is not what the user typed
    assert rich.first_message == ("The retry test in tests/test_retry.py fails intermittently;"
                                  " find out why and fix it.")
    calls = {c.tool_use_id: c for m in rich.messages for c in m.tool_calls}
    status = {cid: [e.status for e in c.result_events] for cid, c in calls.items()}
    assert status == {
        "toolu_oc_r1": ["errored"],  # bash, exit 1
        "toolu_oc_r2": ["errored"],  # the "invalid" tool: a call to a tool that is not there
        "toolu_oc_r3": ["errored"],  # state "error"
        "toolu_oc_r4": ["completed"], "toolu_oc_r5": ["completed"], "toolu_oc_r6": ["completed"],
    }
    assert calls["toolu_oc_r4"].subagent_session_id == "opencode:ses_rich02"
    assert calls["toolu_oc_r4"].category == "Task"
    assert calls["toolu_oc_r3"].file_path.endswith("tests/conftest.py")
    # tokens from the step-finish part when the message has none
    assert rich.messages[2].output_tokens == 230 and rich.messages[2].context_tokens == 9520
    child = sessions["opencode:ses_rich02"]
    assert child.parent_session_id == "opencode:ses_rich01"
    assert child.termination_status == "tool_call_pending"  # its grep is still running
    scratch = sessions["opencode:ses_rich03"]
    assert scratch.display_name is None  # "New session - <time>" is a placeholder
    assert (scratch.cwd, scratch.project) == ("/home/dev/scratch", "scratch")  # not "/"
    summary = scratch.messages[2]
    assert summary.is_compact_boundary and summary.is_system


def test_a_session_without_messages_is_no_session_but_is_known():
    result = parse(RICH_DB)
    assert "opencode:ses_empty1" in result.markers
    assert "opencode:ses_empty1" not in by_id(result)


def test_the_legacy_json_tree():
    result = parse(LEGACY_SESSION)
    assert result.markers is None and result.issues == []
    (session,) = result.sessions
    assert session.id == "opencode:ses_legacy01"
    assert (session.project, session.display_name) == ("webapp", "Rename config loader")
    assert session.first_message.startswith("Rename load_cfg to load_config")
    assert session.message_count == 2
    assert [c.tool_name for c in session.messages[1].tool_calls] == ["grep", "write"]
    assert session.peak_context_tokens == 9 + 11000 + 2100


def test_only_the_sessions_whose_marker_moved_are_read():
    everything = parse(RICH_DB)
    known = dict(everything.markers)
    known["opencode:ses_rich02"] = "stale"
    again = parse(RICH_DB, known)
    assert [s.id for s in again.sessions] == ["opencode:ses_rich02"]
    assert again.markers == everything.markers


# --- the sync ---------------------------------------------------------------------------------

@pytest.fixture
def root(agent_env):
    """The agent's root: the golden database, ours beside it would clash, so ours goes in
    the legacy tree's root (one root holds one opencode.db)."""
    return copy_tree(GOLDEN_DB.parent, agent_env["opencode"])


def _api(path: str) -> dict:
    response = Client().get(path)
    assert response.status_code == 200, response.content
    return response.json()


def test_sync_archives_the_sessions_and_the_api_selects_them_by_agent(root):
    out, err = sync_command()
    assert "0 files with errors" in out, err
    listed = _api("/api/v1/sessions?agent=opencode&include_children=true"
                  "&include_one_shot=true")["sessions"]
    assert {s["id"] for s in listed} == {"opencode:ses_main01", "opencode:ses_child01"}
    assert all(s["agent"] == "opencode" for s in listed)
    assert _api("/api/v1/sessions?agent=codex")["sessions"] == []
    if GOLDEN_SESSIONS is not None:
        golden = {s["id"]: s for s in GOLDEN_SESSIONS["sessions"] if s["agent"] == "opencode"}
        keys = ("project", "first_message", "display_name", "started_at", "ended_at",
                "message_count", "user_message_count", "total_output_tokens",
                "peak_context_tokens", "has_total_output_tokens", "has_peak_context_tokens",
                "cwd", "outcome", "health_grade")
        for session in listed:
            expected = golden[session["id"]]
            assert {k: session.get(k) for k in keys} == {k: expected.get(k) for k in keys}
            assert session.get("parent_session_id") == expected.get("parent_session_id")
    stored = Session.objects.get(pk="opencode:ses_main01")
    assert stored.file_path == f"{root / 'opencode.db'}#ses_main01"
    assert len(stored.file_hash) == 32  # its change marker


def test_the_markdown_export_matches_agentsviews(root):
    sync_command()
    body = Client().get("/api/v1/sessions/opencode:ses_main01/md").content.decode()
    golden = (SHARED_GOLDEN / "export-md-opencode.body")
    if not golden.is_file():
        pytest.skip("the shared goldens are not on this machine")
    # Two differences, both deliberate: tool inputs are stored as compact JSON (AgentsView
    # keeps OpenCode's own spacing), and tool outputs are kept (AgentsView drops them).
    expected = golden.read_text().replace('": "', '":"').replace('", "', '","')
    ours = "\n".join(line for line in body.split("\n") if "tool_result" not in line
                     and line not in ("3 passed in 0.12s", "]]></tool_result>", ""))
    assert ours == "\n".join(line for line in expected.split("\n") if line)


def test_a_second_sync_reads_nothing(root):
    sync_report()
    again = sync_report()
    assert (again.files_parsed, again.sessions_written, again.sessions_unchanged) == (0, 0, 2)


def _add_message(database: Path, session: str, text: str, ms: int) -> None:
    connection = sqlite3.connect(database)
    with connection:
        connection.execute("INSERT INTO message VALUES (?, ?, ?, ?, ?)",
                           (f"msg_{ms}", session, ms, ms,
                            json.dumps({"role": "user", "time": {"created": ms}})))
        connection.execute("INSERT INTO part VALUES (?, ?, ?, ?, ?, ?)",
                           (f"prt_{ms}", f"msg_{ms}", session, ms, ms,
                            json.dumps({"type": "text", "text": text})))
        connection.execute("UPDATE session SET time_updated = ? WHERE id = ?", (ms, session))
    connection.close()


def test_a_change_to_one_session_rewrites_only_that_session(root, monkeypatch):
    sync_report()
    before = dict(Session.objects.values_list("id", "local_modified_at"))
    _add_message(root / "opencode.db", "ses_child01", "And the JSON path too.", 1772870413000)
    read: list[str] = []
    real = opencode._rows_of
    monkeypatch.setattr(opencode, "_rows_of",
                        lambda con, row, *a: read.append(row["id"]) or real(con, row, *a))
    report = sync_report()
    assert read == ["ses_child01"]  # the other session of the database is not re-read
    assert (report.files_parsed, report.sessions_written, report.sessions_unchanged) == (1, 1, 1)
    after = dict(Session.objects.values_list("id", "local_modified_at"))
    assert {sid for sid in after if after[sid] != before[sid]} == {"opencode:ses_child01"}
    assert Session.objects.get(pk="opencode:ses_child01").message_count == 3
    assert sync_report().files_parsed == 0


def test_a_commit_in_wal_mode_is_noticed(root):
    database = root / "opencode.db"
    writer = sqlite3.connect(database)  # an OpenCode running: WAL, never checkpointed here
    writer.execute("PRAGMA journal_mode = WAL")
    writer.execute("PRAGMA wal_autocheckpoint = 0")
    try:
        sync_report()
        assert sync_report().files_parsed == 0  # our read-only reads change nothing
        main_file = database.stat()
        with writer:
            writer.execute("UPDATE session SET title = 'Add --json and --csv flags',"
                           " time_updated = 1772870499000 WHERE id = 'ses_main01'")
        assert (database.stat().st_mtime_ns, database.stat().st_size) == (
            main_file.st_mtime_ns, main_file.st_size)  # only the -wal changed
        report = sync_report()
        assert (report.files_parsed, report.sessions_written) == (1, 1)
        assert Session.objects.get(pk="opencode:ses_main01").display_name == \
            "Add --json and --csv flags"
    finally:
        writer.close()


def test_a_session_deleted_from_the_database_is_kept_and_marked(root):
    sync_report()
    connection = sqlite3.connect(root / "opencode.db")
    with connection:
        connection.execute("DELETE FROM part WHERE session_id = 'ses_child01'")
        connection.execute("DELETE FROM message WHERE session_id = 'ses_child01'")
        connection.execute("DELETE FROM session WHERE id = 'ses_child01'")
    connection.close()
    report = sync_report()
    assert report.sessions_marked_missing == 1
    child = Session.objects.get(pk="opencode:ses_child01")
    assert child.source_missing_at is not None and child.message_count == 2
    assert Session.objects.get(pk="opencode:ses_main01").source_missing_at is None
    assert SourceFile.objects.get(path=str(root / "opencode.db")).session_ids == [
        "opencode:ses_main01"]


def test_a_parser_version_bump_rereads_every_session(root, monkeypatch):
    sync_report()
    monkeypatch.setattr(parser_for("opencode"), "version", parser_for("opencode").version + 1)
    report = sync_report()
    assert report.files_parsed == 1 and report.sessions_unchanged == 2  # same rows again


def test_full_sync_rereads_every_session(root):
    sync_report()
    _, err = sync_command("--full")
    assert err == ""
    assert Session.objects.filter(agent="opencode").count() == 2


def test_session_sync_by_id_finds_the_database(root):
    sync_command()
    out = StringIO()
    call_command("session", "sync", "opencode:ses_child01", "--format", "json", stdout=out,
                 stderr=StringIO())
    assert orjson.loads(out.getvalue())["id"] == "opencode:ses_child01"


def test_the_legacy_tree_and_a_database_under_one_root(agent_env):
    copy_tree(LEGACY, agent_env["opencode"])
    copy_tree(RICH_DB.parent, agent_env["opencode"])
    out, err = sync_command()
    assert "0 files with errors" in out, err
    assert set(Session.objects.values_list("id", flat=True)) == {
        "opencode:ses_legacy01", "opencode:ses_rich01", "opencode:ses_rich02",
        "opencode:ses_rich03"}
    assert sync_report().files_parsed == 0
    # a new message in the legacy tree: its directory changes, the session file need not
    message = (agent_env["opencode"] / "storage" / "message" / "ses_legacy01"
               / "msg_l3.json")
    message.write_text(json.dumps({"id": "msg_l3", "role": "user", "sessionID": "ses_legacy01",
                                   "time": {"created": 1756720900000}}))
    parts = agent_env["opencode"] / "storage" / "part" / "msg_l3"
    parts.mkdir()
    (parts / "prt_l3a.json").write_text(json.dumps({"id": "prt_l3a", "type": "text",
                                                   "text": "Also rename the tests."}))
    report = sync_report()
    assert (report.files_parsed, report.sessions_written) == (1, 1)
    assert Session.objects.get(pk="opencode:ses_legacy01").message_count == 3


# --- bad input --------------------------------------------------------------------------------

def _other_agent_session(agent_env) -> str:
    """A Codex session beside the bad OpenCode file: it must be archived whatever happens."""
    from tests.layouts import build_codex
    build_codex(agent_env["codex"])
    return "codex:0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"


@pytest.mark.parametrize("content", [
    b"SQLite format 3\x00" + b"\x07" * 4000,  # the header, then garbage
    os.urandom(8192),
    b"this is a text file, not a database\n",
])
def test_a_corrupt_database_is_one_warning_and_stops_nothing(agent_env, content):
    other = _other_agent_session(agent_env)
    (agent_env["opencode"] / "opencode.db").write_bytes(content)
    out, err = sync_command()
    assert "0 files with errors" in out
    warnings = [line for line in err.splitlines() if "opencode.db" in line]
    assert len(warnings) == 1 and "not read this time" in warnings[0]
    assert Session.objects.filter(pk=other).exists()


def test_an_empty_database_file_is_a_warning(agent_env):
    (agent_env["opencode"] / "opencode.db").write_bytes(b"")
    out, err = sync_command()
    assert "0 files with errors" in out
    assert "no OpenCode session, message and part tables" in err


def test_a_locked_database_is_retried_at_the_next_sync(root, agent_env, monkeypatch):
    monkeypatch.setattr("sessions_app.parsers.database.BUSY_TIMEOUT_S", 0.05)
    other = _other_agent_session(agent_env)
    with locked(root / "opencode.db"):
        out, err = sync_command()
    assert "0 files with errors" in out
    assert "database is locked" in err and err.count("opencode.db") == 1
    assert Session.objects.filter(pk=other).exists()
    assert not Session.objects.filter(agent="opencode").exists()
    sync_command()  # unlocked: archived now
    assert Session.objects.filter(agent="opencode").count() == 2


def test_the_database_is_never_written(root):
    database = root / "opencode.db"
    before = (database.read_bytes(), sorted(p.name for p in root.iterdir()))
    sync_report()
    sync_command("--full")
    assert (database.read_bytes(), sorted(p.name for p in root.iterdir())) == before


def _rows(database: Path, table: str) -> list[tuple]:
    connection = sqlite3.connect(database)
    rows = connection.execute(f"SELECT id, data FROM {table}").fetchall()
    connection.close()
    return rows


@pytest.mark.parametrize("exhaustive", EXHAUSTIVE)
@pytest.mark.parametrize("table", ["message", "part"])
def test_wrong_types_in_any_json_field_never_raise(tmp_path, table, exhaustive):
    database = tmp_path / "opencode.db"
    for row_id, data in _rows(GOLDEN_DB, table):
        for where, mutant in wrong_type_mutants(orjson.loads(data), exhaustive=exhaustive):
            database.write_bytes(GOLDEN_DB.read_bytes())
            connection = sqlite3.connect(database)
            with connection:
                connection.execute(f"UPDATE {table} SET data = ? WHERE id = ?",
                                   (mutant.decode("utf-8", "surrogatepass"), row_id))
            connection.close()
            try:
                check("opencode", database, tmp_path)
            except Exception as exc:
                raise AssertionError(f"{table} {row_id} {where}: {mutant[:80]!r}") from exc


@pytest.mark.parametrize("sql", [
    "UPDATE message SET data = 'not json' WHERE id = 'msg_a1'",
    "UPDATE part SET data = '{\"type\": \"text\", \"text\": \"cut' WHERE id = 'prt_u1'",
    "UPDATE part SET data = X'FFFE00' WHERE id = 'prt_a1x'",
    "UPDATE part SET data = 42 WHERE id = 'prt_a1t'",
    "UPDATE session SET time_created = 'yesterday', time_updated = 1e400 WHERE id = 'ses_main01'",
    "UPDATE session SET id = NULL WHERE id = 'ses_child01'",
    "UPDATE message SET time_created = 'x' WHERE id = 'msg_u1'",
    "UPDATE session SET parent_id = 7, title = X'00FF' WHERE id = 'ses_child01'",
    "DROP TABLE project",
    # an older schema: parts found through their messages
    "DROP INDEX part_session_idx; ALTER TABLE part DROP COLUMN session_id",
])
def test_wrong_column_values_cost_at_most_their_rows(tmp_path, sql):
    database = tmp_path / "opencode.db"
    database.write_bytes(GOLDEN_DB.read_bytes())
    connection = sqlite3.connect(database)
    connection.executescript(sql)
    connection.close()
    check("opencode", database, tmp_path)
    result = parse(database)
    assert all("\n" not in issue for issue in result.issues)
    if "session" not in sql:
        assert "opencode:ses_main01" in by_id(result)


def test_a_bad_message_row_is_skipped_with_a_warning(tmp_path):
    database = tmp_path / "opencode.db"
    database.write_bytes(GOLDEN_DB.read_bytes())
    connection = sqlite3.connect(database)
    with connection:
        connection.execute("UPDATE part SET data = 'not json' WHERE id = 'prt_a1x'")
    connection.close()
    result = parse(database)
    assert result.issues == ["session ses_main01, part prt_a1x: data is not a JSON object;"
                             " skipped"]
    main = by_id(result)["opencode:ses_main01"]
    assert "Added `--json`" not in main.messages[1].content
    assert len(main.messages[1].tool_calls) == 3


def test_a_legacy_document_cut_in_half(agent_env):
    tree = copy_tree(LEGACY, agent_env["opencode"])
    session_file = tree / LEGACY_SESSION.relative_to(LEGACY)
    message_file = tree / "storage" / "message" / "ses_legacy01" / "msg_l2.json"
    message_file.write_bytes(message_file.read_bytes()[:120])
    out, err = sync_command()
    assert "0 files with errors" in out
    assert "message/ses_legacy01/msg_l2.json: not a JSON object (invalid or cut short)" in err
    assert Session.objects.get(pk="opencode:ses_legacy01").message_count == 1

    session_file.write_bytes(session_file.read_bytes()[:60])
    report = sync_report()  # the session document itself unreadable: that file's error
    assert f"{session_file}: not a JSON object (invalid or cut short); skipped" in \
        report.warnings
    assert [e.split(": ", 1)[0] for e in report.errors] == [str(session_file)]
    # the archived copy stays as it was
    assert Session.objects.get(pk="opencode:ses_legacy01").message_count == 1


@pytest.mark.parametrize("exhaustive", EXHAUSTIVE)
def test_legacy_documents_with_wrong_types_never_raise(tmp_path, exhaustive):
    tree = copy_tree(LEGACY, tmp_path / "tree")
    session_file = tree / LEGACY_SESSION.relative_to(LEGACY)
    for source in sorted((LEGACY / "storage").rglob("*.json")):
        target = tree / source.relative_to(LEGACY)
        for where, mutant in wrong_type_mutants(orjson.loads(source.read_bytes()),
                                                exhaustive=exhaustive):
            target.write_bytes(mutant)
            try:
                check("opencode", session_file, tree)
            except Exception as exc:
                raise AssertionError(f"{target} {where}: {mutant[:80]!r}") from exc
        target.write_bytes(source.read_bytes())
