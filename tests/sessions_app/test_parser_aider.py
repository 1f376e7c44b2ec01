"""Aider chat histories: one session per run, aider's edits and commands as tool calls, its
token and model notes, ids that survive appends, bad input (a history with no headers), and
the sync of the repositories under AIDER_DIR."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from sessions_app.models import Session, ToolResultEvent
from tests.sessions_app.agent_cases import (
    api_sessions,
    fixture,
    parse,
    place,
    sync_command,
    sync_report,
)

HISTORY = ".aider.chat.history.md"
REPO = fixture("aider", "repo", "myrepo", HISTORY)
RICH = fixture("aider", "synthetic", "code", "webapp", HISTORY)


@pytest.fixture
def repo(tmp_path):
    return place(REPO, tmp_path / "myrepo" / HISTORY)


@pytest.fixture
def rich(tmp_path):
    return place(RICH, tmp_path / "code" / "webapp" / HISTORY)


def test_each_run_of_the_repo_history_is_a_session(repo):
    result = parse("aider", repo)
    assert result.issues == []
    first, second = result.sessions  # the third run has no turn: no session
    assert all(s.id.startswith("aider:") and len(s.id) == 70 for s in (first, second))
    assert first.project == second.project == "myrepo"
    assert first.cwd == str(repo.parent)
    assert first.first_message == "add a retry to the webhook"
    assert (first.message_count, first.user_message_count) == (5, 2)
    assert first.started_at == first.ended_at == datetime(2026, 6, 9, 14, 1, tzinfo=UTC)
    assert {m.timestamp for m in first.messages} == {first.started_at}
    edits = [c for m in first.messages for c in m.tool_calls]
    assert [(c.tool_name, c.category, c.file_path) for c in edits] == [
        ("edit", "Edit", "src/webhook.py"), ("edit", "Edit", "src/webhook.py"),
        ("create_file", "Write", "src/retry.py")]
    assert all(c.result_events[0].status == "completed" for c in edits)
    notes = first.messages[-1]
    assert notes.is_system and notes.content == (
        "Did not apply edit to src/skip.py (--dry-run)\nSkipping edits to src/other.py")
    assert second.first_message == "make the timeout configurable"
    assert second.started_at == datetime(2026, 6, 9, 15, 30, tzinfo=UTC)
    assert second.ended_at == second.started_at  # not the last run of the file


def test_models_tokens_commands_and_failed_edits(rich):
    first, second = parse("aider", rich).sessions
    assert first.project == "webapp" and first.source_version == "0.86.1"
    assert first.first_message == (
        "the login redirect test is flaky make it wait for the page instead of sleeping")
    assert (first.message_count, first.user_message_count) == (11, 3)
    assert first.messages[0].is_system  # aider's start-up notes
    reply = first.messages[2]
    assert reply.model == "anthropic/claude-sonnet-4-20250514"
    assert (reply.context_tokens, reply.output_tokens) == (4200, 180)
    assert orjson.loads(reply.token_usage)["cache_read_input_tokens"] == 2000
    [run] = first.messages[5].tool_calls
    assert (run.tool_name, run.category) == ("run_command", "Bash")
    assert first.messages[5].content == "[Bash]\n$ pytest tests/test_login.py"
    [failed] = first.messages[7].tool_calls
    assert (failed.file_path, failed.result_events[0].status) == ("tests/helpers.py", "errored")
    created, applied = first.messages[9].tool_calls
    assert (created.category, applied.category) == ("Write", "Edit")
    assert first.total_output_tokens == 395
    assert second.messages[2].model == "gpt-4.1"
    assert second.ended_at > second.started_at  # the last run ends at the file's last write


def test_ids_survive_appending_a_run(rich):
    before = [s.id for s in parse("aider", rich).sessions]
    with rich.open("a") as fh:
        fh.write("\n# aider chat started at 2026-07-05 08:00:00\n\n#### next thing  \n\nok\n")
    after = [s.id for s in parse("aider", rich).sessions]
    assert after[:2] == before and len(after) == 3


@pytest.mark.parametrize("data", [
    b"# Notes\n\nJust a README that happens to have this name.\n",
    b"",
    b"\x00\x01\x02\xff\xfe" * 100,
])
def test_a_history_without_headers_is_no_session(tmp_path, data):
    path = tmp_path / "notes" / HISTORY
    path.parent.mkdir()
    path.write_bytes(data)
    result = parse("aider", path)
    assert result.sessions == []
    assert "no '# aider chat started at' header: not an aider chat history, nothing read" \
        in result.issues


def test_bad_bytes_and_odd_headers_cost_only_themselves(tmp_path):
    path = tmp_path / "repo" / HISTORY
    path.parent.mkdir()
    path.write_bytes(b"junk before any run\n# aider chat started at not a time\n\n"
                     b"#### hi \xff\x00\n\nhello\n\n"
                     b"# aider chat started at 2026-01-01 10:00:00\n\n#### ok\n")
    result = parse("aider", path)
    assert "invalid UTF-8 replaced with U+FFFD" in result.issues
    assert "NUL characters removed" in result.issues
    assert "run 1: unreadable start time 'not a time'" in result.issues
    odd, good = result.sessions
    assert odd.messages[0].content == "hi \ufffd"
    assert odd.started_at is None  # not the last run: no clock to give it
    assert good.started_at == datetime(2026, 1, 1, 10, tzinfo=UTC)


@pytest.mark.django_db
def test_sync_finds_histories_under_aider_dir(agent_env):
    root = agent_env["aider"]
    place(REPO, root / "myrepo" / HISTORY)
    place(RICH, root / "code" / "webapp" / HISTORY)
    (root / "notes").mkdir()
    (root / "notes" / HISTORY).write_text("no headers here\n")
    out, err, code = sync_command()
    assert code == 0, err
    assert f"warning: {root / 'notes' / HISTORY}: no '# aider chat started at' header" in err
    sessions = Session.objects.filter(agent="aider")
    assert sessions.count() == 4
    assert {s["id"] for s in api_sessions("aider")} == set(sessions.values_list("id", flat=True))
    assert set(sessions.values_list("project", flat=True)) == {"myrepo", "webapp"}
    assert ToolResultEvent.objects.filter(session__agent="aider", status="errored").count() == 1
    assert sync_report().files_parsed == 0
