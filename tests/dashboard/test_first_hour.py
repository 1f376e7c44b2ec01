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
    html = html_of(site, "/analytics?from=2025-06-01&to=2026-05-31")
    assert "<h2>Sessions per week</h2>" in html
    assert "Messages per day, 2025-06-01 to 2026-05-31" in html  # the heatmap's own range
    html = html_of(site, "/analytics?from=2025-06-01&to=2026-05-31&granularity=day")
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
    assert "Totals (every session that started in the window)" in text
    assert (f"Counted below: {doc['totals']['sessions_counted']} top-level sessions, without "
            "one-shot sessions and automated runs\n  (--include-one-shot, --include-automated"
            " to add them)") in text
    out = StringIO()
    call_command("stats", "--since", "28d", "--format", "json", stdout=out)
    assert orjson.loads(out.getvalue())["window"]["until"] > date.today().isoformat()


# --- 2. the default exclusions say what they hide ------------------------------------------

def test_the_list_says_what_the_default_exclusions_hide(site):
    html = html_of(site, "/")
    shown = int(re.search(r'id="list-summary"><strong>(\d+)</strong>', html).group(1))
    everything = get(site, "/api/v1/sessions?include_one_shot=true&include_automated=true"
                           "&include_children=true&limit=1").json()["total"]
    note = re.search(r'id="hidden-note">([\d,]+) more hidden \(([^)]*)\)', html)
    assert int(note.group(1)) == everything - shown > 0
    assert "one-shot" in note.group(2) and "subagent or fork" in note.group(2)
    link = re.search(r'href="([^"]+)" id="show-hidden"', html).group(1).replace("&amp;", "&")
    assert "include_one_shot=true" in link and "include_children=true" in link
    all_html = html_of(site, "/" + link)
    assert f'id="list-summary"><strong>{everything}</strong>' in all_html
    assert 'id="hidden-note"' not in all_html  # nothing hidden any more


# --- 3. sortable columns, more columns, both ways through the pages, machine checkboxes ----

def test_columns_sort_and_show_duration_tokens_and_model(site):
    html = html_of(site, "/?include_one_shot=true")
    for head in ("Model", "Started", "Duration", "Msgs", "Tokens", "Health"):
        assert f">{head}" in html, head
    assert 'aria-sort="descending"><a href="?include_one_shot=true&amp;order_by=recent%3Aasc"' \
        in html  # the current sort (latest activity first) turns around on a click
    by_messages = html_of(site, "/?include_one_shot=true&order_by=messages%3Adesc")
    counts = [int(n.replace(",", "")) for n in
              re.findall(r'<td class="col-msgs num">([\d,]+)</td>', by_messages)]
    assert counts == sorted(counts, reverse=True) and len(counts) > 3
    assert 'class="col-msgs num" aria-sort="descending"' in by_messages
    rich = html_of(site, "/?project=webapp")
    row = rich.split("Login redirect fix", 1)[1].split("</tr>", 1)[0]
    assert "claude-sonnet-4-5" in row  # the model, without its date suffix
    assert re.search(r'col-duration num">\d+[smhd]', row)  # a duration, e.g. 3m
    assert re.search(r'col-tokens num">[\d,]+<', row)


def test_paging_goes_back_and_counts(site):
    first = html_of(site, "/?include_one_shot=true&limit=3")
    total = int(re.search(r"1–3 of (\d+)", first).group(1))
    assert total > 6 and 'rel="prev"' not in first
    second_url = re.search(r'href="([^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    second = html_of(site, "/" + second_url)
    assert f"4–6 of {total}" in second
    third_url = re.search(r'href="([^"]+)" rel="next"', second).group(1).replace("&amp;", "&")
    third = html_of(site, "/" + third_url)
    assert f"7–9 of {total}" in third
    back_url = re.search(r'href="([^"]+)" rel="prev"', third).group(1).replace("&amp;", "&")
    back = html_of(site, "/" + back_url)
    assert f"4–6 of {total}" in back
    names = re.findall(r'<td class="name"><a href="([^"]+)"', back)
    assert names == re.findall(r'<td class="name"><a href="([^"]+)"', second)
    home = re.search(r'href="([^"]+)" rel="prev"', back).group(1).replace("&amp;", "&")
    assert "cursor" not in home and f"1–3 of {total}" in html_of(site, "/" + home)


def test_machines_are_checkboxes_with_counts(site):
    html = html_of(site, "/?machine=test-machine")
    box = re.search(r'<fieldset class="choices" id="choices-machine">.*?</fieldset>', html,
                    re.S).group(0)
    assert '<input type="checkbox" name="machine" value="test-machine" checked>' in box
    assert re.search(r'<span class="count">\d+</span>', box)
    assert "<select" not in box and "selected</" not in box


# --- 4. times, durations, numbers ----------------------------------------------------------

def test_times_are_localisable_with_the_exact_utc_on_hover(site):
    from sessions_app.templatetags.session_tags import human_duration, thousands, when

    html = html_of(site, "/?project=webapp")
    stamp = re.search(r'<time datetime="([^"]+)" title="([^"]+)" data-style="local">'
                      r"([^<]+)</time>", html)
    assert stamp, "a started time"
    iso, title, text = stamp.groups()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", iso)  # no fractions
    assert title == iso.replace("T", " ").replace("Z", " UTC")
    assert text.endswith(" UTC") and "." not in text
    assert re.search(r'data-style="relative">', html)
    assert not re.search(r">\d+w<", html)  # no "151w" ages
    assert when(None) == "—"
    assert [human_duration(s) for s in (5, 65, 3600, 3720, 90000, 86400 * 3)] == \
        ["5s", "1m", "1h", "1h 2m", "1d 1h", "3d"]
    assert thousands(7542793) == "7,542,793"
    analytics = html_of(site, "/analytics?from=2020-01-01&to=2026-12-31&include_one_shot=true")
    tokens = re.search(r'<span class="value">([^<]+)</span><span class="label">output tokens',
                       analytics).group(1)
    assert "," in tokens


# --- 5. the session page --------------------------------------------------------------------

def test_session_page_shows_each_call_once_with_its_command_or_path(site):
    html = html_of(site, f"/sessions/{RICH}")
    assert "[Bash: Run auth tests]" not in html and "[Read: " not in html  # no label lines
    assert html.count('<span class="tool-name">Bash</span>') == 2  # two calls, once each
    assert '<span class="tool-line">$ npm test -- src/auth</span>' in html
    assert '<span class="tool-line">src/auth/login.ts</span>' in html  # relative to the cwd
    assert re.search(r'<span class="tool-line">src/auth/redirect.ts \(\+\d+ -\d+\)</span>', html)
    facts = re.search(r'id="session-facts">.*?</p>', html, re.S).group(0)
    assert "Claude Code" in facts and 'class="model-tag" title="claude-sonnet-4-5' in facts
    assert 'id="numbering"' in html and "Gaps are records shown elsewhere" in html
    assert re.search(r'id="session-duration"><b>3m</b> long', html)
    assert "tool calls failed −3" in html and ">tool_failure_signals −" not in html
    assert re.search(r'[\d,]+ context · [\d,]+ out', html)  # a message's tokens


def test_codex_commands_read_as_command_lines(site):
    codex = get(site, "/api/v1/sessions?agent=codex&include_one_shot=true").json()["sessions"]
    healthz = next(s for s in codex if "/healthz" in s["first_message"])
    html = html_of(site, f"/sessions/{healthz['id']}")
    assert '<span class="tool-line">$ npm test</span>' in html
    assert "[&quot;bash&quot;" not in html  # not the JSON array
    assert "$ rg -n &quot;router\\.&quot; src" in html
    assert "{&quot;output&quot;" not in html  # a result reads as its output
    assert "\\n" not in html.split('id="messages"')[1]


def test_tool_helpers():
    from sessions_app.pages.parts import command_line, readable_result

    assert command_line(["bash", "-lc", "npm test"]) == "npm test"
    assert command_line(["git", "commit", "-m", "a b"]) == "git commit -m 'a b'"
    assert readable_result('{"output": "ok\\nline 2", "metadata": {"exit_code": 1}}') == \
        "ok\nline 2\n(exit code 1)"
    assert readable_result("{not json") == "{not json"


# --- 6. one search box, the list's rule, a count, dates ------------------------------------

def test_search_follows_the_list_rule_and_counts(site):
    every = get(site, "/api/v1/search?q=redirect&limit=50").json()["results"]
    child = {r["session_id"] for r in every} & {"agent-a1b2c3d"}
    assert child, "the subagent's session mentions redirects"
    html = html_of(site, "/search?q=redirect")
    assert html.count('type="search"') == 1  # the header's box is not repeated here
    assert "/sessions/agent-a1b2c3d?" not in html  # hidden by default, as on the list
    count = int(re.search(r'id="search-count"><strong>(\d+)</strong>', html).group(1))
    assert count == html.count('<p class="snippet">') > 0
    assert "left out, as on the list" in html
    assert re.search(r'<span class="meta">[^<]*<time datetime=', html)  # a date per hit
    included = html_of(site, "/search?q=redirect&include_children=true&include_one_shot=true")
    assert "/sessions/agent-a1b2c3d?" in included
    assert '<details class="search-filters filters" open>' in included
    paged = html_of(site, "/search?q=e&include_children=true&include_one_shot=true&limit=2")
    total = int(re.search(r'id="search-count"><strong>(\d+)</strong>', paged).group(1))
    assert total > 2 and paged.count('<p class="snippet">') == 2  # the count of every page


# --- 9. error pages in the app's frame ------------------------------------------------------

def test_not_found_and_server_error_pages_have_the_frame_and_a_way_back(site):
    from django.test import RequestFactory

    from agentsview.web import server_error

    missing = get(site, "/sessions/nope")
    html = missing.content.decode()
    assert missing.status_code == 404
    assert '<header class="top">' in html and "There is no session at this address." in html
    assert 'href="/">Back to the sessions</a>' in html
    assert missing["Content-Security-Policy"].startswith("default-src 'self'")
    other = get(site, "/no/such/page")
    assert other.status_code == 404 and "There is no page at this address." in \
        other.content.decode()
    api = get(site, "/api/v1/no-such-thing")
    assert api.status_code == 404 and api.json() == {"error": "not found"}
    broken = server_error(RequestFactory().get("/", HTTP_HOST="testserver"))
    assert broken.status_code == 500
    text = broken.content.decode()
    assert "Something went wrong" in text and "Back to the sessions" in text


# --- 10. the list beside the open session ---------------------------------------------------

def test_the_session_page_has_the_latest_sessions_beside_it(site):
    html = html_of(site, f"/sessions/{RICH}")
    pane = re.search(r'<nav class="pane-list".*?</nav>', html, re.S).group(0)
    assert f'href="/sessions/{RICH}" aria-current="page"' in pane
    listed = html_of(site, "/")
    assert pane.count("<li>") == listed.count('<td class="name">')  # the list's own rule


def test_a_bad_cursor_is_said_without_a_hidden_count(site):
    html = html_of(site, "/?cursor=bogus")
    assert "invalid cursor" in html and 'id="hidden-note"' not in html


def test_an_empty_window_says_so_once(site):
    html = html_of(site, "/analytics?from=2020-01-01&to=2020-01-31")
    assert 'id="analytics-empty"' in html
    assert "No sessions started from 2020-01-01 to 2020-01-31." in html
    assert "Nothing in this range." not in html and ">Show all time</a>" in html
