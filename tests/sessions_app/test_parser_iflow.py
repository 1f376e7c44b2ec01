"""iFlow CLI transcripts: the fixture sessions (streamed snapshots merged, tool results
paired), a continuation, bad input, and the sync of an iFlow projects directory."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from sessions_app.models import Session, ToolCall
from tests.sessions_app.agent_cases import (
    api_sessions,
    fixture,
    parse,
    place,
    sync_command,
    sync_report,
)

REPO = fixture("iflow", "repo", "session-5de701fc-7454-4858-a249-95cac4fd3b51.jsonl")
PROJECT_DIR = "-home-dev-projects-webapp"
RICH_ID = "7b1e0c52-3f4d-4e8a-9c21-5d6e7f8091a2"
RICH = fixture("iflow", "synthetic", PROJECT_DIR, f"session-{RICH_ID}.jsonl")


def test_the_repo_session_merges_streamed_snapshots():
    result = parse("iflow", REPO, REPO.parent)
    assert result.issues == []
    [session] = result.sessions
    assert session.id == "iflow:5de701fc-7454-4858-a249-95cac4fd3b51"
    assert session.project == "docker_image_retagger"  # from the Windows cwd
    assert session.cwd == "C:\\exp\\docker-image-retagger"
    assert session.first_message == '启动app时确保环境变量 DOCKER_API_VERSION="1.46"'
    # AgentsView's 11 rows less the six that only carry tool results
    assert (session.message_count, session.user_message_count) == (5, 1)
    calls = [c for m in session.messages for c in m.tool_calls]
    assert [c.tool_name for c in calls] == ["read_file"] * 5 + ["replace"]
    assert len({c.tool_use_id for c in calls}) == 6  # each streamed call kept once
    assert all(c.result_events and c.result_events[0].status == "completed" for c in calls)
    assert calls[0].result_content is None and calls[0].result_content_length == 618  # Read
    assert calls[-1].result_content == "File modified"
    assert calls[0].file_path == "C:\\exp\\docker-image-retagger\\README.md"
    assert session.started_at == datetime(2026, 1, 21, 5, 56, 34, 812000, tzinfo=UTC)
    assert session.ended_at == datetime(2026, 1, 21, 5, 57, 3, 810000, tzinfo=UTC)
    assert {m.model for m in session.messages if m.role == "assistant"} == {"glm-4.7"}
    assert not any(m.has_output_tokens for m in session.messages)  # all-zero usage: none
    assert session.source_version == "1.0.0"
    assert session.termination_status == "awaiting_user"


def test_failures_thinking_and_system_rows():
    [session] = parse("iflow", RICH).sessions
    assert session.id == f"iflow:{RICH_ID}"
    assert (session.project, session.git_branch) == ("webapp", "fix/login")
    rows = [(m.role, m.is_system, m.source_subtype) for m in session.messages]
    assert rows == [("user", False, ""), ("assistant", False, ""), ("assistant", False, ""),
                    ("assistant", False, ""), ("user", True, "interrupted"),
                    ("user", False, ""), ("assistant", False, "")]
    assert session.user_message_count == 2
    first = session.messages[1]
    assert first.has_thinking and first.thinking_text == "Start with the test suite."
    [run] = first.tool_calls  # the second snapshot repeats it
    assert run.category == "Bash" and run.result_events[0].status == "errored"
    assert "[Bash]\n$ npm test" in first.content
    [edit] = session.messages[2].tool_calls
    assert (edit.category, edit.file_path) == ("Edit", "/home/dev/projects/webapp/src/login.js")
    assert edit.result_events[0].status == "completed"
    assert session.started_at == datetime(2026, 7, 3, 9, 0, tzinfo=UTC)  # the meta line too
    assert session.parent_session_id is None


def test_a_continuation_names_its_parent(tmp_path):
    lines = RICH.read_bytes().splitlines()
    child = tmp_path / PROJECT_DIR / "session-aaaa0000-0000-4000-8000-000000000001.jsonl"
    child.parent.mkdir()
    child.write_bytes(b"\n".join(lines[1:4]) + b"\n")
    [session] = parse("iflow", child, tmp_path).sessions
    assert session.parent_session_id == f"iflow:{RICH_ID}"
    assert session.relationship_type == "continuation"
    assert session.source_session_id == f"session-{RICH_ID}"


def test_a_project_dir_without_cwd_names_the_project(tmp_path):
    path = tmp_path / PROJECT_DIR / "session-x.jsonl"
    path.parent.mkdir()
    path.write_bytes(orjson.dumps({"type": "user", "message": {"content": "hi"}}) + b"\n")
    assert parse("iflow", path, tmp_path).sessions[0].project == "webapp"


@pytest.mark.parametrize("mutation", [
    lambda data: data[: len(data) // 2],  # cut mid-line
    lambda data: data.replace(b'"content":"Now commit it"', b'"content":{"x":[1e999]}'),
    lambda data: data.replace(b'"tool_use_id":"call_run1"', b'"tool_use_id":7'),
    lambda data: data.replace(b'"input":{"command":"npm test"', b'"input":{"command":[[[[]]]]'),
    lambda data: b"\x00\xff" * 50 + b"\n" + data,
])
def test_bad_input_costs_only_its_lines(tmp_path, mutation):
    path = tmp_path / PROJECT_DIR / RICH.name
    path.parent.mkdir()
    path.write_bytes(mutation(RICH.read_bytes().replace(b'": ', b'":').replace(b'", "', b'","')))
    result = parse("iflow", path, tmp_path)
    [session] = result.sessions
    assert session.messages and session.messages[0].content == "Run the tests and fix what fails"


@pytest.mark.django_db
def test_sync_archives_the_sessions_and_the_api_lists_them(agent_env):
    root = agent_env["iflow"]
    place(REPO, root / "docker-image-retagger" / REPO.name)
    place(RICH, root / PROJECT_DIR / RICH.name)
    out, err, code = sync_command()
    assert code == 0, err
    ids = {"iflow:5de701fc-7454-4858-a249-95cac4fd3b51", f"iflow:{RICH_ID}"}
    assert set(Session.objects.filter(agent="iflow").values_list("id", flat=True)) == ids
    assert {s["id"] for s in api_sessions("iflow")} == ids
    assert ToolCall.objects.filter(session_id=f"iflow:{RICH_ID}").count() == 2
    assert sync_report().files_parsed == 0
