"""The Pi coding agent parser: the fixture session, its fork link, bad input, and a real sync."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from sessions_app.models import Session, ToolCall
from sessions_app.parsers.base import ParseOptions
from sessions_app.parsers.pi import parser, session_id_of_file
from tests.layouts import AGENT_FIXTURES
from tests.sessions_app.agent_sync_checks import assert_synced_end_to_end, sync_command

FIXTURE = AGENT_FIXTURES / "pi" / "repo" / "session.jsonl"
PROJECT_DIR = "--Users-alice-code-my-project--"
CHILD_FILE = "2025-01-01T10-00-00-000Z_pi-test-session-uuid.jsonl"
PARENT_FILE = "2025-01-01T09-00-00-000Z_parent-uuid.jsonl"


def parse(path: Path, root: Path | None = None):
    return parser.parse(path, root or path.parent, ParseOptions(max_line_bytes=1024 * 1024))


def write_lines(path: Path, *lines: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(
        (line if isinstance(line, bytes) else orjson.dumps(line)) + b"\n" for line in lines))
    return path


def header(session_id: str = "s1", **extra) -> dict:
    return {"type": "session", "version": 3, "id": session_id,
            "timestamp": "2026-02-01T10:00:00Z", "cwd": "/home/dev/projects/api", **extra}


def message(entry_id: str, parent: str | None, role: str, content: object, **extra) -> dict:
    return {"type": "message", "id": entry_id, "parentId": parent,
            "timestamp": f"2026-02-01T10:00:{int(entry_id[-1]):02d}Z",
            "message": {"role": role, "content": content, **extra}}


def test_the_fixture_session():
    result = parse(FIXTURE)
    assert result.malformed_lines == 1  # the line of plain text, skipped
    assert result.issues == ["line 10: invalid JSON, skipped"]
    (session,) = result.sessions
    assert session.id == "pi:pi-test-session-uuid"
    assert session.agent == "pi"
    assert session.project == "my_project"
    assert session.cwd == "/Users/alice/code/my-project"
    # branchedFrom names the parent's transcript; the id is what follows its timestamp
    assert session.parent_session_id == "pi:parent-uuid"
    assert session.relationship_type == "fork"
    assert session.source_version == "3"
    assert session.first_message == "Fix the login bug"
    assert session.user_message_count == 2
    assert [(m.role, m.is_system) for m in session.messages] == [
        ("user", False), ("assistant", False), ("assistant", True), ("user", False),
        ("assistant", False)]
    assert [m.ordinal for m in session.messages] == [0, 1, 2, 3, 4]
    assert session.started_at == datetime(2025, 1, 1, 10, 0, 0, tzinfo=UTC)  # the header
    assert session.ended_at == datetime(2025, 1, 1, 10, 0, 9, tzinfo=UTC)
    assert session.termination_status == "awaiting_user"

    first = session.messages[1]
    assert first.has_thinking and first.thinking_text == "Let me analyze this carefully."
    assert "Looking at the auth module." in first.content
    assert first.model == "claude-opus-4-5"
    assert orjson.loads(first.token_usage) == {"input_tokens": 100, "output_tokens": 50}
    assert (first.context_tokens, first.output_tokens) == (100, 50)
    (call,) = first.tool_calls
    assert (call.tool_use_id, call.tool_name, call.category) == ("toolu_01", "read", "Read")
    assert orjson.loads(call.input_json) == {"file_path": "auth.go"}
    assert call.file_path == "auth.go"
    assert call.result_content_length == len("package auth\nfunc Login() {}")
    assert [e.status for e in call.result_events] == [""]

    compaction = session.messages[2]
    assert compaction.is_compact_boundary and compaction.source_subtype == "compact_boundary"
    assert compaction.content.startswith("# Context Checkpoint")
    # the model_change entry between them is bridged over: parents are shown messages
    assert compaction.source_parent_uuid == "entry-2"
    last = session.messages[4]
    assert last.has_thinking and not last.thinking_text  # a redacted block
    assert session.total_output_tokens == 60 and session.peak_context_tokens == 200


def test_session_ids_of_file_names():
    assert session_id_of_file("/x/--p--/2025-01-01T09-00-00-000Z_parent-uuid.jsonl") \
        == "parent-uuid"
    assert session_id_of_file("C:\\pi\\2025-01-01T09-00-00-000Z_abc.jsonl") == "abc"
    assert session_id_of_file("plain-id") == "plain-id"


def test_parent_session_by_id_and_errored_results(tmp_path):
    path = write_lines(
        tmp_path / "--home-dev-projects-api--" / "x.jsonl",
        header(parentSession="abc-parent"),
        message("m1", None, "user", "run the tests"),
        message("m2", "m1", "assistant", [
            {"type": "toolCall", "id": "t1", "name": "bash", "arguments": {"command": "pytest"}},
        ], stopReason="toolUse", usage={"input": 5, "cacheRead": 7, "output": 1}),
        message("m3", "m2", "toolResult", [{"type": "text", "text": "1 failed"}],
                toolCallId="t1", isError=True),
        message("m4", "m3", "assistant", [], stopReason="error", errorMessage="overloaded"),
        {"type": "session_info", "id": "i5", "parentId": "m4", "name": "Test run"},
    )
    (session,) = parse(path, tmp_path).sessions
    assert session.parent_session_id == "pi:abc-parent"
    assert session.display_name == "Test run"
    assert session.project == "api"
    call = session.messages[1].tool_calls[0]
    assert session.messages[1].content == "[Bash]\n$ pytest"
    assert [e.status for e in call.result_events] == ["errored"]
    assert call.result_content == "1 failed"
    assert orjson.loads(session.messages[1].token_usage) == {
        "input_tokens": 5, "output_tokens": 1, "cache_read_input_tokens": 7}
    assert session.messages[1].context_tokens == 12
    assert session.messages[-1].content == "[Error: overloaded]"
    assert session.termination_status == "errored"


def test_a_transcript_without_header_takes_its_id_from_the_file_name(tmp_path):
    path = write_lines(tmp_path / "--home-dev-code-web--" / PARENT_FILE,
                       message("m1", None, "user", "hello"))
    result = parse(path, tmp_path)
    (session,) = result.sessions
    assert session.id == "pi:parent-uuid"
    assert session.project == "web"  # from the folder name, as there is no cwd
    assert any("no session header" in issue for issue in result.issues)


@pytest.mark.parametrize("bad", [
    {"type": "message", "id": 5, "parentId": [], "timestamp": 1e400, "message": "text"},
    {"type": "message", "message": {"role": "assistant", "content": {"type": "text"},
                                    "usage": {"input": "12", "output": 1e400}}},
    {"type": "message", "message": {"role": "assistant", "content": [
        {"type": "toolCall", "id": None, "name": 7, "arguments": [1, 2]}, "oops", None]}},
    {"type": "message", "message": {"role": "toolResult", "toolCallId": 3, "content": 4}},
    {"type": "session", "id": 12, "cwd": ["x"], "branchedFrom": {"a": 1}},
    {"type": "model_change", "modelId": None},
    {"type": "compaction", "summary": 12},
])
def test_wrong_types_cost_only_their_entry(tmp_path, bad):
    path = write_lines(tmp_path / "p" / "s.jsonl", header(), bad,
                       message("m1", None, "user", "still here"))
    result = parse(path, tmp_path)
    (session,) = result.sessions
    assert session.first_message == "still here"


def test_a_cut_last_line_marks_the_session_truncated(tmp_path):
    path = write_lines(tmp_path / "p" / "s.jsonl", header(),
                       message("m1", None, "user", "hello"), b'{"type":"message","id":"m2"')
    path.write_bytes(path.read_bytes().rstrip(b"\n"))
    result = parse(path, tmp_path)
    assert result.is_truncated and result.sessions[0].termination_status == "truncated"


def test_sniff_and_root(tmp_path):
    assert parser.sniff(FIXTURE)
    other = write_lines(tmp_path / "x.jsonl", {"type": "user", "message": {}})
    assert not parser.sniff(other)
    nested = tmp_path / PROJECT_DIR / CHILD_FILE
    assert parser.root_of(nested) == tmp_path
    assert parser.root_of(tmp_path / CHILD_FILE) == tmp_path
    assert parser.matches((PROJECT_DIR, CHILD_FILE)) and parser.matches((CHILD_FILE,))
    assert not parser.matches((PROJECT_DIR, "subagent-artifacts", "a.jsonl"))


@pytest.mark.django_db
def test_sync_archives_a_fork_before_and_after_its_parent(agent_env):
    root = agent_env["pi"]
    child = root / PROJECT_DIR / CHILD_FILE
    child.parent.mkdir(parents=True)
    shutil.copyfile(FIXTURE, child)
    # the parent is not archived: the fork is archived anyway, with its link
    assert_synced_end_to_end("pi", {"pi:pi-test-session-uuid"})
    write_lines(root / PROJECT_DIR / PARENT_FILE,
                header("parent-uuid", cwd="/Users/alice/code/my-project"),
                message("m1", None, "user", "the original question"),
                message("m2", "m1", "assistant", [{"type": "text", "text": "an answer"}]))
    sync_command()
    stored = Session.objects.get(pk="pi:pi-test-session-uuid")
    assert stored.parent_session_id == "pi:parent-uuid"
    assert stored.relationship_type == "fork"
    assert Session.objects.filter(pk="pi:parent-uuid", agent="pi").exists()
    assert ToolCall.objects.filter(session_id="pi:pi-test-session-uuid",
                                   category="Read").count() == 1
