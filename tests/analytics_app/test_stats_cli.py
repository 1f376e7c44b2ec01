"""``manage.py stats``: the analytics API's numbers for a window, as JSON or for a terminal."""

from __future__ import annotations

from io import StringIO

import orjson
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from sessions_app.models import Session

pytestmark = pytest.mark.django_db

WINDOW = ("--since", "2024-01-01", "--until", "2026-03-31")
EVERYTHING = ("--since", "2020-01-01")  # to today: every fixture session starts in it
API_WINDOW = "from=2024-01-01&to=2026-03-31"


def run(*args: str) -> str:
    out = StringIO()
    call_command("stats", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def api(path: str) -> dict:
    return orjson.loads(Client().get(path).content)


def test_json_matches_the_analytics_api(archive):
    doc = orjson.loads(run(*WINDOW, "--include-one-shot", "--format", "json"))
    query = f"{API_WINDOW}&include_one_shot=true"
    summary = api(f"/api/v1/analytics/summary?{query}")
    signals = api(f"/api/v1/analytics/signals?{query}")
    tools = api(f"/api/v1/analytics/tools?{query}")
    assert doc["schema_version"] == 2
    assert doc["window"] == {"since": "2024-01-01T00:00:00Z", "until": "2026-04-01T00:00:00Z",
                             "days": 821}
    assert doc["agent_portfolio"]["by_sessions"] == {
        a: v["sessions"] for a, v in summary["agents"].items()}
    assert doc["outcomes"]["grade_distribution"] == signals["grade_distribution"]
    assert doc["tool_mix"]["total_calls"] == tools["total_calls"]
    assert doc["distributions"]["messages_median"] == summary["median_messages"]
    assert sorted(doc["model_mix"]["by_sessions"]) == summary["models"]
    assert all(n >= 1 for n in doc["model_mix"]["by_sessions"].values())


def test_adoption_counts_skills_and_subagents(archive):
    rich = "7f3c1e2a-5b6d-4e8f-9a0b-1c2d3e4f5a6b"
    assert Session.objects.filter(pk=rich).update(rollup_skills='[["pdf",2],["review",1]]')
    doc = orjson.loads(run(*EVERYTHING, "--include-one-shot", "--format", "json"))
    skills = api("/api/v1/analytics/skills?from=2020-01-01&include_one_shot=true")
    adoption = doc["adoption"]
    assert adoption["by_skill"] == {"pdf": 2, "review": 1}
    assert (adoption["skill_calls"], adoption["distinct_skills"]) == (
        skills["total_skill_calls"], skills["distinct_skills"]) == (3, 2)
    totals = doc["totals"]
    assert totals["sessions_subagent"] > 0
    assert adoption["subagents_per_session"] == totals["sessions_subagent"] / (
        totals["sessions_all"] - totals["sessions_subagent"])
    assert "Skills (3 calls, 2 distinct)" in run(*EVERYTHING, "--include-one-shot")


def test_totals_split_every_session_of_the_window(archive):
    totals = orjson.loads(run(*EVERYTHING, "--format", "json"))["totals"]
    sessions = Session.objects.filter(deleted_at__isnull=True, message_count__gt=0)
    assert totals["sessions_all"] == sessions.count()
    assert totals["sessions_subagent"] == sessions.filter(parent_session_id__isnull=False).count()
    assert totals["sessions_automation"] == sessions.filter(
        parent_session_id__isnull=True, is_automated=True).count()
    assert (totals["sessions_human"] + totals["sessions_subagent"]
            + totals["sessions_automation"]) == totals["sessions_all"]
    assert totals["messages_total"] == sum(s.message_count for s in sessions)


def test_filters_narrow_the_document(archive):
    doc = orjson.loads(run(*EVERYTHING, "--agent", "codex", "--include-one-shot",
                           "--format", "json"))
    assert doc["filters"]["agent"] == "codex"
    assert set(doc["agent_portfolio"]["by_sessions"]) == {"codex"}
    assert doc["totals"]["sessions_all"] == Session.objects.filter(agent="codex").count()


def test_human_output_reads_well(archive):
    text = run(*WINDOW, "--include-one-shot")
    assert text.startswith("Window:    2024-01-01T00:00:00Z -> 2026-04-01T00:00:00Z (821 days")
    for heading in ("Totals", "Velocity", "Tool mix", "Models", "Agents", "Outcomes"):
        assert f"\n{heading}" in text
    assert "Grades:  A=" in text


def test_an_empty_archive_has_zeros(agent_env):
    doc = orjson.loads(run("--format", "json"))
    assert doc["totals"]["sessions_all"] == 0 and doc["window"]["days"] == 29
    assert "(none)" in run()


@pytest.mark.parametrize(("args", "message"), [
    (("--since", "bogus"), "--since bogus: expected 28d"),
    (("--timezone", "Mars/Base"), "--timezone Mars/Base: unknown IANA time zone"),
    (("--since", "2025-01-01", "--until", "2024-01-01"), "--since 2025-01-01: from is after"),
    (("--until", "2024-13-01"), "--until 2024-13-01: expected a date"),
])
def test_bad_input_is_one_line(agent_env, args, message):
    with pytest.raises(CommandError, match=message) as info:
        run(*args)
    assert "\n" not in str(info.value)


def test_every_analytics_filter_is_a_flag_and_narrows_the_totals_too(archive):
    every = orjson.loads(run(*EVERYTHING, "--format", "json"))["totals"]
    errored = Session.objects.filter(parent_session_id__isnull=True, outcome="errored")
    errored.update(outcome="completed")
    one = Session.objects.filter(parent_session_id__isnull=True, is_automated=False,
                                 user_message_count__gt=1).order_by("id").first()
    Session.objects.filter(pk=one.pk).update(outcome="errored")
    doc = orjson.loads(run(*EVERYTHING, "--outcome", "errored", "--format", "json"))
    assert doc["totals"]["sessions_all"] == 1 < every["sessions_all"]
    assert doc["outcomes"]["distribution"] == {"errored": 1}
    with pytest.raises(CommandError,
                       match=r"^--min-messages -1: expected an integer in \[0, 2147483647\]$"):
        run(*EVERYTHING, "--min-messages", "-1")


def test_cost_section_is_the_usage_summarys(archive):
    doc = orjson.loads(run(*WINDOW, "--format", "json"))
    usage = api(f"/api/v1/usage/summary?{API_WINDOW}")
    cost = doc["cost"]
    # by hand: 3615 + 1050 + 105 (sonnet 4, 2024) + 114516 + 2450 (RICH and its subagent)
    # + 10588 (codex) = 132324 microdollars, if the window holds them all
    assert cost["total_microdollars"] == usage["totals"]["cost"]["microdollars"]
    assert cost["unpriced_models"] == usage["unpricedModels"]
    assert cost["complete"] is (usage["totals"]["unpricedTokens"] == 0)
    assert sum(v for v in cost["by_model"].values() if v) == cost["total_microdollars"]
    assert "Cost: $" in run(*WINDOW)
