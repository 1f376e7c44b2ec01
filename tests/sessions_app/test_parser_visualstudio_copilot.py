"""Visual Studio Copilot traces: AgentsView's redacted samples (one conversation across four
files, tool spans only) and ours (chat spans with prompts, reasoning, usage and a failed
build, continued in a later file), bad lines and wrong types, and a real sync."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from sessions_app.models import Session
from sessions_app.parsers.base import ParseOptions
from sessions_app.parsers.visualstudio_copilot import parser
from tests.layouts import AGENT_FIXTURES
from tests.sessions_app.agent_sync_checks import assert_synced_end_to_end
from tests.sessions_app.store_helpers import copy_tree, sync_report, wrong_type_mutants
from tests.sessions_app.test_parser_fuzz import check

REPO = AGENT_FIXTURES / "visualstudio-copilot" / "repo"
OURS = AGENT_FIXTURES / "visualstudio-copilot" / "synthetic" / "traces"
SHARED = "visualstudio-copilot:4a8f63f6-7626-4416-a874-fc7bd2c3f005"
SECOND = "visualstudio-copilot:c0aca2e3-d1f2-4d28-bd5e-5dab29e2be28"
CHAT = "visualstudio-copilot:7d2e9c41-3b5a-4c6d-9e8f-0a1b2c3d4e5f"
FIRST_TRACE = "20260615T234059_b45c44b2_VSGitHubCopilot_traces.jsonl"
LATER_TRACE = "20260616T081500_c7d1e2f3_VSGitHubCopilot_traces.jsonl"


def parse(path: Path):
    return parser.parse(path, path.parent, ParseOptions(max_line_bytes=1024 * 1024))


def sample(n: int) -> str:
    return f"sample-{n}_VSGitHubCopilot_traces.jsonl"


@pytest.fixture
def repo(tmp_path) -> Path:
    return copy_tree(REPO, tmp_path / "traces")


@pytest.fixture
def ours(tmp_path) -> Path:
    return copy_tree(OURS, tmp_path / "ours")


def test_a_conversation_across_four_trace_files(repo):
    result = parse(repo / sample(1))
    assert result.issues == [] and result.records == 4
    (session,) = result.sessions
    assert session.id == SHARED and session.agent == "visualstudio-copilot"
    assert session.project == "visualstudio" and session.source_version == "18.6.11822.322"
    # the traces hold no prompt: AgentsView's summary of the first tool span names it
    assert session.first_message == "" and session.user_message_count == 0
    assert session.display_name == "Read file: src/App.cs"
    assert session.message_count == 10
    assert session.started_at == datetime(2026, 6, 12, 19, 46, 40, tzinfo=UTC)
    assert session.ended_at == datetime(2026, 6, 12, 20, 36, 50, tzinfo=UTC)
    calls = [c for m in session.messages for c in m.tool_calls]
    assert [(c.tool_name, c.category) for c in calls[:3]] == [
        ("get_file", "Read"), ("apply_patch", "Edit"), ("run_build", "Bash")]
    assert calls[1].file_path == "src/App.cs" and session.messages[1].content == (
        "[Edit: src/App.cs]")
    assert calls[2].result_content == "Build succeeded with 0 warning(s)."
    assert all(e.status == "completed" for c in calls for e in c.result_events)
    assert [m.model for m in session.messages][-3:] == ["gpt-5.5", "gpt-5.5-2026-03-05",
                                                        "gpt-5.5-2026-03-05"]
    # the later files hold more of it: not archived twice
    for n in (2, 3):
        assert parse(repo / sample(n)).sessions == []
    (other,) = parse(repo / sample(4)).sessions
    assert other.id == SECOND and other.display_name == "File search: **/*.md"
    assert set(parser.companion_paths(repo / sample(1))) == {repo / sample(n) for n in (2, 3, 4)}


def test_chat_spans_give_prompts_answers_usage_and_failures(ours):
    (session,) = parse(ours / FIRST_TRACE).sessions
    assert parse(ours / LATER_TRACE).sessions == []
    assert session.id == CHAT and session.display_name is None
    assert session.first_message == "Why does the build of Example.App fail?"
    assert [m.role for m in session.messages] == ["user", "assistant", "assistant", "user",
                                                 "assistant", "assistant"]
    assert session.user_message_count == 2  # a prompt repeated by every chat span is one
    ask = session.messages[1]
    assert ask.has_thinking and ask.thinking_text == (
        "Read Program.cs, then build to see the error.")
    read, build = ask.tool_calls
    assert (read.tool_use_id, read.file_path, read.category) == ("call_vs1", "src/Program.cs",
                                                                 "Read")
    assert [e.status for e in build.result_events] == ["errored"]
    assert build.result_content.startswith("Build failed: src/Program.cs(1,45)")
    assert orjson.loads(ask.token_usage) == {"input_tokens": 18240, "output_tokens": 96}
    assert ask.model == "gpt-5.5-2026-03-05"
    assert (session.total_output_tokens, session.peak_context_tokens) == (361, 19480)
    patch, rebuild = session.messages[4].tool_calls
    assert patch.file_path == "src/Program.cs" and rebuild.result_events[0].status == (
        "completed")
    assert session.started_at == datetime(2026, 6, 15, 8, 40, 59, tzinfo=UTC)
    assert session.ended_at == datetime(2026, 6, 16, 8, 15, 30, tzinfo=UTC)
    assert session.termination_status == "awaiting_user"


def test_matches_sniff_and_root(repo):
    assert parser.matches((sample(1),))
    assert not parser.matches(("x", sample(1))) and not parser.matches(("traces.jsonl",))
    assert parser.sniff(repo / sample(1)) and parser.root_of(repo / sample(1)) == repo
    other = repo / "notes.jsonl"
    other.write_text('{"role": "user"}\n')
    assert not parser.sniff(other)


def test_bad_lines_cost_only_themselves(ours):
    path = ours / FIRST_TRACE
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(lines[0] + b"{not json\n" + b"[1, 2]\n" + b"".join(lines[1:])
                     + lines[2][:40])
    result = parse(path)
    assert result.malformed_lines == 3 and result.is_truncated
    assert any(issue.startswith("line 2:") for issue in result.issues)
    (session,) = result.sessions
    assert session.user_message_count == 2
    check("visualstudio-copilot", path, ours)


@pytest.mark.parametrize("data", [b"", b"\x00\xff" * 100, b'{"resourceSpans": 5}\n',
                                  b'{"resourceSpans": [{"scopeSpans": [{"spans": [{}]}]}]}\n'])
def test_files_without_conversations(tmp_path, data):
    path = tmp_path / sample(9)
    path.write_bytes(data)
    result = parse(path)
    assert result.sessions == []
    check("visualstudio-copilot", path, tmp_path)


def test_wrong_types_in_any_field(tmp_path):
    lines = (OURS / FIRST_TRACE).read_bytes().splitlines()
    for index in (1, 3):  # a chat span, the failed tool span
        envelope = orjson.loads(lines[index])
        for where, mutant in wrong_type_mutants(envelope, exhaustive=False):
            folder = tmp_path / f"m{index}"
            folder.mkdir(exist_ok=True)
            path = folder / FIRST_TRACE
            path.write_bytes(b"\n".join([*lines[:index], mutant, *lines[index + 1:]]) + b"\n")
            try:
                check("visualstudio-copilot", path, folder)
            except Exception as exc:  # pragma: no cover - the failure names the mutant
                raise AssertionError(f"line {index + 1}, {where}") from exc


@pytest.mark.django_db
def test_sync_incremental_and_a_turn_in_a_later_file(agent_env):
    root = agent_env["visualstudio-copilot"]
    copy_tree(REPO, root)
    copy_tree(OURS, root)
    assert_synced_end_to_end("visualstudio-copilot", {SHARED, SECOND, CHAT})
    stored = Session.objects.get(pk=CHAT)
    assert stored.file_path == str(root / FIRST_TRACE) and stored.user_message_count == 2
    assert stored.tool_failure_signal_count >= 1
    # Visual Studio writes the next turn into the later trace: the first one re-reads it
    later = root / LATER_TRACE
    lines = later.read_bytes().splitlines()
    turn = orjson.loads(lines[-1])
    span = turn["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    span["spanId"] = "2b00000000000009"
    for attr in span["attributes"]:
        if attr["key"] == "gen_ai.input.messages":
            attr["value"]["stringValue"] = orjson.dumps([{"role": "user", "parts": [
                {"type": "text", "content": "Thanks, now run the tests."}]}]).decode()
        if attr["key"] == "copilot_chat.root_request_id":
            attr["value"]["stringValue"] = "9b1e0000-0000-4000-8000-0000000000a3"
    later.write_bytes(later.read_bytes() + orjson.dumps(turn) + b"\n")
    report = sync_report()
    assert report.conflicts == 0 and not report.errors
    assert Session.objects.get(pk=CHAT).user_message_count == 3
    assert sync_report().files_parsed == 0
