"""The Usage page and the cost on the session page and the sessions list, rendered by Django
over the fixture archive (costs worked out in tests/sessions_app/test_usage_api.py)."""

from __future__ import annotations

import re

import pytest

from tests.sessions_app.api_fixtures import HOST, shared_archive
from tests.sessions_app.test_usage_api import (
    CODEX,
    COPILOT,
    COPILOT_LEGACY,
    OPUS_46,
    RICH,
    SUBAGENT,
    add_copilot,
)

pytestmark = pytest.mark.django_db
WINDOW = "from=2026-02-01&to=2026-03-31&timezone=UTC"


@pytest.fixture(scope="module")
def shared(tmp_path_factory, django_db_setup, django_db_blocker):
    with shared_archive(tmp_path_factory.mktemp("archive"), django_db_blocker,
                        backends=("default",), extra=add_copilot) as env:
        yield env


@pytest.fixture
def site(shared, settings, client):
    settings.AGENTSVIEW_API_DATABASE = "default"
    return client


def get(client, path: str) -> str:
    response = client.get(path, HTTP_HOST=HOST)
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


def test_usage_page_shows_cost_by_day_model_machine_project_agent_and_sessions(site):
    html = get(site, f"/usage?{WINDOW}")
    # 148,264 microdollars priced: $0.15; the Opus 4.6 tokens have no price and are shown
    assert '<span class="value" id="total-cost">$0.15</span>' in html
    assert 'id="unpriced-tokens">6,420<' in html
    assert "No price for <code>claude-opus-4-6</code> (6,420 tokens)" in html
    # one stacked column segment per (day, priced model): 2 Mar has two models
    segments = re.findall(r'<rect class="series-\d" x="[^"]+" y="[^"]+" width="[^"]+" '
                          r'height="[^"]+"><title>([^<]+)</title>', html)
    assert sorted(segments) == sorted([
        "2026-02-10 · gpt-5: $0.01", "2026-03-02 · claude-sonnet-4-5-20250929: $0.11",
        "2026-03-02 · claude-haiku-4-5-20251001: &lt;$0.01", "2026-03-04 · gpt-5-codex: $0.01",
        "2026-03-06 · claude-sonnet-4-5: $0.01"])
    # the cost axis fits the costliest day ($0.11): $0, $0.10, $0.20, not a $2 axis
    chart = html[:html.index('id="cost-machines"')]
    assert re.findall(r'>(\$[\d.,]+)</text>', chart) == ["$0", "$0.10", "$0.20"]
    machines = html[html.index('id="cost-machines"'):]
    assert "test-machine" in machines[:600] and "$0.15 + 6,420 unpriced tokens" in machines
    agents = html[html.index('id="cost-agents"'):html.index('id="cost-models"')]
    assert [m for m in re.findall(r'<th scope="row">([^<]+)</th>', agents)] == [
        "Claude Code", "Copilot CLI", "Codex"]  # display names; the order is by cost
    top = html[html.index('id="top-sessions"'):]
    linked = re.findall(r'href="/sessions/([^"]+)"', top)
    assert linked == [RICH, COPILOT, CODEX, COPILOT_LEGACY, SUBAGENT, OPUS_46,
                      f"{OPUS_46}-e0000000-0000-4000-8000-000000000011"]
    assert "unknown" in top  # the unpriced sessions' cost


def test_usage_page_filters_and_errors(site, client):
    codex = get(site, f"/usage?{WINDOW}&agent=codex")
    assert 'id="total-cost">$0.01<' in codex and "unpriced-tokens" not in codex
    empty = get(site, "/usage?from=2020-01-01&to=2020-01-31")
    assert "No priced usage in this range." in empty and 'id="total-cost">$0.00<' in empty
    bad = client.get("/usage?from=2026-03-05&to=2026-03-01", HTTP_HOST=HOST)
    assert bad.status_code == 400 and "from is after to" in bad.content.decode()
    assert 'aria-current="page">Usage</a>' in get(site, "/usage")


def test_usage_page_queries_are_bounded(site, django_assert_max_num_queries):
    with django_assert_max_num_queries(12):
        get(site, f"/usage?{WINDOW}")


def test_session_page_shows_cost_and_tokens_with_subagents(site):
    html = get(site, f"/sessions/{RICH}")
    # 114,516 + 2,450 microdollars with the subagent
    assert ('<span id="session-cost"><b>$0.12</b> cost, 190,382 tokens with 1 subagent</span>'
            in html)
    usage = html[html.index('id="session-usage"'):][:400]
    assert "$0.12 · input 2,097 · output 1,485 · cache read 176,000 · cache write 10,800" in usage
    assert "(its 1 subagent included)" in usage
    unpriced = get(site, f"/sessions/{OPUS_46}")
    assert "<b>unknown</b> cost (a model has no price)" in unpriced
    quiet = get(site, "/sessions/22222222-2222-4222-8222-222222222222")
    assert 'id="session-cost"' in quiet  # a priced session without subagents
    assert "subagent" not in quiet[quiet.index('id="session-usage"'):][:300]


def test_sessions_list_sorts_by_cost(site, client):
    response = client.get("/api/v1/sessions?order_by=cost:desc&include_one_shot=true"
                          "&include_children=true&limit=500", HTTP_HOST=HOST)
    assert response.status_code == 200, response.content
    ids = [s["id"] for s in response.json()["sessions"]]
    assert ids[:6] == [RICH, COPILOT, CODEX, COPILOT_LEGACY,
                       "11111111-1111-4111-8111-111111111111", SUBAGENT]
    assert ids.index(OPUS_46) > ids.index("33333333-3333-4333-8333-333333333333")  # unknown


def test_analytics_page_shows_the_cost_and_links_to_usage(site):
    html = get(site, f"/analytics?{WINDOW}&include_one_shot=true&include_automated=true")
    card = html[html.index('id="total-cost"') - 40:][:400]
    # the summary's sessions with their subagents: RICH + its subagent, Codex, both Copilot
    assert f'href="/usage?{WINDOW.replace("&", "&amp;")}' in card
    assert ">$0.15</a>" in card and "+1 unpriced session" in card


def test_sessions_page_has_a_cost_column_that_sorts(site, django_assert_max_num_queries):
    query = "include_one_shot=true&include_children=true&order_by=cost:desc"
    with django_assert_max_num_queries(8):  # no query per row for the cost
        html = get(site, f"/?{query}")
    assert '<th class="col-cost num" aria-sort="descending">' in html
    rows = re.findall(r'<a href="/sessions/([^"]+)">.*?<td class="col-cost num">(.*?)</td>',
                      html, re.S)
    assert rows[:2] == [(RICH, "$0.11"), (COPILOT, "$0.01")]
    assert (OPUS_46, '<span class="muted" title="a model without a price">unknown</span>') in rows


def test_usage_page_keeps_every_value_of_a_repeated_filter(site):
    both = get(site, f"/usage?{WINDOW}&agent=codex&agent=copilot")
    # codex 10,588 + copilot 11,610 + 9,100 microdollars: $0.03
    assert 'id="total-cost">$0.03<' in both
