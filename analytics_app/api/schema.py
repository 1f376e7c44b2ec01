"""OpenAPI annotations of /api/v1/analytics/*, applied from outside like
``sessions_app.api.schema`` (imported by ``analytics_app.api.urls``). The bodies are
documented as objects with an example-free description of their keys: their shapes follow
AgentsView's and are pinned by tests/analytics_app, not by serializers."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema_view

from analytics_app import queries
from analytics_app.api import views
from sessions_app.api.schema import (
    _bool_query,
    _get,
    _int_query,
    _list_query,
    _query,
    _responses,
    branch_termination_scope_parameters,
)

TAGS = ["analytics"]


def _choice(name: str, values: tuple[str, ...], default: str, description: str):
    return _query(name, {"type": "string", "enum": list(values), "default": default},
                  description)


SHARED_PARAMETERS = [
    _query("from", {"type": "string", "format": "date"},
           "First local day (YYYY-MM-DD); default: `to` minus 30 days. After `to` → 400."),
    _query("to", {"type": "string", "format": "date"},
           "Last local day (YYYY-MM-DD); default: today in `timezone`."),
    _query("timezone", {"type": "string", "default": "UTC"},
           "IANA time zone the days are read in; an unknown zone → 400."),
    _list_query("project", "Only these projects.", repeatable=True),
    _list_query("agent", "Only these agents.", repeatable=True),
    _list_query("machine", "Only these machines.", repeatable=True),
    _bool_query("include_one_shot", "Count sessions with a single prompt.", default=False),
    _bool_query("include_automated", "Count automated runs.", default=False),
    *branch_termination_scope_parameters(repeatable=True),
    _list_query("model", "Only sessions in which one of these models answered.",
                repeatable=True),
    _int_query("dow", "Only sessions started on this local weekday (0 = Monday).",
               minimum=0, maximum=6),
    _int_query("hour", "Only sessions started in this local hour.", minimum=0, maximum=23),
    _int_query("min_user_messages", "At least this many user messages.", minimum=0),
    _query("active_since", {"type": "string", "format": "date-time"},
           "Only sessions active at or after this RFC 3339 time (with a zone offset)."),
]


def _analytics(operation_id: str, summary: str, keys: str, extra: list | None = None) -> dict:
    return _get(
        operation_id, summary, tags=TAGS,
        description=("Over the top-level sessions that started in the range (children, "
                     f"empty and deleted sessions never count). Keys: {keys}."),
        parameters=[*SHARED_PARAMETERS, *(extra or [])],
        responses=_responses({200: OpenApiResponse(OpenApiTypes.OBJECT,
                                                   description="The aggregate.")}, 400),
    )


ANNOTATIONS = {
    views.SummaryView: _analytics(
        "analytics_summary", "Totals, message-count spread and per-agent counts.",
        "total_sessions, total_messages, total_output_tokens, token_reporting_sessions, "
        "models, active_projects, active_days, avg_messages, median_messages, p90_messages, "
        "most_active_project, concentration, agents"),
    views.ActivityView: _analytics(
        "analytics_activity", "Sessions, messages and tool calls per day, week or month.",
        "granularity, series[{date, sessions, messages, user_messages, assistant_messages, "
        "tool_calls, thinking_messages, by_agent}]",
        [_choice("granularity", queries.GRANULARITIES, "day", "Bucket size.")]),
    views.HeatmapView: _analytics(
        "analytics_heatmap", "One value and a 0-4 level per day, up to a year.",
        "metric, entries[{date, value, level}], levels{l1..l4}, entries_from",
        [_choice("metric", queries.HEATMAP_METRICS, "messages", "What each day counts.")]),
    views.ProjectsView: _analytics(
        "analytics_projects", "Per project: sessions, messages, days and agents.",
        "projects[{name, sessions, messages, first_session, last_session, avg_messages, "
        "median_messages, agents, daily_trend}]"),
    views.ToolsView: _analytics(
        "analytics_tools", "Tool calls by category, agent, tool and week.",
        "total_calls, by_category, by_agent, by_tool, trend"),
    views.VelocityView: _analytics(
        "analytics_velocity", "Turn cycle, first response and throughput per active minute.",
        "overall, by_agent, by_complexity (each: turn_cycle_sec{p50,p90}, "
        "first_response_sec{p50,p90}, msgs_per_active_min, chars_per_active_min, "
        "tool_calls_per_active_min)"),
    views.TopSessionsView: _analytics(
        "analytics_top_sessions", "The ten biggest sessions by messages, tokens or time.",
        "metric, sessions[{id, project, first_message, display_name, message_count, "
        "output_tokens, duration_min, active_duration_min, started_at, ended_at, "
        "termination_status}]",
        [_choice("metric", queries.TOP_METRICS, "messages", "What ranks the sessions.")]),
    views.SessionShapesView: _analytics(
        "analytics_sessions", "Distributions of session length, duration and autonomy.",
        "count, length_distribution, duration_distribution, autonomy_distribution"),
    views.HourOfWeekView: _analytics(
        "analytics_hour_of_week", "Messages per local weekday and hour (168 cells).",
        "cells[{day_of_week, hour, messages}]"),
    views.SignalsView: _analytics(
        "analytics_signals", "Health grades, outcomes and signal rates.",
        "scored_sessions, unscored_sessions, grade_distribution, avg_health_score, "
        "outcome_distribution, outcome_confidence_distribution, tool_health, context_health, "
        "quality_health, trend, by_agent, by_project, calibration"),
    views.SignalSessionsView: _analytics(
        "analytics_signal_sessions", "The sessions one calibrated signal marks, worst first.",
        "signal, total, sessions[{id, project, agent, machine, first_message, display_name, "
        "started_at, ended_at, message_count, outcome, health_score, health_grade, value}]",
        [_query("signal", {"type": "string", "enum": list(queries.SIGNAL_VALUES)},
                "A key of the signals endpoint's calibration; another value → 400 "
                "(unsupported signal).", required=True),
         _int_query("limit", "Sessions in the answer.", minimum=1,
                    maximum=queries.SIGNAL_SESSIONS_MAX,
                    default=queries.SIGNAL_SESSIONS_LIMIT)]),
    views.SkillsView: _analytics(
        "analytics_skills", "Skill invocations by skill and week.",
        "total_skill_calls, distinct_skills, by_skill[{skill_name, call_count, "
        "session_count, pct}], trend[{date, by_skill}]"),
}

for _view, _methods in ANNOTATIONS.items():
    extend_schema_view(**_methods)(_view)
