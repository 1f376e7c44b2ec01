"""Signals as stored by ``sync``: the reference values for the fixture sessions, the outcome
that waits for a quiet session, the ``[automated]`` rules of config.toml, a new scoring
version, the list filters and ``manage.py health``."""

from __future__ import annotations

import re
from datetime import timedelta
from io import StringIO

import orjson
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from agentsview.config import ConfigError, load_config
from analytics_app.scoring import SCORING_VERSION, Signals, version
from sessions_app.models import Session, SourceFile
from sessions_app.parsers.registry import parser_for
from sessions_app.services.ingest import SourceInfo, write_session
from sessions_app.services.rescore import recompute_pending, rules_of
from sessions_app.services.sync import run_sync
from tests.layouts import build_claude, golden

pytestmark = pytest.mark.django_db

RICH = "7f3c1e2a-5b6d-4e8f-9a0b-1c2d3e4f5a6b"
ABANDONED = "44444444-4444-4444-8444-444444444444"
CODEX = "codex:0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
STORED = (
    "is_automated", "tool_failure_signal_count", "tool_retry_count", "edit_churn_count",
    "consecutive_failure_max", "outcome", "outcome_confidence", "ended_with_role",
    "final_failure_streak", "compaction_count", "mid_task_compaction_count", "health_score",
    "health_grade",
)
# every stored signal but the version (and ``pending``, stored as signals_pending_since)
SIGNAL_COLUMNS = [name for name in Signals().as_columns()
                  if name not in ("pending", "quality_signal_version")]


def run(command: str, *args: str) -> str:
    out = StringIO()
    call_command(command, *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def api(path: str) -> dict:
    response = Client().get(path)
    assert response.status_code == 200, response.content
    return orjson.loads(response.content)


def test_sync_stores_the_reference_signals_of_every_fixture_session(archive):
    expected = {s["id"]: s for s in golden("session-list-all.json")["sessions"]
                if s["agent"] in ("claude", "codex")}
    stored = {s.id: s for s in Session.objects.all()}
    assert set(stored) == set(expected)
    for session_id, want in expected.items():
        got = stored[session_id]
        for name in STORED:
            assert getattr(got, name) == want.get(name), (session_id, name)
        assert got.signals_pending_since is None  # the fixtures ended long ago


def test_session_detail_carries_score_basis_and_penalties(archive):
    detail = api(f"/api/v1/sessions/{RICH}")
    assert (detail["health_score"], detail["health_grade"]) == (97, "A")
    assert detail["health_penalties"] == {"tool_failure_signals": 3}
    assert "tool_health" in detail["health_score_basis"]
    abandoned = api(f"/api/v1/sessions/{ABANDONED}")
    assert (abandoned["outcome"], abandoned["health_score"]) == ("abandoned", 85)
    assert abandoned["health_penalties"] == {"outcome_abandoned": 15}


@pytest.mark.parametrize(("query", "ids"), [
    ("health_grade=B", {ABANDONED}),
    ("outcome=abandoned", {ABANDONED}),
    ("min_tool_failures=1", {RICH, CODEX}),  # Codex: its `cat` exited 1
    ("health_grade=A&min_tool_failures=1", {RICH, CODEX}),
    ("outcome=errored", set()),
])
def test_list_filters_on_signals(archive, query, ids):
    data = api(f"/api/v1/sessions?include_one_shot=true&include_children=true&{query}")
    assert {s["id"] for s in data["sessions"]} == ids


def test_a_recent_session_waits_for_its_outcome(agent_env):
    build_claude(agent_env["claude"])
    path = agent_env["claude"] / "-home-dev-projects-webapp" / f"{RICH}.jsonl"
    (parsed,) = parser_for("claude").parse(path, agent_env["claude"]).sessions
    source = SourceInfo(path=str(path), size=path.stat().st_size, mtime_ns=0, sha256="")
    soon = parsed.ended_at + timedelta(minutes=5)
    write_session(parsed, source, machine="m", now=soon)
    waiting = Session.objects.get(pk=RICH)
    assert (waiting.outcome, waiting.outcome_confidence) == ("unknown", "low")
    assert waiting.signals_pending_since == soon

    rules = rules_of(load_config())
    assert recompute_pending(rules, soon + timedelta(minutes=4)) == 0  # still recent
    later = parsed.ended_at + timedelta(minutes=11)
    assert recompute_pending(rules, later) == 1
    final = Session.objects.get(pk=RICH)
    assert (final.outcome, final.outcome_confidence, final.health_score) == (
        "completed", "medium", 97)
    assert final.signals_pending_since is None
    assert final.local_modified_at == later  # so the next push carries it
    assert recompute_pending(rules, later + timedelta(hours=1)) == 0


def test_automated_rules_in_config_take_effect_at_the_next_sync(archive):
    config = archive["data"] / "config.toml"
    listed = "/api/v1/sessions?include_one_shot=true"
    assert ABANDONED in {s["id"] for s in api(listed)["sessions"]}

    config.write_text('[automated]\nprefixes = ["Your final response is captured"]\n')
    out = run("sync")  # no transcript changed: the rules alone must be applied
    session = Session.objects.get(pk=ABANDONED)
    assert session.is_automated
    assert "0 files with errors" in out
    assert ABANDONED not in {s["id"] for s in api(listed)["sessions"]}
    assert ABANDONED in {s["id"] for s in api(listed + "&include_automated=true")["sessions"]}
    # a session with two prompts is never automated, whatever its first prompt
    config.write_text('[automated]\nprefixes = ["Fix the login redirect loop"]\n')
    run("sync")
    assert not Session.objects.get(pk=RICH).is_automated
    assert not Session.objects.get(pk=ABANDONED).is_automated  # the old rule is gone

    config.write_text('[automated]\nprefixes = "oops"\n')
    with pytest.raises(ConfigError, match=r"\[automated\] prefixes must be a list"):
        run("sync")


def signal_values(session: Session) -> dict:
    return {name: getattr(session, name) for name in SIGNAL_COLUMNS}


def test_a_new_scoring_version_rescores_the_archive_from_its_stored_rows(archive, monkeypatch):
    before = {s.id: s for s in Session.objects.all()}
    files = list(SourceFile.objects.order_by("path").values())
    assert {s.quality_signal_version for s in before.values()} == {SCORING_VERSION}

    monkeypatch.setattr(version, "SCORING_VERSION", SCORING_VERSION + 1)
    report = run_sync(load_config())
    assert report.files_parsed == 0  # no transcript was read again
    assert list(SourceFile.objects.order_by("path").values()) == files
    assert report.signals_recomputed == len(before)
    for session in Session.objects.all():
        old = before[session.id]
        assert session.quality_signal_version == SCORING_VERSION + 1
        assert signal_values(session) == signal_values(old), session.id  # the same rules
        assert session.local_modified_at > old.local_modified_at  # so the next push sends it
    assert run_sync(load_config()).signals_recomputed == 0  # once


@pytest.mark.django_db(databases=["default", "pg"], transaction=True)
def test_the_next_push_sends_the_rescored_sessions(archive, monkeypatch):
    def pushed(*args: str) -> int:
        (count,) = re.findall(r"^Pushed (\d+) sessions", run("pg_push", *args), re.MULTILINE)
        return int(count)

    assert pushed("--no-sync") == Session.objects.count()
    assert pushed("--no-sync") == 0
    monkeypatch.setattr(version, "SCORING_VERSION", SCORING_VERSION + 1)
    assert pushed() == Session.objects.count() > 0  # pg push syncs first, which re-scores
    assert set(Session.objects.using("pg").values_list("quality_signal_version", flat=True)) == {
        SCORING_VERSION + 1}


def test_health_lists_recent_sessions_with_grades(archive):
    rows = orjson.loads(run("health", "--format", "json", "--limit", "100"))
    by_id = {s["id"]: s for s in rows}
    assert by_id[RICH]["health_score"] == 97 and by_id[ABANDONED]["health_grade"] == "B"
    ended = [s["ended_at"] for s in rows]
    assert ended == sorted(ended, reverse=True)
    assert all("parent_session_id" not in s for s in rows)  # children left out

    text = run("health", "--limit", "100")
    header, *lines = text.splitlines()
    assert header.split()[:5] == ["DATE", "AGENT", "GRADE", "SCORE", "OUTCOME"]
    (rich_line,) = [line for line in lines if RICH in line]
    assert rich_line.split()[:5] == ["2026-03-02", "claude", "A", "97", "completed"]

    only_b = orjson.loads(run("health", "--format", "json", "--grade", "B"))
    assert [s["id"] for s in only_b] == [ABANDONED]
    assert len(orjson.loads(run("health", "--format", "json", "--limit", "2"))) == 2


def test_health_of_one_session_explains_its_penalties(archive):
    text = run("health", ABANDONED)
    assert "Health:   85 (B)" in text
    assert "-15  outcome_abandoned  abandoned" in text  # with its label (scoring.PENALTIES)
    assert "abandoned (medium confidence)" in text
    assert "-3   tool_failure_signals  tool calls failed" in run("health", RICH)
    detail = orjson.loads(run("health", RICH, "--format", "json"))
    assert detail["health_penalties"] == {"tool_failure_signals": 3}


@pytest.mark.parametrize(("args", "message"), [
    (("no-such-session",), "session not found: no-such-session"),
    (("--limit", "0"), "--limit must be between 1 and 500"),
    (("--grade", "Z"), "health_grade"),
])
def test_health_bad_input_is_one_line(archive, args, message):
    with pytest.raises(CommandError, match=message) as info:
        run("health", *args)
    assert "\n" not in str(info.value)
