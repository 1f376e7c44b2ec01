"""Thin read-only views of /api/v1/analytics/: each calls its function in
``analytics_app.queries`` (query parameters in, JSON-ready data out) and returns JSON."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from analytics_app import queries
from sessions_app.api.views import ReadOnlyView, json_ok


class AnalyticsView(ReadOnlyView):
    """GET only (405 otherwise); 400 ``{"error": ...}`` naming a bad parameter."""

    query: Callable[[Mapping[str, str], str], dict]

    def get(self, request):
        return json_ok(type(self).query(request.query_params, self.using))


class SummaryView(AnalyticsView):
    query = staticmethod(queries.summary)


class ActivityView(AnalyticsView):
    query = staticmethod(queries.activity)


class HeatmapView(AnalyticsView):
    query = staticmethod(queries.heatmap)


class ProjectsView(AnalyticsView):
    query = staticmethod(queries.projects)


class ToolsView(AnalyticsView):
    query = staticmethod(queries.tools)


class VelocityView(AnalyticsView):
    query = staticmethod(queries.velocity)


class TopSessionsView(AnalyticsView):
    query = staticmethod(queries.top_sessions)


class SessionShapesView(AnalyticsView):
    query = staticmethod(queries.session_shapes)


class HourOfWeekView(AnalyticsView):
    query = staticmethod(queries.hour_of_week)


class SignalsView(AnalyticsView):
    query = staticmethod(queries.signals)


class SignalSessionsView(AnalyticsView):
    query = staticmethod(queries.signal_sessions)


class SkillsView(AnalyticsView):
    query = staticmethod(queries.skills)
