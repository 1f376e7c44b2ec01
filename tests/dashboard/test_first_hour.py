"""Issue 17, the first hour: what a new user sees on the pages (rendered by Django, on the
fixture archive, whose sessions are months old)."""

from __future__ import annotations

import re
from datetime import date

import pytest

from analytics_app.pages.charts import axis_ticks, column_chart
from analytics_app.pages.views import auto_granularity
from tests.dashboard.test_pages import get
from tests.sessions_app.api_fixtures import shared_archive

pytestmark = pytest.mark.django_db

RICH = "7f3c1e2a-5b6d-4e8f-9a0b-1c2d3e4f5a6b"


@pytest.fixture(scope="module")
def shared(tmp_path_factory, django_db_setup, django_db_blocker):
    with shared_archive(tmp_path_factory.mktemp("archive"), django_db_blocker,
                        backends=("default",)) as env:
        yield env


@pytest.fixture
def site(shared, settings, client):
    settings.AGENTSVIEW_API_DATABASE = "default"
    return client


def html_of(site, path: str) -> str:
    response = get(site, path)
    assert response.status_code == 200, (path, response.status_code)
    return response.content.decode()


# --- 1. analytics opens on the data, with presets -----------------------------------------

def test_analytics_opens_on_the_latest_sessions_with_presets(site):
    html = html_of(site, "/analytics")
    total = int(re.search(r'id="total-sessions">(\d+)<', html).group(1))
    assert total > 0  # not an empty "last 30 days" of a months-old archive
    assert "Nothing in this range." not in html.split('id="chart-activity"')[0]
    window = re.search(r'id="window">(\S+) to (\S+) ', html)
    first, last = (date.fromisoformat(d) for d in window.groups())
    assert last < date.today() and (last - first).days == 29
    presets = re.findall(r'<nav class="presets".*?</nav>', html, re.S)[0]
    labels = re.findall(r">([^<]+)</a>", presets)
    assert labels == ["7 days", "30 days", "90 days", "1 year", "All"]
    assert 'class="active" aria-current="true">30 days<' in presets
    # "All" reaches back to the first session: every top-level session of the archive
    everything = re.search(r'href="([^"]+)">All<', presets).group(1).replace("&amp;", "&")
    all_html = html_of(site, "/analytics" + everything)
    api = get(site, "/api/v1/analytics/summary" + everything).json()
    assert f'id="total-sessions">{api["total_sessions"]}<' in all_html
    assert api["total_sessions"] >= total
    # an explicit window is honoured as before
    explicit = html_of(site, "/analytics?from=2020-01-01&to=2020-01-31")
    assert 'id="window">2020-01-01 to 2020-01-31 ' in explicit


def test_the_granularity_fits_the_range(site):
    assert auto_granularity(date(2026, 1, 1), date(2026, 1, 31)) == "day"
    assert auto_granularity(date(2025, 1, 1), date(2025, 12, 31)) == "week"
    assert auto_granularity(date(2020, 1, 1), date(2025, 12, 31)) == "month"
    html = html_of(site, "/analytics?from=2025-01-01&to=2025-12-31")
    assert "<h2>Sessions per week</h2>" in html
    assert "Messages per day, 2025-01-01 to 2025-12-31" in html  # the heatmap's own range
    html = html_of(site, "/analytics?from=2025-01-01&to=2025-12-31&granularity=day")
    assert "<h2>Sessions per day</h2>" in html


def test_count_axes_have_whole_ticks_and_a_natural_size():
    for peak in (0, 1, 2, 3, 4, 5, 7, 12, 30, 49, 260):
        top, ticks = axis_ticks(peak)
        assert top >= peak and ticks[0] == 0 and ticks[-1] == top
        assert all(t == int(t) for t in ticks), (peak, ticks)
    chart = column_chart([("a", 1)], unit="sessions")
    assert [t["label"] for t in chart["yticks"]] == ["0", "1", "2"]


def test_stats_defaults_to_the_window_of_the_data_and_labels_its_populations(shared):
    from io import StringIO

    import orjson
    from django.core.management import call_command

    out = StringIO()
    call_command("stats", "--format", "json", stdout=out)
    doc = orjson.loads(out.getvalue())
    assert doc["window"]["days"] == 29 and doc["window"]["until"] < date.today().isoformat()
    assert doc["totals"]["sessions_counted"] > 0
    assert doc["totals"]["sessions_all"] >= doc["totals"]["sessions_counted"]
    out = StringIO()
    call_command("stats", stdout=out)
    text = out.getvalue()
    assert (f"the sections below count its {doc['totals']['sessions_counted']} top-level "
            "sessions, without one-shot sessions and automated runs "
            "(--include-one-shot, --include-automated to add them)") in text
    out = StringIO()
    call_command("stats", "--since", "28d", "--format", "json", stdout=out)
    assert orjson.loads(out.getvalue())["window"]["until"] > date.today().isoformat()
