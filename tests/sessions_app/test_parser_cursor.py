"""Cursor agent transcripts: the two shared sessions against AgentsView's golden list, both
layouts, the .jsonl winning over the .txt (also when it appears later), subagents, bad files,
and a real sync."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from sessions_app.models import Session
from sessions_app.parsers.base import ParseOptions
from sessions_app.parsers.cursor import MAX_TRANSCRIPT_BYTES, parser, project_from_dir
from tests.layouts import AGENT_FIXTURES
from tests.sessions_app.agent_sync_checks import api_session_ids, assert_synced_end_to_end
from tests.sessions_app.store_helpers import copy_tree, sync_report
from tests.sessions_app.test_parser_fuzz import check

PROJECTS = AGENT_FIXTURES / "cursor" / "synthetic" / "projects"
PROJECT = "home-dev-projects-webapp"
TXT = "0b1c2d3e-4f50-4617-8a9b-cdef01234567"
JSONL = "1c2d3e4f-5061-4728-9bac-def012345678"
SHARED_GOLDEN = Path("/work/shared/reference/golden/http/sessions-all.json")
# The clock AgentsView's golden run saw: the files' mtime
GOLDEN_CLOCK = datetime(2026, 3, 8, tzinfo=UTC)


def parse(path: Path, root: Path):
    return parser.parse(path, root, ParseOptions(max_line_bytes=1024 * 1024))


@pytest.fixture
def root(tmp_path) -> Path:
    root = copy_tree(PROJECTS, tmp_path / "projects")
    for path in root.rglob("*.*"):
        os.utime(path, (GOLDEN_CLOCK.timestamp(), GOLDEN_CLOCK.timestamp()))
    return root


def transcripts(root: Path) -> Path:
    return root / PROJECT / "agent-transcripts"


def write_lines(path: Path, *records: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    return path


def test_the_plain_text_session(root):
    result = parse(transcripts(root) / f"{TXT}.txt", root)
    assert result.issues == []
    (session,) = result.sessions
    assert session.id == f"cursor:{TXT}" and session.agent == "cursor"
    assert session.project == "webapp"
    assert session.first_message == (
        "Rename the `guard` function in src/auth/redirect.ts to `requireLogin`.")
    assert (session.message_count, session.user_message_count) == (4, 2)
    assert session.started_at == session.ended_at == GOLDEN_CLOCK  # no times: the mtime
    assert all(m.timestamp is None for m in session.messages)
    assert session.parent_session_id is None and session.relationship_type == ""
    first = session.messages[1]
    assert first.has_thinking and first.thinking_text == (
        "The user wants a rename; I should search for usages first.\nLook for all callers.")
    grep, replace = first.tool_calls
    assert (grep.tool_name, grep.category, replace.tool_name, replace.category) == (
        "Grep", "Grep", "StrReplace", "Edit")
    assert orjson.loads(grep.input_json) == {"pattern": "guard\\(", "path": "src"}
    assert replace.file_path == "src/auth/redirect.ts"
    assert grep.result_content == ("src/auth/redirect.ts:3:export function guard(req, user) {\n"
                                   "src/server.ts:12:app.use(guard)")
    assert [e.status for e in replace.result_events] == [""]  # no status: content decides
    assert first.content.endswith("`src/server.ts` still needs its import updated.")
    assert "[Grep: guard\\(]" in first.content


def test_the_json_lines_session(root):
    (session,) = parse(transcripts(root) / f"{JSONL}.jsonl", root).sessions
    assert session.id == f"cursor:{JSONL}" and session.project == "webapp"
    assert session.first_message == "Add a .nvmrc pinning Node 20"
    assert (session.message_count, session.user_message_count) == (3, 1)
    (call,) = session.messages[1].tool_calls
    assert (call.tool_use_id, call.tool_name, call.category, call.file_path) == (
        "tu_1", "Write", "Write", ".nvmrc")
    assert session.started_at == session.ended_at == GOLDEN_CLOCK


@pytest.mark.parametrize(("folder", "project"), [
    ("home-dev-projects-webapp", "webapp"),
    ("Users-fiona-Documents-mcp-cursor-analytics", "mcp_cursor_analytics"),
    ("Users-john-code-doe-Documents-app", "app"),  # a high marker before a low one
    ("home-al-src-tool", "tool"),
    ("C-Users-bob-repos-api-server", "api_server"),
    ("tmp-scratch", "tmp_scratch"),  # no home: the last two components
    ("solo", "solo"),
])
def test_project_names_from_the_encoded_folder(folder, project):
    assert project_from_dir(folder) == project


def test_nested_layout_subagents_and_the_jsonl_winning(tmp_path):
    base = tmp_path / "projects" / "Users-x-repos-shop" / "agent-transcripts"
    prompt = {"role": "user", "message": {"content": "<user_query>\nfix it\n</user_query>"}}
    answer = {"role": "assistant", "message": {"content": [{"type": "text", "text": "ok"}]}}
    nested = write_lines(base / "p1" / "p1.jsonl", prompt, answer)
    old = base / "p1" / "p1.txt"
    old.write_text("user:\nold prompt\n\nassistant:\nold answer\n")
    child = write_lines(base / "p1" / "subagents" / "c1.jsonl", prompt, answer)
    root = tmp_path / "projects"
    for path in (nested, old, child):
        assert parser.matches(path.relative_to(root).parts)
    assert not parser.matches(("Users-x-repos-shop", "agent-transcripts", "p1", "other.jsonl"))
    assert not parser.matches(("Users-x-repos-shop", "notes", "p1.txt"))

    # both forms: the .txt archives the session (it came first), read from the .jsonl
    (session,) = parse(old, root).sessions
    assert session.id == "cursor:p1" and session.project == "shop"
    assert session.first_message == "fix it" and session.source_version == "jsonl"
    assert parse(nested, root).sessions == []
    assert set(parser.companion_paths(nested)) >= {old}
    (sub,) = parse(child, root).sessions
    assert (sub.id, sub.parent_session_id, sub.relationship_type) == (
        "cursor:c1", "cursor:p1", "subagent")
    assert parser.root_of(child) == root and parser.root_of(nested) == root


def test_tool_results_and_failures_in_json_lines(tmp_path):
    path = write_lines(
        tmp_path / "p" / "agent-transcripts" / "s.jsonl",
        {"role": "user", "message": {"content": [{"type": "text", "text": "run tests"}]}},
        {"role": "assistant", "message": {"content": [
            {"type": "thinking", "thinking": "run them"},
            {"type": "tool_use", "id": "a", "name": "Shell", "input": {"command": "npm test"}},
            {"type": "tool_use", "id": "b", "name": "Read", "input": {"path": "x.ts"}}]}},
        {"role": "user", "message": {"content": [
            {"type": "tool_result", "tool_use_id": "a", "is_error": True,
             "content": [{"type": "text", "text": "1 failing"}]},
            {"type": "tool_result", "tool_use_id": "b", "content": "text"}]}},
        {"role": "assistant", "message": {"content": "Tests fail."}},
    )
    (session,) = parse(path, tmp_path).sessions
    # the results' carrier is not a message; the thinking is
    assert [m.role for m in session.messages] == ["user", "assistant", "assistant"]
    shell, read = session.messages[1].tool_calls
    assert shell.category == "Bash" and [e.status for e in shell.result_events] == ["errored"]
    assert shell.result_content == "1 failing"
    assert read.result_content is None and read.result_content_length == 4  # Read: not kept
    assert session.messages[1].has_thinking and "[Bash]\n$ npm test" in session.messages[1].content


@pytest.mark.parametrize("data", [
    b"", b"\x00\x01\x02\xff" * 50, b"no markers here\njust text\n", b"user:\n",
    b"user:\n\xff\xfe<user_query>bad \x00 bytes</user_query>\nassistant:\n[Tool call]\n",
    b"assistant:\n[Tool result] Grep\n  orphan\n[Thinking]\n",
])
def test_odd_text_files(tmp_path, data):
    path = tmp_path / "p" / "agent-transcripts" / "s.txt"
    path.parent.mkdir(parents=True)
    path.write_bytes(data)
    result = parse(path, tmp_path)
    for session in result.sessions:
        assert session.id == "cursor:s"
    check("cursor", path, tmp_path)


def test_bad_json_lines_cost_only_themselves(tmp_path):
    good = {"role": "user", "message": {"content": "hello"}}
    path = tmp_path / "p" / "agent-transcripts" / "s.jsonl"
    path.parent.mkdir(parents=True)
    path.write_bytes(
        orjson.dumps(good) + b"\n" + b"{broken\n" + b'{"role": 5, "message": []}\n'
        + b'{"role": "assistant", "message": {"content": [{"type": "tool_use", "name": 7,'
        b' "input": "x"}, 3, {"type": "text", "text": ["no"]}]}}\n'
        + b'{"role": "assistant", "message": {"content": "cut')
    result = parse(path, tmp_path)
    assert result.malformed_lines == 2 and result.is_truncated
    assert any("line 2" in issue for issue in result.issues)
    (session,) = result.sessions
    assert session.first_message == "hello" and session.termination_status == "truncated"
    assert session.messages[1].tool_calls[0].tool_name == "unknown"
    check("cursor", path, tmp_path)


def test_a_transcript_over_the_size_limit_is_skipped(tmp_path):
    path = tmp_path / "p" / "agent-transcripts" / "big.txt"
    path.parent.mkdir(parents=True)
    with path.open("wb") as fh:
        fh.write(b"user:\nhi\n")
        fh.truncate(MAX_TRANSCRIPT_BYTES + 10)
    result = parse(path, tmp_path)
    assert result.sessions == [] and any("10 MiB" in i for i in result.issues)


def test_a_symlinked_project_folder_is_rejected(root, tmp_path):
    elsewhere = copy_tree(PROJECTS / PROJECT, tmp_path / "elsewhere")
    (root / "linked-project").symlink_to(elsewhere)
    path = root / "linked-project" / "agent-transcripts" / f"{TXT}.txt"
    result = parse(path, root)
    assert result.sessions == [] and any("symlink" in i for i in result.issues)


@pytest.mark.django_db
def test_sync_matches_agentsviews_golden_list(agent_env):
    root = copy_tree(PROJECTS, agent_env["cursor"])
    for path in root.rglob("*.*"):
        os.utime(path, (GOLDEN_CLOCK.timestamp(), GOLDEN_CLOCK.timestamp()))
    ids = {f"cursor:{TXT}", f"cursor:{JSONL}"}
    assert_synced_end_to_end("cursor", ids)
    assert api_session_ids("claude") == set()
    if not SHARED_GOLDEN.is_file():
        return
    from django.test import Client

    listed = {s["id"]: s for s in Client().get(
        "/api/v1/sessions?agent=cursor&include_one_shot=1", HTTP_HOST="127.0.0.1:8080",
    ).json()["sessions"]}
    keys = ("project", "agent", "first_message", "started_at", "ended_at", "message_count",
            "user_message_count", "outcome", "health_grade", "health_score",
            "ended_with_role", "tool_failure_signal_count")
    for golden in json.loads(SHARED_GOLDEN.read_text())["sessions"]:
        if golden["agent"] == "cursor":
            ours = listed[golden["id"]]
            assert {k: ours.get(k) for k in keys} == {k: golden.get(k) for k in keys}


@pytest.mark.django_db
def test_a_jsonl_written_after_the_txt_replaces_it_in_place(agent_env):
    base = agent_env["cursor"] / "home-me-code-app" / "agent-transcripts"
    base.mkdir(parents=True)
    old = base / "s1.txt"
    old.write_text("user:\n<user_query>first</user_query>\n\nassistant:\nanswer\n")
    first = sync_report()
    assert Session.objects.get(pk="cursor:s1").first_message == "first"
    assert first.files_parsed == 1
    write_lines(base / "s1.jsonl",
                {"role": "user", "message": {"content": "first"}},
                {"role": "assistant", "message": {"content": "answer"}},
                {"role": "user", "message": {"content": "second"}})
    again = sync_report()
    assert again.conflicts == 0 and not again.errors, again.warnings
    stored = Session.objects.get(pk="cursor:s1")
    assert stored.user_message_count == 2 and stored.file_path == str(old)
    assert sync_report().files_parsed == 0
    old.unlink()  # the .jsonl alone: it archives the session from now on
    third = sync_report()
    assert third.conflicts == 0
    stored = Session.objects.get(pk="cursor:s1")
    assert stored.file_path == str(base / "s1.jsonl") and stored.user_message_count == 2


def test_text_form_edge_cases(tmp_path):
    """CRLF line ends, role lines with whitespace around them (a Unicode space too), a body's
    indentation taken from its least indented line, key lines with continuations, an
    indented marker ending a body, and a JSON argument (what the original per-line reading
    gave)."""
    text = (
        "preamble\r\n user: \r\n<user_query>\r\nhi\r\n</user_query>\r\n\u3000assistant:\t\r\n"
        "Let me look.\r\n[Tool call] Shell\r\n    command: ls\r\n      -la\r\n"
        "    description=list\r\n"
        "[Tool result] Shell\r\n   a\r\n\r\n     b\r\n"
        "[Tool call] Shell\r\n    command: ls\r\n   description=list\r\n"
        "  [Thinking] first\r\n\t second\r\nDone.\r\n"
        "[Tool call] Grep\r\n  {\"pattern\": \"x\"}\r\n")
    path = tmp_path / "p" / "agent-transcripts" / "s.txt"
    path.parent.mkdir(parents=True)
    path.write_bytes(text.encode())
    result = parse(path, tmp_path)
    assert result.records == 2 and result.issues == []
    user, reply = result.sessions[0].messages
    assert (user.role, user.content) == ("user", "hi")
    assert reply.content == ("Let me look.\n[Bash]\n$ ls\n[Bash]\n[Thinking]\nfirst\nsecond\n"
                             "[/Thinking]\nDone.\n[Grep: x]")
    keyed, raw, grep = reply.tool_calls
    assert orjson.loads(keyed.input_json) == {"command": "ls\n-la", "description": "list"}
    assert keyed.result_content == "a\n\n  b"
    # the least indented line sets the cut: "command" is then indented, not a key line
    assert orjson.loads(raw.input_json) == {"input": "command: ls\ndescription=list"}
    assert raw.result_content is None
    assert orjson.loads(grep.input_json) == {"pattern": "x"}
    check("cursor", path, tmp_path)
