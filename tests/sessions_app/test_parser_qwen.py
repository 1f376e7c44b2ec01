"""Qwen Code: our format-faithful fixtures (Qwen Code 0.15.x chat recordings) parse to their
sessions with tools, results, usage, title, fork and parent links; bad files cost only their
bad lines; a sync archives the sessions under their agent."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path

import orjson
import pytest
from django.core.management import call_command

from agentsview.config import load_config
from sessions_app.models import Session
from sessions_app.parsers.registry import AGENTS, parser_for
from sessions_app.services.discovery import discover
from sessions_app.services.sync import run_sync
from tests.layouts import AGENT_FIXTURES
from tests.sessions_app.api_fixtures import Api

FIXTURES = AGENT_FIXTURES / "qwen" / "synthetic" / "projects"
MAIN = "qwen:b3c4d5e6-7f80-4192-a3b4-c5d6e7f80912"
FORK = "qwen:c4d5e6f7-8091-42a3-b4c5-d6e7f8091a2b"
CHILD = "qwen:e6f7a8b9-0a1b-43c4-95d6-e7f8a9b0c1d2"
parser = parser_for("qwen")


def build_qwen(root: Path) -> Path:
    """The fixtures as Qwen Code lays them out under ~/.qwen/projects."""
    shutil.copytree(FIXTURES, root, dirs_exist_ok=True)
    for path in [root, *root.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return root


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def lines(*records: dict) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in records)


def record(kind: str, uuid: str, **fields) -> dict:
    return {"uuid": uuid, "parentUuid": None, "sessionId": "q-1",
            "timestamp": "2026-01-01T10:00:00Z", "type": kind, "cwd": "/home/dev/code/tool",
            "version": "0.15.6", **fields}


def user(text: str, uuid: str = "u1", **fields) -> dict:
    return record("user", uuid, message={"role": "user", "parts": [{"text": text}]}, **fields)


def model(*parts: dict, uuid: str = "a1", **fields) -> dict:
    return record("assistant", uuid, model="qwen3-coder-plus",
                  message={"role": "model", "parts": list(parts)}, **fields)


def chat(root: Path, name: str = "q-1.jsonl", project: str = "-home-dev-code-tool") -> Path:
    return root / project / "chats" / name


@pytest.fixture(scope="module")
def parsed(tmp_path_factory) -> dict:
    root = build_qwen(tmp_path_factory.mktemp("qwen"))
    found = discover({"qwen": [root]})
    assert found.issues == [] and len(found.files) == 3
    sessions = {}
    for f in found.files:
        for session in parser.parse(f.path, f.root).sessions:
            sessions[session.id] = session
    return sessions


def test_registry_entry():
    spec = AGENTS["qwen"]
    assert (spec.display_name, spec.env_var, spec.default_dirs, spec.id_prefix) == (
        "Qwen Code", "QWEN_PROJECTS_DIR", (".qwen/projects",), "qwen:")
    assert spec.legacy_config_key == "qwen_project_dirs"  # AgentsView's spelling


def test_sessions_ids_projects_counts_and_bounds(parsed):
    assert set(parsed) == {MAIN, FORK, CHILD}
    main = parsed[MAIN]
    assert (main.project, main.cwd, main.git_branch, main.source_version) == (
        "webapp", "/home/dev/projects/webapp", "main", "0.15.6")
    assert (main.message_count, main.user_message_count) == (9, 2)
    assert main.first_message == "Why does the login redirect loop? Check src/auth/redirect.ts."
    assert main.display_name == "Login redirect loop"  # the custom_title record
    assert (main.started_at, main.ended_at) == (ts("2026-03-07T09:00:00.120Z"),
                                                 ts("2026-03-07T09:01:20.050Z"))
    assert main.parent_session_id is None and main.relationship_type == ""
    assert main.termination_status == "awaiting_user"
    assert [m.ordinal for m in main.messages] == list(range(9))


def test_fork_and_sub_session_links(parsed):
    fork = parsed[FORK]
    assert (fork.parent_session_id, fork.relationship_type) == (MAIN, "fork")
    assert [m.content for m in fork.messages if m.role == "user"] == [
        "Why does the login redirect loop? Check src/auth/redirect.ts.",
        "Try a middleware-based fix instead of changing the guard."]
    child = parsed[CHILD]
    assert (child.parent_session_id, child.relationship_type) == (
        "qwen:d5e6f7a8-9b0c-44d5-a6e7-f8091a2b3c4d", "subagent")
    assert (child.project, child.git_branch) == ("billing_api", "")


def test_thinking_tools_results_and_failures(parsed):
    messages = parsed[MAIN].messages
    read = messages[1]
    assert read.content.startswith(
        "[Thinking]\nI should read the redirect guard before guessing.\n[/Thinking]\n\n[Read: ")
    assert read.thinking_text == "I should read the redirect guard before guessing."
    assert read.has_thinking and read.has_tool_use and read.model == "qwen3-coder-plus"
    (call,) = read.tool_calls
    assert (call.tool_use_id, call.tool_name, call.category, call.file_path) == (
        "call_read_1", "read_file", "Read", "/home/dev/projects/webapp/src/auth/redirect.ts")
    assert call.result_content is None and call.result_content_length == 93
    (shell,) = messages[2].tool_calls
    assert messages[2].content == "[Bash]\n$ npm test -- src/auth/redirect.test.ts"
    assert [(e.source, e.status) for e in shell.result_events] == [("tool_result", "errored")]
    assert shell.result_content.startswith("Command exited with code 1.")
    (edit,) = messages[5].tool_calls
    assert (edit.tool_name, edit.category, edit.result_events[0].status) == ("edit", "Edit", "")
    grep, agent = parsed[CHILD].messages[1].tool_calls
    assert (grep.category, agent.category) == ("Grep", "Task")
    assert parsed[CHILD].messages[1].content == (
        "[Grep: rateLimit\\(]\n\n[Task: Audit webhook routes]")


def test_usage_counts_the_cache_once(parsed):
    first = parsed[MAIN].messages[1]
    assert orjson.loads(first.token_usage) == {
        "input_tokens": 1840, "output_tokens": 64, "cache_read_input_tokens": 11000}
    assert (first.context_tokens, first.output_tokens) == (12840, 64)
    main = parsed[MAIN]
    assert main.peak_context_tokens == 13610
    assert main.total_output_tokens == 64 + 41 + 52 + 118 + 38 + 21


def test_compaction_notification_and_sidechain_records(parsed):
    boundary = parsed[MAIN].messages[6]
    assert boundary.is_compact_boundary and boundary.is_system
    assert boundary.content.startswith("<state_snapshot>")
    child = parsed[CHILD]
    notice = child.messages[2]
    assert (notice.role, notice.is_system, notice.source_subtype) == (
        "user", True, "notification")
    assert notice.content == "Background shell npm run lint finished (exit 0)."
    assert child.user_message_count == 1
    # the subagent's own (isSidechain) record is not part of the conversation
    assert all("Reading src/routes/webhooks" not in m.content for m in child.messages)


def test_without_a_cwd_the_project_comes_from_the_directory(tmp_path):
    body = lines({**user("Hello"), "cwd": None}, {**model({"text": "Hi"}), "cwd": 3})
    path = write(chat(tmp_path, project="-Users-alice-code-my-app"), body)
    (session,) = parser.parse(path, tmp_path).sessions
    assert (session.project, session.cwd) == ("my_app", "")


def test_a_result_before_its_call_or_for_no_call_is_harmless(tmp_path):
    result = record("tool_result", "t0", message={"role": "user", "parts": [
        {"functionResponse": {"id": "nope", "response": {"output": "x"}}}]})
    cancelled = record("tool_result", "t1", message={"role": "user", "parts": []},
                       toolCallResult={"callId": "c1", "status": "cancelled",
                                       "resultDisplay": "Tool call cancelled by user."})
    body = lines(user("Edit it"), result,
                 model({"functionCall": {"id": "c1", "name": "write_file",
                                         "args": {"file_path": "a.txt", "content": "x"}}}),
                 cancelled)
    (session,) = parser.parse(write(chat(tmp_path), body), tmp_path).sessions
    (call,) = session.messages[1].tool_calls
    assert [(e.status, e.content) for e in call.result_events] == [
        ("cancelled", "Tool call cancelled by user.")]
    assert session.termination_status == "awaiting_user"


def test_a_call_without_result_is_pending_and_slash_commands_are_not_the_first_prompt(
        tmp_path):
    body = lines(user("/model qwen3-coder-plus"), user("Build it", "u2"),
                 model({"functionCall": {"id": "c9", "name": "run_shell_command",
                                         "args": {"command": "make"}}}))
    (session,) = parser.parse(write(chat(tmp_path), body), tmp_path).sessions
    assert session.first_message == "Build it"
    assert session.termination_status == "tool_call_pending"


def test_without_any_time_the_file_is_the_clock(tmp_path):
    body = lines({**user("Hi"), "timestamp": ""}, {**model({"text": "Hello"}), "timestamp": []})
    path = write(chat(tmp_path), body)
    (session,) = parser.parse(path, tmp_path).sessions
    mtime = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
    assert session.started_at == session.ended_at == mtime


def test_sniff_and_root_of(tmp_path):
    fixture = next(FIXTURES.rglob("*.jsonl"))
    stray = write(tmp_path / "elsewhere" / "qwen.jsonl", fixture.read_bytes())
    assert parser.sniff(stray)
    assert parser.root_of(fixture) == FIXTURES
    assert not parser.sniff(next((AGENT_FIXTURES / "copilot").rglob("events.jsonl")))
    assert parser.matches(("-home-x", "chats", "id.jsonl"))
    assert not parser.matches(("-home-x", "id.jsonl"))


# --- bad input ------------------------------------------------------------------------------


def test_cut_garbage_and_foreign_lines_cost_only_themselves(tmp_path):
    good = lines(user("Keep this"), model({"text": "Kept."}))
    data = b"\xff\xfe\x00 noise\n" + good + b'"a string"\n' + b'{"uuid":"x","type":"assis'
    result = parser.parse(write(chat(tmp_path), data), tmp_path)
    (session,) = result.sessions
    assert [m.content for m in session.messages] == ["Keep this", "Kept."]
    assert result.is_truncated and session.termination_status == "truncated"
    assert result.malformed_lines == 3
    assert result.issues[-1] == "line 5: truncated last line (incomplete JSON), skipped"


@pytest.mark.parametrize("mutation", [
    {"message": "text"}, {"message": {"parts": {"text": "x"}}}, {"message": {"parts": [None, 5]}},
    {"sessionId": 7, "timestamp": 1e400, "uuid": []}, {"usageMetadata": "lots"},
    {"systemPayload": ["x"], "subtype": 4}, {"forkedFrom": "s"}, {"toolCallResult": 3},
])
def test_wrong_types_in_any_record(tmp_path, mutation):
    records = [user("Go"), model({"text": "thinking", "thought": True},
                                 {"functionCall": {"id": "c1", "name": "glob",
                                                   "args": {"pattern": "*.py"}}}),
               record("tool_result", "t1", message={"role": "user", "parts": [
                   {"functionResponse": {"id": "c1", "response": {"output": ["a.py"]}}}]}),
               record("system", "s1", subtype="custom_title", systemPayload={"customTitle": 9})]
    body = lines(*({**r, **mutation} for r in records))
    parser.parse(write(chat(tmp_path), body), tmp_path)  # never raises


def test_huge_and_odd_numbers_in_usage(tmp_path):
    usage = {"promptTokenCount": "@big@", "candidatesTokenCount": "@inf@",
             "cachedContentTokenCount": -5}
    body = lines(user("Go"), model({"text": "ok"}, usageMetadata=usage))
    body = body.replace(b'"@big@"', b"9" * 30).replace(b'"@inf@"', b"1e400")
    result = parser.parse(write(chat(tmp_path), body), tmp_path)
    answer = result.sessions[0].messages[1]
    assert answer.context_tokens == 2**63 - 1 and answer.output_tokens == 0
    assert orjson.loads(answer.token_usage)["input_tokens"] == 2**63 - 1
    assert any("promptTokenCount" in i and "clamped" in i for i in result.issues)
    assert any("candidatesTokenCount" in i and "not a finite number" in i
               for i in result.issues)


@pytest.mark.parametrize("data", [b"", b"\n", b"\x00" * 40, lines(
    record("system", "s1", subtype="ui_telemetry", systemPayload={"uiEvent": {}}))])
def test_files_without_a_conversation_yield_no_session(tmp_path, data):
    assert parser.parse(write(chat(tmp_path), data), tmp_path).sessions == []


# --- sync end to end --------------------------------------------------------------------------


@pytest.mark.django_db
def test_sync_archives_qwen_sessions_selectable_by_agent(agent_env, client, settings):
    build_qwen(agent_env["qwen"])
    call_command("sync", stdout=StringIO(), stderr=StringIO())
    stored = dict(Session.objects.filter(agent="qwen").values_list("id", "parent_session_id"))
    # the sub-session's parent is not in the archive: it is archived all the same
    assert stored == {MAIN: None, FORK: MAIN, CHILD: "qwen:d5e6f7a8-9b0c-44d5-a6e7-f8091a2b3c4d"}
    main = Session.objects.get(pk=MAIN)
    assert main.compaction_count == 1 and main.tool_failure_signal_count >= 1

    settings.AGENTSVIEW_API_DATABASE = "default"
    listed = Api(client).json(
        "/api/v1/sessions?agent=qwen&include_one_shot=1&include_children=1")
    assert {s["id"] for s in listed["sessions"]} == set(stored)
    assert {s["agent"] for s in listed["sessions"]} == {"qwen"}
    children = Api(client).json(f"/api/v1/sessions/{MAIN}/children")
    assert FORK in str(children)

    for view in ("messages", "tool-calls", "md", "export"):  # the pages of such a session
        assert Api(client).get(f"/api/v1/sessions/{MAIN}/{view}").status_code == 200

    again = run_sync(load_config())
    assert again.files_parsed == 0 and again.errors == []
