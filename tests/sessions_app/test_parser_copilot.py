"""GitHub Copilot CLI: the fixture session parses to what AgentsView v0.46.1 made of it, tool
executions are result events, the directory form wins over the legacy file, bad files cost
only their bad lines, and a sync archives the sessions under their agent."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path

import orjson
import pytest
from django.core.management import call_command

from agentsview.config import load_config
from sessions_app.models import Session, ToolResultEvent
from sessions_app.parsers.registry import parser_for
from sessions_app.services.discovery import discover
from sessions_app.services.sync import agent_of, run_sync
from tests.layouts import AGENT_FIXTURES
from tests.sessions_app.api_fixtures import Api

FIXTURES = AGENT_FIXTURES / "copilot"
REFERENCE = Path(__file__).resolve().parents[1] / "fixtures" / "golden" / "session-list-all.json"
SHARED_ID = "5d6e7f80-1a2b-4c3d-9e8f-7a6b5c4d3e2f"
LEGACY_ID = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
parser = parser_for("copilot")


def build_copilot(root: Path) -> Path:
    """The fixtures as Copilot lays them out under ~/.copilot."""
    for tree in ("synthetic", "ours"):
        shutil.copytree(FIXTURES / tree / "copilot_dir", root, dirs_exist_ok=True)
    for path in [root, *root.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return root


def parse_tree(root: Path) -> dict:
    found = discover({"copilot": [root]})
    assert found.issues == []
    sessions = {}
    for f in found.files:
        for session in parser.parse(f.path, f.root).sessions:
            assert session.id not in sessions
            sessions[session.id] = session
    return sessions


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def lines(*events: dict) -> bytes:
    return b"".join(orjson.dumps(e) + b"\n" for e in events)


def event(kind: str, data: dict, ts: str = "2026-01-01T10:00:00Z") -> dict:
    return {"type": kind, "data": data, "id": kind, "timestamp": ts, "parentId": None}


def start(session_id: str = "c-1", **context) -> dict:
    return event("session.start", {"sessionId": session_id, "context": context})


def user(text: str, ts: str = "2026-01-01T10:00:01Z") -> dict:
    return event("user.message", {"content": text}, ts)


def answer(text: str, ts: str = "2026-01-01T10:00:05Z", **data) -> dict:
    return event("assistant.message", {"content": text, **data}, ts)


@pytest.fixture(scope="module")
def parsed(tmp_path_factory) -> dict:
    return parse_tree(build_copilot(tmp_path_factory.mktemp("copilot")))


def test_the_shared_session_matches_the_reference(parsed):
    (expected,) = [s for s in orjson.loads(REFERENCE.read_bytes())["sessions"]
                   if s["agent"] == "copilot"]
    ours = parsed[expected["id"]]
    assert ours.project == expected["project"] == "webapp"
    assert ours.message_count == expected["message_count"] == 3
    assert ours.user_message_count == expected["user_message_count"]
    assert ours.first_message == expected["first_message"]
    assert ours.started_at == datetime.fromisoformat(expected["started_at"])
    assert ours.ended_at == datetime.fromisoformat(expected["ended_at"])
    assert ours.total_output_tokens == expected["total_output_tokens"] == 54
    assert ours.peak_context_tokens == expected["peak_context_tokens"]
    assert ours.has_total_output_tokens == expected["has_total_output_tokens"]
    assert ours.has_peak_context_tokens == expected["has_peak_context_tokens"]
    assert ours.parent_session_id is None and ours.relationship_type == ""
    # beyond the reference's list: what session.start records
    assert (ours.cwd, ours.git_branch, ours.source_version) == (
        "/home/dev/projects/webapp", "main", "0.0.350")


def test_messages_thinking_tools_and_events(parsed):
    session = parsed[f"copilot:{SHARED_ID}"]
    prompt, asking, reply = session.messages
    # the finished execution's tool-result row is dropped, as AgentsView drops it: 0, 1, 3
    assert [m.ordinal for m in session.messages] == [0, 1, 3]
    assert asking.content == "[Thinking]\nNeed to view package.json.\n[/Thinking]\n\n[Read: view]"
    assert asking.thinking_text == "Need to view package.json." and asking.has_thinking
    assert asking.model == reply.model == "claude-sonnet-4-5"  # normalised from 4.5
    (view,) = asking.tool_calls
    assert (view.tool_use_id, view.tool_name, view.category, view.file_path) == (
        "tc-1", "view", "Read", "/home/dev/projects/webapp/package.json")
    assert orjson.loads(view.input_json) == {"path": "/home/dev/projects/webapp/package.json"}
    assert [(e.source, e.status, e.event_index) for e in view.result_events] == [
        ("tool_execution", "started", 0), ("tool_execution", "completed", 1)]
    assert view.result_content is None  # a Read: only its length is kept
    assert view.result_content_length == len('{\n  "scripts": {"test": "vitest run"}\n}')
    assert (asking.output_tokens, reply.output_tokens) == (42, 12)
    assert not reply.has_context_tokens
    usage = orjson.loads(reply.token_usage)
    assert usage == {"output_tokens": 12, "session_usage": {"claude-sonnet-4-5": {
        "input_tokens": 3000, "output_tokens": 54, "cache_read_input_tokens": 6000,
        "cache_creation_input_tokens": 0}}}
    assert session.termination_status == "awaiting_user"


def test_the_legacy_file_failed_tool_skill_messages_and_shutdown_output(parsed):
    session = parsed[f"copilot:{LEGACY_ID}"]
    assert session.project == "cli_tool"  # from the git root, not the src/ cwd
    assert (session.cwd, session.git_branch) == ("/home/dev/projects/cli-tool/src",
                                                 "fix/flaky-test")
    assert session.user_message_count == 1  # the skill's injected context is not a prompt
    prompt, running, reply = session.messages
    assert running.model == "gpt-5"  # selectedModel of session.start
    assert running.has_thinking and running.thinking_text == (
        "The suite may take a while; run it once.")
    (bash,) = running.tool_calls
    assert [(e.status, e.content) for e in bash.result_events] == [
        ("started", ""),
        ("errored", "FAIL src/clock.test.ts\n  expected 3, received 2\nexit code 1")]
    assert bash.result_content.startswith("FAIL src/clock.test.ts")
    # no message counted its output: the shutdown's total stands in, on the last answer
    assert reply.output_tokens == session.total_output_tokens == 310
    assert orjson.loads(reply.token_usage)["session_usage"]["gpt-5"]["reasoning_tokens"] == 120


def test_the_directory_form_wins_over_the_legacy_file(tmp_path):
    state = tmp_path / "session-state"
    write(state / "dup.jsonl", lines(start("dup"), user("legacy copy"), answer("old")))
    write(state / "dup" / "events.jsonl", lines(start("dup"), user("current copy"),
                                               answer("new")))
    write(state / "dup" / "workspace.yaml", b'id: dup\nname: "Fix login flow"\n'
                                           b"user_named: true\n")
    found = discover({"copilot": [tmp_path]})
    assert [f.path.relative_to(tmp_path).as_posix() for f in found.files] == [
        "session-state/dup.jsonl", "session-state/dup/events.jsonl"]
    legacy, current = (parser.parse(f.path, f.root) for f in found.files)
    assert legacy.sessions == [] and legacy.records == 3  # read, hashed, not stored
    (session,) = current.sessions
    assert session.id == "copilot:dup" and session.first_message == "current copy"
    assert session.display_name == "Fix login flow"


def test_model_normalisation_and_labels_without_text(tmp_path):
    path = write(tmp_path / "session-state" / "m.jsonl", lines(
        start("m"), event("session.model_change", {"newModel": "gpt-5.1"}), user("Edit it"),
        answer("", toolRequests=[{"toolCallId": "t1", "name": "edit",
                                  "arguments": '{"path": "a.py"}'},
                                 {"toolCallId": "t2", "name": "mystery", "arguments": None}]),
    ))
    (session,) = parser.parse(path, tmp_path).sessions
    message = session.messages[1]
    assert message.model == "gpt-5.1"  # only Claude names lose their dots
    assert message.content == "[Edit: edit]\n[Other: mystery]"
    edit, mystery = message.tool_calls
    assert edit.input_json == '{"path": "a.py"}' and mystery.input_json == ""
    assert session.termination_status == "tool_call_pending"
    assert session.project == "unknown"


def test_without_any_time_the_file_is_the_clock(tmp_path):
    path = write(tmp_path / "session-state" / "t.jsonl",
                 lines(*({**e, "timestamp": None} for e in (start("t"), user("Hi"),
                                                            answer("Hello")))))
    (session,) = parser.parse(path, tmp_path).sessions
    mtime = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
    assert session.started_at == session.ended_at == mtime


def test_sniff_and_root_of_a_stray_file(tmp_path, agent_env):
    stray = write(tmp_path / "elsewhere" / "copilot-events.jsonl",
                  next(FIXTURES.rglob("events.jsonl")).read_bytes())
    assert parser.sniff(stray)
    assert parser.root_of(tmp_path / "r" / "session-state" / "x" / "events.jsonl") == (
        tmp_path / "r")
    assert parser.root_of(tmp_path / "r" / "session-state" / "x.jsonl") == tmp_path / "r"
    assert agent_of(load_config(), stray)[0] == "copilot"
    gemini = AGENT_FIXTURES / "gemini" / "repo" / "thinking_only.json"
    assert not parser.sniff(gemini)


# --- bad input ------------------------------------------------------------------------------


def test_a_cut_last_line_and_garbage_lines_cost_only_themselves(tmp_path):
    good = lines(start("bad"), user("Keep this prompt"), answer("Kept."))
    path = write(tmp_path / "session-state" / "bad.jsonl",
                 b"\x00\xff garbage\n" + good + b"[1,2]\n" + b'{"type":"assistant.mess')
    result = parser.parse(path, tmp_path)
    (session,) = result.sessions
    assert [m.content for m in session.messages] == ["Keep this prompt", "Kept."]
    assert result.is_truncated and session.termination_status == "truncated"
    assert result.malformed_lines == 3
    assert result.issues == [
        "line 1: invalid JSON, skipped", "line 5: not a JSON object (list), skipped",
        "line 6: truncated last line (incomplete JSON), skipped"]


@pytest.mark.parametrize("data", [
    {"content": 5}, {"content": None, "toolRequests": "x"},
    {"content": "ok", "toolRequests": [None, 1, {"name": 7}, {"name": "bash", "toolCallId": 3}]},
    {"content": "ok", "outputTokens": "12"}, {"content": "ok", "reasoningText": ["a"]},
])
def test_wrong_types_in_assistant_events(tmp_path, data):
    path = write(tmp_path / "session-state" / "w.jsonl",
                 lines(start(["x"]), user("Go"), answer("", **data),
                       event("tool.execution_complete", {"toolCallId": 3, "result": 1}),
                       event("session.shutdown", {"modelMetrics": ["x"]})))
    result = parser.parse(path, tmp_path)  # never raises
    (session,) = result.sessions
    assert session.id == "copilot:w"  # a sessionId that is not a string: the file's name


def test_huge_numbers_are_clamped_with_a_warning(tmp_path):
    body = lines(start("n"), user("Go"), answer("ok", outputTokens="@out@"),
                 event("session.shutdown", {"modelMetrics": {"claude-opus-4.1": {"usage": {
                     "inputTokens": "@in@", "outputTokens": 5, "cacheReadTokens": "@inf@"}}}}))
    body = body.replace(b'"@out@"', b"1" + b"0" * 30).replace(b'"@in@"', b"-" + b"9" * 40)
    body = body.replace(b'"@inf@"', b"1e400")
    path = write(tmp_path / "session-state" / "n.jsonl", body)
    result = parser.parse(path, tmp_path)
    (session,) = result.sessions
    reply = session.messages[1]
    assert reply.output_tokens == 2**63 - 1
    usage = orjson.loads(reply.token_usage)["session_usage"]["claude-opus-4-1"]
    assert usage["input_tokens"] == 0 and usage["cache_read_input_tokens"] == 0
    assert any("outputTokens" in i and "clamped" in i for i in result.issues)
    assert any("cacheReadTokens" in i and "not a finite number" in i for i in result.issues)


@pytest.mark.parametrize("data", [b"", b"\n\n", b"\x00" * 64, b'{"type":"session.start"}\n'])
def test_files_without_a_conversation_yield_no_session(tmp_path, data):
    path = write(tmp_path / "session-state" / "e" / "events.jsonl", data)
    assert parser.parse(path, tmp_path).sessions == []


# --- sync end to end --------------------------------------------------------------------------


@pytest.mark.django_db
def test_sync_archives_copilot_sessions_selectable_by_agent(agent_env, client, settings):
    build_copilot(agent_env["copilot"])
    call_command("sync", stdout=StringIO(), stderr=StringIO())
    expected = {f"copilot:{SHARED_ID}", f"copilot:{LEGACY_ID}"}
    assert set(Session.objects.filter(agent="copilot").values_list("id", flat=True)) == expected
    stored = Session.objects.get(pk=f"copilot:{LEGACY_ID}")
    assert stored.tool_failure_signal_count >= 1  # the errored execution counts as a failure
    assert ToolResultEvent.objects.filter(session_id=f"copilot:{SHARED_ID}").count() == 2

    settings.AGENTSVIEW_API_DATABASE = "default"
    listed = Api(client).json("/api/v1/sessions?agent=copilot&include_one_shot=1")
    assert {s["id"] for s in listed["sessions"]} == expected
    assert {s["agent"] for s in listed["sessions"]} == {"copilot"}

    for view in ("messages", "tool-calls", "md", "export"):  # the pages of such a session
        assert Api(client).get(f"/api/v1/sessions/copilot:{SHARED_ID}/{view}").status_code == 200

    again = run_sync(load_config())
    assert again.files_parsed == 0 and again.errors == []

    # naming the session in workspace.yaml changes no event, yet the sync sees it
    write(agent_env["copilot"] / "session-state" / SHARED_ID / "workspace.yaml",
          b"id: x\nname: Test script question\n")
    renamed = run_sync(load_config())
    assert renamed.files_parsed == 1
    assert Session.objects.get(pk=f"copilot:{SHARED_ID}").display_name == "Test script question"
