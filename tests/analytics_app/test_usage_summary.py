"""Usage over many sessions (``/api/v1/usage/summary``, ``/usage/top-sessions``) on SQLite and
PostgreSQL: totals, days, dimensions and rankings worked out by hand from the fixture
sessions' costs (``tests/sessions_app/test_usage_api.py``)."""

from __future__ import annotations

import pytest

from tests.sessions_app.api_fixtures import BACKENDS, Api, available_backends, shared_archive
from tests.sessions_app.test_usage_api import (
    CODEX,
    CODEX_COST,
    COPILOT,
    COPILOT_COST,
    COPILOT_LEGACY,
    COPILOT_LEGACY_COST,
    OPUS_46,
    RICH,
    RICH_COST,
    SUBAGENT,
    SUBAGENT_COST,
    add_copilot,
)

pytestmark = pytest.mark.django_db(databases=["default", "pg"])

WINDOW = "from=2026-02-01&to=2026-03-31&timezone=UTC"
# the Opus 4.6 session and its fork: 250 + 100 + 5000 and 50 + 20 + 1000 tokens, no price
UNPRICED_TOKENS = 5350 + 1070
PRICED = RICH_COST + SUBAGENT_COST + CODEX_COST + COPILOT_COST + COPILOT_LEGACY_COST


@pytest.fixture(scope="module")
def shared(tmp_path_factory, django_db_setup, django_db_blocker):
    with shared_archive(tmp_path_factory.mktemp("archive"), django_db_blocker,
                        backends=available_backends(), extra=add_copilot) as env:
        yield env


@pytest.fixture(params=BACKENDS)
def api(request, shared, settings, client):
    settings.AGENTSVIEW_API_DATABASE = request.param
    return Api(client)


OPUS_FORK = f"{OPUS_46}-e0000000-0000-4000-8000-000000000011"


def costs(entries: list[dict], key: str) -> dict:
    return {e[key]: e["cost"] and e["cost"]["microdollars"] for e in entries}


def test_summary_totals_days_and_dimensions(api):
    data = api.json(f"/api/v1/usage/summary?{WINDOW}")
    assert (data["from"], data["to"], data["timezone"]) == ("2026-02-01", "2026-03-31", "UTC")
    totals = data["totals"]
    assert totals["cost"] == {"microdollars": PRICED} and PRICED == 148264
    assert totals["unpricedTokens"] == UNPRICED_TOKENS
    assert totals["totalTokens"] == sum(totals[k] for k in (
        "inputTokens", "outputTokens", "cacheCreationTokens", "cacheReadTokens"))
    assert data["unpricedModels"] == ["claude-opus-4-6"]
    assert [(d["date"], d["totalCost"] and d["totalCost"]["microdollars"], d["unpricedTokens"])
            for d in data["daily"]] == [
        ("2026-02-10", COPILOT_LEGACY_COST, 0),
        ("2026-03-02", RICH_COST + SUBAGENT_COST, 0),  # the subagent counts on its own day
        ("2026-03-03", None, UNPRICED_TOKENS),  # nothing priced: unknown, not 0
        ("2026-03-04", CODEX_COST, 0),
        ("2026-03-06", COPILOT_COST, 0),
    ]
    march2 = data["daily"][1]
    assert march2["modelsUsed"] == ["claude-haiku-4-5-20251001", "claude-sonnet-4-5-20250929"]
    assert costs(march2["modelBreakdowns"], "model") == {
        "claude-sonnet-4-5-20250929": RICH_COST, "claude-haiku-4-5-20251001": SUBAGENT_COST}
    assert costs(march2["machineBreakdowns"], "machineName") == {
        "test-machine": RICH_COST + SUBAGENT_COST}
    assert list(costs(data["modelTotals"], "model").items()) == [  # costliest first
        ("claude-sonnet-4-5-20250929", RICH_COST), ("claude-sonnet-4-5", COPILOT_COST),
        ("gpt-5-codex", CODEX_COST), ("gpt-5", COPILOT_LEGACY_COST),
        ("claude-haiku-4-5-20251001", SUBAGENT_COST), ("claude-opus-4-6", None)]
    assert costs(data["agentTotals"], "agent") == {
        "claude": RICH_COST + SUBAGENT_COST, "copilot": COPILOT_COST + COPILOT_LEGACY_COST,
        "codex": CODEX_COST}
    assert costs(data["machineTotals"], "machineName") == {"test-machine": PRICED}
    assert sum(e["cost"]["microdollars"] for e in data["projectTotals"]) == PRICED
    assert data["sessionCounts"]["total"] == 7  # the subagent and the fork included
    assert data["sessionCounts"]["byAgent"] == {"claude": 4, "codex": 1, "copilot": 2}


def test_window_time_zone_and_filters(api):
    day = api.json("/api/v1/usage/summary?from=2026-03-02&to=2026-03-02&timezone=UTC")
    assert day["totals"]["cost"] == {"microdollars": RICH_COST + SUBAGENT_COST}
    assert day["sessionCounts"]["total"] == 2
    # 09:00 UTC on 2 March is 23:00 on 1 March in Honolulu
    honolulu = api.json("/api/v1/usage/summary?from=2026-03-01&to=2026-03-01"
                        "&timezone=Pacific/Honolulu")
    assert honolulu["totals"]["cost"] == {"microdollars": RICH_COST + SUBAGENT_COST}
    model = api.json(f"/api/v1/usage/summary?{WINDOW}&model=gpt-5-codex")
    assert model["totals"]["cost"] == {"microdollars": CODEX_COST}
    agent = api.json(f"/api/v1/usage/summary?{WINDOW}&agent=copilot")
    assert agent["totals"]["cost"] == {"microdollars": COPILOT_COST + COPILOT_LEGACY_COST}
    nothing = api.json("/api/v1/usage/summary?from=2020-01-01&to=2020-01-31")
    assert nothing["totals"]["cost"] == {"microdollars": 0} and nothing["daily"] == []
    assert nothing["modelTotals"] == [] and nothing["unpricedModels"] == []


def test_top_sessions(api):
    top = api.json(f"/api/v1/usage/top-sessions?{WINDOW}")
    assert [(s["sessionId"], s["cost"] and s["cost"]["microdollars"]) for s in top] == [
        (RICH, RICH_COST), (COPILOT, COPILOT_COST), (CODEX, CODEX_COST),
        (COPILOT_LEGACY, COPILOT_LEGACY_COST), (SUBAGENT, SUBAGENT_COST),
        (OPUS_46, None), (OPUS_FORK, None)]  # unknown costs last, by tokens
    rich = top[0]
    assert rich["totalTokens"] == 97 + 1395 + 176000 + 10800 and rich["agent"] == "claude"
    assert rich["machine"] == "test-machine" and rich["startedAt"].startswith("2026-03-02")
    by_tokens = api.json(f"/api/v1/usage/top-sessions?{WINDOW}&sort=tokens&limit=3")
    assert [s["sessionId"] for s in by_tokens] == [RICH, CODEX, COPILOT_LEGACY]
    assert [s["sessionId"] for s in api.json(
        f"/api/v1/usage/top-sessions?{WINDOW}&limit=2")] == [RICH, COPILOT]


@pytest.mark.parametrize("query", [
    "summary?from=2026-03-02&to=2026-03-01", "summary?timezone=Mars/Olympus",
    "summary?bogus=1", "top-sessions?sort=price", "top-sessions?limit=0",
    "top-sessions?limit=101"])
def test_bad_parameters(api, query):
    response = api.get(f"/api/v1/usage/{query}")
    assert response.status_code == 400, response.content
    assert "error" in response.json()


def test_the_same_bytes_from_both_databases(shared, settings, client):
    if "pg" not in available_backends():
        pytest.fail("PostgreSQL is required")
    bodies = {}
    for alias in ("default", "pg"):
        settings.AGENTSVIEW_API_DATABASE = alias
        bodies[alias] = [Api(client).get(f"/api/v1/usage/{q}").content for q in (
            f"summary?{WINDOW}", f"summary?{WINDOW}&timezone=Asia/Kolkata",
            f"top-sessions?{WINDOW}", f"top-sessions?{WINDOW}&sort=tokens")]
    assert bodies["default"] == bodies["pg"]


def test_breakdowns_false_leaves_the_days_other_slices_out(api):
    full = api.json(f"/api/v1/usage/summary?{WINDOW}")
    brief = api.json(f"/api/v1/usage/summary?{WINDOW}&breakdowns=false")
    for day in brief["daily"]:
        assert day["projectBreakdowns"] == day["agentBreakdowns"] == day["machineBreakdowns"]
        assert day["projectBreakdowns"] == []
    strip = ("projectBreakdowns", "agentBreakdowns", "machineBreakdowns")
    assert brief["daily"] == [{k: ([] if k in strip else v) for k, v in day.items()}
                              for day in full["daily"]]
    assert {k: v for k, v in brief.items() if k != "daily"} == {
        k: v for k, v in full.items() if k != "daily"}
