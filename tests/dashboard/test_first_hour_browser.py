"""Issue 17 in a real browser: the pages a new user opens, at 1400 px and on a 390 px phone,
light and dark, against `serve` over the fixture archive. Each page is kept as a screenshot
(``first-hour-<page>-<width>-<theme>.png`` in the artifacts folder)."""

from __future__ import annotations

import os

import pytest

from tests.agentsview.test_server import running
from tests.dashboard.browser import launch, screenshot
from tests.layouts import build_claude, build_codex
from tests.pg_processes import Machine

pytestmark = pytest.mark.slow
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

RICH = "7f3c1e2a-5b6d-4e8f-9a0b-1c2d3e4f5a6b"
LAPTOP, PHONE = {"width": 1400, "height": 900}, {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """One laptop's archive served by `serve`, and one browser, for the module."""
    from playwright.sync_api import sync_playwright

    root = tmp_path_factory.mktemp("first-hour")
    machine = Machine(root / "laptop", "laptop-a", "postgresql://unused@127.0.0.1/x", "x")
    for key in ("AGENTSVIEW_PG_URL", "AGENTSVIEW_PG_SCHEMA"):
        machine.env.pop(key)
    build_claude(machine.claude)
    machine.env["CODEX_SESSIONS_DIR"] = str(machine.root / "codex")
    build_codex(machine.root / "codex")
    with running(machine, "serve", "--sync-interval", "3600") as server, \
            sync_playwright() as playwright:
        browser = launch(playwright)
        yield {"base": f"http://127.0.0.1:{server.port}", "browser": browser}
        browser.close()


def open_page(site, viewport: dict, scheme: str):
    context = site["browser"].new_context(viewport=viewport, color_scheme=scheme,
                                          timezone_id="Europe/Paris", locale="en-GB")
    return context, context.new_page()


def no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_laptop(site, scheme):
    context, page = open_page(site, LAPTOP, scheme)
    base = site["base"]
    # the list: what is hidden, one click to show it; sortable headers; local times
    page.goto(base + "/")
    screenshot(page, f"first-hour-list-1400-{scheme}")
    shown = int(page.inner_text("#list-summary strong"))
    assert "more hidden" in page.inner_text("#hidden-note")
    stamp = page.locator("td.col-active time").first
    assert stamp.inner_text().endswith(" ago")  # rewritten: how long ago, in the reader's zone
    assert stamp.get_attribute("title").endswith("UTC")  # the exact UTC time on hover
    page.click("#show-hidden")
    page.wait_for_url("**include_one_shot=true**")
    assert int(page.inner_text("#list-summary strong")) > shown
    page.click("th.col-msgs a")
    page.wait_for_url("**order_by=messages**")
    counts = [int(t.replace(",", "")) for t in page.locator("td.col-msgs").all_inner_texts()]
    assert counts == sorted(counts, reverse=True)
    assert page.locator("#choices-machine input[type=checkbox]").count() >= 1
    health = page.locator("th.col-health").bounding_box()
    assert health["x"] + health["width"] <= LAPTOP["width"]  # every column on screen
    # analytics opens on the data; a preset widens it
    page.goto(base + "/analytics")
    screenshot(page, f"first-hour-analytics-1400-{scheme}")
    assert int(page.inner_text("#total-sessions")) > 0
    assert page.locator("#chart-activity rect.bar").count() > 0
    ticks = page.locator("#chart-activity text.axis[text-anchor=end]").all_text_contents()
    assert ticks and all(t.isdigit() for t in ticks)  # whole numbers on a count axis
    page.click("nav.presets a:text-is('All')")
    page.wait_for_url("**from=**")
    assert page.locator("nav.presets a.active").inner_text() == "All"
    page.locator("#signals a[data-signal]").first.click()
    page.wait_for_url("**/analytics/signal?**")
    screenshot(page, f"first-hour-signal-1400-{scheme}")
    assert page.locator("table.sessions td time").count() > 0  # dates people read
    # the session beside the list; each call once, opening on its input
    page.goto(base + f"/sessions/{RICH}")
    screenshot(page, f"first-hour-session-1400-{scheme}")
    assert page.locator(".pane-list a[aria-current=page]").is_visible()
    bash = page.locator("details.tool:has(.tool-name:text-is('Bash'))").first
    assert bash.locator(".tool-line").inner_text() == "$ npm test -- src/auth"
    bash.locator("summary").click()
    assert "npm test -- src/auth" in bash.locator("pre").first.inner_text()
    # search: one box, a count
    page.goto(base + "/search?q=test")
    screenshot(page, f"first-hour-search-1400-{scheme}")
    assert page.locator("input[type=search]").count() == 1
    assert int(page.inner_text("#search-count strong")) >= 1
    # an unknown session: the app's frame and a way back
    response = page.goto(base + "/sessions/nope")
    assert response.status == 404
    screenshot(page, f"first-hour-404-1400-{scheme}")
    page.click("text=Back to the sessions")
    page.wait_for_url(base + "/")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert (background == "rgb(17, 19, 24)") == (scheme == "dark")
    context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_phone(site, scheme):
    context, page = open_page(site, PHONE, scheme)
    base = site["base"]
    page.goto(base + "/?include_one_shot=true")
    screenshot(page, f"first-hour-list-390-{scheme}")
    assert no_sideways_scroll(page)
    assert not page.locator("#filter-box").evaluate("box => box.open")  # filters collapsed
    assert page.locator("table.sessions").bounding_box()["y"] < 300  # the list comes first
    for column in ("th.col-msgs", "th.col-health"):
        box = page.locator(column).bounding_box()
        assert box["x"] + box["width"] <= PHONE["width"], column  # on screen
    page.click("#filter-box summary")
    assert page.locator("#filters button[type=submit]").is_visible()
    page.goto(base + f"/sessions/{RICH}")
    screenshot(page, f"first-hour-session-390-{scheme}")
    assert no_sideways_scroll(page)
    assert not page.locator(".pane-list").is_visible()  # one pane on a phone
    role = page.locator("article.msg .role").nth(1)
    assert role.inner_text().strip().lower() == "assistant"
    assert role.bounding_box()["height"] < 24  # "Assistant" on one line, never "Assist/ant"
    for path, name in (("/analytics", "analytics"), ("/search?q=test", "search"),
                       ("/analytics/signal?signal=missing_success_criteria_count&from=2020-01-01",
                        "signal"), ("/sessions/nope", "404")):
        page.goto(base + path)
        screenshot(page, f"first-hour-{name}-390-{scheme}")
        assert no_sideways_scroll(page), path
    page.goto(base + "/usage")
    screenshot(page, f"first-hour-usage-390-{scheme}")
    assert no_sideways_scroll(page)
    cost = page.locator("#top-sessions thead th").last  # the costliest sessions' Cost column
    assert cost.inner_text().strip() == "Cost"
    box = cost.bounding_box()
    assert box["x"] + box["width"] <= PHONE["width"]
    context.close()
