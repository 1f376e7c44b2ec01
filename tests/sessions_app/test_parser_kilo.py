"""The Kilo Code parser (``parsers/cline_tasks.py``): a task in the XML tool protocol with a
time on every message (Kilo Code 4.x, as Roo Code before native tools), Kilo's own bad inputs,
and a real sync. The family's common bad inputs are tested in test_parser_cline.py."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from sessions_app.models import Session
from sessions_app.parsers.base import ParseOptions
from sessions_app.parsers.cline_tasks import kilo
from tests.layouts import AGENT_FIXTURES
from tests.sessions_app.agent_sync_checks import assert_synced_end_to_end

FIXTURES = AGENT_FIXTURES / "kilo" / "synthetic"
TASK = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
CONVERSATION = "api_conversation_history.json"


@pytest.fixture
def root(tmp_path) -> Path:
    target = tmp_path / "kilocode.kilo-code"
    shutil.copytree(FIXTURES, target)
    return target


def parse(root: Path):
    return kilo.parse(root / "tasks" / TASK / CONVERSATION, root,
                      ParseOptions(max_line_bytes=4 * 1024 * 1024))


def only_session(root: Path):
    result = parse(root)
    (session,) = result.sessions
    return session


def calls(session) -> list:
    return [c for m in session.messages for c in m.tool_calls]


def rewrite(root: Path, edit) -> None:
    path = root / "tasks" / TASK / CONVERSATION
    document = orjson.loads(path.read_bytes())
    edit(document)
    path.write_bytes(orjson.dumps(document))


def test_the_fixture_task(root):
    result = parse(root)
    assert result.issues == []
    (session,) = result.sessions
    assert (session.id, session.agent) == (f"kilo:{TASK}", "kilo")
    # no history item: the working directory of the environment details
    assert (session.cwd, session.project) == ("/home/dev/projects/ml-pipeline", "ml_pipeline")
    assert session.first_message == ("The nightly ETL job crashes on empty CSV files; make it "
                                     "skip them.")
    assert (session.message_count, session.user_message_count) == (12, 3)
    assert [m.content for m in session.messages if m.role == "user" and not m.is_system] == [
        "The nightly ETL job crashes on empty CSV files; make it skip them.",
        "Can you also log how many files were skipped at the end?",
        "Add it to the summary log line",  # the <answer> to ask_followup_question
    ]
    resumed = session.messages[-1]  # VS Code was closed: the harness's note, not the user
    assert resumed.is_system and resumed.source_subtype == "resume"
    assert resumed.content.startswith("[TASK RESUMPTION] This task was interrupted 3 hours ago.")
    assert session.started_at == datetime(2026, 1, 7, 16, 30, tzinfo=UTC)
    assert session.ended_at == datetime(2026, 1, 7, 19, 33, 20, tzinfo=UTC)  # resume_task ask
    assert session.parent_session_id is None
    assert session.termination_status == "awaiting_user"

    read, diff, failing, fix, passing, done, question, log = calls(session)
    # Kilo's read_file takes <args><file><path>...
    assert (read.tool_name, read.category, read.file_path) == ("read_file", "Read", "etl/load.py")
    assert orjson.loads(read.input_json)["path"] == "etl/load.py"
    assert read.result_content_length > 200
    assert [e.status for e in failing.result_events] == ["errored"]  # Exit code: 1
    assert "NameError: name 'os' is not defined" in failing.result_content
    assert [e.status for e in passing.result_events] == [""]  # Exit code: 0
    assert session.messages[3].content == "[Bash]\n$ python -m pytest tests/test_load.py -q"
    assert (diff.category, fix.file_path, log.file_path) == ("Edit", "etl/load.py", "etl/run.py")
    assert question.result_content == "<answer>\nAdd it to the summary log line\n</answer>"
    assert session.messages[8].content == (
        "[Tool: ask_followup_question]\n\nShould the count go to the job's summary log line or "
        "to a separate metric?")
    assert "The user has provided feedback" in done.result_content
    first = session.messages[1]
    assert first.thinking_text.startswith("The crash is probably pandas")
    assert first.model == "anthropic/claude-sonnet-4"  # the environment details' <model>
    assert first.timestamp == datetime(2026, 1, 7, 16, 30, 5, tzinfo=UTC)
    assert (first.context_tokens, first.output_tokens) == (3 + 8712, 96)
    assert session.total_output_tokens == 96 + 190 + 48 + 95 + 48 + 70 + 88 + 102


def test_an_unclosed_tool_use_is_read_to_the_end(root):
    def cut(document):
        document[-2]["content"][0]["text"] = (
            "<apply_diff>\n<path>etl/run.py</path>\n<diff>\n<<<<<<< SEARCH\n:start_line:22")
        del document[-1]

    rewrite(root, cut)
    session = only_session(root)
    last = calls(session)[-1]
    assert (last.tool_name, last.file_path) == ("apply_diff", "etl/run.py")
    assert orjson.loads(last.input_json)["diff"].startswith("<<<<<<< SEARCH")
    assert last.result_content_length is None
    assert session.termination_status == "tool_call_pending"


def test_a_tool_named_in_prose_is_prose_but_its_tag_opens_a_tool_use(root):
    # as the agent reads it: an opening tag starts a tool use, closed or not
    def mention(document):
        document[1]["content"][0]["text"] = (
            "I could use read_file, or `<read_file>` in XML, but first: <b>hello</b>.")

    rewrite(root, mention)
    session = only_session(root)
    assert session.messages[1].tool_calls[0].tool_name == "read_file"  # the unclosed tag
    assert "I could use read_file, or `" in session.messages[1].content


def test_a_harness_error_instead_of_a_prompt_is_a_system_row(root):
    def no_tools(document):
        document.insert(2, {"role": "assistant", "ts": 1767803403000,
                            "content": [{"type": "text", "text": "Let me think."}]})
        document.insert(3, {"role": "user", "ts": 1767803404000, "content": [
            {"type": "text", "text": "[ERROR] You did not use a tool in your previous "
                                     "response! Please retry with a tool use."}]})

    rewrite(root, no_tools)
    session = only_session(root)
    error = session.messages[3]
    assert (error.role, error.is_system, error.source_subtype) == ("user", True, "error")
    assert session.user_message_count == 3


@pytest.mark.django_db
def test_sync_archives_the_task(agent_env):
    shutil.copytree(FIXTURES, agent_env["kilo"], dirs_exist_ok=True)
    assert_synced_end_to_end("kilo", {f"kilo:{TASK}"})
    stored = Session.objects.get(pk=f"kilo:{TASK}")
    assert (stored.agent, stored.project, stored.message_count) == ("kilo", "ml_pipeline", 12)
    assert stored.user_message_count == 3 and stored.tool_failure_signal_count == 1
