"""The dashboard in a real browser, against real servers with fixture data from two machines."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.agentsview.test_server import running
from tests.dashboard.browser import launch, screenshot
from tests.dashboard.hostile import HOSTILE_ID, write_hostile
from tests.layouts import build_claude, build_codex
from tests.pg_processes import Machine, throwaway_schema

pytestmark = [pytest.mark.pg, pytest.mark.slow]
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

RICH = "7f3c1e2a-5b6d-4e8f-9a0b-1c2d3e4f5a6b"


@pytest.fixture(scope="module")
def team(tmp_path_factory):
    """alice (Claude, with a hostile transcript) and bob (Codex) pushed into one schema,
    served by pg serve; yields (server, machines)."""
    from playwright.sync_api import sync_playwright

    tmp = tmp_path_factory.mktemp("team")
    with throwaway_schema() as (url, schema):
        alice = Machine(tmp / "alice", "alice-laptop", url, schema)
        build_claude(alice.claude)
        write_hostile(alice.claude)
        bob = Machine(tmp / "bob", "bob-desktop", url, schema)
        bob.env["CODEX_SESSIONS_DIR"] = str(bob.root / "codex")
        build_codex(bob.root / "codex")
        for machine in (alice, bob):
            assert machine.run("pg_push").returncode == 0
        server_machine = Machine(tmp / "server", "team-server", url, schema)
        with running(server_machine, "pg_serve") as server, sync_playwright() as playwright:
            browser = launch(playwright)
            yield {"server": server, "alice": alice, "bob": bob, "browser": browser,
                   "base": f"http://127.0.0.1:{server.port}", "url": url, "schema": schema,
                   "server_machine": server_machine}
            browser.close()


@pytest.fixture
def page(team):
    context = team["browser"].new_context(viewport={"width": 1280, "height": 900},
                                          accept_downloads=True)
    page = context.new_page()
    page.dialogs = []
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    yield page
    context.close()


def test_filter_by_machine(team, page):
    page.goto(team["base"] + "/?include_one_shot=true&include_children=true")
    assert "read-only" in page.inner_text("header.top")
    page.check("#choices-machine input[value=bob-desktop]")
    page.click("#filters button[type=submit]")
    page.wait_for_url("**machine=bob-desktop**")
    rows = page.locator("table.sessions tbody tr")
    assert rows.count() > 0
    machines = {rows.nth(i).locator(".machine").inner_text() for i in range(rows.count())}
    assert machines == {"bob-desktop"}
    screenshot(page, "sessions-filtered-by-machine")


def test_open_a_session_expand_a_tool_call_follow_the_subagent(team, page):
    page.goto(team["base"] + "/")
    page.click("text=Login redirect fix")
    page.wait_for_url(f"**/sessions/{RICH}")
    assert page.inner_text("h1") == "Login redirect fix"
    bash = page.locator("details.tool:has(.tool-name:text-is('Bash'))").first
    assert not bash.locator("pre").first.is_visible()
    bash.locator("summary").click()
    assert "npm test -- src/auth" in bash.locator("pre").first.inner_text()
    screenshot(page, "session-tool-call-open")
    page.locator("p.subagent-link a", has_text="Subagent session").first.click()
    page.wait_for_url("**/sessions/agent-a1b2c3d")
    assert "Parent" in page.inner_text("header.session-head")
    page.click("header.session-head dd a")  # back to the parent
    page.wait_for_url(f"**/sessions/{RICH}")


def test_search_lands_on_the_message(team, page):
    page.goto(team["base"] + "/")
    page.fill("header.top input[name=q]", "regression test")
    page.press("header.top input[name=q]", "Enter")
    page.wait_for_url("**/search?q=regression+test**")
    first = page.locator("ol.results li").first
    assert first.locator("mark").count() >= 1
    screenshot(page, "search-results")
    anchor = first.locator("a").get_attribute("href").rsplit("#", 1)[1]  # the hit's message
    first.locator("a").click()
    page.wait_for_url(f"**#{anchor}")
    target = page.locator(f"article#{anchor}")
    assert target.is_visible()
    assert "regression test" in target.inner_text()
    assert page.evaluate("document.querySelector(':target').id") == anchor


def test_export_downloads(team, page):
    page.goto(team["base"] + f"/sessions/{RICH}")
    with page.expect_download() as info:
        page.click("text=HTML export")
    download = info.value
    assert download.suggested_filename == "webapp-20260302.html"
    body = Path(download.path()).read_text(encoding="utf-8")
    assert "<h1>webapp</h1>" in body  # the page of this session, every message in it
    assert body.count('class="message ') == 13


def test_hostile_transcript_renders_inert(team, page):
    page.goto(team["base"] + f"/sessions/{HOSTILE_ID}")
    for link in page.locator("a").all():
        href = (link.get_attribute("href") or "").lower()
        assert not href.startswith(("javascript:", "data:"))
    for summary in page.locator("details summary").all():
        summary.click()
    for anchor in page.locator(".content a").all():
        if anchor.get_attribute("href"):
            anchor.click(modifiers=["Control"])
    assert page.evaluate("window.__pwned === undefined")
    assert page.dialogs == []
    assert "<script>window.__pwned = 1; alert('xss')</script>" in page.inner_text("main")
    screenshot(page, "hostile-transcript-inert")


def test_live_updates_without_reload(team, page):
    alice = team["alice"]
    page.goto(team["base"] + f"/sessions/{RICH}")
    page.wait_for_timeout(500)  # the stream is open
    source = next(alice.claude.rglob(f"{RICH}.jsonl"))
    with source.open("a") as fh:
        fh.write(json.dumps({"type": "user", "timestamp": "2026-03-02T10:00:00Z",
                             "message": {"role": "user",
                                         "content": "Live line arriving while you watch."}})
                 + "\n")
    assert alice.run("pg_push").returncode == 0
    page.wait_for_selector("text=Live line arriving while you watch.", timeout=20000)
    screenshot(page, "session-live-update")


def test_phone_and_dark_theme(team):
    context = team["browser"].new_context(viewport={"width": 390, "height": 844},
                                          color_scheme="dark")
    phone = context.new_page()
    phone.goto(team["base"] + "/")
    assert phone.locator("table.sessions").is_visible()
    background = phone.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(17, 19, 24)"
    screenshot(phone, "phone-dark")
    phone.click("#theme-toggle")
    assert phone.evaluate("document.documentElement.dataset.theme") == "light"
    context.close()


def test_base_path_and_sign_in(team, tmp_path):
    from playwright.sync_api import sync_playwright  # noqa: F401  (the browser is shared)

    with running(team["server_machine"], "pg_serve", "--base-path", "/team",
                 "--require-auth") as server:
        context = team["browser"].new_context()
        page = context.new_page()
        base = f"http://127.0.0.1:{server.port}"
        page.goto(base + "/team/")
        page.wait_for_url("**/team/login?next=**")
        token = (team["server_machine"].data / "auth_token").read_text().strip()
        page.fill("input[name=token]", token)
        page.click("text=Sign in with the token")
        page.wait_for_url(base + "/team/")
        assert page.locator("table.sessions tbody tr").count() > 0
        color = page.evaluate("getComputedStyle(document.querySelector('.top')).display")
        assert color == "flex"  # the stylesheet loaded from under the prefix
        page.click("text=Login redirect fix")
        page.wait_for_url(f"**/team/sessions/{RICH}")
        screenshot(page, "base-path-signed-in")
        assert page.goto(base + "/teamFOO/").status == 404
        context.close()


def test_analytics_charts(team, page):
    page.goto(team["base"] + "/analytics?from=2024-01-01&to=2026-03-31&include_one_shot=true")
    # the cards agree with the analytics API of the same server
    api = page.request.get(team["base"] + "/api/v1/analytics/summary?from=2024-01-01"
                           "&to=2026-03-31&include_one_shot=true").json()
    assert api["total_sessions"] > 0
    assert page.inner_text("#total-sessions") == str(api["total_sessions"])
    bars = page.locator("#chart-activity rect.bar")
    assert bars.count() > 0
    # each bar's tooltip names its day and count; the heatmap has a cell per day
    titles = [bars.nth(i).locator("title").text_content() for i in range(bars.count())]
    assert sum(int(t.split(": ")[1].split()[0]) for t in titles) == api["total_sessions"]
    assert page.locator("#chart-heatmap rect").count() >= 365
    agents = page.locator("#rows-agents th").all_inner_texts()
    assert set(agents) == set(api["agents"])
    screenshot(page, "analytics")
    # a filter narrows every chart
    page.select_option("select[name=agent]", ["codex"])
    page.click("#analytics-filters button[type=submit]")
    page.wait_for_url("**agent=codex**")
    assert page.locator("#rows-agents th").all_inner_texts() == ["codex"]
    page.goto(team["base"] + "/analytics?from=2026-03-31&to=2024-01-01")
    assert "from is after to" in page.inner_text("p.error")
    # a signal links to the sessions it marks, and each of those to its page
    page.goto(team["base"] + "/analytics?from=2024-01-01&to=2026-03-31&include_one_shot=true")
    link = page.locator("#signals a[data-signal]").first
    name = link.get_attribute("data-signal")
    link.click()
    page.wait_for_url(f"**/analytics/signal?**signal={name}**")
    rows = page.locator("table.sessions tbody tr")
    assert rows.count() > 0
    screenshot(page, "signal-sessions")
    first = rows.first.locator("td.name a")
    href = first.get_attribute("href")
    first.click()
    page.wait_for_url(f"**{href}")
    assert page.locator("h1").inner_text().strip()


def test_usage_page_costs_per_machine_and_day(team, page):
    """What the team's agents cost, in a browser: the totals agree with the usage API of the
    same server, each machine (person) has its row, the stacked columns carry each model's
    cost, the unpriced tokens are named, and a session links through to its page."""
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    window = "from=2024-01-01&to=2026-03-31&timezone=UTC"
    page.goto(team["base"] + f"/usage?{window}")
    response = page.request.get(team["base"] + f"/api/v1/usage/summary?{window}")
    assert response.ok, (response.status, response.text()[:300])
    api = response.json()
    machines = page.locator("#cost-machines th").all_inner_texts()
    assert set(machines) == {m["machineName"] for m in api["machineTotals"]} == {
        "alice-laptop", "bob-desktop"}
    assert page.locator("#chart-cost rect").count() >= 4
    assert "claude-opus-4-6" in page.inner_text("#unpriced")
    assert page.locator("#legend-cost li").count() >= 2
    screenshot(page, "usage")
    page.locator("#top-sessions a").first.click()
    page.wait_for_url("**/sessions/**")
    assert "$" in page.inner_text("#session-cost")
    assert not errors  # nothing the CSP blocked, no script error
