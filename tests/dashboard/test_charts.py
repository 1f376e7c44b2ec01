"""The analytics page's chart geometry (pure functions) and the page on the local archive."""

from __future__ import annotations

from datetime import date, timedelta
from io import StringIO

import pytest
from django.test import Client

from analytics_app.pages.charts import (
    bar_rows,
    column_chart,
    filled_series,
    heatmap,
    nice_ceiling,
)
from tests.layouts import build_claude, build_codex


@pytest.mark.parametrize(("value", "expected"), [
    (0, 1), (1, 1), (3, 5), (7, 10), (10, 10), (11, 20), (260, 500), (0.3, 0.5),
])
def test_axis_maximum_is_round(value, expected):
    assert nice_ceiling(value) == pytest.approx(expected)


def test_series_is_filled_with_zero_buckets():
    series = [{"date": "2026-03-02", "sessions": 2}, {"date": "2026-03-05", "sessions": 1}]
    days = filled_series(series, "sessions", date(2026, 3, 1), date(2026, 3, 6), "day")
    assert days == [("2026-03-01", 0), ("2026-03-02", 2), ("2026-03-03", 0),
                    ("2026-03-04", 0), ("2026-03-05", 1), ("2026-03-06", 0)]
    weeks = filled_series([{"date": "2026-03-02", "sessions": 3}], "sessions",
                          date(2026, 2, 25), date(2026, 3, 10), "week")
    assert weeks == [("2026-02-23", 0), ("2026-03-02", 3), ("2026-03-09", 0)]
    months = filled_series([], "sessions", date(2025, 11, 30), date(2026, 2, 1), "month")
    assert [m for m, _ in months] == ["2025-11-01", "2025-12-01", "2026-01-01", "2026-02-01"]


def test_column_heights_are_proportional_to_values():
    chart = column_chart([("a", 5), ("b", 10), ("c", 0)], unit="sessions", height=122)
    plot_h = 122 - 22 - 8
    heights = [bar.height for bar in chart["bars"]]
    assert heights == [plot_h / 2, plot_h, 0]  # the axis goes to 10
    assert all(bar.y + bar.height == pytest.approx(chart["baseline"]) for bar in chart["bars"])
    assert chart["bars"][1].title == "b: 10 sessions"
    assert [t["label"] for t in chart["yticks"]] == ["0", "5", "10"]
    assert column_chart([("a", 0)], unit="x")["empty"]


def test_heatmap_places_days_in_week_columns():
    start = date(2026, 3, 4)  # a Wednesday
    entries = [{"date": (start + timedelta(days=i)).isoformat(), "value": i, "level": i % 5}
               for i in range(10)]
    grid = heatmap(entries)
    step = grid["cell"] + 2
    first, monday = grid["cells"][0], grid["cells"][5]
    assert first["y"] - monday["y"] == 2 * step  # Wednesday is two rows under Monday
    assert monday["x"] - first["x"] == step  # the next week is the next column
    assert [c["title"] for c in grid["cells"][:2]] == ["2026-03-04: 0", "2026-03-05: 1"]


def test_bar_rows_rank_and_scale():
    rows = bar_rows([("b", 2), ("a", 4), ("c", 2)])
    assert [(r["label"], r["pct"]) for r in rows] == [("a", 100.0), ("b", 50.0), ("c", 50.0)]


@pytest.mark.django_db
def test_analytics_page_on_the_local_archive(agent_env):
    from django.core.management import call_command

    build_claude(agent_env["claude"])
    build_codex(agent_env["codex"])
    call_command("sync", stdout=StringIO(), stderr=StringIO())
    client = Client()
    query = "from=2024-01-01&to=2026-03-31&include_one_shot=true"
    summary = client.get(f"/api/v1/analytics/summary?{query}").json()
    page = client.get(f"/analytics?{query}&granularity=week")
    assert page.status_code == 200
    html = page.content.decode()
    assert f'id="total-sessions">{summary["total_sessions"]}<' in html
    assert "style=" not in html  # colours come from classes (the CSP forbids inline styles)
    assert "Content-Security-Policy" in page.headers
    bad = client.get("/analytics?from=2026-03-31&to=2024-01-01")
    assert bad.status_code == 400 and "from is after to" in bad.content.decode()
    assert client.get("/analytics?granularity=year").status_code == 400
