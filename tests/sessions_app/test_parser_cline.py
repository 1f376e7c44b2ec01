"""The Cline parser (``parsers/cline_tasks.py``, shared with Roo Code and Kilo Code): the two
fixture tasks (XML tools timed by the panel; native tools with times, models and metrics on
the conversation), the bad inputs of the family's files, and a real sync."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from django.test import Client

from agentsview.config import load_config
from analytics_app.scoring import compute
from analytics_app.scoring.inputs import from_parsed
from sessions_app.models import Session, SourceFile
from sessions_app.parsers.base import ParseOptions
from sessions_app.parsers.cline_tasks import cline, kilo, roo_code
from sessions_app.services.sync import run_sync
from tests.layouts import AGENT_FIXTURES
from tests.sessions_app.agent_sync_checks import assert_synced_end_to_end
from tests.sessions_app.api_fixtures import HOST

FIXTURES = AGENT_FIXTURES / "cline" / "synthetic"
XML_TASK = "1767261600000"  # Cline 3.17: XML tools, no times in the conversation
NATIVE_TASK = "1767348000000"  # Cline 3.36: native tools, ts, modelInfo, metrics
CONVERSATION = "api_conversation_history.json"
OPTIONS = ParseOptions(max_line_bytes=4 * 1024 * 1024)
FAMILY = {"cline": (cline, "cline", XML_TASK),
          "roo-code": (roo_code, "roo-code", "0199c2d4-6a1e-7b3f-9c10-2f4e6a8b0c1d"),
          "kilo": (kilo, "kilo", "7c9e6679-7425-40de-944b-e07fc1f90ae7")}


@pytest.fixture
def root(tmp_path) -> Path:
    target = tmp_path / "saoudrizwan.claude-dev"
    shutil.copytree(FIXTURES, target)
    return target


def parse(root: Path, task: str, parser=cline):
    return parser.parse(root / "tasks" / task / CONVERSATION, root, OPTIONS)


def only_session(root: Path, task: str, parser=cline):
    result = parse(root, task, parser)
    (session,) = result.sessions
    return session


def calls(session) -> list:
    return [c for m in session.messages for c in m.tool_calls]


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# --- the fixtures -----------------------------------------------------------------------------


def test_an_xml_task_reads_its_tools_from_the_text_and_its_times_from_the_panel(root):
    result = parse(root, XML_TASK)
    assert result.issues == [] and not result.is_truncated
    (session,) = result.sessions
    assert (session.id, session.agent) == (f"cline:{XML_TASK}", "cline")
    assert session.source_session_id == XML_TASK
    assert session.cwd == "/home/dev/projects/billing-api"
    assert session.project == "billing_api"
    assert session.first_message == "Fix the failing date test in src/utils/date.ts"
    assert (session.message_count, session.user_message_count) == (12, 3)
    assert [m.content for m in session.messages if m.role == "user"] == [
        "Fix the failing date test in src/utils/date.ts",
        "Also add a test for a date just before midnight UTC",  # attempt_completion feedback
        "Put it in the existing date.test.ts instead",  # feedback on a denied write
    ]
    # bounds: the panel's first and last lines; messages timed by their request
    assert (session.started_at, session.ended_at) == (ts("2026-01-01T10:00:00"),
                                                      ts("2026-01-01T10:03:13"))
    assert session.messages[0].timestamp == ts("2026-01-01T10:00:01")  # request 1 sent
    assert session.messages[1].timestamp == ts("2026-01-01T10:00:04")  # its reply began
    assert all(m.timestamp for m in session.messages)
    assert session.parent_session_id is None and session.relationship_type == ""
    assert session.termination_status == "awaiting_user"  # attempt_completion is the end

    first = session.messages[1]
    assert first.thinking_text.startswith("The formatDueDate test fails.")
    assert "<thinking>" not in first.content and "<read_file>" not in first.content
    assert first.content.endswith("I'll start by reading the date utilities.\n"
                                  "[Read: src/utils/date.ts]")
    assert first.model == "claude-sonnet-4-20250514"  # task_metadata's model_usage
    assert orjson.loads(first.token_usage) == {
        "input_tokens": 4, "output_tokens": 142, "cache_creation_input_tokens": 14210,
        "cache_read_input_tokens": 0}
    assert (first.context_tokens, first.output_tokens) == (14214, 142)

    names = [(c.tool_name, c.category) for c in calls(session)]
    assert names == [
        ("read_file", "Read"), ("replace_in_file", "Edit"), ("replace_in_file", "Edit"),
        ("execute_command", "Bash"), ("attempt_completion", "Tool"), ("write_to_file", "Write"),
        ("replace_in_file", "Edit"), ("execute_command", "Bash"), ("attempt_completion", "Tool")]
    read, bad_edit, edit, test, done, write, *_, last = calls(session)
    assert orjson.loads(read.input_json) == {"path": "src/utils/date.ts"}
    assert read.file_path == "src/utils/date.ts"
    assert read.result_content is None  # Read results are not kept (the default rule)
    assert read.result_content_length == len(b"export function formatDueDate(d: Date): string "
                                             b"{\n  return d.toISOString().slice(0, 10)\n}\n")
    assert [e.status for e in bad_edit.result_events] == ["errored"]  # the tool failed
    assert [e.status for e in edit.result_events] == [""]
    assert [e.status for e in write.result_events] == ["cancelled"]  # the user denied it
    assert test.result_content.startswith("Command executed.\nOutput:\n> billing-api@1.4.0")
    assert "[Bash]\n$ npm test -- src/utils/date.test.ts" in session.messages[4].content
    assert "Also add a test" in done.result_content
    assert session.messages[5].content == (
        "[Tool: attempt_completion]\n\nformatDueDate now formats the local calendar day, so "
        "the due-date test passes.")
    assert last.result_content_length is None  # the task waits for the user
    assert len({c.tool_use_id for c in calls(session)}) == 9  # XML calls get their own ids


def test_a_native_task_reads_times_models_and_metrics_from_the_conversation(root):
    session = only_session(root, NATIVE_TASK)
    assert session.id == f"cline:{NATIVE_TASK}"
    # no working directory in its environment details: state/taskHistory.json has it
    assert (session.cwd, session.project) == ("/home/dev/projects/infra", "infra")
    assert session.first_message == "Why does `make lint` fail on CI but not locally?"
    assert (session.message_count, session.user_message_count) == (8, 2)
    assert session.source_version == "3.36.0"  # task_metadata's environment_history
    assert session.started_at == ts("2026-01-02T10:00:00")
    assert session.ended_at == ts("2026-01-02T10:01:55")
    assert session.messages[0].timestamp == datetime(2026, 1, 2, 10, 0, 0, 500000, tzinfo=UTC)
    reply = session.messages[1]
    assert reply.timestamp == ts("2026-01-02T10:00:06")
    assert reply.model == "claude-sonnet-4-5-20250929"
    assert reply.has_thinking and reply.thinking_text.startswith("CI probably runs")
    # metrics.tokens: prompt includes the cached part
    assert orjson.loads(reply.token_usage) == {
        "input_tokens": 3234, "output_tokens": 210, "cache_read_input_tokens": 12000}
    assert (reply.context_tokens, reply.output_tokens) == (15234, 210)
    assert session.total_output_tokens == 210 + 96 + 74 + 188 + 140 + 77
    run, missing, pyproject, done, pin, last = calls(session)
    assert (run.tool_use_id, run.tool_name) == ("toolu_01LintRun", "execute_command")
    assert orjson.loads(run.input_json) == {"command": "make lint", "requires_approval": False}
    assert [e.status for e in missing.result_events] == ["errored"]  # is_error
    assert [e.status for e in run.result_events] == [""]
    assert pin.file_path == "requirements-dev.txt"
    assert session.messages[5].content == "Pin ruff in requirements-dev.txt please"
    assert last.result_content_length is None
    assert session.termination_status == "awaiting_user"


def test_failures_count_in_the_signals(root):
    signals = compute(from_parsed(only_session(root, XML_TASK)), now=ts("2026-06-01T00:00:00"))
    assert signals.tool_failure_signal_count == 2  # the failed edit and the denied write
    assert signals.health_penalties["tool_failure_signals"] == 6


def test_paths(root):
    conversation = root / "tasks" / XML_TASK / CONVERSATION
    assert cline.matches(("tasks", XML_TASK, CONVERSATION))
    assert not cline.matches(("tasks", XML_TASK, "ui_messages.json"))
    assert not cline.matches((XML_TASK, CONVERSATION))
    assert not cline.matches(("checkpoints", XML_TASK, CONVERSATION))
    assert cline.root_of(conversation) == root
    assert cline.companion_paths(conversation) == tuple(
        conversation.with_name(n)
        for n in ("ui_messages.json", "task_metadata.json", "history_item.json"))
    assert cline.sniff(conversation)
    assert not roo_code.sniff(conversation) and not kilo.sniff(conversation)
    conversation.with_name("ui_messages.json").unlink()
    assert not cline.sniff(conversation)  # a lone conversation file could be anything's


@pytest.mark.parametrize(("agent", "folder"), [
    ("cline", "stray"), ("roo-code", "stray"), ("cline", ".cline"),
    ("roo-code", "rooveterinaryinc.roo-cline"), ("kilo", "kilocode.kilo-code"),
])
def test_a_task_outside_the_agent_dirs_is_claimed_by_one_agent(tmp_path, agent, folder):
    _, root, task = family_root(tmp_path, agent)
    moved = tmp_path / folder / "data" / "tasks" / task
    shutil.copytree(root / "tasks" / task, moved)
    owners = [key for key, (parser, _, _) in FAMILY.items()
              if parser.sniff(moved / CONVERSATION)]
    # by the extension folder in its path; else a Roo task by its history item
    assert owners == [agent]


# --- bad input, for the whole family ----------------------------------------------------------


def family_root(tmp_path: Path, agent: str) -> tuple:
    parser, key, task = FAMILY[agent]
    target = tmp_path / agent
    shutil.copytree(AGENT_FIXTURES / key / "synthetic", target)
    return parser, target, task


@pytest.mark.parametrize("agent", sorted(FAMILY))
def test_a_conversation_cut_in_half_keeps_its_complete_messages(tmp_path, agent):
    parser, root, task = family_root(tmp_path, agent)
    path = root / "tasks" / task / CONVERSATION
    whole = only_session(root, task, parser)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    result = parse(root, task, parser)
    assert result.is_truncated
    assert any("document cut short" in issue for issue in result.issues)
    (session,) = result.sessions
    assert 2 <= session.message_count < whole.message_count
    assert session.first_message == whole.first_message
    assert session.termination_status == "truncated"


@pytest.mark.parametrize("agent", sorted(FAMILY))
@pytest.mark.parametrize("data", [b"", b"   \n", b"\x00\xff\xfe garbage", b"42", b'{"a": 1}',
                                  b"[1, 2, 3]", b'"just text"', b"[" * 5000])
def test_a_conversation_that_is_not_one_yields_nothing(tmp_path, agent, data):
    parser, root, task = family_root(tmp_path, agent)
    (root / "tasks" / task / CONVERSATION).write_bytes(data)
    result = parse(root, task, parser)
    assert result.sessions == []
    assert all("\n" not in issue for issue in result.issues)


@pytest.mark.parametrize("agent", sorted(FAMILY))
@pytest.mark.parametrize("message", [
    None, 7, "text", [], {"role": 5}, {"role": "user", "content": 5},
    {"role": "assistant", "content": [None, 3, {"type": "tool_use", "id": 9, "name": None,
                                                "input": [1e400]}], "ts": "never"},
    {"role": "assistant", "content": "<execute_command><command>", "ts": 1e400,
     "metrics": {"tokens": {"prompt": 2**64 - 1, "completion": "9", "cached": -1}}},
    {"role": "user", "content": [{"type": "tool_result", "tool_use_id": [], "content": {}},
                                 {"type": "text", "text": None}], "ts": True},
    {"role": "assistant", "modelInfo": [], "content": [{"type": "thinking", "thinking": 3}]},
])
def test_wrong_types_in_a_message_cost_that_message_at_most(tmp_path, agent, message):
    parser, root, task = family_root(tmp_path, agent)
    path = root / "tasks" / task / CONVERSATION
    whole = only_session(root, task, parser)
    document = orjson.loads(path.read_bytes())
    messages = document["messages"] if isinstance(document, dict) else document
    messages.insert(2, message)
    path.write_bytes(orjson.dumps(document))
    result = parse(root, task, parser)
    (session,) = result.sessions
    assert session.first_message == whole.first_message
    assert session.message_count >= whole.message_count - 1
    if not isinstance(message, dict):
        assert result.malformed_lines == 1
        assert any("message 2: not an object" in issue for issue in result.issues)


@pytest.mark.parametrize("agent", sorted(FAMILY))
@pytest.mark.parametrize("companion", ["ui_messages.json", "task_metadata.json",
                                       "history_item.json"])
@pytest.mark.parametrize("data", [b"\x00\xff not json", b'{"model_usage": 7, "childIds": "x"}',
                                  b'[{"ts": "soon", "say": "api_req_started", "text": "{"}]',
                                  b"[" * 3000])
def test_a_bad_companion_costs_only_what_it_adds(tmp_path, agent, companion, data):
    parser, root, task = family_root(tmp_path, agent)
    whole = only_session(root, task, parser)
    (root / "tasks" / task / companion).write_bytes(data)
    result = parse(root, task, parser)
    (session,) = result.sessions
    assert (session.message_count, session.first_message) == (whole.message_count,
                                                              whole.first_message)
    assert [c.tool_name for c in calls(session)] == [c.tool_name for c in calls(whole)]
    if data.startswith(b"\x00"):
        assert any(issue.startswith(f"{companion}: invalid JSON") for issue in result.issues)


def test_without_companions_the_conversation_is_read_alone(root):
    task_dir = root / "tasks" / XML_TASK
    for name in ("ui_messages.json", "task_metadata.json"):
        (task_dir / name).unlink()
    (root / "state" / "taskHistory.json").unlink()
    result = parse(root, XML_TASK)
    assert result.issues == []
    (session,) = result.sessions
    assert session.message_count == 12
    assert session.cwd == "/home/dev/projects/billing-api"  # from the environment details
    assert session.started_at is None and session.messages[0].timestamp is None
    assert session.messages[1].model == "" and session.messages[1].token_usage == ""


def test_an_unreadable_companion_is_named(root):
    ui = root / "tasks" / XML_TASK / "ui_messages.json"
    ui.unlink()
    ui.mkdir()
    result = parse(root, XML_TASK)
    assert any(issue.startswith("ui_messages.json: not read") for issue in result.issues)
    assert len(result.sessions) == 1


def test_huge_and_odd_values_are_clamped_with_a_warning(root):
    path = root / "tasks" / NATIVE_TASK / CONVERSATION
    path.write_bytes(path.read_bytes().replace(b'"prompt":15234', b'"prompt":' + b"9" * 30))
    result = parse(root, NATIVE_TASK)
    (session,) = result.sessions
    assert session.messages[1].context_tokens == 2**63 - 1
    assert any("metrics.tokens.input_tokens" in issue and "clamped" in issue
               for issue in result.issues)


# --- a real sync ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_sync_archives_each_task_and_rereads_a_task_whose_panel_changed(agent_env):
    shutil.copytree(FIXTURES, agent_env["cline"], dirs_exist_ok=True)
    assert_synced_end_to_end("cline", {f"cline:{XML_TASK}", f"cline:{NATIVE_TASK}"})
    stored = Session.objects.get(pk=f"cline:{XML_TASK}")
    assert (stored.agent, stored.project, stored.message_count) == ("cline", "billing_api", 12)
    assert stored.tool_failure_signal_count == 2
    assert SourceFile.objects.filter(agent="cline").count() == 2
    # ui_messages.json is a companion: the panel alone changing re-reads the task
    ui = agent_env["cline"] / "tasks" / XML_TASK / "ui_messages.json"
    ui.write_bytes(ui.read_bytes().replace(b'\\"tokensOut\\":142,', b'\\"tokensOut\\":143,'))
    again = run_sync(load_config())
    assert again.files_parsed == 1
    assert Session.objects.get(pk=f"cline:{XML_TASK}").total_output_tokens == 1099
    assert run_sync(load_config()).files_parsed == 0
    # what the session shows: its Markdown and its page (the failed edit marked)
    client = Client()
    markdown = client.get(f"/api/v1/sessions/cline:{XML_TASK}/md", HTTP_HOST=HOST)
    assert markdown.status_code == 200
    assert b"Fix the failing date test" in markdown.content
    page = client.get(f"/sessions/cline:{XML_TASK}", HTTP_HOST=HOST).content.decode()
    assert page.count('<span class="failed">failed</span>') == 1
