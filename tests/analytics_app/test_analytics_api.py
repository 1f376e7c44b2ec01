"""The analytics endpoints (/api/v1/analytics/*) on SQLite and on PostgreSQL: the same JSON
from both, values computed by hand from the fixture archive, the reference shapes, errors.

The fixture archive (tests/layouts.py) holds Claude and Codex sessions of 2024-01-01 and of
2026-03-02..04 (plus one of 2026-05-02). AgentsView's reference goldens
(tests/fixtures/golden/analytics/) come from a larger archive with five more agents, so only
their Claude/Codex parts are compared value for value.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import orjson
import pytest
from django.db import connections

from analytics_app.endpoints import ENDPOINTS
from analytics_app.endpoints.filters import parse_filters
from analytics_app.endpoints.health import SIGNAL_VALUES
from sessions_app.models import Message, Session
from tests.layouts import golden
from tests.sessions_app.api_fixtures import (
    BACKENDS,
    HOST,
    Api,
    available_backends,
    shared_archive,
)

# Read-only tests: one archive for the module, each test in a rolled-back transaction.
pytestmark = pytest.mark.django_db(databases=["default", "pg"])

BASE = "/api/v1/analytics"
RANGE = "from=2024-01-01&to=2026-03-31"
ALL = f"{RANGE}&include_one_shot=true&include_automated=true"
HUMAN = f"{RANGE}&include_one_shot=true"  # automated runs excluded

RICH = "7f3c1e2a-5b6d-4e8f-9a0b-1c2d3e4f5a6b"  # claude, webapp, 2026-03-02 09:00Z, 13 messages
CLI = "9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"  # claude, cli_tool, 2026-03-03 10:00Z, 10
CODEX = "codex:0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"  # codex, api_server, 2026-03-04 14:00Z, 8
REVIEW = "codex:0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a60"  # codex, "You are a code reviewer."
LOGIN = "11111111-1111-4111-8111-111111111111"  # claude, my_app, 2024-01-01 10:00Z, 4
MIDNIGHT = "44444444-4444-4444-8444-444444444444"  # claude, my_app, 2024-01-01 00:00Z, 3

# Signal columns as sync may or may not have computed them yet: reset, then set explicitly.
NO_SIGNALS = {
    "outcome": "unknown", "outcome_confidence": "low", "health_score": None,
    "health_grade": None, "tool_failure_signal_count": 0, "tool_retry_count": 0,
    "edit_churn_count": 0, "compaction_count": 0, "mid_task_compaction_count": 0,
    "context_pressure_max": None, "quality_signal_version": 0, "short_prompt_count": 0,
    "unstructured_start": False, "missing_success_criteria_count": 0,
    "missing_verification_count": 0, "duplicate_prompt_count": 0, "no_code_context_count": 0,
    "runaway_tool_loop_count": 0, "is_automated": False, "rollup_skills": "[]",
    "frustration_marker_count": 0,
}
SIGNALS = {
    LOGIN: {"outcome": "completed", "outcome_confidence": "high", "health_score": 100,
            "health_grade": "A"},
    RICH: {"outcome": "completed", "outcome_confidence": "medium", "health_score": 97,
           "health_grade": "A", "tool_failure_signal_count": 1, "compaction_count": 1,
           "context_pressure_max": 0.3, "quality_signal_version": 6, "short_prompt_count": 1,
           "missing_verification_count": 1, "rollup_skills": '[["pdf",2]]'},
    CLI: {"outcome": "abandoned", "outcome_confidence": "high", "health_score": 60,
          "health_grade": "C", "tool_retry_count": 2, "edit_churn_count": 1,
          "context_pressure_max": 0.9, "quality_signal_version": 6, "short_prompt_count": 2,
          "unstructured_start": True, "frustration_marker_count": 1,
          "rollup_skills": '[["pdf",1],["review",3]]'},
    CODEX: {"outcome": "errored", "outcome_confidence": "medium", "health_score": 40,
            "health_grade": "D", "tool_failure_signal_count": 3, "compaction_count": 2,
            "mid_task_compaction_count": 1},
    REVIEW: {"is_automated": True},  # its prompt is a built-in automated prefix
}


def set_signals(alias: str) -> None:
    sessions = Session.objects.using(alias)
    sessions.update(**NO_SIGNALS)
    for session_id, values in SIGNALS.items():
        assert sessions.filter(pk=session_id).update(**values) == 1


@pytest.fixture(scope="module")
def shared(tmp_path_factory, django_db_setup, django_db_blocker):
    """The archive in SQLite and pushed to PostgreSQL, with the signals set by hand."""
    with shared_archive(tmp_path_factory.mktemp("archive"), django_db_blocker,
                        backends=available_backends(), after=set_signals) as env:
        yield env


@pytest.fixture(params=BACKENDS)
def api(request, shared, settings, client):
    """The archive served from one database (SQLite, or PostgreSQL after a push)."""
    settings.AGENTSVIEW_API_DATABASE = request.param
    return Api(client)


@pytest.fixture
def both(shared, settings, client):
    """``both(path)`` gives the two response bodies (SQLite's, PostgreSQL's)."""
    api = Api(client)

    def fetch(path: str) -> tuple[bytes, bytes]:
        bodies = []
        for alias in ("default", "pg"):
            settings.AGENTSVIEW_API_DATABASE = alias
            response = api.get(path)
            assert response.status_code == 200, (alias, path, response.content)
            bodies.append(response.content)
        return bodies[0], bodies[1]

    return fetch


# Every endpoint, and each granularity/metric variant.
PATHS = [f"{BASE}/{name}?" for name in ENDPOINTS if name != "signal-sessions"] + [
    *(f"{BASE}/signal-sessions?signal={name}&" for name in (
        "tool_failure_signals", "high_pressure_sessions", "unstructured_start",
        "frustration_marker_count", "sessions_with_compaction")),
    f"{BASE}/activity?granularity=week&", f"{BASE}/activity?granularity=month&",
    f"{BASE}/heatmap?metric=sessions&", f"{BASE}/heatmap?metric=output_tokens&",
    f"{BASE}/top-sessions?metric=duration&", f"{BASE}/top-sessions?metric=output_tokens&",
]


@pytest.mark.parametrize("query", [
    ALL,
    f"{ALL}&timezone=Pacific/Auckland",
    f"{ALL}&timezone=America/Los_Angeles",
    RANGE,  # the default exclusions
    HUMAN,
    f"{ALL}&project=my_app,webapp&agent=claude&machine=test-machine",
    "from=2026-03-05&to=2026-03-05&timezone=Pacific/Auckland&include_one_shot=1",
    f"{ALL}&git_branch=main&model=gpt-5-codex,claude-opus-4-6&termination=awaiting_user",
    f"{ALL}&dow=0&hour=22&timezone=Pacific/Auckland",
    f"{HUMAN}&automated_scope=automated",
    f"{ALL}&min_user_messages=2&active_since=2026-03-03T00:00:00Z",
    "",  # the default range: the 30 days up to today (nothing in the fixtures)
])
def test_sqlite_and_postgresql_answer_the_same_json(both, query):
    for path in PATHS:
        sqlite, pg = both(path + query)
        assert orjson.loads(sqlite) == orjson.loads(pg), path + query
        assert sqlite == pg, path + query  # byte for byte: 4 is not 4.0
    if query.startswith(ALL):
        assert orjson.loads(both(f"{BASE}/summary?{query}")[0])["total_sessions"] > 0


# --- values, computed by hand from the fixture archive ------------------------------------


def test_summary(api):
    data = api.json(f"{BASE}/summary?{ALL}")
    assert data == {
        "total_sessions": 13,  # of 17: three children and the one of 2026-05-02 are out
        "total_messages": 55,
        "total_output_tokens": 2015,  # 125 + 50 + 5 + 1395 + 100 + 340
        "token_reporting_sessions": 6,
        "models": ["claude-opus-4-6", "claude-sonnet-4-20250514",
                   "claude-sonnet-4-5-20250929", "gpt-5-codex"],
        "active_projects": 7,
        "active_days": 4,
        "avg_messages": 4.2,  # 55 / 13
        "median_messages": 2,
        "p90_messages": 10,  # sorted counts [2]*7 + [3, 3, 4, 8, 10, 13], index 11
        "most_active_project": "webapp",
        "concentration": 0.618,  # (13 + 11 + 10) / 55
        "agents": {"claude": {"sessions": 6, "messages": 34},
                   "codex": {"sessions": 7, "messages": 21}},
        # usage priced by prices.toml (tests/sessions_app/test_usage_api.py), the subagent of
        # RICH included: 3615 + 1050 + 105 + 114516 + 2450 + 10588; claude-opus-4-6 has no
        # price, so that session's cost is unknown, not 0
        "total_cost": {"microdollars": 132324},
        "cost_unknown_sessions": 1,
    }
    # default exclusions: only sessions with two user messages or more
    default = api.json(f"{BASE}/summary?{RANGE}")
    assert (default["total_sessions"], default["total_messages"]) == (4, 35)
    assert default["agents"] == {"claude": {"sessions": 3, "messages": 27},
                                 "codex": {"sessions": 1, "messages": 8}}
    assert api.json(f"{BASE}/summary?{HUMAN}")["agents"]["codex"]["sessions"] == 6
    narrow = api.json(f"{BASE}/summary?{ALL}&project=my_app,webapp&agent=claude")
    assert (narrow["total_sessions"], narrow["active_projects"]) == (5, 2)
    assert api.json(f"{BASE}/summary?{ALL}&machine=elsewhere")["total_sessions"] == 0


def test_time_zone_decides_which_sessions_a_range_holds(api):
    # 2024-01-01T00:00Z is 2023-12-31 16:00 in Los Angeles: before the range there
    la = api.json(f"{BASE}/summary?{ALL}&timezone=America/Los_Angeles")
    assert (la["total_sessions"], la["total_messages"]) == (12, 52)
    assert la["agents"]["claude"] == {"sessions": 5, "messages": 31}
    nz = api.json(f"{BASE}/summary?{ALL}&timezone=Pacific/Auckland")
    assert (nz["total_sessions"], nz["active_days"]) == (13, 4)
    # the two Codex sessions of 2026-03-04 14:00Z/15:00Z started on 03-05 in Auckland
    one_day = "from=2026-03-05&to=2026-03-05&include_one_shot=true&include_automated=true"
    assert api.json(f"{BASE}/summary?{one_day}&timezone=Pacific/Auckland")[
        "total_sessions"] == 2
    assert api.json(f"{BASE}/summary?{one_day}")["total_sessions"] == 0


def test_activity_by_day_week_and_month(api):
    series = api.json(f"{BASE}/activity?{ALL}")["series"]
    assert [(e["date"], e["sessions"], e["messages"]) for e in series] == [
        ("2024-01-01", 9, 22), ("2026-03-02", 1, 13), ("2026-03-03", 1, 10),
        ("2026-03-04", 2, 10)]
    assert series[0] == {"date": "2024-01-01", "sessions": 9, "messages": 22,
                         "user_messages": 10, "assistant_messages": 10, "tool_calls": 7,
                         "thinking_messages": 0, "by_agent": {"claude": 11, "codex": 11}}
    # 13 messages: 3 user, 1 system "user" row, 9 assistant
    assert series[1]["user_messages"] == 3 and series[1]["assistant_messages"] == 9
    nz = api.json(f"{BASE}/activity?{ALL}&timezone=Pacific/Auckland")["series"]
    assert [e["date"] for e in nz] == ["2024-01-01", "2026-03-02", "2026-03-03", "2026-03-05"]
    la = api.json(f"{BASE}/activity?{ALL}&timezone=America/Los_Angeles")["series"]
    assert [(e["date"], e["sessions"]) for e in la] == [
        ("2024-01-01", 8), ("2026-03-02", 1), ("2026-03-03", 1), ("2026-03-04", 2)]
    week = api.json(f"{BASE}/activity?{ALL}&granularity=week")
    assert week["granularity"] == "week"
    assert [(e["date"], e["sessions"], e["messages"], e["tool_calls"])
            for e in week["series"]] == [("2024-01-01", 9, 22, 7), ("2026-03-02", 4, 33, 11)]
    month = api.json(f"{BASE}/activity?{ALL}&granularity=month")["series"]
    assert [e["date"] for e in month] == ["2024-01-01", "2026-03-01"]


def test_activity_matches_the_reference_where_only_claude_and_codex_ran(api):
    ours = {e["date"]: e for e in api.json(f"{BASE}/activity?{HUMAN}")["series"]}
    for ref in golden("analytics/analytics-activity.json")["series"]:
        mine = ours.get(ref["date"])
        if set(ref["by_agent"]) <= {"claude", "codex"}:
            assert mine == ref, ref["date"]  # 2026-03-02, 03-03, 03-04
        elif mine is not None:
            assert mine["by_agent"] == {a: n for a, n in ref["by_agent"].items()
                                        if a in ("claude", "codex")}


def test_heatmap(api):
    data = api.json(f"{BASE}/heatmap?{ALL}")
    assert data["metric"] == "messages" and data["entries_from"] == "2025-03-31"
    assert len(data["entries"]) == 366 and data["entries"][-1]["date"] == "2026-03-31"
    assert [e for e in data["entries"] if e["value"]] == [
        {"date": "2026-03-02", "value": 13, "level": 3},
        {"date": "2026-03-03", "value": 10, "level": 1},
        {"date": "2026-03-04", "value": 10, "level": 1}]
    assert data["levels"] == {"l1": 10, "l2": 10, "l3": 10, "l4": 13}
    sessions = api.json(f"{BASE}/heatmap?{ALL}&metric=sessions")
    assert [(e["value"], e["level"]) for e in sessions["entries"] if e["value"]] == [
        (1, 1), (1, 1), (2, 3)]
    short = api.json(f"{BASE}/heatmap?from=2026-03-01&to=2026-03-10")
    assert short["entries_from"] == "2026-03-01" and len(short["entries"]) == 10
    reference = golden("analytics/analytics-heatmap.json")
    request = "from=2024-01-01&to=2026-06-30&include_one_shot=true&include_automated=true"
    same = api.json(f"{BASE}/heatmap?{request}")
    assert same["entries_from"] == reference["entries_from"]
    assert [e["date"] for e in same["entries"]] == [e["date"] for e in reference["entries"]]
    for day in ("2026-03-02", "2026-03-03"):  # only Claude ran on those days
        assert (next(e["value"] for e in same["entries"] if e["date"] == day)
                == next(e["value"] for e in reference["entries"] if e["date"] == day))


def test_projects(api):
    projects = api.json(f"{BASE}/projects?{ALL}")["projects"]
    assert [(p["name"], p["sessions"], p["messages"]) for p in projects] == [
        ("webapp", 1, 13), ("my_app", 4, 11), ("api_server", 2, 10), ("cli_tool", 1, 10),
        ("tmp", 3, 6), ("app", 1, 3), ("my_api", 1, 2)]
    my_app = projects[1]
    assert my_app == {"name": "my_app", "sessions": 4, "messages": 11,
                      "first_session": "2024-01-01", "last_session": "2024-01-01",
                      "avg_messages": 2.8, "median_messages": 2, "agents": {"claude": 4},
                      "daily_trend": 11}
    api_server = projects[2]
    assert (api_server["avg_messages"], api_server["median_messages"]) == (5, 5)  # 8 and 2
    la = {p["name"]: p for p in api.json(f"{BASE}/projects?{ALL}&timezone=America/"
                                         "Los_Angeles")["projects"]}
    assert la["my_app"]["sessions"] == 3  # the midnight-UTC session started on 12-31 there


def test_tools(api):
    data = api.json(f"{BASE}/tools?{ALL}")
    assert data["total_calls"] == 18
    assert data["by_category"][:3] == [{"category": "Bash", "count": 8, "pct": 44.4},
                                       {"category": "Edit", "count": 4, "pct": 22.2},
                                       {"category": "Read", "count": 3, "pct": 16.7}]
    codex = next(a for a in data["by_agent"] if a["agent"] == "codex")
    assert codex == {"agent": "codex", "total": 9, "categories": [
        {"category": "Bash", "count": 6, "pct": 66.7},
        {"category": "Edit", "count": 3, "pct": 33.3}]}
    shell = next(t for t in data["by_tool"] if t["tool_name"] == "shell")
    # the last of its three calls ("cat: READMEE.md: No such file or directory") carries an
    # errored result event (our Codex parser reads the exit code; AgentsView's does not), and
    # the session ended there: a sequence abandoned
    assert shell == {"analyzed_calls": 3, "known_outcome_calls": 3, "empty_calls": 0,
                     "repeated_calls": 0, "recovered_sequences": 0, "abandoned_sequences": 1,
                     "open_sequences": 0, "unknown_sequences": 0, "missing_calls": 0,
                     "empty_rate": 0, "repeat_rate": 0, "recovery_rate": 0,
                     "tool_name": "shell", "category": "Bash", "call_count": 3,
                     "session_count": 1, "pct": 16.7}
    assert data["trend"] == [
        {"date": "2024-01-01", "by_category": {"Bash": 3, "Edit": 2, "Read": 2}},
        {"date": "2026-03-02", "by_category": {"Bash": 5, "Edit": 2, "Read": 1, "Task": 1,
                                               "Tool": 1, "Write": 1}}]
    reference = golden("analytics/analytics-tools.json")
    claude = next(a for a in reference["by_agent"] if a["agent"] == "claude")
    assert next(a for a in data["by_agent"] if a["agent"] == "claude") == claude
    # by_tool: the tools only our Claude and Codex sessions call, with the reference's counts,
    # have the reference's outcome figures too (its Bash: the failed test run recovered by the
    # Task that follows); pct differs (fewer calls in all)
    same = ("Bash", "Edit", "Task", "TodoWrite", "exec_command", "shell_command",
            "write_stdin")
    ours = {t["tool_name"]: {k: v for k, v in t.items() if k != "pct"}
            for t in data["by_tool"] if t["tool_name"] in same}
    theirs = {t["tool_name"]: {k: v for k, v in t.items() if k != "pct"}
              for t in reference["by_tool"] if t["tool_name"] in same}
    assert len(ours) == len(same) and ours == theirs
    assert [list(t) for t in data["by_tool"][:1]] == [list(reference["by_tool"][0])]


def test_velocity_matches_the_reference_for_the_same_sessions(api):
    data = api.json(f"{BASE}/velocity?{HUMAN}")
    reference = {row["label"]: row for row in
                 golden("analytics/analytics-velocity.json")["by_agent"]}
    ours = {row["label"]: row for row in data["by_agent"]}
    # the same six Claude and six Codex sessions as the reference run
    assert ours["claude"] == reference["claude"]
    # Codex: the timing figures. Characters and tool calls differ with the parser (the
    # reference splits fc_args_2's two-file apply_patch into two calls; we keep one).
    timing = ("turn_cycle_sec", "first_response_sec", "msgs_per_active_min")
    assert ours["codex"]["sessions"] == reference["codex"]["sessions"] == 6
    assert {k: ours["codex"]["overview"][k] for k in timing} == {
        k: reference["codex"]["overview"][k] for k in timing}
    assert [c["label"] for c in data["by_complexity"]] == ["1-15"]
    assert data["by_complexity"][0]["sessions"] == 12
    assert data["by_complexity"][0]["overview"] == data["overall"]


def test_top_sessions(api):
    top = api.json(f"{BASE}/top-sessions?{ALL}")
    assert top["metric"] == "messages"
    assert [s["id"] for s in top["sessions"][:4]] == [RICH, CLI, CODEX, LOGIN]
    assert len(top["sessions"]) == 10
    cli = top["sessions"][1]
    assert (cli["duration_min"], cli["active_duration_min"]) == (60.2, 4.2)  # gaps ≤ 5 min
    assert "display_name" not in cli and top["sessions"][0]["display_name"] == (
        "Login redirect fix")
    duration = api.json(f"{BASE}/top-sessions?{ALL}&metric=duration")["sessions"]
    assert [s["id"] for s in duration[:5]] == [LOGIN, CODEX, "codex:fc-1", CLI, RICH]
    tokens = api.json(f"{BASE}/top-sessions?{ALL}&metric=output_tokens")["sessions"]
    assert [s["output_tokens"] for s in tokens] == [1395, 340, 125, 100, 50, 5]
    compared = ("id", "project", "first_message", "display_name", "message_count",
                "output_tokens", "duration_min", "active_duration_min", "started_at",
                "ended_at")
    for name in ("analytics-top-sessions.json", "analytics-top-sessions-duration.json"):
        mine = {s["id"]: s for s in duration + top["sessions"]}
        for ref in golden(f"analytics/{name}")["sessions"]:
            if ref["id"] in mine:
                assert {k: mine[ref["id"]].get(k) for k in compared} == {
                    k: ref.get(k) for k in compared}, ref["id"]


def test_session_shapes(api):
    assert api.json(f"{BASE}/sessions?{ALL}") == {
        "count": 13,
        "length_distribution": [{"label": "1-5", "count": 10}, {"label": "6-15", "count": 3}],
        "duration_distribution": [{"label": "<5m", "count": 9}, {"label": "5-15m", "count": 3},
                                  {"label": "1-2h", "count": 1}],
        # tool-use assistant messages per (non-system) user message
        "autonomy_distribution": [{"label": "<0.5", "count": 5}, {"label": "0.5-1", "count": 1},
                                  {"label": "1-2", "count": 4}, {"label": "2-5", "count": 3}],
    }


def test_hour_of_week(api):
    def busy(query: str) -> dict:
        cells = api.json(f"{BASE}/hour-of-week?{query}")["cells"]
        assert len(cells) == 168
        assert [(c["day_of_week"], c["hour"]) for c in cells] == [
            (d, h) for d in range(7) for h in range(24)]
        return {(c["day_of_week"], c["hour"]): c["messages"] for c in cells if c["messages"]}

    # 2024-01-01 and 2026-03-02 were Mondays (0)
    assert busy(ALL) == {(0, 0): 3, (0, 9): 13, (0, 10): 19, (1, 10): 10, (2, 14): 8,
                         (2, 15): 2}
    assert busy(f"{ALL}&timezone=Pacific/Auckland") == {
        (0, 13): 3, (0, 22): 13, (0, 23): 19, (1, 23): 10, (3, 3): 8, (3, 4): 2}
    assert busy(f"{ALL}&timezone=America/Los_Angeles") == {
        (0, 1): 13, (0, 2): 19, (1, 2): 10, (2, 6): 8, (2, 7): 2}


def test_signals(api):
    data = api.json(f"{BASE}/signals?{RANGE}")  # LOGIN, RICH, CLI, CODEX
    assert data["scored_sessions"] == 4 and data["unscored_sessions"] == 0
    assert data["grade_distribution"] == {"A": 2, "C": 1, "D": 1}
    assert data["avg_health_score"] == 74.3  # 297 / 4 = 74.25, rounded half away from zero
    assert data["outcome_distribution"] == {"abandoned": 1, "completed": 2, "errored": 1}
    assert data["outcome_confidence_distribution"] == {"high": 2, "medium": 2}
    assert data["tool_health"] == {"total_failure_signals": 4, "total_retries": 2,
                                   "total_edit_churn": 1, "sessions_with_failures": 2,
                                   "failure_rate": 50}
    assert data["context_health"] == {
        "avg_compaction_count": 0.8, "sessions_with_compaction": 2,
        "mid_task_compaction_count": 1, "sessions_with_mid_task_compaction": 1,
        "sessions_with_context_data": 2, "avg_context_pressure": 0.6,
        "high_pressure_sessions": 1}
    quality = data["quality_health"]
    assert quality["computed_sessions"] == 2
    assert quality["totals"]["short_prompt_count"] == 3
    assert quality["sessions_with_signal"]["short_prompt_count"] == 2
    assert quality["totals"]["unstructured_start"] == 1
    assert quality["sessions_with_signal"]["missing_verification_count"] == 1
    assert [(t["date"], t["avg_health_score"], t["completed"], t["errored"], t["abandoned"],
             t["avg_failure_signals"]) for t in data["trend"]] == [
        ("2024-01-01", 100, 1, 0, 0, 0), ("2026-03-02", 97, 1, 0, 0, 1),
        ("2026-03-03", 60, 0, 0, 1, 0), ("2026-03-04", 40, 0, 1, 0, 3)]
    assert data["by_agent"] == [
        {"agent": "claude", "session_count": 3, "avg_health_score": 85.7,
         "completed_rate": 66.7, "avg_failure_signals": 0.3},
        {"agent": "codex", "session_count": 1, "avg_health_score": 40, "completed_rate": 0,
         "avg_failure_signals": 3}]
    assert [p["project"] for p in data["by_project"]] == [
        "api_server", "cli_tool", "my_app", "webapp"]
    calibration = data["calibration"]
    assert calibration["tool_failure_signals"] == {
        "signal": "tool_failure_signals", "affected_sessions": 2, "baseline_sessions": 2,
        "affected_incomplete_rate": 50, "baseline_incomplete_rate": 50,
        "incomplete_lift": 1, "avg_score_delta": -11.5}
    assert calibration["high_pressure_sessions"]["incomplete_lift"] == 3  # 100 / 33.3
    assert calibration["high_pressure_sessions"]["avg_score_delta"] == -19  # 60 - 237/3
    assert calibration["duplicate_prompt_count"]["incomplete_lift"] is None
    unscored = api.json(f"{BASE}/signals?{ALL}&project=tmp")
    assert unscored["avg_health_score"] is None and unscored["unscored_sessions"] == 3
    assert unscored["outcome_distribution"] == {"unknown": 3}


def test_frustration_markers_in_quality_health_and_calibration(api):
    data = api.json(f"{BASE}/signals?{RANGE}")
    assert data["quality_health"]["totals"]["frustration_marker_count"] == 1  # CLI
    assert data["quality_health"]["sessions_with_signal"]["frustration_marker_count"] == 1
    calibration = data["calibration"]["frustration_marker_count"]
    assert (calibration["affected_sessions"], calibration["baseline_sessions"]) == (1, 3)
    assert calibration["affected_incomplete_rate"] == 100  # CLI was abandoned


def test_signal_sessions(api):
    data = api.json(f"{BASE}/signal-sessions?{ALL}&signal=tool_failure_signals")
    assert data["signal"] == "tool_failure_signals" and data["total"] == 2
    assert [(s["id"], s["value"]) for s in data["sessions"]] == [(CODEX, 3), (RICH, 1)]
    first = data["sessions"][0]
    assert first == {
        "id": CODEX, "project": "api_server", "agent": "codex", "machine": first["machine"],
        "first_message": first["first_message"], "started_at": "2026-03-04T14:00:00Z",
        "ended_at": first["ended_at"], "message_count": 8, "outcome": "errored",
        "health_score": 40, "health_grade": "D", "value": 3,
        # AgentsView's names (issue 19)
        "session_id": CODEX, "date": "2026-03-04", "is_automated": False, "signal_total": 3,
        "reason_code": "tool_failure_signals", "excerpt": first["first_message"][:200],
        "failure_signals": 3, "retries": first["retries"], "edit_churn": first["edit_churn"]}
    assert first["machine"] and first["first_message"] and first["ended_at"]
    limited = api.json(f"{BASE}/signal-sessions?{ALL}&signal=tool_failure_signals&limit=1")
    assert limited["total"] == 2 and [s["id"] for s in limited["sessions"]] == [CODEX]
    second = api.json(f"{BASE}/signal-sessions?{ALL}&signal=tool_failure_signals&limit=1"
                      "&offset=1")
    assert [s["id"] for s in second["sessions"]] == [RICH]
    tasks = api.json(f"{BASE}/signal-sessions?{ALL}&signal=tool_failure_signals"
                     "&tool_category=Task")
    assert [s["id"] for s in tasks["sessions"]] == [RICH] and tasks["total"] == 1
    assert api.json(f"{BASE}/signal-sessions?{ALL}&signal=tool_failure_signals"
                    "&tool_name=NoSuchTool")["sessions"] == []
    pressure = api.json(f"{BASE}/signal-sessions?{ALL}&signal=high_pressure_sessions")
    assert [(s["id"], s["value"]) for s in pressure["sessions"]] == [(CLI, 0.9)]
    unstructured = api.json(f"{BASE}/signal-sessions?{ALL}&signal=unstructured_start")
    assert [(s["id"], s["value"]) for s in unstructured["sessions"]] == [(CLI, 1)]
    # the calibration's keys are exactly the signals this endpoint lists
    calibration = api.json(f"{BASE}/signals?{ALL}")["calibration"]
    assert set(calibration) == set(SIGNAL_VALUES)
    for name, entry in calibration.items():
        listed = api.json(f"{BASE}/signal-sessions?{ALL}&signal={name}&limit=500")
        assert listed["total"] == entry["affected_sessions"] == len(listed["sessions"]), name


def test_skills(api):
    data = api.json(f"{BASE}/skills?{ALL}")
    assert data == {
        "total_skill_calls": 6, "distinct_skills": 2,
        "by_skill": [
            {"skill_name": "pdf", "call_count": 3, "session_count": 2, "pct": 50},
            {"skill_name": "review", "call_count": 3, "session_count": 1, "pct": 50}],
        "trend": [{"date": "2026-03-02", "by_skill": {"pdf": 3, "review": 3}}],  # ISO week
    }
    assert set(data) == set(golden("analytics/analytics-skills.json"))
    assert api.json(f"{BASE}/skills?{ALL}&project=webapp")["total_skill_calls"] == 2
    assert api.json(f"{BASE}/skills?{RANGE}&project=tmp") == golden(
        "analytics/analytics-skills.json")


def _sessions(api, query: str) -> int:
    return api.json(f"{BASE}/summary?{query}")["total_sessions"]


def test_branch_model_termination_filters(api):
    assert _sessions(api, ALL) == 13
    assert _sessions(api, f"{ALL}&git_branch=main") == 2  # CLI, CODEX (children never count)
    assert _sessions(api, f"{ALL}&git_branch=webapp%1Ffeature/login-redirect") == 1  # RICH
    assert _sessions(api, f"{ALL}&git_branch=cli_tool%1Ffeature/login-redirect") == 0
    assert _sessions(api, f"{ALL}&git_branch=main&git_branch=feature/login-redirect") == 3
    assert _sessions(api, f"{ALL}&model=gpt-5-codex") == 2  # CODEX and REVIEW
    assert _sessions(api, f"{ALL}&model=GPT-5-codex") == 0  # case-sensitive on both
    assert _sessions(api, f"{ALL}&model=gpt-5") == 0  # a whole model name, not a prefix
    assert _sessions(api, f"{ALL}&model=claude-opus-4-6,gpt-5-codex") == 3
    assert _sessions(api, f"{ALL}&termination=truncated") == 1
    assert _sessions(api, f"{ALL}&termination=truncated,tool_call_pending") == 6


def test_scope_weekday_hour_and_activity_filters(api):
    assert _sessions(api, f"{HUMAN}&automated_scope=automated") == 1  # REVIEW
    assert _sessions(api, f"{ALL}&automated_scope=human") == 12  # wins over include_automated
    assert _sessions(api, f"{HUMAN}&automated_scope=all") == 13
    # 2024-01-01 and 2026-03-02 are Mondays; RICH starts 09:00Z = 22:00 in Auckland (+13)
    assert _sessions(api, f"{ALL}&dow=0&hour=9") == 1
    assert _sessions(api, f"{ALL}&dow=0&hour=22&timezone=Pacific/Auckland") == 1
    assert _sessions(api, f"{ALL}&dow=1") == 1  # CLI, Tuesday 2026-03-03
    assert _sessions(api, f"{ALL}&hour=10") == 9  # eight of 2024-01-01 10:00Z, and CLI
    assert _sessions(api, f"{ALL}&min_user_messages=2") == 4  # LOGIN, RICH, CLI, CODEX
    assert _sessions(api, f"{ALL}&active_since=2026-03-03T00:00:00Z") == 3


def test_default_range_is_the_thirty_days_up_to_today(api):
    # nothing in the fixtures is that recent: the reference's empty summary, exactly
    assert api.json(f"{BASE}/summary") == {  # and the cost fields AgentsView has not
        **golden("analytics/analytics-summary-default.json"),
        "total_cost": {"microdollars": 0}, "cost_unknown_sessions": 0}
    flags = "include_one_shot=true&include_automated=true"
    # to=2026-03-31 alone: from 2026-03-01
    assert api.json(f"{BASE}/summary?to=2026-03-31&{flags}")["total_sessions"] == 4
    # from alone: up to today, so the session of 2026-05-02 too
    assert api.json(f"{BASE}/summary?from=2026-03-01&{flags}")["total_sessions"] == 5
    zone = ZoneInfo("Pacific/Kiritimati")
    filters = parse_filters({"timezone": "Pacific/Kiritimati"})
    assert filters.last_day == datetime.now(zone).date()
    assert filters.first_day == filters.last_day - timedelta(days=30)


# --- consistency, shapes, errors ------------------------------------------------------------


def test_endpoints_agree_with_each_other(api):
    summary = api.json(f"{BASE}/summary?{ALL}")
    for granularity in ("day", "week", "month"):
        series = api.json(f"{BASE}/activity?{ALL}&granularity={granularity}")["series"]
        assert sum(e["sessions"] for e in series) == summary["total_sessions"]
        assert sum(e["messages"] for e in series) == summary["total_messages"]
    weeks = api.json(f"{BASE}/activity?{ALL}&granularity=week")["series"]
    trend = api.json(f"{BASE}/tools?{ALL}")["trend"]
    assert {e["date"]: e["tool_calls"] for e in weeks if e["tool_calls"]} == {
        t["date"]: sum(t["by_category"].values()) for t in trend}
    projects = api.json(f"{BASE}/projects?{ALL}")["projects"]
    assert sum(p["messages"] for p in projects) == summary["total_messages"]
    assert api.json(f"{BASE}/sessions?{ALL}")["count"] == summary["total_sessions"]
    cells = api.json(f"{BASE}/hour-of-week?{ALL}")["cells"]
    assert sum(c["messages"] for c in cells) == summary["total_messages"]


# Keys of these objects are data (agent names, days…), not fields.
MAPS = {"agents", "by_agent", "by_category", "grade_distribution", "outcome_distribution",
        "outcome_confidence_distribution", "calibration"}
# Reference fields we cannot compute (the data is not kept): left out, not invented. None now.
OMITTED: dict[str, set[str]] = {}
# Fields we add to the reference's: the cost of the sessions counted (issue 18).
ADDED = {"summary": {"total_cost", "total_cost.microdollars", "cost_unknown_sessions"}}


def shape(value: object, path: str = "") -> set[str]:
    """Every field path of a JSON document (list items merged as ``[]``, map entries as
    ``{}``)."""
    paths: set[str] = set()
    if isinstance(value, list):
        for item in value:
            paths |= shape(item, f"{path}[]")
    elif isinstance(value, dict):
        is_map = path.rsplit(".", 1)[-1] in MAPS
        for key, item in value.items():
            child = f"{path}{{}}" if is_map else (f"{path}.{key}" if path else key)
            paths.add(child)
            paths |= shape(item, child)
    return paths


@pytest.mark.parametrize(("golden_name", "endpoint", "query"), [
    ("summary", "summary", ""), ("activity", "activity", ""),
    ("activity-week", "activity", "&granularity=week"), ("heatmap", "heatmap", ""),
    ("heatmap-sessions", "heatmap", "&metric=sessions"), ("projects", "projects", ""),
    ("tools", "tools", ""), ("velocity", "velocity", ""),
    ("top-sessions", "top-sessions", ""),
    ("top-sessions-duration", "top-sessions", "&metric=duration"),
    ("sessions", "sessions", ""), ("hour-of-week", "hour-of-week", ""),
    ("signals", "signals", ""),
])
def test_shapes_match_the_reference(api, golden_name, endpoint, query):
    ours = api.json(f"{BASE}/{endpoint}?{ALL}{query}")
    reference = golden(f"analytics/analytics-{golden_name}.json")
    assert shape(ours) == (shape(reference) - OMITTED.get(endpoint, set())
                           | ADDED.get(endpoint, set()))


@pytest.mark.parametrize(("endpoint", "query", "error"), [
    ("summary", "from=2026-13-01", "expected a date YYYY-MM-DD (query.from: 2026-13-01)"),
    ("activity", "to=bogus", "expected a date YYYY-MM-DD (query.to: bogus)"),
    ("velocity", "from=2026-3-1", "expected a date YYYY-MM-DD (query.from: 2026-3-1)"),
    ("projects", "from=2026-03-05&to=2026-03-01",
     "from is after to=2026-03-01 (query.from: 2026-03-05)"),
    ("heatmap", "timezone=Mars/Base", "unknown IANA time zone (query.timezone: Mars/Base)"),
    ("activity", "granularity=hour",
     'expected value to be one of "day, week, month" (query.granularity: hour)'),
    ("heatmap", "metric=cost",
     'expected value to be one of "messages, sessions, output_tokens" (query.metric: cost)'),
    ("top-sessions", "metric=cost",
     'expected value to be one of "messages, duration, output_tokens" (query.metric: cost)'),
    ("signals", "include_one_shot=maybe", "expected true or false (query.include_one_shot: "
                                          "maybe)"),
    ("tools", "include_automated=2", "expected true or false (query.include_automated: 2)"),
    ("signal-sessions", "signal=tool_failures",
     'unsupported signal; expected one of "' + ", ".join(SIGNAL_VALUES)
     + '" (query.signal: tool_failures)'),
    ("signal-sessions", "signal=tool_retries&limit=0",
     "expected an integer in [1, 500] (query.limit: 0)"),
    ("summary", "dow=7", "expected an integer in [0, 6] (query.dow: 7)"),
    ("summary", "hour=-1", "expected an integer in [0, 23] (query.hour: -1)"),
    ("skills", "automated_scope=bots",
     'expected value to be one of "human, all, automated" (query.automated_scope: bots)'),
    ("top-sessions", "active_since=yesterday",
     "expected an RFC 3339 time (query.active_since: yesterday)"),
])
def test_bad_parameters_are_400_naming_parameter_and_value(client, endpoint, query, error):
    response = Api(client).get(f"{BASE}/{endpoint}?{query}")
    assert response.status_code == 400
    assert orjson.loads(response.content) == {"error": error}


def test_every_endpoint_rejects_a_bad_date_like_the_reference(client):
    reference = golden("analytics/analytics-bad-from.json")["error"]
    for name in ENDPOINTS:
        response = Api(client).get(f"{BASE}/{name}?from=bogus")
        assert response.status_code == 400, name
        error = orjson.loads(response.content)["error"]
        assert error.endswith("(query.from: bogus)") and reference.endswith(
            "(query.from: bogus)")


def test_write_methods_are_405_and_change_nothing(api):
    before = (Session.objects.using("default").count(), Message.objects.using("default").count())
    for name in ENDPOINTS:
        for method in ("post", "put", "patch", "delete"):
            response = getattr(api.client, method)(f"{BASE}/{name}", HTTP_HOST="127.0.0.1")
            assert response.status_code == 405, (method, name)
            assert "error" in orjson.loads(response.content)
            assert response["Allow"] == "GET, HEAD, OPTIONS"
    assert (Session.objects.using("default").count(),
            Message.objects.using("default").count()) == before
    assert api.client.head(f"{BASE}/summary", HTTP_HOST=HOST).status_code == 200
    assert api.json(f"{BASE}/nothing-here", 404) == {"error": "not found"}


def test_each_endpoint_runs_a_fixed_number_of_queries(api, settings,
                                                      django_assert_max_num_queries):
    connection = connections[settings.AGENTSVIEW_API_DATABASE]
    for path in PATHS:
        with django_assert_max_num_queries(8, connection=connection):
            api.json(path + ALL)
