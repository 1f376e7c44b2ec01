"""End to end (issue 19): the calls AgentsView's own UI and CLI make, scripted against a real
``pg serve`` under gunicorn on the shared PostgreSQL: each answers in AgentsView's shape, an
unsupported filter is refused rather than ignored, and the server-wide event stream opens.
One server for the module."""

from __future__ import annotations

import http.client
import urllib.parse

import pytest

from tests.agentsview.test_server import Server, running
from tests.layouts import build_claude, build_codex
from tests.pg_processes import Machine, throwaway_schema

pytestmark = [pytest.mark.slow, pytest.mark.pg]

RICH = "7f3c1e2a-5b6d-4e8f-9a0b-1c2d3e4f5a6b"
CHILD = "agent-a1b2c3d"


@pytest.fixture(scope="module")
def team(tmp_path_factory):
    root = tmp_path_factory.mktemp("clients")
    with throwaway_schema() as (url, schema):
        machine = Machine(root / "laptop", "laptop-a", url, schema)
        build_claude(machine.claude)
        machine.env["CODEX_SESSIONS_DIR"] = str(machine.root / "codex")
        build_codex(machine.root / "codex")
        pushed = machine.run("pg_push")
        assert pushed.returncode == 0, pushed.stderr
        with running(machine, "pg_serve") as server:
            yield server


def test_the_ui_s_calls(team: Server):
    version = team.json("/api/v1/version")
    assert version["read_only"] is True
    assert version["session_stats_available"] and version["events_available"]
    index = team.json("/api/v1/sessions/sidebar-index?include_one_shot=true"
                      "&include_automated=true")
    rows = {s["id"]: s for s in index["sessions"]}
    assert rows[CHILD]["parent_session_id"] == RICH and index["total"] == len(rows)
    one = team.json(f"/api/v1/sessions?ids={RICH}")
    assert [s["id"] for s in one["sessions"]] == [RICH]
    assert one["sessions"][0]["transcript_revision"]
    timing = team.json(f"/api/v1/sessions/{RICH}/timing")
    assert timing["slowest_call"]["subagent_session_id"] == CHILD
    activity = team.json(f"/api/v1/sessions/{RICH}/activity")
    assert activity["interval_seconds"] == 60 and activity["total_messages"] == 13
    assert team.json(f"/api/v1/sessions/{RICH}/search?q=vitest") == {"ordinals": [16]}
    branches = team.json("/api/v1/branches")["branches"]
    assert {"project": "webapp", "branch": "feature/login-redirect",
            "token": "webapp\x1ffeature/login-redirect"} in branches
    stats = team.json("/api/v1/session-stats?since=2024-01-01")
    assert stats["totals"]["sessions_all"] > 0
    assert team.json("/api/v1/sessions/nope/messages") == {"messages": [], "count": 0}


def test_the_cli_s_search_and_orders(team: Server):
    query = urllib.parse.urlencode({"pattern": "redirect", "include_children": "true",
                                    "in": "tool_input"})
    matches = team.json(f"/api/v1/search/content?{query}")["matches"]
    assert {m["location"] for m in matches} == {"tool_input"}
    assert CHILD in {m["session_id"] for m in matches}
    hits = team.json("/api/v1/search?q=redirects")["results"]
    assert hits[0]["rank"] <= hits[-1]["rank"]
    ordered = team.json("/api/v1/sessions?include_one_shot=true&include_children=true"
                        "&order_by=messages:desc,started:asc&limit=2")
    assert ordered["next_cursor"]
    assert team.json(f"/api/v1/sessions?include_one_shot=true&include_children=true"
                     f"&order_by=messages:desc,started:asc&limit=2"
                     f"&cursor={ordered['next_cursor']}")["sessions"]


def test_unsupported_filters_are_refused(team: Server):
    for param in ("starred=true", "has_secret=true", "label=x", "pr=1"):
        error = team.json(f"/api/v1/sessions?{param}", 400)["error"]
        assert error.startswith("unsupported query parameter (query."), param


def test_the_event_stream_opens(team: Server):
    conn = http.client.HTTPConnection("127.0.0.1", team.port, timeout=10)
    try:
        conn.request("GET", "/api/v1/events", headers={"Accept": "text/event-stream"})
        response = conn.getresponse()
        assert response.status == 200
        assert response.getheader("Content-Type") == "text/event-stream"
        assert response.readline() == b"event: events_ready\n"
        assert response.readline() == b"data: {}\n"
    finally:
        conn.close()
