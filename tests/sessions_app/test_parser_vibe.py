"""The Mistral Vibe parser: the fixture sessions (text only, tools, empty), its metadata
sidecar gone or broken, failed tools, and a real sync."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from agentsview.config import load_config
from sessions_app.models import Session, SourceFile
from sessions_app.parsers.base import ParseOptions
from sessions_app.parsers.vibe import parser
from sessions_app.services.sync import run_sync
from tests.layouts import AGENT_FIXTURES
from tests.sessions_app.agent_sync_checks import assert_synced_end_to_end

FIXTURES = AGENT_FIXTURES / "vibe" / "repo"
BASIC = "vibe:abc123def-0000-0000-0000-000000000000"
TOOLS = "vibe:def456ghi-0000-0000-0000-000000000000"


@pytest.fixture
def root(tmp_path) -> Path:
    shutil.copytree(FIXTURES, tmp_path / "session")
    return tmp_path / "session"


def parse(root: Path, folder: str):
    return parser.parse(root / folder / "messages.jsonl", root,
                        ParseOptions(max_line_bytes=1024 * 1024))


def test_a_text_session(root):
    result = parse(root, "session_basic")
    assert result.issues == []
    (session,) = result.sessions
    assert session.id == BASIC and session.agent == "vibe"
    assert session.project == "myapp" and session.cwd == "/home/user/projects/myapp"
    assert session.git_branch == "main"
    assert session.display_name is None  # an automatic title is the first prompt
    assert session.first_message == "Create a Python function to sort a list"
    assert session.user_message_count == 2 and session.message_count == 5
    assert session.started_at == datetime(2026, 6, 13, 10, 0, tzinfo=UTC)
    assert session.ended_at == datetime(2026, 6, 13, 10, 5, tzinfo=UTC)
    # no message has a time of its own: the first has the start, the last the end
    assert [m.timestamp is not None for m in session.messages] == [True, False, False, False,
                                                                    True]
    assert all(m.model == "mistral-medium-3.5" for m in session.messages
               if m.role == "assistant")
    # the session's token totals, on its last assistant message
    assert orjson.loads(session.messages[-1].token_usage) == {"input_tokens": 100,
                                                              "output_tokens": 50}
    assert session.total_output_tokens == 50 and session.peak_context_tokens == 150
    assert session.termination_status == "awaiting_user"


def test_a_session_with_a_tool_call(root):
    (session,) = parse(root, "session_with_tools").sessions
    assert session.id == TOOLS and session.git_branch == "feature/tool-support"
    assert session.project == "myapp"
    assert [m.role for m in session.messages] == ["user", "assistant", "assistant"]
    call = session.messages[1].tool_calls[0]
    assert (call.tool_use_id, call.tool_name, call.category, call.file_path) == (
        "call_001", "read_file", "Read", "README.md")
    assert orjson.loads(call.input_json) == {"path": "README.md"}
    assert call.result_content_length == len("# My Project\n\nThis is a sample project.")
    assert session.messages[1].content.endswith("[Read: README.md]")


def test_an_empty_session_is_no_session(root):
    result = parse(root, "session_empty")
    assert result.sessions == [] and result.size == 0 and result.issues == []


def test_string_arguments_thinking_and_failed_tools(root):
    folder = root / "session_x"
    folder.mkdir()
    lines = [
        {"role": "system", "content": "You are Vibe."},
        {"role": "user", "content": "run it"},
        {"role": "assistant", "content": "", "reasoning_content": "plan first",
         "tool_calls": [{"id": "c1", "function": {"name": "bash",
                                                  "arguments": '{"command": "make test"}'}},
                        {"id": "c2", "function": {"name": "bash", "arguments": "{broken"}}]},
        {"role": "tool", "tool_call_id": "c1",
         "content": "<tool_error>bash failed: 2</tool_error>"},
        {"role": "tool", "tool_call_id": "c2",
         "content": "<user_cancellation>no</user_cancellation>"},
        {"role": "user", "content": "context from a hook", "injected": True},
    ]
    (folder / "messages.jsonl").write_bytes(b"".join(orjson.dumps(x) + b"\n" for x in lines))
    result = parse(root, "session_x")
    assert any("no readable meta.json" in issue for issue in result.issues)
    (session,) = result.sessions
    assert session.id == "vibe:session_x" and session.project == "unknown"
    assert session.started_at is not None  # the file's time
    assistant = session.messages[1]
    assert assistant.has_thinking and assistant.thinking_text == "plan first"
    assert assistant.content == "[Thinking]\nplan first\n[/Thinking]\n[Bash]\n$ make test\n[Bash]"
    first, second = assistant.tool_calls
    assert orjson.loads(first.input_json) == {"command": "make test"}
    assert second.input_json == "{broken"
    assert [e.status for e in first.result_events] == ["errored"]
    assert [e.status for e in second.result_events] == ["cancelled"]
    assert session.messages[-1].is_system and session.user_message_count == 1


@pytest.mark.parametrize("meta", [
    b'{"session_id": "abc123def-0000-0000-0000-000000000000", "start_time": "2026-06-13T10:00',
    b'{"session_id": 5, "start_time": [], "stats": {"session_completion_tokens": 1e400},'
    b' "environment": "x", "parent_session_id": {"a": 1}}',
    b"\xff\xfe garbage",
])
def test_a_broken_sidecar_costs_only_what_it_held(root, meta):
    (root / "session_basic" / "meta.json").write_bytes(meta)
    result = parse(root, "session_basic")
    (session,) = result.sessions
    assert session.message_count == 5
    assert session.id in (BASIC, "vibe:session_basic")
    assert any(issue.startswith("meta.json") or "meta.json" in issue for issue in result.issues)


def test_a_parent_session_is_a_continuation(root):
    meta = orjson.loads((root / "session_basic" / "meta.json").read_bytes())
    meta["parent_session_id"] = "before-compaction"
    meta["title_source"] = "manual"
    (root / "session_basic" / "meta.json").write_bytes(orjson.dumps(meta))
    (session,) = parse(root, "session_basic").sessions
    assert session.parent_session_id == "vibe:before-compaction"
    assert session.relationship_type == "continuation"
    assert session.display_name == "Create a Python function to sort a list"


def test_paths(root):
    transcript = root / "session_basic" / "messages.jsonl"
    assert parser.matches(("session_basic", "messages.jsonl"))
    assert not parser.matches(("session_basic", "meta.json"))
    assert parser.companion_paths(transcript) == (transcript.with_name("meta.json"),)
    assert parser.root_of(transcript) == root and parser.sniff(transcript)


@pytest.mark.django_db
def test_sync_archives_the_sessions_and_notices_a_metadata_change(agent_env):
    shutil.copytree(FIXTURES, agent_env["vibe"], dirs_exist_ok=True)
    assert_synced_end_to_end("vibe", {BASIC, TOOLS})
    empty = SourceFile.objects.get(path__endswith="session_empty/messages.jsonl")
    assert empty.session_ids == []
    meta = agent_env["vibe"] / "session_basic" / "meta.json"
    data = orjson.loads(meta.read_bytes())
    data["git_branch"] = "release"
    meta.write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2))
    # meta.json is a companion: its change is a change of the session's file
    assert run_sync(load_config()).files_parsed == 1
    assert Session.objects.get(pk=BASIC).git_branch == "release"
