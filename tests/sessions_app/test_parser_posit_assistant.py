"""The Posit Assistant parser: the fixture workspaces (the active branch, a nested subagent, a
workspace without manifest), bad trees and transcripts, and a real sync."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from agentsview.config import load_config
from sessions_app.models import Session
from sessions_app.parsers.base import ParseOptions
from sessions_app.parsers.posit_assistant import parser
from sessions_app.services.sync import run_sync
from tests.layouts import AGENT_FIXTURES
from tests.sessions_app.agent_sync_checks import assert_synced_end_to_end

FIXTURES = AGENT_FIXTURES / "posit-assistant" / "repo" / "workspaces"
MAIN = ("a1b2c3d4", "11111111")
SUB = (*MAIN, "subagents", "22222222")
DEFAULT = ("default", "33333333")


@pytest.fixture
def root(tmp_path) -> Path:
    target = tmp_path / "workspaces"
    shutil.copytree(FIXTURES, target)
    return target


def parse(root: Path, *conversation: str):
    path = root.joinpath(*conversation, "lm-messages.jsonl")
    return parser.parse(path, root, ParseOptions(max_line_bytes=1024 * 1024))


def only_session(root: Path, *conversation: str):
    result = parse(root, *conversation)
    (session,) = result.sessions
    return session


def test_the_main_conversation_follows_its_active_branch(root):
    result = parse(root, *MAIN)
    assert result.issues == []
    (session,) = result.sessions
    assert session.id == "posit-assistant:11111111"
    assert session.agent == "posit-assistant"
    assert session.project == "sales_dashboard"
    assert session.cwd == "/home/dev/projects/sales-dashboard"
    assert session.git_branch == "feature/quarterly-report"
    assert session.display_name == "Sales data loading"
    assert session.parent_session_id is None and session.relationship_type == ""
    assert session.first_message == "How do I load the sales data?"
    assert session.user_message_count == 2 and session.message_count == 5
    assert [m.role for m in session.messages] == ["user", "assistant", "assistant", "user",
                                                  "assistant"]
    # the inactive node (lm message 6) is an abandoned branch
    assert all("abandoned" not in m.content for m in session.messages)
    assert session.started_at == datetime(2025, 1, 1, 0, 0, tzinfo=UTC)
    assert session.ended_at == datetime(2025, 1, 1, 0, 0, 40, tzinfo=UTC)
    assert session.termination_status == "awaiting_user"

    first = session.messages[1]
    assert first.has_thinking and first.thinking_text == "The user wants to load data."
    assert "MESSAGESUMMARY" not in first.content and "Asked about" not in first.content
    assert first.model == "claude-sonnet-4-6"
    assert orjson.loads(first.token_usage) == {
        "input_tokens": 12, "output_tokens": 34, "cache_read_input_tokens": 100,
        "cache_creation_input_tokens": 100}
    assert (first.context_tokens, first.output_tokens) == (212, 34)
    (call,) = first.tool_calls
    assert (call.tool_use_id, call.tool_name, call.category, call.file_path) == (
        "toolu_01", "read", "Read", "data/sales.csv")
    assert call.result_content_length == len("region,amount\nwest,100\n")
    assert session.total_output_tokens == 34 + 20 + 5


def test_a_subagent_links_to_its_parent(root):
    session = only_session(root, *SUB)
    assert session.id == "posit-assistant:22222222"
    assert session.parent_session_id == "posit-assistant:11111111"
    assert session.relationship_type == "subagent"
    assert session.project == "sales_dashboard"  # its parent's workspace
    assert session.first_message == "Explore the data folder and report its layout"
    assert session.messages[1].model == "claude-haiku-4-5"


def test_a_workspace_without_manifest_has_no_project(root):
    session = only_session(root, *DEFAULT)
    assert (session.id, session.project, session.cwd) == ("posit-assistant:33333333",
                                                          "unknown", "")
    assert session.first_message == "hello"


def test_paths(root):
    assert parser.matches((*MAIN, "lm-messages.jsonl"))
    assert parser.matches((*SUB, "subagents", "x", "lm-messages.jsonl"))
    assert not parser.matches((*MAIN, "conversation.json"))
    assert not parser.matches((*MAIN, "other", "x", "lm-messages.jsonl"))
    transcript = root.joinpath(*SUB, "lm-messages.jsonl")
    assert parser.root_of(transcript) == root
    assert parser.companion_paths(transcript) == (
        transcript.with_name("conversation.json"), root / "a1b2c3d4" / "workspace.json")
    assert parser.sniff(transcript)


def test_a_tree_cut_in_half_keeps_what_it_finished(root):
    tree = root.joinpath(*MAIN, "conversation.json")
    data = tree.read_bytes()
    tree.write_bytes(data[: data.index(b'"aaaaaaa1-0000-4000-8000-000000000004"')])
    result = parse(root, *MAIN)
    assert any("conversation.json: document cut short" in i for i in result.issues)
    (session,) = result.sessions
    assert [m.content for m in session.messages][-1] == "thanks"  # nodes 1 to 3 were read


def test_without_a_readable_tree_every_transcript_message_shows(root):
    root.joinpath(*MAIN, "conversation.json").write_bytes(b"\x00\xff not json")
    result = parse(root, *MAIN)
    assert any("invalid JSON" in i for i in result.issues)
    assert any("every transcript message is shown" in i for i in result.issues)
    (session,) = result.sessions
    assert session.messages[-1].content == "This branch was abandoned."
    assert session.display_name is None and session.project == "sales_dashboard"


def test_a_tree_naming_lines_the_transcript_lacks(root):
    transcript = root.joinpath(*MAIN, "lm-messages.jsonl")
    lines = transcript.read_bytes().splitlines(keepends=True)
    transcript.write_bytes(b"".join(lines[:4]) + b"not json\n")
    result = parse(root, *MAIN)
    assert result.malformed_lines == 1
    assert any("not in lm-messages.jsonl: 4, 5" in i for i in result.issues)
    assert result.sessions[0].message_count == 3


@pytest.mark.parametrize("tree", [
    {"root": [], "messages": {}},
    {"root": {"metadata": {"kind": "subagent", "parentTreeId": 7}, "title": 3},
     "messages": [None, {"isActive": True, "lmMessageIds": ["0", True, 1e400, [0]]}]},
    [1, 2, 3],
])
def test_wrong_types_in_the_tree(root, tree):
    root.joinpath(*MAIN, "conversation.json").write_bytes(orjson.dumps(tree))
    result = parse(root, *MAIN)
    assert len(result.sessions) <= 1


@pytest.mark.parametrize("line", [
    {"id": 1, "message": {"role": "assistant", "content": {"x": 1},
                          "providerOptions": {"providerMetadata": {"positai": []}}}},
    {"id": 1, "message": {"role": "assistant", "content": [
        {"type": "tool-call", "toolCallId": 5, "toolName": None, "input": "x"}, 3],
        "providerOptions": {"providerMetadata": {"positai": {
            "timestamp": "soon", "usage": {"inputTokens": 1e400, "outputTokens": "9"}}}}}},
    {"id": 2, "message": {"role": "tool", "content": [
        {"type": "tool-result", "toolCallId": "toolu_01", "output": [1, {"a": None}]}]}},
    {"id": "0", "message": "hello"},
])
def test_wrong_types_in_the_transcript(root, line):
    transcript = root.joinpath(*MAIN, "lm-messages.jsonl")
    lines = transcript.read_bytes().splitlines()
    index = {1: 1, 2: 2, "0": 0}[line["id"]]
    lines[index] = orjson.dumps(line)
    transcript.write_bytes(b"\n".join(lines) + b"\n")
    (session,) = parse(root, *MAIN).sessions
    assert session.message_count >= 2


def test_failed_and_refused_tool_results(root):
    transcript = root.joinpath(*MAIN, "lm-messages.jsonl")
    lines = transcript.read_bytes().splitlines()
    lines[2] = orjson.dumps({"id": 2, "message": {"role": "tool", "content": [
        {"type": "tool-result", "toolCallId": "toolu_01", "toolName": "read",
         "output": {"type": "error-text", "value": "no such file"}}]}})
    transcript.write_bytes(b"\n".join(lines) + b"\n")
    (session,) = parse(root, *MAIN).sessions
    call = session.messages[1].tool_calls[0]
    assert [e.status for e in call.result_events] == ["errored"]


@pytest.mark.django_db
def test_sync_archives_each_conversation(agent_env):
    shutil.copytree(FIXTURES, agent_env["posit-assistant"], dirs_exist_ok=True)
    assert_synced_end_to_end("posit-assistant", {
        "posit-assistant:11111111", "posit-assistant:22222222", "posit-assistant:33333333"})
    child = Session.objects.get(pk="posit-assistant:22222222")
    assert child.parent_session_id == "posit-assistant:11111111"
    assert Session.objects.get(pk="posit-assistant:11111111").message_count == 5
    # the tree is a companion of the transcript: a change to it alone is seen
    tree = agent_env["posit-assistant"].joinpath(*MAIN, "conversation.json")
    tree.write_bytes(tree.read_bytes().replace(b'"Sales data loading"', b'"Quarterly sales"'))
    assert run_sync(load_config()).files_parsed == 1
    assert Session.objects.get(pk="posit-assistant:11111111").display_name == "Quarterly sales"
