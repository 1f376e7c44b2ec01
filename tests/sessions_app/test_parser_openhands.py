"""OpenHands CLI conversations: base_state.json and its events directory (actions,
observations, rejections, tokens per LLM response), the sync, and bad files."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest
from django.test import Client

from sessions_app.models import Session
from sessions_app.parsers.base import ParseOptions
from sessions_app.parsers.registry import parser_for
from tests.layouts import AGENT_FIXTURES, build_codex
from tests.sessions_app.store_helpers import (
    EXHAUSTIVE,
    copy_tree,
    sync_command,
    sync_report,
    wrong_type_mutants,
)
from tests.sessions_app.test_parser_fuzz import check

pytestmark = pytest.mark.django_db

ROOT = AGENT_FIXTURES / "openhands" / "ours" / "conversations"
MAIN_DIR = "3c6b1f0e9a2d4e57b8c15d7e9f0a1b2c"
MAIN = "openhands:3c6b1f0e-9a2d-4e57-b8c1-5d7e9f0a1b2c"
BILLING_DIR = "7e8f9a0b1c2d4e3f8a9b0c1d2e3f4a5b"
BILLING = "openhands:7e8f9a0b-1c2d-4e3f-8a9b-0c1d2e3f4a5b"


def parse(state: Path):
    return parser_for("openhands").parse(state, state.parent.parent, ParseOptions())


def test_a_conversation():
    result = parse(ROOT / MAIN_DIR / "base_state.json")
    assert result.issues == []
    (session,) = result.sessions
    assert session.id == MAIN
    assert (session.project, session.cwd) == ("statuspage", "/home/dev/projects/statuspage")
    assert session.first_message.startswith("The /healthz endpoint returns 500")
    assert (session.message_count, session.user_message_count) == (9, 2)
    calls = {c.tool_use_id: c for m in session.messages for c in m.tool_calls}
    assert {cid: (c.tool_name, c.category, [e.status for e in c.result_events])
            for cid, c in calls.items()} == {
        "toolu_oh1": ("terminal", "Bash", ["completed"]),
        "toolu_oh2": ("file_editor", "Read", ["completed"]),
        "toolu_oh3": ("file_editor", "Edit", ["errored"]),  # is_error
        "toolu_oh4": ("terminal", "Bash", ["errored"]),  # exit code 1
        "toolu_oh5": ("terminal", "Bash", ["errored"]),  # rejected by the user
        "toolu_oh6": ("finish", "Tool", ["completed"]),
    }
    assert session.messages[1].has_thinking and "[Bash: Read the last log lines]" in \
        session.messages[1].content
    # tokens per LLM response, from base_state.json's metrics
    assert session.peak_context_tokens == 6600
    assert session.total_output_tokens == 120 + 60 + 150 + 70 + 50 + 210 + 40
    assert session.messages[8].content.startswith("Opened PR #412")  # finish's message


def test_a_conversation_named_by_its_directory_that_stopped_on_an_error():
    (session,) = parse(ROOT / BILLING_DIR / "base_state.json").sessions
    assert session.id == BILLING
    assert session.termination_status == "errored"
    assert session.messages[1].is_compact_boundary


@pytest.fixture
def conversations(agent_env):
    return copy_tree(ROOT, agent_env["openhands"])


def test_sync_and_the_api(conversations):
    out, err = sync_command()
    assert "0 files with errors" in out, err
    listed = Client().get("/api/v1/sessions?agent=openhands&include_one_shot=true"
                          ).json()["sessions"]
    assert {s["id"] for s in listed} == {MAIN, BILLING}
    assert Session.objects.get(pk=MAIN).tool_failure_signal_count >= 2


def test_a_new_event_is_noticed_and_rereads_only_its_conversation(conversations):
    sync_report()
    assert sync_report().files_parsed == 0
    events = conversations / BILLING_DIR / "events"
    (events / "event-00003-a1000000-0000-4000-8000-000000000004.json").write_text(json.dumps({
        "id": "a1000000-0000-4000-8000-000000000004", "timestamp": "2026-04-16T14:05:00",
        "source": "user", "kind": "MessageEvent",
        "llm_message": {"role": "user", "content": [{"type": "text", "text": "Thanks!"}]}}))
    report = sync_report()
    assert (report.files_parsed, report.sessions_written) == (1, 1)
    assert Session.objects.get(pk=BILLING).message_count == 4


def test_a_broken_state_file_costs_only_itself(conversations, agent_env):
    build_codex(agent_env["codex"])
    state = conversations / MAIN_DIR / "base_state.json"
    state.write_bytes(state.read_bytes()[:200])
    report = sync_report()
    assert not report.errors
    assert any("base_state.json: not a JSON object" in w for w in report.warnings)
    # the events still make the conversation, named by its directory
    assert Session.objects.get(pk=MAIN).message_count == 9
    assert Session.objects.filter(agent="codex").exists()


def test_an_event_cut_in_half_is_skipped_with_a_warning(conversations):
    event = next((conversations / MAIN_DIR / "events").glob("event-00012-*.json"))
    event.write_bytes(event.read_bytes()[:50])
    report = sync_report()
    assert any(f"events/{event.name}: not a JSON object" in w for w in report.warnings)
    assert Session.objects.get(pk=MAIN).message_count == 8


def test_a_conversation_without_events_is_no_session(agent_env):
    (agent_env["openhands"] / "abc").mkdir()
    (agent_env["openhands"] / "abc" / "base_state.json").write_text('{"id": "abc"}')
    report = sync_report()
    assert report.files_without_sessions == 1 and not report.errors


@pytest.mark.parametrize("exhaustive", EXHAUSTIVE)
def test_wrong_types_in_any_event_or_the_state_never_raise(tmp_path, exhaustive):
    tree = copy_tree(ROOT / MAIN_DIR, tmp_path / "conversations" / MAIN_DIR)
    state = tree / "base_state.json"
    for source in [state, *sorted((tree / "events").glob("*.json"))]:
        original = source.read_bytes()
        for where, mutant in wrong_type_mutants(orjson.loads(original),
                                                exhaustive=exhaustive):
            source.write_bytes(mutant)
            try:
                check("openhands", state, tree.parent)
            except Exception as exc:
                raise AssertionError(f"{source.name} {where}: {mutant[:80]!r}") from exc
        source.write_bytes(original)
