"""Amp threads: the golden thread and ours (failures, OpenAI-model usage, both result
shapes), the sync, and documents cut short or holding values of the wrong type."""

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

FIXTURES = AGENT_FIXTURES / "amp"
GOLDEN_ID = "T-3f1e2d3c-4b5a-4697-8877-665544332211"
OURS_ID = "T-7c9d0e1f-2a3b-4c5d-8e6f-708192a3b4c5"
GOLDEN_FILE = FIXTURES / "synthetic" / "threads" / f"{GOLDEN_ID}.json"
OURS_FILE = FIXTURES / "ours" / "threads" / f"{OURS_ID}.json"
SHARED_GOLDEN = Path("/work/shared/reference/golden/http/sessions-all.json")


def parse(path: Path):
    return parser_for("amp").parse(path, path.parent, ParseOptions())


def test_the_golden_thread():
    (session,) = parse(GOLDEN_FILE).sessions
    assert session.id == f"amp:{GOLDEN_ID}"
    assert (session.project, session.display_name) == ("api-server",
                                                       "Add rate limiter middleware")
    assert session.first_message == "Add a rate limiter middleware to src/server.ts"
    assert (session.message_count, session.user_message_count) == (4, 1)
    assert (session.total_output_tokens, session.peak_context_tokens) == (230, 3308)
    assert session.started_at.isoformat() == "2026-03-06T08:00:00+00:00"
    assert session.ended_at.isoformat() == "2026-03-06T08:00:40+00:00"
    read, edit = session.messages[1].tool_calls[0], session.messages[2].tool_calls[0]
    assert (read.tool_name, read.category, edit.tool_name, edit.category) == (
        "Read", "Read", "edit_file", "Edit")
    assert edit.result_content == "@@ -1,2 +1,3 @@\n+app.use(rateLimit(...))"
    assert session.messages[1].has_thinking
    assert session.messages[1].model == "claude-sonnet-4-5-20250929"


def test_our_thread_records_failures_and_openai_usage():
    (session,) = parse(OURS_FILE).sessions
    assert session.cwd == "/home/dev/work/thumbnailer"
    calls = {c.tool_use_id: c for m in session.messages for c in m.tool_calls}
    status = {cid: [e.status for e in c.result_events] for cid, c in calls.items()}
    assert status == {
        "toolu_amp_b1": ["errored"],  # exit code 1
        "toolu_amp_b2": ["errored"],  # run.status error
        "toolu_amp_b3": ["errored"],  # rejected by the user
        "toolu_amp_b4": ["completed"],  # the Anthropic-shaped result
        "toolu_amp_b5": [],  # still running
    }
    assert session.termination_status == "tool_call_pending"
    first = session.messages[1]
    # an OpenAI model's cache creation is uncached input
    assert orjson.loads(first.token_usage) == {"input_tokens": 5400, "output_tokens": 312,
                                               "cache_read_input_tokens": 0}
    assert first.context_tokens == 5400 and first.has_thinking
    assert session.messages[0].timestamp.isoformat() == "2026-04-11T09:33:20.500000+00:00"
    assert session.ended_at.isoformat() == "2026-04-11T09:35:02+00:00"  # after the last trace


@pytest.fixture
def threads(agent_env):
    copy_tree(GOLDEN_FILE.parent, agent_env["amp"])
    copy_tree(OURS_FILE.parent, agent_env["amp"])
    return agent_env["amp"]


def test_sync_archives_the_threads_and_the_api_selects_them(threads):
    out, err = sync_command()
    assert "0 files with errors" in out, err
    response = Client().get("/api/v1/sessions?agent=amp&include_one_shot=true")
    listed = response.json()["sessions"]
    assert {s["id"] for s in listed} == {f"amp:{GOLDEN_ID}", f"amp:{OURS_ID}"}
    if SHARED_GOLDEN.is_file():
        (golden,) = [s for s in json.loads(SHARED_GOLDEN.read_text())["sessions"]
                     if s["agent"] == "amp"]
        ours = next(s for s in listed if s["id"] == golden["id"])
        keys = ("project", "first_message", "display_name", "started_at", "ended_at",
                "message_count", "user_message_count", "total_output_tokens",
                "peak_context_tokens", "outcome", "health_grade")
        assert {k: ours.get(k) for k in keys} == {k: golden.get(k) for k in keys}
    failed = Session.objects.get(pk=f"amp:{OURS_ID}")
    assert failed.tool_failure_signal_count >= 2


def test_incremental_sync(threads):
    sync_report()
    assert sync_report().files_parsed == 0
    path = threads / f"{OURS_ID}.json"
    doc = json.loads(path.read_text())
    doc["messages"].append({"role": "user", "messageId": 8,
                            "content": [{"type": "text", "text": "thanks"}]})
    path.write_text(json.dumps(doc, indent=2))
    report = sync_report()
    assert (report.files_parsed, report.sessions_written) == (1, 1)
    assert Session.objects.get(pk=f"amp:{OURS_ID}").message_count == 7


def test_a_thread_cut_in_half_costs_only_itself(threads, agent_env):
    build_codex(agent_env["codex"])
    path = threads / f"{OURS_ID}.json"
    sync_report()
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    report = sync_report()
    assert f"{path}: not a JSON object (invalid or cut short); skipped" in report.warnings
    assert [e.split(": ", 1)[0] for e in report.errors] == [str(path)]
    assert Session.objects.get(pk=f"amp:{OURS_ID}").message_count == 6  # kept as it was
    assert Session.objects.filter(agent="codex").exists()
    assert Session.objects.filter(pk=f"amp:{GOLDEN_ID}").exists()


@pytest.mark.parametrize("content", [b"", b"\x00\xff" * 100, b"[1, 2, 3]", b'{"messages": []}',
                                     b'{"messages": [{"role": "user", "content": []}]}'])
def test_threads_with_nothing_to_archive(agent_env, content):
    (agent_env["amp"] / f"{OURS_ID}.json").write_bytes(content)
    check("amp", agent_env["amp"] / f"{OURS_ID}.json", agent_env["amp"])
    assert parse(agent_env["amp"] / f"{OURS_ID}.json").sessions == []


@pytest.mark.parametrize("exhaustive", EXHAUSTIVE)
@pytest.mark.parametrize("source", [GOLDEN_FILE, OURS_FILE], ids=["golden", "ours"])
def test_wrong_types_in_any_field_never_raise(tmp_path, source, exhaustive):
    target = tmp_path / source.name
    for where, mutant in wrong_type_mutants(orjson.loads(source.read_bytes()),
                                            exhaustive=exhaustive):
        target.write_bytes(mutant)
        try:
            check("amp", target, tmp_path)
        except Exception as exc:
            raise AssertionError(f"{where}: {mutant[:80]!r}") from exc
