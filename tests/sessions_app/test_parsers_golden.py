"""Every Claude and Codex fixture parses to what AgentsView v0.46.1 stored for it."""

from __future__ import annotations

from datetime import datetime

import orjson
import pytest

from sessions_app.parsers.base import ParsedSession
from sessions_app.parsers.registry import parser_for
from sessions_app.services.discovery import discover
from tests.layouts import build_claude, build_codex, golden


@pytest.fixture(scope="module")
def parsed(tmp_path_factory) -> dict[str, ParsedSession]:
    base = tmp_path_factory.mktemp("agents")
    dirs = {"claude": [build_claude(base / "claude")], "codex": [build_codex(base / "codex")]}
    found = discover(dirs)
    assert found.issues == []
    sessions: dict[str, ParsedSession] = {}
    for f in found.files:
        for session in parser_for(f.agent).parse(f.path, f.root).sessions:
            assert session.id not in sessions, f"duplicate id {session.id}"
            sessions[session.id] = session
    return sessions


def _golden_sessions():
    sessions = golden("session-list-all.json")["sessions"]
    return [s for s in sessions if s["agent"] in ("claude", "codex")]


def _ts(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def test_every_golden_session_is_found_and_nothing_else(parsed):
    expected = {s["id"] for s in _golden_sessions()}
    assert set(parsed) == expected


@pytest.mark.parametrize("expected", _golden_sessions(), ids=lambda s: s["id"])
def test_session_fields_match_golden(parsed, expected):
    ours = parsed[expected["id"]]
    assert ours.agent == expected["agent"]
    assert ours.project == expected["project"]
    assert ours.message_count == expected["message_count"]
    assert ours.user_message_count == expected["user_message_count"]
    assert ours.first_message == expected["first_message"]
    assert ours.parent_session_id == expected.get("parent_session_id")
    # non-interactive Codex runs (codex exec) are "subagent" with no parent, as the reference
    assert ours.relationship_type == expected.get("relationship_type", "")
    assert ours.started_at == _ts(expected["started_at"])
    assert ours.ended_at == _ts(expected["ended_at"])
    assert ours.total_output_tokens == expected["total_output_tokens"]
    assert ours.peak_context_tokens == expected["peak_context_tokens"]
    assert ours.has_total_output_tokens == expected["has_total_output_tokens"]
    assert ours.cwd == expected.get("cwd", "")
    assert ours.session_kind == expected.get("session_kind", "")


def test_claude_rich_session_messages_match_stored_rows(parsed):
    session = parsed["7f3c1e2a-5b6d-4e8f-9a0b-1c2d3e4f5a6b"]
    rows = golden("rows-messages-7f3c.json")
    assert [m.ordinal for m in session.messages] == [r["ordinal"] for r in rows]
    for message, row in zip(session.messages, rows, strict=True):
        for field in (
            "role", "content", "thinking_text", "content_length", "model", "context_tokens",
            "output_tokens", "claude_message_id", "claude_request_id", "source_type",
            "source_subtype", "source_uuid", "source_parent_uuid",
        ):
            assert getattr(message, field) == row[field], (row["ordinal"], field)
        for flag in ("has_thinking", "has_tool_use", "is_system", "is_sidechain",
                     "is_compact_boundary", "has_context_tokens", "has_output_tokens"):
            assert getattr(message, flag) == bool(row[flag]), (row["ordinal"], flag)
        assert message.timestamp == _ts(row["timestamp"])
        usage = orjson.loads(message.token_usage) if message.token_usage else None
        assert usage == (orjson.loads(row["token_usage"]) if row["token_usage"] else None)


def test_claude_rich_session_header(parsed):
    session = parsed["7f3c1e2a-5b6d-4e8f-9a0b-1c2d3e4f5a6b"]
    reference = golden("session.json")
    assert session.display_name == reference["display_name"] == "Login redirect fix"
    assert session.git_branch == reference["git_branch"]
    assert session.source_version == reference["source_version"]
    assert session.source_session_id == reference["source_session_id"]
    assert session.termination_status == reference["termination_status"]


def test_claude_tool_calls_match_stored_rows(parsed):
    session = parsed["7f3c1e2a-5b6d-4e8f-9a0b-1c2d3e4f5a6b"]
    calls = [c for m in session.messages for c in m.tool_calls]
    rows = golden("rows-tool_calls-7f3c.json")
    assert len(calls) == len(rows)
    for call, row in zip(calls, rows, strict=True):
        for field in ("tool_name", "category", "tool_use_id", "input_json",
                      "result_content_length", "subagent_session_id"):
            assert getattr(call, field) == row[field], (row["tool_use_id"], field)
        assert (call.file_path or None) == row["file_path"]  # we store '' for "none"
    # Results are kept except for the blocked categories (file dumps).
    by_id = {c.tool_use_id: c for c in calls}
    assert by_id["toolu_01READ"].result_content is None
    assert by_id["toolu_02BASH"].result_content.startswith("FAIL src/auth/login.test.ts")
    assert by_id["toolu_02BASH"].result_events[0].status == "errored"
    assert by_id["toolu_05BASH"].result_events[0].status == ""


def test_codex_messages_and_tool_calls_match_http_json(parsed):
    session = parsed["codex:0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"]
    reference = golden("messages-codex.json")["messages"]
    assert len(session.messages) == len(reference)
    for message, ref in zip(session.messages, reference, strict=True):
        assert message.ordinal == ref["ordinal"]
        assert message.role == ref["role"]
        assert message.content == ref["content"]
        assert message.timestamp == _ts(ref["timestamp"])
        assert message.model == ref["model"]
        assert message.reasoning_effort == ref.get("reasoning_effort", "")
        assert message.context_tokens == ref["context_tokens"]
        assert message.output_tokens == ref["output_tokens"]
        usage = orjson.loads(message.token_usage) if message.token_usage else None
        assert usage == ref.get("token_usage")
        assert len(message.tool_calls) == len(ref.get("tool_calls", []))
        for call, ref_call in zip(message.tool_calls, ref.get("tool_calls", []), strict=True):
            for field in ("tool_name", "category", "tool_use_id", "input_json",
                          "result_content_length", "result_content"):
                assert getattr(call, field) == ref_call.get(field), field
            events = [
                {"tool_use_id": e.tool_use_id, "source": e.source, "status": e.status,
                 "content": e.content, "content_length": e.content_length,
                 "timestamp": e.timestamp, "event_index": e.event_index}
                for e in call.result_events
            ]
            expected_events = [
                {**e, "timestamp": _ts(e["timestamp"])} for e in ref_call["result_events"]
            ]
            assert events == expected_events


def test_subagent_links_both_ways(parsed):
    parent = parsed["7f3c1e2a-5b6d-4e8f-9a0b-1c2d3e4f5a6b"]
    task = next(c for m in parent.messages for c in m.tool_calls if c.tool_name == "Task")
    assert task.subagent_session_id == "agent-a1b2c3d"
    child = parsed["agent-a1b2c3d"]
    reference = golden("subagent-session.json")
    assert child.parent_session_id == reference["parent_session_id"]
    assert child.relationship_type == "subagent"
    assert all(m.is_sidechain for m in child.messages)


def test_fork_becomes_its_own_session(parsed):
    main = parsed["9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"]
    fork = parsed["9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d-e0000000-0000-4000-8000-000000000011"]
    assert fork.parent_session_id == main.id
    assert fork.relationship_type == "fork"
    assert [m.content for m in fork.messages] == [
        "Actually, rewind: use click instead.", "Switching to click.",
    ]
    assert "Actually, rewind" not in " ".join(m.content for m in main.messages)


def test_truncated_transcript_is_flagged(tmp_path):
    from tests.layouts import AGENT_FIXTURES

    path = AGENT_FIXTURES / "claude" / "repo" / "truncated.jsonl"
    result = parser_for("claude").parse(path, path.parent)
    assert result.malformed_lines == 1
    assert result.is_truncated
    assert result.issues == ["line 3: truncated last line (incomplete JSON), skipped"]
    assert result.sessions[0].termination_status == "truncated"


def test_queued_task_notifications_are_system_rows(parsed):
    session = parsed["44444444-4444-4444-8444-444444444444"]
    assert [(m.role, m.is_system, m.source_subtype) for m in session.messages] == [
        ("user", False, ""),
        ("user", True, "task_notification"),
        ("user", True, "task_notification"),
    ]


def test_non_interactive_codex_run_is_marked(parsed):
    assert parsed["codex:0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a60"].session_kind == "non-interactive"
    assert parsed["codex:0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"].session_kind == ""
