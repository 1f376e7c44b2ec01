"""Kimi CLI and Kimi Code wire logs: the fixture sessions in both layouts, the work dir from
kimi.json, bad input, and the sync of a Kimi sessions directory."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sessions_app.models import Session, ToolResultEvent
from tests.sessions_app.agent_cases import (
    api_sessions,
    fixture,
    parse,
    place,
    sync_command,
    sync_report,
)

HOME = fixture("kimi", "synthetic", "kimi")  # ~/.kimi
WORK_HASH = "309ba0bd9eb1dc2fe6d5c3e9eacb95dc"  # md5 of /home/dev/projects/webapp
CLI_SESSION = "3c9d2e71-6a4b-4f0e-8d15-2b7c9e0a4f61"
CLI = HOME / "sessions" / WORK_HASH / CLI_SESSION / "wire.jsonl"
CODE_ROOT = fixture("kimi", "synthetic", "kimi-code", "sessions")
CODE_DIR = "wd_mcp-hub_057f5c09ee3f"
CODE_SESSION = "session_9e8d7c6b-5a49-4382-b1c0-d9e8f7a6b5c4"
CODE = CODE_ROOT / CODE_DIR / CODE_SESSION / "agents" / "main" / "wire.jsonl"
CLI_ID = f"kimi:{WORK_HASH}:{CLI_SESSION}"
CODE_ID = f"kimi:{CODE_DIR}:main:{CODE_SESSION}"


def test_a_kimi_cli_session():
    result = parse("kimi", CLI, HOME / "sessions")
    assert result.issues == []
    [session] = result.sessions
    assert session.id == CLI_ID
    assert (session.project, session.cwd) == ("webapp", "/home/dev/projects/webapp")
    assert session.first_message == "Why does the login test fail?"
    assert (session.message_count, session.user_message_count) == (7, 2)
    assert session.started_at == datetime(2026, 7, 3, 9, 0, tzinfo=UTC)
    assert session.ended_at == datetime(2026, 7, 3, 9, 0, 46, 100000, tzinfo=UTC)
    step = session.messages[1]
    assert step.thinking_text == "Check the test output first."
    assert step.content.endswith("Let me run it.\n[Bash]\n$ npm test -- login")
    [shell] = step.tool_calls
    assert (shell.tool_use_id, shell.category) == ("Shell:0", "Bash")
    assert shell.result_events[0].status == "errored"
    assert shell.result_content.startswith("FAIL src/login.test.js")
    # StatusUpdate after the step: input_other + cache read, and the output
    assert (step.context_tokens, step.output_tokens) == (5296, 85)
    assert session.total_output_tokens == 155
    [read] = session.messages[2].tool_calls
    assert (read.category, read.file_path, read.result_content) == ("Read", "src/login.js", None)
    [edit] = session.messages[5].tool_calls
    assert edit.result_content == "File successfully edited."  # the message when no output
    assert session.termination_status == "awaiting_user"


def test_a_kimi_code_session():
    [session] = parse("kimi", CODE, CODE_ROOT).sessions
    assert session.id == CODE_ID
    assert (session.project, session.cwd) == ("mcp_hub", "/Users/helix/Code/mcp-hub")
    assert (session.message_count, session.user_message_count) == (3, 1)
    step, answer = session.messages[1:]
    assert step.model == answer.model == "kimi-k2.7-code"
    assert (step.context_tokens, step.output_tokens) == (3900, 45)
    [grep] = step.tool_calls
    assert (grep.category, grep.input_json) == ("Grep", '{"pattern":"register\\\\(","path":"src"}')
    assert grep.result_content.startswith("src/hub.ts:12")
    assert session.started_at == datetime(2026, 7, 3, 10, 0, tzinfo=UTC)


def test_the_repo_config_record_alone_is_no_session(tmp_path):
    root = tmp_path / "sessions"
    path = place(fixture("kimi", "repo", "kimi-config-update-cwd.jsonl"),
                 root / "wd_mcp-hub_057f5c09ee3f" / "session_1" / "agents" / "main" / "wire.jsonl")
    result = parse("kimi", path, root)
    assert result.sessions == [] and result.records == 1


def test_without_kimi_json_the_project_is_unknown_and_a_bad_one_is_said(tmp_path):
    root = tmp_path / "kimi" / "sessions"
    path = place(CLI, root / WORK_HASH / CLI_SESSION / "wire.jsonl")
    assert parse("kimi", path, root).sessions[0].project == "unknown"
    (root.parent / "kimi.json").write_bytes(b'{"work_dirs": [{"path": "/x"')
    result = parse("kimi", path, root)
    assert result.issues == [f"{root.parent / 'kimi.json'}: not read (JSONDecodeError)"]
    assert result.sessions[0].messages


@pytest.mark.parametrize("old, new", [
    (b'"token_usage": {"input_other": 1200', b'"token_usage": {"input_other": 1e999'),
    (b'"output": 85', b'"output": 18446744073709551616'),
    (b'"user_input": "Fix it"', b'"user_input": {"a": [null]}'),
    (b'"return_value": {"is_error": true', b'"return_value": [true'),
    (b'"arguments": "{\\"command\\": \\"npm test -- login\\"}"', b'"arguments": "{not json'),
    (b'{"timestamp": 1783069200.0,', b'{"timestamp": "soon",'),
])
def test_odd_values_cost_only_themselves(tmp_path, old, new):
    root = tmp_path / "sessions"
    data = CLI.read_bytes()
    assert old in data
    path = root / WORK_HASH / CLI_SESSION / "wire.jsonl"
    path.parent.mkdir(parents=True)
    path.write_bytes(data.replace(old, new, 1))
    [session] = parse("kimi", path, root).sessions
    assert session.first_message == "Why does the login test fail?"
    assert len(session.messages) >= 6


def test_a_cut_line_and_noise(tmp_path):
    root = tmp_path / "sessions"
    path = root / WORK_HASH / CLI_SESSION / "wire.jsonl"
    path.parent.mkdir(parents=True)
    lines = CLI.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:5]) + b"\x00\xff\xfe garbage\n" + b"".join(lines[5:])[:-40])
    result = parse("kimi", path, root)
    assert result.is_truncated and result.malformed_lines == 2
    assert any(i.startswith("line 6: invalid JSON") for i in result.issues)
    assert result.sessions[0].termination_status == "truncated"


@pytest.mark.django_db
def test_sync_archives_both_layouts_and_the_api_lists_them(agent_env, monkeypatch):
    cli_root = place(HOME, agent_env["kimi"] / "kimi") / "sessions"
    code_root = place(CODE_ROOT, agent_env["kimi"] / "kimi-code" / "sessions")
    monkeypatch.setenv("KIMI_DIR", f"{cli_root}:{code_root}")
    out, err, code = sync_command()
    assert code == 0, err
    assert set(Session.objects.filter(agent="kimi").values_list("id", flat=True)) == {
        CLI_ID, CODE_ID}
    assert {s["id"] for s in api_sessions("kimi")} == {CLI_ID, CODE_ID}
    assert ToolResultEvent.objects.filter(session_id=CLI_ID, status="errored").count() == 1
    assert sync_report().files_parsed == 0
