"""Codex at parity with Claude (issue 12, point 4): a command that exits non-zero is a failed
call everywhere a Claude failure shows, commands read as command lines, results as text, and
``codex exec`` runs carry the relationship AgentsView gives them."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest
from django.test import Client

from analytics_app.scoring import compute
from analytics_app.scoring.inputs import from_parsed
from sessions_app.parsers.registry import parser_for
from sessions_app.parsers.tools import codex_label
from tests.layouts import build_codex
from tests.sessions_app.agent_cases import parse
from tests.sessions_app.agent_sync_checks import sync_command
from tests.sessions_app.api_fixtures import HOST

RICH = "codex:0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"  # its `cat READMEE.md` exits 1
REVIEW = "codex:0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a60"  # originator codex_exec
NOW = datetime(2026, 6, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def sessions(tmp_path_factory) -> dict:
    root = build_codex(tmp_path_factory.mktemp("codex"))
    parsed = {}
    for path in sorted(root.rglob("*.jsonl")):
        for session in parse("codex", path, parser_for("codex").root_of(path)).sessions:
            parsed[session.id] = session
    return parsed


def calls_of(session) -> dict:
    return {c.tool_use_id: c for m in session.messages for c in m.tool_calls}


def rollout(tmp_path, *items: dict) -> list:
    """A one-turn rollout holding these response items; its parsed tool calls by id."""
    lines = [
        {"timestamp": "2026-05-01T10:00:00Z", "type": "session_meta",
         "payload": {"id": "parity-1", "cwd": "/home/dev/projects/app"}},
        {"timestamp": "2026-05-01T10:00:01Z", "type": "response_item",
         "payload": {"type": "message", "role": "user",
                     "content": [{"type": "input_text", "text": "run it"}]}},
    ]
    lines += [{"timestamp": f"2026-05-01T10:00:{2 + i:02d}Z", "type": "response_item",
               "payload": item} for i, item in enumerate(items)]
    path = tmp_path / "2026" / "05" / "01" / "rollout-2026-05-01T10-00-00-parity-1.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))
    (session,) = parse("codex", path, tmp_path).sessions
    return calls_of(session)


def call(call_id: str, name: str, arguments: dict) -> dict:
    return {"type": "function_call", "name": name, "call_id": call_id,
            "arguments": orjson.dumps(arguments).decode()}


def output(call_id: str, text: object) -> dict:
    return {"type": "function_call_output", "call_id": call_id, "output": text}


# --- 1. a non-zero exit is a failed call -----------------------------------------------------


def test_a_command_that_exits_non_zero_is_an_errored_call(sessions):
    calls = calls_of(sessions[RICH])
    assert [e.status for e in calls["call_B1"].result_events] == ["errored"]  # exit 1
    assert [e.status for e in calls["call_A1"].result_events] == [""]  # exit 0, like Claude
    assert [e.status for e in calls["call_A2"].result_events] == ["completed"]  # custom tool


def test_the_failure_counts_in_the_signals_and_the_health_score(sessions):
    signals = compute(from_parsed(sessions[RICH]), now=NOW)
    assert signals.tool_failure_signal_count == 1
    assert signals.final_failure_streak == 1
    assert (signals.health_score, signals.health_grade) == (97, "A")
    assert signals.health_penalties == {"tool_failure_signals": 3}


@pytest.mark.parametrize(("text", "status"), [
    ("Exit code: 2\nWall time: 0.3 seconds\nOutput:\nmake: *** [test] Error 2\n", "errored"),
    ("Exit code: 0\nWall time: 0.3 seconds\nOutput:\nok\n", ""),
    ("Chunk ID: 7\nWall time: 1.0 seconds\nProcess exited with code 127\nOutput:\nnope\n",
     "errored"),
    ("Wall time: 1.0 seconds\nProcess running with session ID 3\nOutput:\nstill going\n", ""),
    # an exit line inside the command's own output is not Codex's
    ("Wall time: 1.0 seconds\nOutput:\nExit code: 1\n", ""),
    ('{"output": "boom\\n", "metadata": {"exit_code": 137, "duration_seconds": 1.5}}',
     "errored"),
])
def test_every_output_format_reports_its_exit_code(tmp_path, text, status):
    calls = rollout(tmp_path, call("c1", "exec_command", {"cmd": "make test"}),
                    output("c1", text))
    assert [e.status for e in calls["c1"].result_events] == [status]


@pytest.mark.django_db
def test_the_tool_calls_endpoint_and_the_page_mark_the_failed_call(agent_env):
    build_codex(agent_env["codex"])
    sync_command()
    client = Client()
    response = client.get(f"/api/v1/sessions/{RICH}/tool-calls", HTTP_HOST=HOST)
    flat = {c["tool_use_id"]: c for c in orjson.loads(response.content)["tool_calls"]}
    assert flat["call_B1"]["status"] == "errored"
    assert "status" not in flat["call_A1"]  # no status recorded: omitted
    assert flat["call_A2"]["status"] == "completed"
    session = orjson.loads(client.get(f"/api/v1/sessions/{RICH}", HTTP_HOST=HOST).content)
    assert session["tool_failure_signal_count"] == 1
    assert session["health_penalties"] == {"tool_failure_signals": 3}
    page = client.get(f"/sessions/{RICH}", HTTP_HOST=HOST).content.decode()
    assert page.count('<span class="failed">failed</span>') == 1


# --- 2. commands render as command lines ------------------------------------------------------


def test_shell_commands_render_as_command_lines(sessions):
    labels = [m.content for m in sessions[RICH].messages if m.tool_calls]
    assert labels[0] == '[Bash]\n$ rg -n "router\\." src'
    assert labels[2] == "[Bash]\n$ npm test"
    assert labels[3] == "[Bash]\n$ cat READMEE.md"


@pytest.mark.parametrize(("command", "line"), [
    (["bash", "-lc", "npm test"], "npm test"),
    (["/bin/zsh", "-c", "git status\ngit diff"], "git status"),  # the first line
    (["rg", "-n", "two words", "src"], "rg -n 'two words' src"),
    (["powershell.exe", "-Command", "Get-ChildItem"], "Get-ChildItem"),
    ("cargo build --release", "cargo build --release"),
    (["ls", 3, None], '["ls", 3, null]'),  # not an argv: shown as it was
])
def test_argv_lists_are_joined_and_shell_wrappers_dropped(command, line):
    assert codex_label("shell", {"command": command}, "") == f"[Bash]\n$ {line}"


# --- 3. results render as text ----------------------------------------------------------------


def test_results_are_the_output_text_not_its_json_envelope(sessions):
    calls = calls_of(sessions[RICH])
    assert calls["call_B1"].result_content == "cat: READMEE.md: No such file or directory\n"
    assert calls["call_B1"].result_events[0].content == calls["call_B1"].result_content
    assert calls["call_B1"].result_content_length == 43
    assert calls["call_A2"].result_content.startswith("Success. Updated the following files:")


def test_other_outputs_stay_as_they_were_written(tmp_path):
    calls = rollout(
        tmp_path,
        call("c1", "mcp__docs__lookup", {"query": "retry policy"}),
        output("c1", [{"type": "input_text", "text": "line one"},
                      {"type": "input_image", "image_url": "data:"},
                      {"type": "input_text", "text": "line two"}]),
        call("c2", "spawn_agent", {"message": "x"}),
        output("c2", '{"agent_id": "0199-child"}'),
        call("c3", "update_plan", {"plan": []}),
        output("c3", {"ok": True}),
        call("c4", "view_image", {"path": "a.png"}),
        output("c4", [{"type": "input_text", "text": "a.png"},
                      {"type": "input_image", "image_url": "data:"}]),
    )
    assert calls["c1"].result_content == "line one\nline two"
    # view_image is no Read (the behaviour doc's map leaves it Other): its result is kept
    assert (calls["c4"].category, calls["c4"].result_content) == ("Other", "a.png")
    assert calls["c2"].result_content == '{"agent_id": "0199-child"}'
    assert calls["c2"].subagent_session_id == "codex:0199-child"
    assert calls["c3"].result_content == '{"ok":true}'


# --- 4. codex exec runs -----------------------------------------------------------------------


def test_codex_exec_runs_are_subagents_without_a_parent(sessions):
    review = sessions[REVIEW]
    assert review.session_kind == "non-interactive"
    assert review.relationship_type == "subagent"
    assert review.parent_session_id is None
    assert sessions["codex:quote-123"].relationship_type == "subagent"
    interactive = sessions[RICH]
    assert (interactive.session_kind, interactive.relationship_type) == ("", "")
    child = sessions["codex:0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a70"]
    assert (child.relationship_type, child.parent_session_id) == ("subagent", RICH)
