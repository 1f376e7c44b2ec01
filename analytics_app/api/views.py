"""Thin read-only views of /api/v1/analytics/: each calls its function in
``analytics_app.endpoints`` (query parameters in, JSON-ready data out) and returns JSON.

Each view's OpenAPI operation sits on it. The bodies follow AgentsView's shapes and are
documented as objects with a description of their keys (pinned by tests/analytics_app);
the parameters come from the filter declaration (``ANALYTICS_FILTERS``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse

from agentsview.api import openapi
from agentsview.api.views import ReadOnlyView, json_ok
from analytics_app import endpoints
from analytics_app.endpoints.filters import ANALYTICS_FILTERS
from analytics_app.endpoints.health import SIGNAL_SESSIONS_LIMIT, SIGNAL_SESSIONS_MAX, SIGNAL_VALUES
from analytics_app.endpoints.overview import GRANULARITIES, HEATMAP_METRICS
from analytics_app.endpoints.timing import TOP_METRICS

TAGS = ["analytics"]


def analytics(operation_id: str, summary: str, keys: str, extra: list | None = None):
    """The OpenAPI operation of an analytics view: the shared parameters, then *extra*."""
    return openapi.get(
        operation_id, summary, tags=TAGS,
        description=("Over the top-level sessions that started in the range (children, "
                     f"empty and deleted sessions never count). Keys: {keys}."),
        parameters=[*ANALYTICS_FILTERS.openapi_parameters(), *(extra or [])],
        responses=openapi.responses({200: OpenApiResponse(OpenApiTypes.OBJECT,
                                                          description="The aggregate.")}, 400),
    )


class AnalyticsView(ReadOnlyView):
    """GET only (405 otherwise); 400 ``{"error": ...}`` naming a bad parameter."""

    endpoint: Callable[[Mapping[str, str], str], dict]

    def get(self, request):
        return json_ok(type(self).endpoint(request.query_params, self.using))


@analytics("analytics_summary", "Totals, message-count spread and per-agent counts.",
           "total_sessions, total_messages, total_output_tokens, token_reporting_sessions, "
           "models, active_projects, active_days, avg_messages, median_messages, "
           "p90_messages, most_active_project, concentration, agents")
class SummaryView(AnalyticsView):
    endpoint = staticmethod(endpoints.summary)


@analytics("analytics_activity", "Sessions, messages and tool calls per day, week or month.",
           "granularity, series[{date, sessions, messages, user_messages, assistant_messages, "
           "tool_calls, thinking_messages, by_agent}]",
           [openapi.choice_query("granularity", GRANULARITIES, "day", "Bucket size.")])
class ActivityView(AnalyticsView):
    endpoint = staticmethod(endpoints.activity)


@analytics("analytics_heatmap", "One value and a 0-4 level per day, up to a year.",
           "metric, entries[{date, value, level}], levels{l1..l4}, entries_from",
           [openapi.choice_query("metric", HEATMAP_METRICS, "messages",
                                 "What each day counts.")])
class HeatmapView(AnalyticsView):
    endpoint = staticmethod(endpoints.heatmap)


@analytics("analytics_projects", "Per project: sessions, messages, days and agents.",
           "projects[{name, sessions, messages, first_session, last_session, avg_messages, "
           "median_messages, agents, daily_trend}]")
class ProjectsView(AnalyticsView):
    endpoint = staticmethod(endpoints.projects)


@analytics("analytics_tools", "Tool calls by category, agent, tool and week.",
           "total_calls, by_category, by_agent, by_tool, trend")
class ToolsView(AnalyticsView):
    endpoint = staticmethod(endpoints.tools)


@analytics("analytics_velocity",
           "Turn cycle, first response and throughput per active minute.",
           "overall, by_agent, by_complexity (each: turn_cycle_sec{p50,p90}, "
           "first_response_sec{p50,p90}, msgs_per_active_min, chars_per_active_min, "
           "tool_calls_per_active_min)")
class VelocityView(AnalyticsView):
    endpoint = staticmethod(endpoints.velocity)


@analytics("analytics_top_sessions", "The ten biggest sessions by messages, tokens or time.",
           "metric, sessions[{id, project, first_message, display_name, message_count, "
           "output_tokens, duration_min, active_duration_min, started_at, ended_at, "
           "termination_status}]",
           [openapi.choice_query("metric", TOP_METRICS, "messages",
                                 "What ranks the sessions.")])
class TopSessionsView(AnalyticsView):
    endpoint = staticmethod(endpoints.top_sessions)


@analytics("analytics_sessions", "Distributions of session length, duration and autonomy.",
           "count, length_distribution, duration_distribution, autonomy_distribution")
class SessionShapesView(AnalyticsView):
    endpoint = staticmethod(endpoints.session_shapes)


@analytics("analytics_hour_of_week", "Messages per local weekday and hour (168 cells).",
           "cells[{day_of_week, hour, messages}]")
class HourOfWeekView(AnalyticsView):
    endpoint = staticmethod(endpoints.hour_of_week)


@analytics("analytics_signals", "Health grades, outcomes and signal rates.",
           "scored_sessions, unscored_sessions, grade_distribution, avg_health_score, "
           "outcome_distribution, outcome_confidence_distribution, tool_health, "
           "context_health, quality_health, trend, by_agent, by_project, calibration")
class SignalsView(AnalyticsView):
    endpoint = staticmethod(endpoints.signals)


@analytics("analytics_signal_sessions",
           "The sessions one calibrated signal marks, worst first.",
           "signal, total, sessions[{id, project, agent, machine, first_message, "
           "display_name, started_at, ended_at, message_count, outcome, health_score, "
           "health_grade, value}]",
           [openapi.choice_query("signal", tuple(SIGNAL_VALUES), None,
                                 "A key of the signals endpoint's calibration; another value "
                                 "→ 400 (unsupported signal).", required=True),
            openapi.int_query("limit", "Sessions in the answer.", minimum=1,
                              maximum=SIGNAL_SESSIONS_MAX, default=SIGNAL_SESSIONS_LIMIT)])
class SignalSessionsView(AnalyticsView):
    endpoint = staticmethod(endpoints.signal_sessions)


@analytics("analytics_skills", "Skill invocations by skill and week.",
           "total_skill_calls, distinct_skills, by_skill[{skill_name, call_count, "
           "session_count, pct}], trend[{date, by_skill}]")
class SkillsView(AnalyticsView):
    endpoint = staticmethod(endpoints.skills)
