"""Gemini CLI: every fixture parses to what AgentsView v0.46.1 made of it, the project files
name the projects, subagents link to their parent, bad files cost only their bad parts, and a
sync archives the sessions under their agent."""

from __future__ import annotations

import hashlib
import shutil
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path

import orjson
import pytest
from django.core.management import call_command

from agentsview.config import load_config
from sessions_app.models import Session, ToolCall
from sessions_app.parsers.base import ParseOptions
from sessions_app.parsers.jsonl import FileReadError
from sessions_app.parsers.registry import parser_for
from sessions_app.services.discovery import discover
from sessions_app.services.sync import agent_of, run_sync
from tests.layouts import AGENT_FIXTURES
from tests.sessions_app.api_fixtures import Api

FIXTURES = AGENT_FIXTURES / "gemini"
REFERENCE = Path(__file__).resolve().parents[1] / "fixtures" / "golden" / "session-list-all.json"
JSONL_ID = "gemini:4c1d2e3f-5a6b-4c7d-8e9f-0a1b2c3d4e5f"
WEBAPP_HASH = "608522968388256661c35357bfd784a80b626639e0beb631d838209b44ab687f"
# The reference run kept the repository's documents under a path hash no project file names.
UNKNOWN_DIR = "ab" * 32
REPO_FILES = ("standard_session.json", "system_messages.json", "thinking_only.json",
              "tool_calls.json", "tool_calls_with_results.json")
parser = parser_for("gemini")


def build_gemini(root: Path) -> Path:
    """The fixtures as Gemini lays them out under ~/.gemini."""
    shutil.copytree(FIXTURES / "synthetic" / "gemini_dir", root, dirs_exist_ok=True)
    chats = root / "tmp" / UNKNOWN_DIR / "chats"
    chats.mkdir(parents=True, exist_ok=True)
    for name in REPO_FILES:
        shutil.copyfile(FIXTURES / "repo" / name, chats / f"session-{name}")
    for path in [root, *root.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return root


def parse_tree(root: Path) -> dict:
    found = discover({"gemini": [root]})
    assert found.issues == []
    sessions = {}
    for f in found.files:
        for session in parser.parse(f.path, f.root).sessions:
            assert session.id not in sessions
            sessions[session.id] = session
    return sessions


def write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def lines(*records: dict) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in records)


def chat_file(root: Path, name: str = "session-2026-01-01T10-00-abcd1234.jsonl",
              project_dir: str = UNKNOWN_DIR) -> Path:
    return root / "tmp" / project_dir / "chats" / name


HEADER = {"sessionId": "s-1", "projectHash": UNKNOWN_DIR, "startTime": "2026-01-01T10:00:00Z",
          "lastUpdated": "2026-01-01T10:00:00Z"}


def user(text: str, mid: str = "u1", ts: str = "2026-01-01T10:00:01Z") -> dict:
    return {"id": mid, "timestamp": ts, "type": "user", "content": [{"text": text}]}


def gemini(text: str, mid: str = "a1", ts: str = "2026-01-01T10:00:05Z", **extra) -> dict:
    return {"id": mid, "timestamp": ts, "type": "gemini", "content": text, **extra}


# --- the reference --------------------------------------------------------------------------


def _reference() -> list[dict]:
    return [s for s in orjson.loads(REFERENCE.read_bytes())["sessions"]
            if s["agent"] == "gemini"]


@pytest.fixture(scope="module")
def parsed(tmp_path_factory) -> dict:
    return parse_tree(build_gemini(tmp_path_factory.mktemp("gemini")))


def test_every_reference_session_is_found_and_nothing_else(parsed):
    # system_messages.json holds only info/error/warning records: no session
    assert set(parsed) == {s["id"] for s in _reference()}


@pytest.mark.parametrize("expected", _reference(), ids=lambda s: s["id"])
def test_session_fields_match_the_reference(parsed, expected):
    ours = parsed[expected["id"]]
    assert ours.agent == "gemini"
    assert ours.project == expected["project"]
    assert ours.message_count == expected["message_count"]
    assert ours.user_message_count == expected["user_message_count"]
    assert ours.first_message == expected["first_message"]
    assert ours.parent_session_id == expected.get("parent_session_id")
    assert ours.relationship_type == expected.get("relationship_type", "")
    assert ours.started_at == datetime.fromisoformat(expected["started_at"])
    assert ours.ended_at == datetime.fromisoformat(expected["ended_at"])
    assert ours.total_output_tokens == expected["total_output_tokens"]
    assert ours.peak_context_tokens == expected["peak_context_tokens"]
    assert ours.has_total_output_tokens == expected["has_total_output_tokens"]
    assert ours.has_peak_context_tokens == expected["has_peak_context_tokens"]


def test_jsonl_session_messages_tools_and_token_deltas(parsed):
    session = parsed[JSONL_ID]
    # deviation from the reference, which leaves it empty: the path projects.json names
    assert session.cwd == "/home/dev/projects/webapp"
    assert session.termination_status == "awaiting_user"
    first, tools, answer = session.messages
    assert [m.ordinal for m in session.messages] == [0, 1, 2]
    assert first.role == "user" and first.timestamp == datetime.fromisoformat(
        "2026-03-05T08:00:01+00:00")
    assert tools.content == (
        "[Thinking]\nExploring\nI should list the directory first.\n[/Thinking]\n\n"
        "[List: src/auth]\n\n[Read: src/auth/redirect.ts]"
    )
    assert tools.thinking_text == "Exploring\nI should list the directory first."
    assert tools.has_thinking and tools.has_tool_use and tools.model == "gemini-2.5-pro"
    listing, read = tools.tool_calls
    assert (listing.tool_name, listing.category, listing.call_index) == (
        "list_directory", "Read", 0)
    assert orjson.loads(listing.input_json) == {"dir_path": "src/auth"}
    assert (read.tool_use_id, read.file_path) == ("read_file-2", "src/auth/redirect.ts")
    # Read results are not stored (re-readable file dumps), only their length
    assert read.result_content is None and read.result_content_length == 46
    assert [(e.source, e.status) for e in read.result_events] == [("tool_result", "")]
    # cumulative counts become deltas: 4100/0 then 4600/4000
    assert orjson.loads(tools.token_usage) == {
        "input_tokens": 4100, "output_tokens": 130, "cache_read_input_tokens": 0}
    assert (tools.context_tokens, tools.output_tokens) == (4100, 130)
    assert orjson.loads(answer.token_usage) == {
        "input_tokens": 500, "output_tokens": 60, "cache_read_input_tokens": 4000}
    assert (answer.context_tokens, answer.output_tokens) == (4500, 60)


def test_a_count_that_drops_restarts_the_deltas(parsed):
    # standard_session: cached 100 then 50, so the second cached delta is 50, not -50
    _, first, _, second = parsed["gemini:sess-uuid-1"].messages
    assert first.context_tokens == 1600 and first.output_tokens == 250
    assert orjson.loads(second.token_usage)["cache_read_input_tokens"] == 50
    assert second.context_tokens == 550 and second.output_tokens == 400


def test_inline_results_and_labels(parsed):
    message = parsed["gemini:sess-uuid-tool-results"].messages[1]
    read, command = message.tool_calls
    assert message.content.endswith("[Read: .planning/ONE-PAGER.md]\n\n[Bash]\n$ ls -la")
    assert (command.category, command.result_content) == (
        "Bash", "total 42\ndrwxr-xr-x  5 user user 160 Mar  4 10:00 .")
    assert read.result_content_length == len(b"# Agentstrove -- One-Pager\n\nDraft: 2026-03-04")
    pending = parsed["gemini:sess-uuid-2"].messages[1].tool_calls[0]
    assert pending.result_content_length is None and pending.result_events == []


def test_the_older_snapshot_document_has_no_tokens(tmp_path):
    path = write(chat_file(tmp_path, "session-old.json"),
                 (FIXTURES / "repo" / "standard_session.2026-03-snapshot.json").read_bytes())
    (session,) = parser.parse(path, tmp_path).sessions
    assert session.id == "gemini:sess-uuid-1" and session.message_count == 4
    assert not session.has_total_output_tokens and not session.has_peak_context_tokens
    assert all(m.token_usage == "" for m in session.messages)


# --- projects, subagents, record semantics ----------------------------------------------------


def test_project_directories_resolve_through_the_project_files(tmp_path):
    write(tmp_path / "projects.json",
          orjson.dumps({"projects": {"/home/dev/projects/api-server": "api-server"}}))
    write(tmp_path / "trustedFolders.json",
          orjson.dumps({"/home/dev/work/billing": "TRUST_FOLDER"}))
    body = lines(HEADER, user("Hello there"), gemini("Hi"))
    cases = {
        hashlib.sha256(b"/home/dev/projects/api-server").hexdigest(): "api_server",
        "api-server": "api_server",  # newer Gemini names the directory after the project
        hashlib.sha256(b"/home/dev/work/billing").hexdigest(): "billing",
        "c" * 64: "unknown",
        "my-tool": "my_tool",
    }
    for directory, project in cases.items():
        path = write(chat_file(tmp_path, project_dir=directory), body)
        assert parser.parse(path, tmp_path).sessions[0].project == project, directory
    # the list form AgentsView documents for trustedFolders.json
    write(tmp_path / "trustedFolders.json", orjson.dumps({"trustedFolders": ["/srv/ledger"]}))
    path = write(chat_file(tmp_path, project_dir=hashlib.sha256(b"/srv/ledger").hexdigest()),
                 body)
    assert parser.parse(path, tmp_path).sessions[0].project == "ledger"


def test_a_subagent_links_to_its_parent(tmp_path):
    path = write(tmp_path / "tmp" / "my-tool" / "chats" / "s-parent" / "s-child.jsonl",
                 lines({**HEADER, "sessionId": "s-child", "kind": "subagent"},
                       user("Investigate the build"), gemini("It fails on lint.")))
    assert parser.matches(path.relative_to(tmp_path).parts)
    assert parser.root_of(path) == tmp_path
    (session,) = parser.parse(path, tmp_path).sessions
    assert (session.id, session.parent_session_id, session.relationship_type) == (
        "gemini:s-child", "gemini:s-parent", "subagent")


def test_records_replace_in_place_and_set_updates_the_end(tmp_path):
    path = write(chat_file(tmp_path), lines(
        HEADER,
        user("First prompt"),
        gemini("draft", ts="2026-01-01T10:00:02Z"),
        gemini("final answer", ts="2026-01-01T10:00:03Z"),  # same id: replaces the draft
        {"$set": {"lastUpdated": "2026-01-01T10:30:00Z", "summary": "x"}},
        {"$rewindTo": "u1"},  # rewound messages stay archived, as AgentsView keeps them
        {"id": "i1", "timestamp": "2026-01-01T10:00:04Z", "type": "info", "content": "note"},
    ))
    (session,) = parser.parse(path, tmp_path).sessions
    assert [m.content for m in session.messages] == ["First prompt", "final answer"]
    assert session.ended_at == datetime.fromisoformat("2026-01-01T10:30:00+00:00")
    assert session.termination_status == "awaiting_user"


def test_a_messages_checkpoint_replaces_the_list(tmp_path):
    path = write(chat_file(tmp_path), lines(
        HEADER, user("old"), {"$set": {"messages": [user("kept", "u9"), gemini("yes", "a9")]}},
        user("after", "u10"),
    ))
    (session,) = parser.parse(path, tmp_path).sessions
    assert [m.content for m in session.messages] == ["kept", "yes", "after"]
    assert session.termination_status == "awaiting_assistant"


def test_failed_and_cancelled_calls_are_result_events(tmp_path):
    calls = [
        {"id": "c1", "name": "run_shell_command", "args": {"command": "npm test\nmore"},
         "status": "error", "result": [{"functionResponse": {
             "id": "c1", "name": "run_shell_command", "response": {"error": "exit code 1"}}}]},
        {"id": "c2", "name": "replace", "args": {"file_path": "a.py"}, "status": "cancelled",
         "resultDisplay": "cancelled by user"},
        {"id": "c3", "name": "google_web_search", "displayName": "GoogleSearch",
         "args": {"query": "x"}, "status": "success",
         "result": [{"functionResponse": {"id": "c3", "response": {"output": {"hits": 2}}}}]},
    ]
    path = write(chat_file(tmp_path), lines(HEADER, user("Run the tests"),
                                            gemini("", toolCalls=calls)))
    message = parser.parse(path, tmp_path).sessions[0].messages[1]
    shell, edit, search = message.tool_calls
    assert [(e.status, e.content) for e in shell.result_events] == [("errored", "exit code 1")]
    assert [(e.status, e.content) for e in edit.result_events] == [
        ("cancelled", "cancelled by user")]
    assert (search.category, search.result_content) == ("Tool", '{"hits":2}')
    assert message.content == ("[Bash]\n$ npm test\n\n[Edit: a.py]\n\n[Tool: GoogleSearch]")


def test_without_any_time_the_file_is_the_clock(tmp_path):
    header = {"sessionId": "s-clock", "projectHash": UNKNOWN_DIR}
    path = write(chat_file(tmp_path), lines(header, {**user("Hi"), "timestamp": None},
                                            {**gemini("Hello"), "timestamp": ["x"]}))
    (session,) = parser.parse(path, tmp_path).sessions
    mtime = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
    assert session.started_at == session.ended_at == mtime


def test_user_display_content_is_what_was_typed(tmp_path):
    record = {**user("Explain @a.py\n--- a.py ---\nprint()"), "displayContent": "Explain @a.py"}
    path = write(chat_file(tmp_path), lines(HEADER, record, gemini("It prints.")))
    assert parser.parse(path, tmp_path).sessions[0].first_message == "Explain @a.py"


def test_sniff_and_root_of_a_stray_file(tmp_path, agent_env):
    stray = write(tmp_path / "elsewhere" / "chat.json",
                  (FIXTURES / "repo" / "thinking_only.json").read_bytes())
    assert parser.sniff(stray)
    jsonl = FIXTURES / "synthetic" / "gemini_dir" / "tmp" / WEBAPP_HASH / "chats"
    assert parser.sniff(next(jsonl.iterdir()))
    assert agent_of(load_config(), stray) == ("gemini", stray.parent)
    assert not parser.sniff(write(tmp_path / "x.jsonl", lines({"type": "session.start",
                                                                  "data": {"sessionId": "x"}})))


# --- bad input ------------------------------------------------------------------------------


def test_a_document_cut_in_half_keeps_its_complete_messages(tmp_path):
    doc = orjson.loads((FIXTURES / "repo" / "standard_session.json").read_bytes())
    keys = ("sessionId", "projectHash", "startTime", "lastUpdated", "messages")  # Gemini's order
    whole = orjson.dumps({k: doc[k] for k in keys}, option=orjson.OPT_INDENT_2)
    cut = whole[: whole.index(b'"That looks right"') + 5]
    path = write(chat_file(tmp_path, "session-cut.json"), cut)
    result = parser.parse(path, tmp_path)
    (session,) = result.sessions
    assert session.id == "gemini:sess-uuid-1"
    assert session.started_at == datetime.fromisoformat("2024-01-01T10:00:00+00:00")
    assert [m.content for m in session.messages] == [
        "Fix the login bug", "Looking at the auth module..."]
    assert result.is_truncated and result.malformed_lines == 1
    assert session.termination_status == "truncated"
    assert any("cut short" in issue and "2 complete messages" in issue
               for issue in result.issues)
    # cut before its id (the repository's copy has its keys sorted): the file name stands in
    alphabetical = (FIXTURES / "repo" / "standard_session.json").read_bytes()
    path = write(chat_file(tmp_path, "session-cut2.json"),
                 alphabetical[: alphabetical.index(b'"That looks right"')])
    result = parser.parse(path, tmp_path)
    assert result.sessions[0].id == "gemini:session-cut2"
    assert "no sessionId; id taken from the file name (session-cut2)" in result.issues


def test_a_cut_jsonl_file_keeps_its_complete_lines(tmp_path):
    body = lines(HEADER, user("Keep me"), gemini("Kept."))
    path = write(chat_file(tmp_path), body + b'{"id":"a2","type":"gemini","cont')
    result = parser.parse(path, tmp_path)
    assert result.sessions[0].message_count == 2
    assert result.is_truncated and result.issues == [
        "line 4: truncated last line (incomplete JSON), skipped"]


@pytest.mark.parametrize("mutation", [
    {"messages": {"not": "a list"}},
    {"messages": [None, 3, "x", [], {"type": 5}, {"type": "user", "content": 7}]},
    {"sessionId": 12, "startTime": [], "lastUpdated": {"a": 1}},
])
def test_wrong_types_in_the_document(tmp_path, mutation):
    doc = orjson.loads((FIXTURES / "repo" / "tool_calls_with_results.json").read_bytes())
    path = write(chat_file(tmp_path, "session-x.json"), orjson.dumps({**doc, **mutation}))
    result = parser.parse(path, tmp_path)  # never raises
    for session in result.sessions:
        assert session.message_count >= 1


def test_wrong_types_inside_messages(tmp_path):
    bad = gemini(["x", {"text": 5}, {"text": "ok"}], thoughts="nope",
                 toolCalls=[None, {"name": 3}, {"name": "read_file", "args": "a string",
                                               "result": "plain text", "id": ["x"]}],
                 tokens={"input": "12", "output": "@out@", "cached": "@cached@",
                         "thoughts": None},
                 model=42, timestamp="not a time")
    raw = lines(bad).replace(b'"@out@"', b"1e400").replace(b'"@cached@"', str(2**70).encode())
    path = write(chat_file(tmp_path), lines(HEADER, user("Go")) + raw)
    result = parser.parse(path, tmp_path)
    message = result.sessions[0].messages[1]
    assert message.content == "x\n\nok\n\n[Read: ]"
    assert message.model == "" and message.timestamp is None
    assert message.tool_calls[0].input_json == '"a string"'
    assert message.tool_calls[0].result_content_length == len("plain text")
    assert message.output_tokens == 0 and message.context_tokens == 2**63 - 1
    assert any("tokens.cached" in issue and "clamped" in issue for issue in result.issues)
    assert any("tokens.output" in issue and "not a finite number" in issue
               for issue in result.issues)


def test_invalid_utf8_nul_and_control_characters_in_a_document(tmp_path):
    doc = (FIXTURES / "repo" / "thinking_only.json").read_bytes()
    doc = doc.replace(b"Explain how this works", b"Explain \xff how\x01 this \\u0000 works")
    doc = doc.replace(b'"gemini-2.5-pro"', b'"\\ud800"')
    path = write(chat_file(tmp_path, "session-bad.json"), doc)
    result = parser.parse(path, tmp_path)
    (session,) = result.sessions
    assert session.first_message.startswith("Explain \ufffd how\x01 this \x00 works")
    session.messages[1].model.encode("utf-8")  # the lone surrogate is replaced
    assert "document: invalid UTF-8 replaced with U+FFFD" in result.issues


@pytest.mark.parametrize("data", [b"", b"\x00\x01\x02\xff" * 50, b"[1, 2, 3]", b"null",
                                  b"{", b"   \n\n"])
def test_empty_binary_or_foreign_documents_yield_no_session(tmp_path, data):
    path = write(chat_file(tmp_path, "session-odd.json"), data)
    result = parser.parse(path, tmp_path)
    assert result.sessions == []
    assert result.size == len(data)


def test_a_document_larger_than_the_limit_is_refused_with_a_reason(tmp_path):
    doc = (FIXTURES / "repo" / "standard_session.json").read_bytes()
    path = write(chat_file(tmp_path, "session-big.json"), doc)
    with pytest.raises(FileReadError, match="larger than 100 bytes"):
        parser.parse(path, tmp_path, ParseOptions(max_line_bytes=100))


def test_deep_nesting_and_huge_numbers_in_tool_input(tmp_path):
    deep = {"id": "c1", "name": "read_file", "status": "success",
            "args": {"file_path": "a", "n": "@n@", "x": 1.5, "deep": "@deep@"}}
    text = orjson.dumps(gemini("", toolCalls=[deep])).replace(
        b'"@n@"', str(2**80).encode()).replace(b'"@deep@"', b"[" * 400 + b"1" + b"]" * 400)
    path = write(chat_file(tmp_path), lines(HEADER, user("Go")) + text + b"\n")
    result = parser.parse(path, tmp_path)
    call = result.sessions[0].messages[1].tool_calls[0]
    assert call.file_path == "a"
    orjson.loads(call.input_json)  # storable JSON whatever the input
    assert any("tool input" in issue for issue in result.issues)


# --- sync end to end --------------------------------------------------------------------------


@pytest.mark.django_db
def test_sync_archives_gemini_sessions_selectable_by_agent(agent_env, client, settings):
    build_gemini(agent_env["gemini"])
    # a subagent whose parent is not in the archive is archived all the same
    write(agent_env["gemini"] / "tmp" / "my-tool" / "chats" / "s-gone" / "s-orphan.jsonl",
          lines({**HEADER, "sessionId": "s-orphan", "kind": "subagent"},
                user("Look into the flaky test"), gemini("It races on the clock.")))
    out = StringIO()
    call_command("sync", stdout=out, stderr=StringIO())
    expected = {s["id"] for s in _reference()} | {"gemini:s-orphan"}
    assert set(Session.objects.filter(agent="gemini").values_list("id", flat=True)) == expected
    orphan = Session.objects.get(pk="gemini:s-orphan")
    assert (orphan.parent_session_id, orphan.relationship_type) == ("gemini:s-gone", "subagent")
    assert ToolCall.objects.filter(session_id=JSONL_ID).count() == 2

    settings.AGENTSVIEW_API_DATABASE = "default"
    listed = Api(client).json(
        "/api/v1/sessions?agent=gemini&include_one_shot=1&include_children=1")
    assert {s["id"] for s in listed["sessions"]} == expected
    assert {s["agent"] for s in listed["sessions"]} == {"gemini"}
    assert Api(client).json("/api/v1/sessions?agent=codex&include_one_shot=1")["sessions"] == []

    for view in ("messages", "tool-calls", "md", "export"):  # the pages of such a session
        assert Api(client).get(f"/api/v1/sessions/{JSONL_ID}/{view}").status_code == 200

    again = run_sync(load_config())
    assert again.files_parsed == 0 and again.errors == []
