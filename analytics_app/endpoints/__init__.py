"""The analytics endpoints (``/api/v1/analytics/*``) as plain functions: query parameters in,
JSON-ready data out, like ``sessions_app.endpoints`` (so the pages and the CLI call them too).

Which sessions count is ``filters``' business. Nothing reads the messages: what the analytics
need of them (counts by role, tool calls by category, active time, turn cycles, first
response, models, messages per quarter-hour) is rolled up per session when the session is
written (``analytics_app/scoring/rollups.py``) and pushed with it. Sums are aggregated in the
database; Python only combines one row per session (medians, percentiles, the JSON rollups).
Results are identical on SQLite and PostgreSQL: counts come back as integers and every ratio
is computed here, with Go's rounding (``numbers``) so the numbers match AgentsView's.

The outcome figures of ``tools.by_tool`` (``analyzed_calls`` …) come from the rollups too:
each session's summary (``analytics_app.tool_outcomes``) is kept in its ``rollup_tools``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from analytics_app.endpoints.health import signal_sessions, signals
from analytics_app.endpoints.overview import activity, heatmap, hour_of_week, projects, summary
from analytics_app.endpoints.timing import session_shapes, top_sessions, velocity
from analytics_app.endpoints.tools import skills, tools

Endpoint = Callable[[Mapping[str, str], str], dict]

# path under /api/v1/analytics/ -> the function that answers it
ENDPOINTS: dict[str, Endpoint] = {
    "summary": summary,
    "activity": activity,
    "heatmap": heatmap,
    "projects": projects,
    "tools": tools,
    "velocity": velocity,
    "top-sessions": top_sessions,
    "sessions": session_shapes,
    "hour-of-week": hour_of_week,
    "signals": signals,
    "signal-sessions": signal_sessions,
    "skills": skills,
}
