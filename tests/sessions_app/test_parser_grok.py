"""Grok Build sessions: both history formats, times and failures from updates.jsonl, forks,
headless runs, bad input (a summary cut in half), and the sync of a Grok sessions directory
(a change to the history alone is seen)."""

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

CURRENT = fixture("grok", "repo", "current", "%2Fworkspace%2Fgrok-worktrees%2Fparser-audit",
                  "019f6000-0000-7000-8000-000000000001", "summary.json")
LEGACY = fixture("grok", "repo", "legacy", "%2Fworkspace%2Fagentsview",
                 "019f6000-0000-7000-8000-000000000002", "summary.json")
SESSIONS = fixture("grok", "synthetic", "sessions")
WORKDIR = "%2Fhome%2Fdev%2Fprojects%2Fwebapp"
TIMED = SESSIONS / WORKDIR / "019f7000-0000-7000-8000-0000000000a1" / "summary.json"
HEADLESS = SESSIONS / WORKDIR / "019f7000-0000-7000-8000-0000000000b2" / "summary.json"
PARENT = "grok:019f5000-0000-7000-8000-000000000000"


def test_the_current_history_format():
    result = parse("grok", CURRENT)
    assert result.issues == []
    [session] = result.sessions
    assert session.id == "grok:019f6000-0000-7000-8000-000000000001"
    assert session.project == "agentsview"  # the source workspace of the worktree
    assert session.cwd == "/workspace/grok-worktrees/parser-audit"
    assert session.git_branch == "feature/parser-audit"
    assert (session.parent_session_id, session.relationship_type) == (PARENT, "fork")
    assert session.first_message == "Review parser compatibility"  # project policy skipped
    assert (session.message_count, session.user_message_count) == (5, 2)
    assert [m.source_subtype for m in session.messages if m.role == "user"] == [
        "", "interjection"]
    search, read = (m.tool_calls[0] for m in session.messages if m.tool_calls)
    assert (search.tool_name, search.category, search.tool_use_id) == ("web_search", "Tool",
                                                                       "ws_1")
    assert session.messages[1].content == "[Tool: web_search]\nGrok Build persistence"
    assert (read.tool_name, read.file_path) == ("read_file", "src/session/persistence.rs")
    assert read.result_content_length == len("source body")
    assert session.messages[2].thinking_text == "Inspect both formats"
    assert session.started_at == datetime(2026, 7, 18, 10, tzinfo=UTC)
    assert session.ended_at == datetime(2026, 7, 18, 10, 29, tzinfo=UTC)  # last_active_at
    assert {m.model for m in session.messages if m.role == "assistant"} == {"grok-4.5"}


def test_the_legacy_history_format():
    [session] = parse("grok", LEGACY).sessions
    assert session.id == "grok:019f6000-0000-7000-8000-000000000002"
    assert (session.message_count, session.user_message_count) == (3, 1)
    thinking = session.messages[1]
    assert thinking.thinking_text == "Check the old format"  # reasoning_content
    [read] = thinking.tool_calls
    assert (read.tool_use_id, read.tool_name) == ("call_1", "read_file")
    assert read.result_events[0].status == "completed"


def test_updates_give_times_failures_and_usage():
    [session] = parse("grok", TIMED).sessions
    times = [m.timestamp.strftime("%H:%M:%S") for m in session.messages]
    assert times == ["08:00:05", "08:00:09", "08:00:31", "08:00:40", "08:04:10", "08:04:28"]
    run = session.messages[1].tool_calls[0]
    assert (run.category, run.result_events[0].status) == ("Bash", "errored")  # failed update
    assert run.result_events[0].timestamp == datetime(2026, 7, 20, 8, 0, 25, tzinfo=UTC)
    assert "[Bash]\n$ npm run build" in session.messages[1].content
    edit = session.messages[2].tool_calls[0]
    assert (edit.category, edit.file_path) == ("Edit", "src/app.ts")
    first_turn, second_turn = session.messages[3], session.messages[5]
    assert (first_turn.context_tokens, first_turn.output_tokens) == (12000, 310)
    assert orjson.loads(first_turn.token_usage)["cache_read_input_tokens"] == 9000
    assert (second_turn.context_tokens, second_turn.output_tokens) == (13000, 20)
    assert session.user_message_count == 2
    assert session.first_message == "The build fails, fix it"  # the <user_info> block dropped


def test_a_headless_run_is_non_interactive():
    [session] = parse("grok", HEADLESS).sessions
    assert session.session_kind == "non-interactive"
    assert (session.message_count, session.user_message_count) == (2, 1)


def test_a_summary_cut_in_half_loses_only_its_fields(tmp_path):
    folder = place(TIMED.parent, tmp_path / WORKDIR / TIMED.parent.name)
    summary = folder / "summary.json"
    summary.write_bytes(summary.read_bytes()[:150])
    result = parse("grok", summary, tmp_path)
    assert result.issues == ["summary.json: cut short (incomplete JSON), ignored"]
    [session] = result.sessions
    assert session.message_count == 6
    assert session.project == "webapp"  # from the folder name, url-decoded
    assert session.started_at == datetime(2026, 7, 20, 8, 0, 5, tzinfo=UTC)


def test_bad_history_lines_and_sidecars(tmp_path):
    folder = place(TIMED.parent, tmp_path / WORKDIR / TIMED.parent.name)
    history = folder / "chat_history.jsonl"
    lines = history.read_bytes().splitlines(keepends=True)
    lines[3] = lines[3].replace(b'"tool_calls": [', b'"tool_calls": [7, {"function": 5}, ')
    lines[4] = b'{"type": "tool_result", "tool_call_id": ["x"], "content": {"deep": [[[1e999]]]}}\n'
    history.write_bytes(b"".join(lines[:6]) + b"\xff\x00 noise\n" + b"".join(lines[6:])[:-5])
    (folder / "updates.jsonl").write_bytes(b'{"timestamp": "x", "params": {"update": 3}}\n{')
    (folder / "prompt_context.json").write_bytes(b'{"is_non_interactive": tr')
    result = parse("grok", folder / "summary.json", tmp_path)
    assert "chat_history.jsonl: line 7: invalid JSON, skipped" in result.issues
    assert any(i.startswith("chat_history.jsonl: line 11: truncated") for i in result.issues)
    assert any(i.startswith("updates.jsonl: line 2: truncated") for i in result.issues)
    assert "prompt_context.json: cut short (incomplete JSON), ignored" in result.issues
    [session] = result.sessions
    assert session.session_kind == ""
    assert session.messages[0].content == "The build fails, fix it"
    assert result.is_truncated and session.termination_status == "truncated"


def test_a_session_known_only_by_its_summary(tmp_path):
    folder = tmp_path / WORKDIR / "019f7000-0000-7000-8000-0000000000c3"
    folder.mkdir(parents=True)
    (folder / "summary.json").write_bytes(orjson.dumps({
        "info": {"cwd": "/home/dev/projects/webapp"}, "generated_title": "Tidy the README",
        "created_at": "2026-07-22T07:00:00Z"}))
    [session] = parse("grok", folder / "summary.json", tmp_path).sessions
    assert session.source_version == "grok-summary-v1"
    assert [m.content for m in session.messages] == ["Tidy the README"]


@pytest.mark.django_db
def test_sync_archives_sessions_and_sees_a_history_change(agent_env):
    root = agent_env["grok"]
    place(SESSIONS, root)
    place(CURRENT.parent, root / CURRENT.parent.parent.name / CURRENT.parent.name)
    out, err, code = sync_command()
    assert code == 0, err
    ids = {"grok:019f7000-0000-7000-8000-0000000000a1", "grok:019f7000-0000-7000-8000-0000000000b2",
           "grok:019f6000-0000-7000-8000-000000000001"}
    assert set(Session.objects.filter(agent="grok").values_list("id", flat=True)) == ids
    assert {s["id"] for s in api_sessions("grok")} == ids
    headless = Session.objects.get(pk="grok:019f7000-0000-7000-8000-0000000000b2")
    assert headless.session_kind == "non-interactive" and headless.is_automated
    fork = Session.objects.get(pk="grok:019f6000-0000-7000-8000-000000000001")
    assert fork.parent_session_id == PARENT  # its parent is not archived: it is anyway
    assert ToolResultEvent.objects.filter(status="errored",
                                          session__agent="grok").count() == 1
    assert sync_report().files_parsed == 0
    history = root / WORKDIR / TIMED.parent.name / "chat_history.jsonl"
    with history.open("ab") as fh:
        fh.write(b'{"type":"user","content":[{"type":"text","text":"And the tests?"}]}\n')
    assert sync_report().files_parsed == 1
    assert Session.objects.get(pk="grok:019f7000-0000-7000-8000-0000000000a1").message_count == 7
