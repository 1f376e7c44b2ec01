"""The QwenPaw parser: the fixture workspaces (root, console and channel layouts, an empty
session), local times, bad documents, and a real sync."""

from __future__ import annotations

import shutil
import time
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from sessions_app.models import Session, SourceFile
from sessions_app.parsers.base import ParseOptions
from sessions_app.parsers.qwenpaw import local_time, parser
from tests.layouts import AGENT_FIXTURES
from tests.sessions_app.agent_sync_checks import assert_synced_end_to_end

FIXTURES = AGENT_FIXTURES / "qwenpaw" / "repo"
TOOLS = ("default", "sessions", "main_main.json")
IDS = {
    "qwenpaw:default:default_1700000000000",
    "qwenpaw:default:main_main",
    "qwenpaw:default:console:default_1700000000001",
    "qwenpaw:note_keeper:user@example.com_1700000000002",
}


@pytest.fixture
def root(tmp_path) -> Path:
    shutil.copytree(FIXTURES, tmp_path / "workspaces")
    return tmp_path / "workspaces"


@pytest.fixture
def shanghai(monkeypatch):
    monkeypatch.setenv("TZ", "Asia/Shanghai")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def parse(root: Path, *parts: str):
    return parser.parse(root.joinpath(*parts), root, ParseOptions(max_line_bytes=1024 * 1024))


def test_every_fixture_layout(root):
    ids = set()
    for path in sorted(root.rglob("*.json")):
        assert parser.matches(path.relative_to(root).parts)
        assert parser.root_of(path) == root
        result = parse(root, *path.relative_to(root).parts)
        assert result.issues == [] and result.records == 1
        ids |= {s.id for s in result.sessions}
    assert ids == IDS  # the empty session holds no message, so no session


def test_a_session_with_a_tool_call(root):
    (session,) = parse(root, *TOOLS).sessions
    assert session.agent == "qwenpaw" and session.project == "default"
    assert session.first_message == "读一下 NOTES.md 的内容"
    assert session.user_message_count == 1
    # the system message carrying the tool result is attached to its call, not stored
    assert [m.role for m in session.messages] == ["user", "assistant", "assistant"]
    (call,) = session.messages[1].tool_calls
    assert (call.tool_use_id, call.tool_name, call.category, call.file_path) == (
        "call_aaaaaaaaaaaa", "read_file", "Read", "NOTES.md")
    assert orjson.loads(call.input_json) == {"file_path": "NOTES.md"}
    assert call.result_content_length == len(
        b"# NOTES\n\n- synthetic fixture for agentsview tests\n- no real user data")
    assert session.messages[1].content == "[Read: NOTES.md]"
    assert session.termination_status == "awaiting_user"


def test_thinking_and_channel_names(root):
    (session,) = parse(root, "default", "sessions", "default_1700000000000.json").sessions
    assistant = session.messages[1]
    assert assistant.has_thinking and assistant.thinking_text.startswith("User is asking")
    (channel,) = parse(root, "note_keeper", "sessions",
                       "user@example.com_1700000000002.json").sessions
    assert channel.id == "qwenpaw:note_keeper:user@example.com_1700000000002"
    assert channel.project == "note_keeper"


def test_times_are_local_wall_clock(root, shanghai):
    assert local_time("2026-03-16 09:00:01.250") == datetime(2026, 3, 16, 1, 0, 1, 250000,
                                                             tzinfo=UTC)
    assert local_time("2026-03-16T09:00:00+00:00") == datetime(2026, 3, 16, 9, tzinfo=UTC)
    assert local_time("not a time") is None and local_time(17) is None
    (session,) = parse(root, *TOOLS).sessions
    assert session.started_at == datetime(2026, 3, 16, 1, 0, tzinfo=UTC)
    assert session.ended_at == datetime(2026, 3, 16, 1, 0, 2, tzinfo=UTC)


def test_a_document_cut_in_half_keeps_its_complete_messages(root):
    path = root.joinpath(*TOOLS)
    data = path.read_bytes()
    path.write_bytes(data[: data.index(b'"id": "aID1DDDDD"')])
    result = parse(root, *TOOLS)
    assert result.is_truncated
    assert any("document cut short" in issue for issue in result.issues)
    (session,) = result.sessions
    assert session.message_count == 2  # the last assistant message was cut off
    assert session.termination_status == "truncated"
    call = session.messages[1].tool_calls[0]
    assert call.result_content_length  # its result, before the cut, was read


@pytest.mark.parametrize("data", [
    b"", b"\x00\x01\x02", b"[1, 2]", b'{"agent": {"memory": {"content": "x"}}}',
    b'{"agent": {"memory": {"content": [[null, []], 5, "x", [{"role": "tool"}]]}}}',
    b'{"agent": {"memory": {"content": [[{"role": "user", "content": [{"type": "text",'
    b' "text": ["no"]}], "timestamp": 12}]]}}}',
])
def test_bad_documents_yield_no_session_and_never_raise(root, data):
    path = root.joinpath(*TOOLS)
    path.write_bytes(data)
    assert parse(root, *TOOLS).sessions == []


def test_wrong_types_inside_messages(root):
    path = root.joinpath(*TOOLS)
    doc = orjson.loads(path.read_bytes())
    entries = doc["agent"]["memory"]["content"]
    entries[1][0]["content"][0]["input"] = [1, {"x": 1e308}]
    entries[1][0]["content"][0]["raw_input"] = 5
    entries[2][0]["content"][0]["output"] = {"nested": [1, 2]}
    entries[2][0]["timestamp"] = [2026]
    entries.append([{"role": "assistant", "content": [
        {"type": "tool_use", "id": None, "name": ["x"]}, "text"]}, []])
    path.write_bytes(orjson.dumps(doc))
    result = parse(root, *TOOLS)
    (session,) = result.sessions
    call = session.messages[1].tool_calls[0]
    assert orjson.loads(call.input_json) == [1, {"x": 1e308}]
    assert call.result_content_length == len('{"nested":[1,2]}')


def test_a_failed_tool_is_errored(root):
    path = root.joinpath(*TOOLS)
    doc = orjson.loads(path.read_bytes())
    doc["agent"]["memory"]["content"][2][0]["content"][0]["output"] = [
        {"type": "text", "text": "no such file\n\nTOOL_OUTCOME: status=error; code=not_found"}]
    path.write_bytes(orjson.dumps(doc))
    (session,) = parse(root, *TOOLS).sessions
    assert [e.status for e in session.messages[1].tool_calls[0].result_events] == ["errored"]


def test_sniff(root):
    assert parser.sniff(root.joinpath(*TOOLS))
    other = root / "other.json"
    other.write_text('{"sessionId": "x", "messages": []}')
    assert not parser.sniff(other)


@pytest.mark.django_db
def test_sync_archives_every_session(agent_env):
    shutil.copytree(FIXTURES, agent_env["qwenpaw"], dirs_exist_ok=True)
    out, _ = assert_synced_end_to_end("qwenpaw", IDS)
    assert "0 files with errors" in out
    empty = SourceFile.objects.get(path__endswith="empty.json")
    assert empty.session_ids == [] and empty.error == "no messages, no session"
    assert Session.objects.get(pk="qwenpaw:default:main_main").message_count == 3
