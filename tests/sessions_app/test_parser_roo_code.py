"""The Roo Code parser (``parsers/cline_tasks.py``): an orchestrator task in Anthropic's format
with native tools and the subtask it delegated to, kept in Roo's versioned AI SDK envelope;
their link both ways; Roo's own bad inputs; and a real sync. The family's common bad inputs
are tested in test_parser_cline.py, for every agent."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from agentsview.config import load_config
from sessions_app.models import Session, ToolCall
from sessions_app.parsers.base import ParseOptions
from sessions_app.parsers.cline_tasks import roo_code
from sessions_app.services.sync import run_sync
from tests.layouts import AGENT_FIXTURES
from tests.sessions_app.agent_sync_checks import assert_synced_end_to_end

FIXTURES = AGENT_FIXTURES / "roo-code" / "synthetic"
PARENT = "0199c2d4-6a1e-7b3f-9c10-2f4e6a8b0c1d"
CHILD = "0199c2d5-1b2c-7d3e-8f40-5a6b7c8d9e0f"
CONVERSATION = "api_conversation_history.json"


@pytest.fixture
def root(tmp_path) -> Path:
    target = tmp_path / "rooveterinaryinc.roo-cline"
    shutil.copytree(FIXTURES, target)
    return target


def parse(root: Path, task: str):
    return roo_code.parse(root / "tasks" / task / CONVERSATION, root,
                          ParseOptions(max_line_bytes=4 * 1024 * 1024))


def only_session(root: Path, task: str):
    result = parse(root, task)
    assert result.issues == []
    (session,) = result.sessions
    return session


def calls(session) -> list:
    return [c for m in session.messages for c in m.tool_calls]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_the_orchestrator_task_links_the_subtask_it_delegated_to(root):
    session = only_session(root, PARENT)
    assert (session.id, session.agent) == (f"roo-code:{PARENT}", "roo-code")
    assert session.cwd == "/home/dev/projects/shop-frontend"  # history_item.json's workspace
    assert session.project == "shop_frontend"
    assert session.first_message == "Add a dark-mode toggle to the settings page"
    assert (session.message_count, session.user_message_count) == (6, 1)
    assert session.parent_session_id is None and session.relationship_type == ""
    assert (session.started_at, session.ended_at) == (at("2026-01-05T09:00:00"),
                                                      at("2026-01-05T09:02:39"))
    delegate, failed, fix, check, done = calls(session)
    assert (delegate.tool_name, delegate.category) == ("new_task", "Task")
    assert delegate.subagent_session_id == f"roo-code:{CHILD}"
    assert session.messages[1].content.endswith(
        "[Task: Implement a dark-mode toggle in src/pages/Settings.tsx using the existing "
        "ThemeContext. Finish with attempt_completion and a summary. (code)]")
    # created, then the subtask's result when it completed
    assert [e.content[:28] for e in delegate.result_events] == [
        "Successfully created new tas", " Added ThemeToggle (src/comp"]
    # a command that exits non-zero (Roo prints its exit code) failed
    assert [e.status for e in failed.result_events] == ["errored"]
    assert [e.status for e in check.result_events] == [""]  # Exit code: 0
    assert (fix.tool_name, fix.category, fix.file_path) == ("apply_diff", "Edit",
                                                            "src/pages/Settings.tsx")
    assert done.result_content_length is None and session.termination_status == "awaiting_user"
    reply = session.messages[2]
    assert reply.thinking_text == ("The subtask reports success; I should verify the types "
                                   "compile before reporting back.")
    assert reply.model == "claude-sonnet-4-5"  # the environment details' <model>
    assert reply.timestamp == at("2026-01-05T09:01:43")  # the message's own ts
    # usage: the panel's request for this reply
    assert orjson.loads(reply.token_usage) == {
        "input_tokens": 6, "output_tokens": 118, "cache_creation_input_tokens": 604,
        "cache_read_input_tokens": 9811}


def test_the_subtask_in_the_versioned_envelope_links_to_its_parent(root):
    session = only_session(root, CHILD)
    assert session.id == f"roo-code:{CHILD}"
    assert session.parent_session_id == f"roo-code:{PARENT}"
    assert session.relationship_type == "subagent"
    assert session.project == "shop_frontend"
    assert session.first_message.startswith("Implement a dark-mode toggle in src/pages/")
    assert (session.message_count, session.user_message_count) == (6, 1)
    read, write, bad_diff, diff, done = calls(session)
    assert (read.tool_use_id, read.tool_name, read.file_path) == (
        "call_01Read", "read_file", "src/pages/Settings.tsx")
    assert orjson.loads(write.input_json)["line_count"] == 9
    assert write.category == "Write" and write.file_path == "src/components/ThemeToggle.tsx"
    assert [e.status for e in bad_diff.result_events] == ["errored"]  # output type error-text
    assert bad_diff.result_content.startswith("Unable to apply diff")
    assert [e.status for e in diff.result_events] == [""]
    assert done.tool_name == "attempt_completion" and done.result_content_length is None
    assert session.messages[1].thinking_text.startswith("ThemeContext already exposes")
    assert session.started_at == datetime(2026, 1, 5, 9, 0, 8, 500000, tzinfo=UTC)
    assert session.ended_at == at("2026-01-05T09:01:36")


@pytest.mark.parametrize("output", [
    {"type": "execution-denied", "reason": "The user rejected it"},
    {"type": "error-json", "value": {"error": "boom"}},
    {"type": "text", "value": "[ERROR] The file could not be found"},
    {"type": "json", "value": {"status": "error", "message": "The tool execution failed"}},
])
def test_failed_and_refused_sdk_results(root, output):
    path = root / "tasks" / CHILD / CONVERSATION
    document = orjson.loads(path.read_bytes())
    document["messages"][2]["content"][0]["output"] = output
    path.write_bytes(orjson.dumps(document))
    (read, *_) = calls(only_session(root, CHILD))
    want = "cancelled" if output["type"] == "execution-denied" else "errored"
    assert [e.status for e in read.result_events] == [want]


def test_a_reasoning_item_stored_apart_is_the_next_replys_thinking(root):
    path = root / "tasks" / CHILD / CONVERSATION
    document = orjson.loads(path.read_bytes())
    document["messages"].insert(3, {"type": "reasoning", "encrypted_content": "gAAAA",
                                    "summary": [{"type": "summary_text",
                                                 "text": "Write the component next."}]})
    path.write_bytes(orjson.dumps(document))
    session = only_session(root, CHILD)
    assert session.messages[2].thinking_text == "Write the component next."
    assert session.message_count == 6


def test_a_condensed_history_keeps_its_summary_as_a_boundary(root):
    path = root / "tasks" / PARENT / CONVERSATION
    document = orjson.loads(path.read_bytes())
    document.insert(4, {"role": "assistant", "ts": 1767603700000, "isSummary": True,
                        "condenseId": "c1", "content": [{"type": "text", "text":
                                                         "## Summary\nThe toggle exists."}]})
    path.write_bytes(orjson.dumps(document))
    session = only_session(root, PARENT)
    boundary = next(m for m in session.messages if m.is_compact_boundary)
    assert boundary.is_system and boundary.source_subtype == "compact_boundary"
    assert boundary.content == "## Summary\nThe toggle exists."


def test_a_subtask_whose_history_item_is_gone_stands_alone(root):
    (root / "tasks" / CHILD / "history_item.json").unlink()
    session = only_session(root, CHILD)
    assert session.parent_session_id is None and session.relationship_type == ""
    assert session.cwd == "/home/dev/projects/shop-frontend"  # from the environment details


def test_an_envelope_cut_in_half_keeps_its_complete_messages(root):
    path = root / "tasks" / CHILD / CONVERSATION
    data = path.read_bytes()
    path.write_bytes(data[: data.index(b'"call_03Diff"')])
    result = parse(root, CHILD)
    assert result.is_truncated
    (session,) = result.sessions
    assert [c.tool_name for c in calls(session)] == ["read_file", "write_to_file"]


@pytest.mark.django_db
def test_sync_archives_both_tasks_and_their_link(agent_env):
    shutil.copytree(FIXTURES, agent_env["roo-code"], dirs_exist_ok=True)
    assert_synced_end_to_end("roo-code", {f"roo-code:{PARENT}", f"roo-code:{CHILD}"})
    child = Session.objects.get(pk=f"roo-code:{CHILD}")
    assert (child.parent_session_id, child.relationship_type) == (f"roo-code:{PARENT}",
                                                                  "subagent")
    spawned = ToolCall.objects.get(session_id=f"roo-code:{PARENT}", tool_name="new_task")
    assert spawned.subagent_session_id == f"roo-code:{CHILD}"
    assert Session.objects.get(pk=f"roo-code:{PARENT}").tool_failure_signal_count == 1
    # history_item.json is a companion: renaming the workspace alone re-reads the task
    item = agent_env["roo-code"] / "tasks" / PARENT / "history_item.json"
    item.write_bytes(item.read_bytes().replace(b"shop-frontend", b"storefront"))
    assert run_sync(load_config()).files_parsed == 1
    assert Session.objects.get(pk=f"roo-code:{PARENT}").project == "storefront"
