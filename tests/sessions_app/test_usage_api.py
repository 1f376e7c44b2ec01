"""Token usage and cost of one session (``/api/v1/sessions/{id}/usage``) on SQLite and
PostgreSQL, against AgentsView's golden and costs worked out by hand from ``prices.toml``
(dollars per million tokens = microdollars per token)."""

from __future__ import annotations

import pytest
from django.db import connections

from sessions_app.models import Message, Session
from tests.layouts import golden
from tests.sessions_app.api_fixtures import BACKENDS, Api, available_backends, shared_archive
from tests.sessions_app.test_parser_copilot import build_copilot

pytestmark = pytest.mark.django_db(databases=["default", "pg"])

RICH = "7f3c1e2a-5b6d-4e8f-9a0b-1c2d3e4f5a6b"
SUBAGENT = "agent-a1b2c3d"
CODEX = "codex:0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
OPUS_46 = "9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"  # a model the table does not price
COPILOT = "copilot:5d6e7f80-1a2b-4c3d-9e8f-7a6b5c4d3e2f"
COPILOT_LEGACY = "copilot:9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"

# By hand. claude-sonnet-4-5: input 3, output 15, cache read 0.30, cache write 3.75 per
# million; the golden's nine messages: 7 × (12·3 + 180·15 + 1500·3.75 + 18000·0.3 = 13761)
# + (8·3 + 95·15 + 300·3.75 + 24000·0.3 = 9774) + (5·3 + 40·15 + 26000·0.3 = 8415)
RICH_COST = 7 * 13761 + 9774 + 8415
assert RICH_COST == 114516
SUBAGENT_COST = 2000 * 1 + 90 * 5  # claude-haiku-4-5: input 1, output 5
# gpt-5-codex (input 1.25, output 10, cache read 0.125): 5375 + 3400 + 1812.5, rounded half up
CODEX_COST = 10588
# Copilot's shutdown totals (input includes the cache reads there): claude-sonnet-4.5 with
# 9000 in of which 6000 cached, 54 out; gpt-5 with 12000 in of which 8000 cached, 310 out
COPILOT_COST = 3000 * 3 + 54 * 15 + 6000 * 3 // 10
COPILOT_LEGACY_COST = 4000 * 5 // 4 + 310 * 10 + 8000 // 8


def add_copilot(env) -> None:
    build_copilot(env["copilot"])


@pytest.fixture(scope="module")
def shared(tmp_path_factory, django_db_setup, django_db_blocker):
    with shared_archive(tmp_path_factory.mktemp("archive"), django_db_blocker,
                        backends=available_backends(), extra=add_copilot) as env:
        yield env


@pytest.fixture(params=BACKENDS)
def api(request, shared, settings, client):
    settings.AGENTSVIEW_API_DATABASE = request.param
    return Api(client)


def test_own_usage_matches_agentsview(api):
    data = api.json(f"/api/v1/sessions/{RICH}/usage?breakdown=true")
    assert data == golden("usage.json")
    assert data["cost"]["microdollars"] == RICH_COST
    # without breakdown=true the records are counted, not listed
    brief = api.json(f"/api/v1/sessions/{RICH}/usage")
    assert brief["breakdown"] == [] and brief["breakdown_count"] == 9
    assert {k: v for k, v in brief.items() if k != "breakdown"} == {
        k: v for k, v in data.items() if k != "breakdown"}


def test_combined_usage_includes_subagents_and_says_so(api):
    data = api.json(f"/api/v1/sessions/{RICH}/usage?breakdown=true&subagents=true")
    assert data["subagent_count"] == 1
    assert data["cost"] == {"microdollars": RICH_COST + SUBAGENT_COST}
    assert data["cost_usd"] == (RICH_COST + SUBAGENT_COST) / 1e6
    assert data["models"] == ["claude-haiku-4-5-20251001", "claude-sonnet-4-5-20250929"]
    own, theirs = data["breakdown"][:9], data["breakdown"][9:]
    assert data["breakdown_count"] == len(data["breakdown"]) == 9 + len(theirs)
    assert [r["ordinal"] for r in data["breakdown"]] == list(range(1, len(theirs) + 10))
    assert all("subagent_session_id" not in r for r in own)
    assert theirs and all(r["subagent_session_id"] == SUBAGENT for r in theirs)
    assert sum(r["cost"]["microdollars"] for r in theirs) == SUBAGENT_COST
    assert data["total_output_tokens"] == 1395 + 90
    # the subagent alone, and with no subagent of its own
    alone = api.json(f"/api/v1/sessions/{SUBAGENT}/usage?subagents=true")
    assert alone["subagent_count"] == 0 and alone["cost"] == {"microdollars": SUBAGENT_COST}


def test_codex_cost_is_rounded_half_up_once_per_record(api):
    data = api.json(f"/api/v1/sessions/{CODEX}/usage?breakdown=true")
    assert data["cost"] == {"microdollars": CODEX_COST} and data["has_cost"] is True
    assert data["models"] == ["gpt-5-codex"] and data["unpriced_models"] == []


def test_an_unpriced_model_has_unknown_cost_never_zero(api):
    data = api.json(f"/api/v1/sessions/{OPUS_46}/usage?breakdown=true")
    assert data["cost"] is None and data["has_cost"] is False
    assert "cost_usd" not in data and "cost_source" not in data
    assert data["unpriced_models"] == ["claude-opus-4-6"] and data["has_token_data"] is True
    assert data["breakdown"] and all(r["cost"] is None and r["has_cost"] is False
                                     for r in data["breakdown"])


def test_session_level_totals_count_at_session_level(api):
    data = api.json(f"/api/v1/sessions/{COPILOT}/usage?breakdown=true")
    assert [(r["source"], r["label"], r["model"], r["input_tokens"], r["output_tokens"],
             r["cache_read_input_tokens"]) for r in data["breakdown"]] == [
        ("session", "Session total", "claude-sonnet-4-5", 3000, 54, 6000)]
    assert data["cost"] == {"microdollars": COPILOT_COST}
    legacy = api.json(f"/api/v1/sessions/{COPILOT_LEGACY}/usage")
    assert legacy["cost"] == {"microdollars": COPILOT_LEGACY_COST}
    assert legacy["breakdown_count"] == 1  # the messages' own output counts are not added


def test_errors(api):
    missing = api.get("/api/v1/sessions/nope/usage")
    assert missing.status_code == 404
    assert missing.json() == {"error": {"code": "session_not_found",
                                        "message": "session not found"}}
    assert api.get(f"/api/v1/sessions/{RICH}/usage?breakdown=maybe").status_code == 400
    assert api.get(f"/api/v1/sessions/{RICH}/usage?own_only=1").status_code == 400


def test_version_advertises_usage(api):
    data = api.json("/api/v1/version")
    assert data["api_version"] >= 6 and data["usage_available"] is True


def _stored(alias: str) -> tuple[list, list]:
    sessions = list(Session.objects.using(alias).order_by("id").values_list(
        "id", "usage_input_tokens", "usage_output_tokens", "usage_cache_read_tokens",
        "usage_cache_write_tokens", "cost_microdollars", "usage_rollup", "pricing_version"))
    messages = list(Message.objects.using(alias).exclude(token_usage="").order_by(
        "session_id", "ordinal").values_list("session_id", "ordinal", "cost_microdollars"))
    return sessions, messages


@pytest.mark.pg
def test_costs_are_stored_and_pushed_identically(shared):
    local, pushed = _stored("default"), _stored("pg")
    assert local == pushed
    costs = {row[0]: row[5] for row in local[0]}
    assert costs[RICH] == RICH_COST and costs[SUBAGENT] == SUBAGENT_COST
    assert costs[CODEX] == CODEX_COST and costs[OPUS_46] is None
    assert costs[COPILOT] == COPILOT_COST
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT SUM(cost_microdollars) FROM messages WHERE session_id = %s",
                       [RICH])
        assert cursor.fetchone()[0] == RICH_COST


def test_the_same_json_from_both_databases(shared, settings, client):
    if "pg" not in available_backends():
        pytest.fail("PostgreSQL is required")
    bodies = {}
    for alias in ("default", "pg"):
        settings.AGENTSVIEW_API_DATABASE = alias
        bodies[alias] = [Api(client).get(f"/api/v1/sessions/{sid}/usage?breakdown=true"
                                         "&subagents=true").content
                         for sid in (RICH, CODEX, OPUS_46, COPILOT, COPILOT_LEGACY)]
    assert bodies["default"] == bodies["pg"]
