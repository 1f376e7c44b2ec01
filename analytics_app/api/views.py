"""Thin read-only views of /api/v1/analytics/: each calls its function in
``analytics_app.endpoints`` (query parameters in, JSON-ready data out) and returns JSON.

Each view's OpenAPI operation sits on it. The bodies follow AgentsView's shapes, declared once
in ``analytics_app.serializers`` (the endpoints dump them, the views document them); the
parameters come from the filter declaration (``ANALYTICS_FILTERS``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from rest_framework import serializers as drf

from agentsview.api import openapi
from agentsview.api.shapes import Shape
from agentsview.api.views import ReadOnlyView, json_ok
from analytics_app import endpoints, serializers
from analytics_app.endpoints.filters import ANALYTICS_FILTERS
from analytics_app.endpoints.health import SIGNAL_SESSIONS_LIMIT, SIGNAL_SESSIONS_MAX, SIGNAL_VALUES
from analytics_app.endpoints.overview import GRANULARITIES, HEATMAP_METRICS
from analytics_app.endpoints.timing import TOP_METRICS
from analytics_app.stats import SINCE_PATTERN

TAGS = ["analytics"]


def analytics(operation_id: str, summary: str, shape: Shape, extra: list | None = None):
    """The OpenAPI operation of an analytics view: the shared parameters, then *extra*; the
    body is *shape*, the one its endpoint dumps."""
    return openapi.get(
        operation_id, summary, tags=TAGS,
        description="Over the top-level sessions that started in the range (children, empty "
                    "and deleted sessions never count).",
        parameters=[*ANALYTICS_FILTERS.openapi_parameters(), *(extra or [])],
        responses=openapi.responses(openapi.ok(shape.serializer(), "The aggregate."), 400),
    )


class AnalyticsView(ReadOnlyView):
    """GET only (405 otherwise); 400 ``{"error": ...}`` naming a bad parameter."""

    endpoint: Callable[[Mapping[str, str], str], dict]

    def get(self, request):
        return json_ok(type(self).endpoint(request.query_params, self.using))


@analytics("analytics_summary", "Totals, message-count spread and per-agent counts.",
           serializers.SUMMARY)
class SummaryView(AnalyticsView):
    endpoint = staticmethod(endpoints.summary)


@analytics("analytics_activity", "Sessions, messages and tool calls per day, week or month.",
           serializers.ACTIVITY,
           [openapi.choice_query("granularity", GRANULARITIES, "day", "Bucket size.")])
class ActivityView(AnalyticsView):
    endpoint = staticmethod(endpoints.activity)


@analytics("analytics_heatmap", "One value and a 0-4 level per day, up to a year.",
           serializers.HEATMAP,
           [openapi.choice_query("metric", HEATMAP_METRICS, "messages",
                                 "What each day counts.")])
class HeatmapView(AnalyticsView):
    endpoint = staticmethod(endpoints.heatmap)


@analytics("analytics_projects", "Per project: sessions, messages, days and agents.",
           serializers.PROJECTS)
class ProjectsView(AnalyticsView):
    endpoint = staticmethod(endpoints.projects)


@analytics("analytics_tools", "Tool calls by category, agent, tool and week.",
           serializers.TOOLS)
class ToolsView(AnalyticsView):
    endpoint = staticmethod(endpoints.tools)


@analytics("analytics_velocity",
           "Turn cycle, first response and throughput per active minute.",
           serializers.VELOCITY)
class VelocityView(AnalyticsView):
    endpoint = staticmethod(endpoints.velocity)


@analytics("analytics_top_sessions", "The ten biggest sessions by messages, tokens or time.",
           serializers.TOP_SESSIONS,
           [openapi.choice_query("metric", TOP_METRICS, "messages",
                                 "What ranks the sessions.")])
class TopSessionsView(AnalyticsView):
    endpoint = staticmethod(endpoints.top_sessions)


@analytics("analytics_sessions", "Distributions of session length, duration and autonomy.",
           serializers.SESSION_DISTRIBUTIONS)
class SessionShapesView(AnalyticsView):
    endpoint = staticmethod(endpoints.session_shapes)


@analytics("analytics_hour_of_week", "Messages per local weekday and hour (168 cells).",
           serializers.HOUR_OF_WEEK)
class HourOfWeekView(AnalyticsView):
    endpoint = staticmethod(endpoints.hour_of_week)


@analytics("analytics_signals", "Health grades, outcomes and signal rates.",
           serializers.SIGNALS)
class SignalsView(AnalyticsView):
    endpoint = staticmethod(endpoints.signals)


@analytics("analytics_signal_sessions",
           "The sessions one calibrated signal marks, worst first.",
           serializers.SIGNAL_SESSIONS,
           [openapi.choice_query("signal", tuple(SIGNAL_VALUES), None,
                                 "A key of the signals endpoint's calibration; another value "
                                 "→ 400 (unsupported signal).", required=True),
            openapi.int_query("limit", "Sessions in the answer.", minimum=1,
                              maximum=SIGNAL_SESSIONS_MAX, default=SIGNAL_SESSIONS_LIMIT),
            openapi.int_query("offset", "Sessions to skip (the next page).", minimum=0,
                              default=0),
            openapi.list_query("tool_category", "Only sessions that called a tool of these "
                                                "categories."),
            openapi.list_query("tool_name", "Only sessions that called these tools.")])
class SignalSessionsView(AnalyticsView):
    endpoint = staticmethod(endpoints.signal_sessions)


@analytics("analytics_skills", "Skill invocations by skill and week.",
           serializers.SKILLS)
class SkillsView(AnalyticsView):
    endpoint = staticmethod(endpoints.skills)


class SessionStatsSerializer(openapi.Doc):
    """The stats document (schema_version 1); each section an object."""

    schema_version = openapi.integer("1.")
    window = drf.DictField(help_text="since, until (RFC 3339), days.")
    filters = drf.DictField()
    totals = drf.DictField(help_text="Sessions by kind, messages.")
    distributions = drf.DictField()
    velocity = drf.DictField()
    tool_mix = drf.DictField()
    model_mix = drf.DictField()
    agent_portfolio = drf.DictField()
    adoption = drf.DictField()
    temporal = drf.DictField()
    outcomes = drf.DictField()
    generated_at = drf.DateTimeField()


@openapi.get(
    "session_stats", "The stats document of a window (what `agentsview stats` prints).",
    tags=TAGS,
    description="One JSON object: window, filters, totals, distributions, velocity, tool "
                "and model mix, agents, adoption, time of week and outcomes, over the "
                "sessions that started in the window.",
    parameters=[
        openapi.query("since", {"type": "string", "pattern": SINCE_PATTERN},
                      "Start: `28d`, `2w`, `3m`, `1y` before the last day, or YYYY-MM-DD "
                      "(default 28d)."),
        openapi.query("until", {"type": "string", "format": "date"},
                      "Last day (default today; without since and until, the newest "
                      "session's day when none started since)."),
        *(f.openapi() for f in ANALYTICS_FILTERS.parameters if f.name not in ("from", "to")),
    ],
    responses=openapi.responses(openapi.ok(SessionStatsSerializer, "The document."), 400),
)
class SessionStatsView(ReadOnlyView):
    def get(self, request):
        from analytics_app.stats import build, window_params

        params = request.query_params
        window = window_params({k: params.get(k) for k in params}, self.using,
                               since=params.get("since"), until=params.get("until"))
        return json_ok(build(window, self.using))
