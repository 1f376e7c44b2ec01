"""gptme conversation logs: the fixture conversations, tool uses in the assistant's text and
their outputs, bad input, and the sync of a gptme log directory."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sessions_app.models import Session, ToolCall, ToolResultEvent
from tests.sessions_app.agent_cases import (
    api_sessions,
    fixture,
    parse,
    place,
    sync_command,
    sync_report,
)

REPO = fixture("gptme", "repo", "2026-06-13-write-hello-world", "conversation.jsonl")
RICH_DIR = "2026-07-02-120000-fix-flaky-test"
RICH = fixture("gptme", "synthetic", RICH_DIR, "conversation.jsonl")


def test_the_repo_conversation():
    result = parse("gptme", REPO)
    assert result.issues == []
    [session] = result.sessions
    assert session.id == "gptme:2026-06-13-write-hello-world"
    assert session.agent == "gptme"
    assert session.project == "write-hello-world"  # AgentsView's rule: the name less its date
    assert session.first_message == "Write a hello world program in Python."
    assert (session.message_count, session.user_message_count) == (6, 2)
    # the pinned system prompt is not a message, but its time starts the session
    assert session.started_at == datetime(2026, 6, 13, 10, 0, tzinfo=UTC)
    assert session.ended_at == datetime(2026, 6, 13, 10, 0, 13, tzinfo=UTC)
    roles = [(m.role, m.is_system) for m in session.messages]
    assert roles == [("user", False), ("assistant", False), ("user", True), ("user", False),
                     ("assistant", False), ("user", True)]
    first = session.messages[1]
    assert first.model == "openrouter/anthropic/claude-sonnet-4-6"
    assert (first.context_tokens, first.output_tokens) == (200, 42)
    assert session.total_output_tokens == 57 and session.peak_context_tokens == 320
    assert session.termination_status == "awaiting_user"


def test_tool_uses_and_their_outputs():
    [session] = parse("gptme", RICH).sessions
    assert session.project == "webapp"  # the workspace its config.toml names
    assert session.cwd == "/home/dev/projects/webapp"
    assert (session.message_count, session.user_message_count) == (6, 2)
    run, save, again = (m.tool_calls[0] for m in session.messages if m.tool_calls)
    assert (run.tool_name, run.category) == ("shell", "Bash")
    assert [e.status for e in run.result_events] == ["errored"]  # "Return code: 1"
    assert "FAILED" in run.result_content
    assert (save.tool_name, save.category, save.file_path) == ("save", "Write",
                                                                "tests/test_login.py")
    assert save.result_events[0].status == "completed"
    assert (again.tool_use_id, again.input_json) == (
        "call_7f3a", '{"command":"pytest tests/test_login.py"}')
    assert again.result_content.endswith("1 passed\n```")
    thinking = session.messages[1]
    assert thinking.has_thinking and thinking.thinking_text == "Run the test a few times first."
    assert thinking.content.startswith("[Thinking]\nRun the test a few times first.\n[/Thinking]")
    assert "[Bash]\n$ pytest tests/test_login.py -x" in thinking.content
    assert session.started_at == datetime(2026, 7, 2, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("data, issue", [
    (b'{"role": "user", "content": "hi", "timestamp": "2026-01-01T10:00:00"}\n'
     b'{"role": "assistant", "content": "cut', "line 2: truncated last line"),
    (b'{"role": "user", "content": "hi\xff", "timestamp": 5}\n\x00\x01binary\n',
     "line 2: truncated last line"),
    (b'{"role": ["user"], "content": {"x": 1}, "timestamp": []}\n'
     b'{"role": "user", "content": "ok", "metadata": "x"}\n'
     b'{"role": "assistant", "content": 7, "metadata": {"model": 3, "usage": [1]}}\n'
     b'{"role": "assistant", "content": "done", "metadata": {"usage": '
     b'{"input_tokens": 1e400, "output_tokens": 99999999999999999999999}}}\n',
     "line 4: metadata.usage.output_tokens"),
])
def test_bad_lines_cost_only_themselves(tmp_path, data, issue):
    path = tmp_path / "2026-01-01-bad" / "conversation.jsonl"
    path.parent.mkdir()
    path.write_bytes(data)
    result = parse("gptme", path, tmp_path)
    assert any(i.startswith(issue) for i in result.issues), result.issues
    [session] = result.sessions
    assert session.messages[0].role == "user"


def test_an_empty_log_and_a_bad_config_are_no_trouble(tmp_path):
    empty = tmp_path / "2026-01-01-empty" / "conversation.jsonl"
    empty.parent.mkdir()
    empty.write_bytes(b"")
    assert parse("gptme", empty, tmp_path).sessions == []
    log = place(RICH.parent, tmp_path / RICH_DIR) / "conversation.jsonl"
    (log.parent / "config.toml").write_bytes(b"[chat\nworkspace = ")
    result = parse("gptme", log, tmp_path)
    assert result.issues == ["config.toml: not read (TOMLDecodeError)"]
    assert result.sessions[0].project == "fix-flaky-test"


@pytest.mark.django_db
def test_sync_archives_the_logs_and_the_api_lists_them(agent_env):
    root = agent_env["gptme"]
    place(REPO.parent, root / REPO.parent.name)
    place(RICH.parent, root / RICH_DIR)
    out, err, code = sync_command()
    assert code == 0, err
    ids = {"gptme:2026-06-13-write-hello-world", f"gptme:{RICH_DIR}"}
    assert set(Session.objects.filter(agent="gptme").values_list("id", flat=True)) == ids
    assert {s["id"] for s in api_sessions("gptme")} == ids
    failed = ToolCall.objects.get(session_id=f"gptme:{RICH_DIR}", tool_name="shell",
                                  tool_use_id__startswith="4:")
    assert ToolResultEvent.objects.get(session_id=failed.session_id,
                                       tool_use_id=failed.tool_use_id).status == "errored"
    assert sync_report().files_parsed == 0  # nothing changed: nothing re-read
