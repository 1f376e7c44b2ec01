"""The JSON shapes of the analytics API (``/api/v1/analytics/*``): each declared once, here.
The endpoints (``analytics_app.endpoints``) write their JSON with ``SHAPE.dump`` and the views
document it with ``SHAPE.serializer()``, so the two cannot drift apart.

Field names and order follow AgentsView's analytics responses. Objects whose keys are data
(agent names, grades, signal names) are MAP fields. Ratios are rounded like Go's (half away
from zero) and written as integers when whole (``4``, not ``4.0``); days are ``YYYY-MM-DD``
in the requested time zone. Most shapes read the dicts the endpoints compute (``mapping``);
the long lists are read from tuples (by index) or from the session rows themselves.
"""

from __future__ import annotations

from agentsview.api.shapes import (
    BOOL,
    EMPTY,
    FLOAT,
    INT,
    LIST,
    MAP,
    OBJECT,
    OBJECTS,
    STR,
    TIME,
    Field,
    Shape,
)
from sessions_app.models import QUALITY_SIGNAL_COLUMNS
from sessions_app.parsers.base import clamp_int
from sessions_app.serializers import MONEY as SESSION_MONEY

DAY = "A local day, `YYYY-MM-DD`."
WEEK = "The Monday of a local ISO week, `YYYY-MM-DD`."
PCT = "Percent of the total, one decimal."

# --- summary ----------------------------------------------------------------------------------

AGENT_TOTALS = Shape("AgentTotals", "Sessions and messages of one agent.", (
    Field("sessions", INT),
    Field("messages", INT),
), mapping=True)

SUMMARY = Shape("AnalyticsSummary", "Totals, message-count spread and per-agent counts.", (
    Field("total_sessions", INT),
    Field("total_messages", INT),
    Field("total_output_tokens", INT, "Output tokens of the sessions that report them."),
    Field("token_reporting_sessions", INT, "Sessions that report their output tokens."),
    Field("models", LIST, "Every model used, sorted.", item=STR),
    Field("active_projects", INT),
    Field("active_days", INT, "Local days with a session start."),
    Field("avg_messages", FLOAT, "Messages per session, one decimal."),
    Field("median_messages", INT),
    Field("p90_messages", INT),
    Field("most_active_project", STR, "The project with the most messages; empty when none."),
    Field("concentration", FLOAT, "Share of the messages in the three busiest projects (0-1, "
                                  "three decimals)."),
    Field("agents", MAP, "Counts by agent name, sorted.", shape=AGENT_TOTALS),
    Field("total_cost", OBJECT, "Cost of the sessions and their direct subagents, exact "
                                "microdollars: the known costs only (see "
                                "`cost_unknown_sessions`).", shape=SESSION_MONEY),
    Field("cost_unknown_sessions", INT, "Sessions (or subagents) that spent tokens on a model "
                                        "without a price: their cost is unknown and not in "
                                        "`total_cost`."),
), mapping=True)

# --- activity ---------------------------------------------------------------------------------


ACTIVITY_BUCKET = Shape("ActivityBucket", "The sessions that started in one day, week or "
                                          "month.", (
    Field("date", STR, "First local day of the bucket, `YYYY-MM-DD`."),
    Field("sessions", INT),
    Field("messages", INT),
    Field("user_messages", INT),
    Field("assistant_messages", INT),
    Field("tool_calls", INT),
    Field("thinking_messages", INT),
    Field("by_agent", MAP, "Messages by agent name, sorted; agents without messages are left "
                           "out.", item=INT),
))

ACTIVITY = Shape("AnalyticsActivity", "Sessions, messages and tool calls per day, week or "
                                      "month.", (
    Field("granularity", STR, "`day`, `week` or `month`."),
    Field("series", OBJECTS, "Buckets with a session, oldest first.", shape=ACTIVITY_BUCKET),
), mapping=True)

# --- heatmap ----------------------------------------------------------------------------------

HEATMAP_LEVELS = Shape("HeatmapLevels", "Level thresholds: a day's value up to `l2` is level "
                                        "1, up to `l3` level 2, up to `l4` level 3, above it "
                                        "level 4 (0 is level 0).", (
    Field("l1", INT, "The smallest non-zero value."),
    Field("l2", INT, "The first quartile of the non-zero values."),
    Field("l3", INT, "Their median."),
    Field("l4", INT, "Their third quartile."),
), mapping=True)

HEATMAP_DAY = Shape("HeatmapDay", "One local day: its value and level.", (  # (date, value, level)
    Field("date", STR, DAY, source=0),
    Field("value", INT, source=1),
    Field("level", INT, "0-4.", source=2),
), mapping=True)

HEATMAP = Shape("AnalyticsHeatmap", "One value and a 0-4 level per day, up to a year.", (
    Field("metric", STR, "`messages`, `sessions` or `output_tokens`."),
    Field("entries", OBJECTS, "Every day from `entries_from` to `to`; empty when the metric is "
                              "`output_tokens` and no session reported tokens.",
          shape=HEATMAP_DAY),
    Field("levels", OBJECT, shape=HEATMAP_LEVELS),
    Field("entries_from", STR, "The first day: the later of `from` and 365 days before "
                               "`to`."),
), mapping=True)

# --- projects ---------------------------------------------------------------------------------

PROJECT = Shape("ProjectActivity", "One project's sessions.", (
    Field("name", STR),
    Field("sessions", INT),
    Field("messages", INT),
    Field("first_session", STR, "Local day of the first session start."),
    Field("last_session", STR, "Local day of the last session start."),
    Field("avg_messages", FLOAT, "Messages per session, one decimal."),
    Field("median_messages", INT),
    Field("agents", MAP, "Sessions by agent name, sorted.", item=INT),
    Field("daily_trend", FLOAT, "Messages per active day, one decimal."),
), mapping=True)

PROJECTS = Shape("AnalyticsProjects", "Per project: sessions, messages, days and agents.", (
    Field("projects", OBJECTS, "Most messages first, ties by name.", shape=PROJECT),
), mapping=True)

# --- tools and skills -------------------------------------------------------------------------

CATEGORY_COUNT = Shape("ToolCategoryCount", "Tool calls of one category.", (
    Field("category", STR),
    Field("count", INT),
    Field("pct", FLOAT, PCT),
), mapping=True)

AGENT_TOOLS = Shape("AgentToolCalls", "One agent's tool calls by category.", (
    Field("agent", STR),
    Field("total", INT),
    Field("categories", OBJECTS, "Most calls first, ties by category.", shape=CATEGORY_COUNT),
), mapping=True)

RATE = "0-1, three decimals; null when its denominator is 0."
TOOL_USE = Shape("ToolUse", "Calls of one tool, and what their retained results show (each "
                            "call's outcome, repeat and the ending of the failure sequences it "
                            "opens: see analytics_app/tool_outcomes.py).", (
    Field("analyzed_calls", INT, "Calls whose outcome was analysed (all of them)."),
    Field("known_outcome_calls", INT, "Calls that errored, came back empty or returned "
                                      "content (the others: unknown)."),
    Field("empty_calls", INT, "Searches and reads that found nothing."),
    Field("repeated_calls", INT, "Calls with the same (or the same JSON) input as the call "
                                 "just before them, in an earlier message."),
    Field("recovered_sequences", INT, "Failure sequences opened by this tool that a later "
                                      "call with content ended."),
    Field("abandoned_sequences", INT, "Sequences still failing when the session ended."),
    Field("open_sequences", INT, "Sequences at the end of a session that may go on."),
    Field("unknown_sequences", INT, "Sequences whose session ended without telling how they "
                                    "ended."),
    Field("missing_calls", INT, "Calls counted but not analysed (0 unless the archive changed "
                                "during the request)."),
    Field("empty_rate", FLOAT, "empty_calls / known_outcome_calls; " + RATE, null=True),
    Field("repeat_rate", FLOAT, "repeated_calls / analyzed_calls; " + RATE, null=True),
    Field("recovery_rate", FLOAT, "recovered / (recovered + abandoned) sequences; " + RATE,
          null=True),
    Field("tool_name", STR, "`Unknown` when the agent gave none."),
    Field("category", STR),
    Field("call_count", INT),
    Field("session_count", INT, "Sessions that called it."),
    Field("pct", FLOAT, PCT),
), mapping=True)

TOOL_WEEK = Shape("ToolWeek", "Tool calls of the sessions that started in one week.", (
    Field("date", STR, WEEK),
    Field("by_category", MAP, "Calls by category, sorted.", item=INT),
), mapping=True)

TOOLS = Shape("AnalyticsTools", "Tool calls by category, agent, tool and week.", (
    Field("total_calls", INT),
    Field("by_category", OBJECTS, "Most calls first, ties by category.",
          shape=CATEGORY_COUNT),
    Field("by_agent", OBJECTS, "By agent name.", shape=AGENT_TOOLS),
    Field("by_tool", OBJECTS, "Most calls first, ties by name and category.", shape=TOOL_USE),
    Field("trend", OBJECTS, "Weeks with a call, oldest first.", shape=TOOL_WEEK),
), mapping=True)

SKILL_USE = Shape("SkillUse", "Invocations of one skill.", (
    Field("skill_name", STR),
    Field("call_count", INT),
    Field("session_count", INT, "Sessions that invoked it."),
    Field("pct", FLOAT, PCT),
), mapping=True)

SKILL_WEEK = Shape("SkillWeek", "Skill invocations of the sessions that started in one week.", (
    Field("date", STR, WEEK),
    Field("by_skill", MAP, "Invocations by skill name, sorted.", item=INT),
), mapping=True)

SKILLS = Shape("AnalyticsSkills", "Skill invocations by skill and week.", (
    Field("total_skill_calls", INT),
    Field("distinct_skills", INT),
    Field("by_skill", OBJECTS, "Most invocations first, ties by name.", shape=SKILL_USE),
    Field("trend", OBJECTS, "Weeks with an invocation, oldest first.", shape=SKILL_WEEK),
), mapping=True)

# --- velocity ---------------------------------------------------------------------------------

PERCENTILES = Shape("SecondsPercentiles", "Median and 90th percentile, in seconds (one "
                                          "decimal); 0 when there is nothing to measure.", (
    Field("p50", FLOAT),
    Field("p90", FLOAT),
), mapping=True)

VELOCITY_OVERVIEW = Shape("VelocityOverview", "Turn cycle, first response and throughput "
                                              "per active minute (gaps up to 5 minutes "
                                              "count).", (
    Field("turn_cycle_sec", OBJECT, "From a user message to the assistant message right "
                                    "after it (up to 30 minutes).", shape=PERCENTILES),
    Field("first_response_sec", OBJECT, "From the first user message to the first reply.",
          shape=PERCENTILES),
    Field("msgs_per_active_min", FLOAT),
    Field("chars_per_active_min", FLOAT, "Assistant characters."),
    Field("tool_calls_per_active_min", FLOAT),
), mapping=True)

VELOCITY_GROUP = Shape("VelocityGroup", "The velocity of one agent or one session size.", (
    Field("label", STR, "The agent, or the size: `1-15`, `16-60` or `61+` messages."),
    Field("sessions", INT),
    Field("overview", OBJECT, shape=VELOCITY_OVERVIEW),
), mapping=True)

VELOCITY = Shape("AnalyticsVelocity", "Turn cycle, first response and throughput per active "
                                      "minute; sessions of fewer than two messages are left "
                                      "out.", (
    Field("overall", OBJECT, shape=VELOCITY_OVERVIEW),
    Field("by_agent", OBJECTS, "By agent name.", shape=VELOCITY_GROUP),
    Field("by_complexity", OBJECTS, "By session size, smallest first.", shape=VELOCITY_GROUP),
), mapping=True)

# --- top sessions and distributions -----------------------------------------------------------
# Top sessions are the session rows, with the two durations the endpoint sets on them.

TOP_SESSION = Shape("TopSession", "One of the biggest sessions. Optional strings are omitted "
                                  "when empty.", (
    Field("id", STR),
    Field("project", STR),
    Field("first_message", STR),
    Field("display_name", STR, "Omitted when unset.", omit=EMPTY),
    Field("message_count", INT),
    Field("output_tokens", INT, source="total_output_tokens"),
    Field("duration_min", FLOAT, "Start to end, in minutes (one decimal); 0 when unknown."),
    Field("active_duration_min", FLOAT, "Minutes between messages, gaps up to 5 minutes "
                                        "(one decimal)."),
    Field("started_at", TIME, "Omitted when unknown.", omit=EMPTY),
    Field("ended_at", TIME, "Omitted when unknown.", omit=EMPTY),
    Field("termination_status", STR, "Omitted when empty.", omit=EMPTY),
))

TOP_SESSIONS = Shape("AnalyticsTopSessions", "The ten biggest sessions by messages, tokens "
                                             "or time.", (
    Field("metric", STR, "`messages`, `duration` or `output_tokens`."),
    Field("sessions", OBJECTS, "Biggest first, ties by id.", shape=TOP_SESSION),
), mapping=True)

BUCKET_COUNT = Shape("BucketCount", "Sessions in one bucket of a distribution.", (
    Field("label", STR),
    Field("count", INT),
), mapping=True)

SESSION_DISTRIBUTIONS = Shape("AnalyticsSessionShapes", "Distributions of session length, "
                                                        "duration and autonomy; empty "
                                                        "buckets are left out.", (
    Field("count", INT, "Sessions counted."),
    Field("length_distribution", OBJECTS, "By messages: `1-5` … `121+`.", shape=BUCKET_COUNT),
    Field("duration_distribution", OBJECTS, "By start to end: `<5m` … `2h+` (sessions with "
                                            "both times).", shape=BUCKET_COUNT),
    Field("autonomy_distribution", OBJECTS, "By assistant tool-use messages per user "
                                            "message: `<0.5` … `10+`.", shape=BUCKET_COUNT),
), mapping=True)

HOUR_CELL = Shape("HourOfWeekCell", "Messages in one local weekday and hour.", (
    Field("day_of_week", INT, "Monday = 0.", source=0),  # (day_of_week, hour, messages)
    Field("hour", INT, "0-23.", source=1),
    Field("messages", INT, source=2),
), mapping=True)

HOUR_OF_WEEK = Shape("AnalyticsHourOfWeek", "Messages per local weekday and hour.", (
    Field("cells", OBJECTS, "All 168 cells, Monday 0:00 first.", shape=HOUR_CELL),
), mapping=True)

# --- signals ----------------------------------------------------------------------------------

TOOL_HEALTH = Shape("ToolHealth", "Tool failures, retries and edit churn.", (
    Field("total_failure_signals", INT),
    Field("total_retries", INT),
    Field("total_edit_churn", INT),
    Field("sessions_with_failures", INT),
    Field("failure_rate", FLOAT, "Percent of the sessions with a failure signal."),
), mapping=True)

CONTEXT_HEALTH = Shape("ContextHealth", "Compactions and context pressure.", (
    Field("avg_compaction_count", FLOAT),
    Field("sessions_with_compaction", INT),
    Field("mid_task_compaction_count", INT),
    Field("sessions_with_mid_task_compaction", INT),
    Field("sessions_with_context_data", INT),
    Field("avg_context_pressure", FLOAT, "0-1, three decimals; null without context data.",
          null=True),
    Field("high_pressure_sessions", INT, "Sessions whose context pressure reached 0.8."),
), mapping=True)

QUALITY_COUNTS = Shape("QualityCounts", "One number per prompt-quality signal.", tuple(
    Field(name, INT) for name in (*QUALITY_SIGNAL_COLUMNS, "frustration_marker_count")
), mapping=True)

QUALITY_HEALTH = Shape("QualityHealth", "Prompt-quality signals of the sessions they were "
                                        "computed for.", (
    Field("computed_sessions", INT),
    Field("totals", OBJECT, "Sum of each signal (unstructured_start: sessions).",
          shape=QUALITY_COUNTS),
    Field("sessions_with_signal", OBJECT, "Sessions with each signal.", shape=QUALITY_COUNTS),
), mapping=True)

HEALTH_DAY = Shape("HealthTrendDay", "Health of the sessions that started on one day.", (
    Field("date", STR, DAY),
    Field("session_count", INT),
    Field("avg_health_score", FLOAT, "Null when no session is scored.", null=True),
    Field("completed", INT),
    Field("errored", INT),
    Field("abandoned", INT),
    Field("avg_failure_signals", FLOAT),
), mapping=True)


def _group_health(key: str, what: str) -> Shape:
    return Shape(f"{what}Health", f"Health of one {key}'s sessions.", (
        Field(key, STR),
        Field("session_count", INT),
        Field("avg_health_score", FLOAT, "Null when no session is scored.", null=True),
        Field("completed_rate", FLOAT, "Percent of the sessions completed."),
        Field("avg_failure_signals", FLOAT),
    ), mapping=True)


AGENT_HEALTH = _group_health("agent", "Agent")
PROJECT_HEALTH = _group_health("project", "Project")

CALIBRATION = Shape("SignalCalibration", "Sessions with a signal against those without: how "
                                         "often they end incomplete (errored, abandoned, "
                                         "grade D or F) and their score.", (
    Field("signal", STR),
    Field("affected_sessions", INT),
    Field("baseline_sessions", INT),
    Field("affected_incomplete_rate", FLOAT, "Percent."),
    Field("baseline_incomplete_rate", FLOAT, "Percent."),
    Field("incomplete_lift", FLOAT, "Affected rate / baseline rate; null without affected "
                                    "sessions or with a zero baseline rate.", null=True),
    Field("avg_score_delta", FLOAT, "Affected mean score - baseline mean score; null when "
                                    "either side has no score.", null=True),
), mapping=True)

SIGNALS = Shape("AnalyticsSignals", "Health grades, outcomes and signal rates.", (
    Field("scored_sessions", INT),
    Field("unscored_sessions", INT),
    Field("grade_distribution", MAP, "Sessions by grade (`A`..`F`), sorted; zeros left out.",
          item=INT),
    Field("avg_health_score", FLOAT, "Null when no session is scored.", null=True),
    Field("outcome_distribution", MAP, "Sessions by outcome, sorted; zeros left out.",
          item=INT),
    Field("outcome_confidence_distribution", MAP, "Sessions by outcome confidence, sorted; "
                                                  "zeros left out.", item=INT),
    Field("tool_health", OBJECT, shape=TOOL_HEALTH),
    Field("context_health", OBJECT, shape=CONTEXT_HEALTH),
    Field("quality_health", OBJECT, shape=QUALITY_HEALTH),
    Field("trend", OBJECTS, "Days with a session, oldest first.", shape=HEALTH_DAY),
    Field("by_agent", OBJECTS, "By agent name.", shape=AGENT_HEALTH),
    Field("by_project", OBJECTS, "Most sessions first, ties by name.", shape=PROJECT_HEALTH),
    Field("calibration", MAP, "By signal name, sorted: each signal the signal-sessions "
                              "endpoint lists.", shape=CALIBRATION),
), mapping=True)

# --- signal-sessions --------------------------------------------------------------------------
# The session rows themselves, dumped with the signal's column as context.


def _signal_value(session, ctx):
    value = getattr(session, ctx.column)
    return int(value) if isinstance(value, bool) else value


def _signal_total(session, ctx) -> int:
    """AgentsView's integer measure: the count (1 for a flag; a pressure rounds to 0-1)."""
    value = _signal_value(session, ctx)
    return round(value) if value is not None else 0


def _local_date(session, ctx) -> str:
    moment = session.started_at or session.created_at
    return moment.astimezone(ctx.zone).date().isoformat() if moment else ""


EXCERPT_LENGTH = 200


SIGNAL_SESSION = Shape("SignalSession", "A session a signal marks.", (
    Field("id", STR),
    Field("project", STR),
    Field("agent", STR),
    Field("machine", STR),
    Field("first_message", STR),
    Field("display_name", STR, "Omitted when unset.", omit=EMPTY),
    Field("started_at", TIME, null=True),
    Field("ended_at", TIME, null=True),
    Field("message_count", INT),
    Field("outcome", STR),
    Field("health_score", INT, "Null when not computed.", null=True),
    Field("health_grade", STR, "Null when not computed.", null=True),
    Field("value", FLOAT, "The signal's measure: a count, the context pressure (0-1), or 1 "
                          "for unstructured_start.", source=_signal_value),
    # AgentsView's names for the same row
    Field("session_id", STR, "Equals id.", source="id"),
    Field("date", STR, "Local day of the start (YYYY-MM-DD, in `timezone`).",
          source=_local_date),
    Field("is_automated", BOOL),
    Field("signal_total", INT, "The measure as an integer.", source=_signal_total),
    Field("reason_code", STR, "The signal asked for.", source=lambda s, ctx: ctx.signal),
    Field("excerpt", STR, "The session's first message, cut to 200 characters.",
          source=lambda s, ctx: (s.first_message or "")[:EXCERPT_LENGTH]),
    Field("failure_signals", INT, source="tool_failure_signal_count"),
    Field("retries", INT, source="tool_retry_count"),
    Field("edit_churn", INT, source="edit_churn_count"),
))

SIGNAL_SESSIONS = Shape("AnalyticsSignalSessions", "The sessions one signal marks, worst "
                                                   "first.", (
    Field("signal", STR),
    Field("total", INT, "Sessions the signal marks (all of them, not only those listed)."),
    Field("sessions", OBJECTS, "Strongest first, then latest start, then id.",
          shape=SIGNAL_SESSION),
), mapping=True)

# --- usage (/api/v1/usage/*) ------------------------------------------------------------------
# AgentsView's usage names (camelCase); costs are exact integer microdollars ({"microdollars":
# n}), null when none of the tokens counted has a price (never a made-up 0).


def _cost(part, ctx) -> dict | None:
    if not part.priced and part.unpriced_tokens:
        return None
    return {"microdollars": part.cost}


def _tokens_fields(key: str = "") -> tuple[Field, ...]:
    """The token and cost fields of a usage sum (an object, or the [1] of a (name, sum))."""
    def read(attr):
        if key:
            return lambda o, ctx: getattr(o[1], attr)
        return lambda o, ctx: getattr(o, attr)

    def cost(o, ctx):
        return _cost(o[1] if key else o, ctx)

    return (
        Field("inputTokens", INT, "Input no cache served.", source=read("input")),
        Field("outputTokens", INT, source=read("output")),
        Field("cacheCreationTokens", INT, source=read("cache_write")),
        Field("cacheReadTokens", INT, source=read("cache_read")),
        Field("totalTokens", INT, source=read("total_tokens")),
        Field("cost", OBJECT, "Of the priced tokens; null when none has a price.",
              shape=SESSION_MONEY, null=True, source=cost),
        Field("unpricedTokens", INT, "Tokens of models without a price (not in `cost`).",
              source=read("unpriced_tokens")),
    )


def _named(name: str, doc: str, key: str) -> Shape:
    return Shape(name, doc, (Field(key, STR, source=lambda o, ctx: o[0]),
                             *_tokens_fields(key)))


USAGE_MODEL = _named("UsageModel", "Usage of one model.", "model")
USAGE_PROJECT = _named("UsageProject", "Usage of one project.", "project")
USAGE_AGENT = _named("UsageAgent", "Usage of one agent.", "agent")
USAGE_MACHINE = _named("UsageMachine", "Usage of one machine (a person's archive).",
                       "machineName")
USAGE_TOTALS = Shape("UsageTotals", "Usage over the whole window.", _tokens_fields())


USAGE_DAY = Shape("UsageDay", "One local day: its usage, and the same split by model, "
                              "project, agent and machine.", (
    Field("date", STR, DAY),
    Field("inputTokens", INT, source=lambda d, ctx: d.total.input),
    Field("outputTokens", INT, source=lambda d, ctx: d.total.output),
    Field("cacheCreationTokens", INT, source=lambda d, ctx: d.total.cache_write),
    Field("cacheReadTokens", INT, source=lambda d, ctx: d.total.cache_read),
    Field("totalTokens", INT, source=lambda d, ctx: d.total.total_tokens),
    Field("totalCost", OBJECT, "Of the priced tokens; null when none has a price.",
          shape=SESSION_MONEY, null=True, source=lambda d, ctx: _cost(d.total, ctx)),
    Field("unpricedTokens", INT, source=lambda d, ctx: d.total.unpriced_tokens),
    Field("modelsUsed", LIST, item=STR, source=lambda d, ctx: sorted(m for m, _ in d.models)),
    Field("modelBreakdowns", OBJECTS, "Costliest first.", shape=USAGE_MODEL, source="models"),
    Field("projectBreakdowns", OBJECTS, shape=USAGE_PROJECT, source="projects"),
    Field("agentBreakdowns", OBJECTS, shape=USAGE_AGENT, source="agents"),
    Field("machineBreakdowns", OBJECTS, shape=USAGE_MACHINE, source="machines"),
))

USAGE_SESSION_COUNTS = Shape("UsageSessionCounts", "Sessions with usage in the window.", (
    Field("total", INT),
    Field("byProject", MAP, item=INT),
    Field("byAgent", MAP, item=INT),
), mapping=True)

USAGE_SUMMARY = Shape("UsageSummary", "Tokens and cost over a window of local days: totals, "
                                      "per day and per model, project, agent and machine "
                                      "(costliest first).", (
    Field("from", STR, DAY),
    Field("to", STR, DAY),
    Field("timezone", STR),
    Field("totals", OBJECT, shape=USAGE_TOTALS),
    Field("unpricedModels", LIST, "Models whose tokens have no price, sorted.", item=STR),
    Field("daily", OBJECTS, "Days with usage, in order.", shape=USAGE_DAY),
    Field("modelTotals", OBJECTS, shape=USAGE_MODEL),
    Field("projectTotals", OBJECTS, shape=USAGE_PROJECT),
    Field("agentTotals", OBJECTS, shape=USAGE_AGENT),
    Field("machineTotals", OBJECTS, shape=USAGE_MACHINE),
    Field("sessionCounts", OBJECT, shape=USAGE_SESSION_COUNTS),
), mapping=True)


def _session_cost(s, ctx) -> dict | None:
    return None if s.cost_microdollars is None else {"microdollars": s.cost_microdollars}


USAGE_TOP_SESSION = Shape("UsageTopSession", "A session and its whole usage (its own, "
                                             "subagents apart).", (
    Field("sessionId", STR, source="id"),
    Field("displayName", STR, "The name, else the first message.",
          source=lambda s, ctx: s.display_name or s.first_message[:200]),
    Field("agent", STR),
    Field("project", STR),
    Field("machine", STR),
    Field("startedAt", TIME, source=lambda s, ctx: s.started_at or s.created_at),
    Field("inputTokens", INT, source="usage_input_tokens"),
    Field("outputTokens", INT, source="usage_output_tokens"),
    Field("cacheCreationTokens", INT, source="usage_cache_write_tokens"),
    Field("cacheReadTokens", INT, source="usage_cache_read_tokens"),
    Field("totalTokens", INT, source=lambda s, ctx: clamp_int(
        s.usage_input_tokens + s.usage_output_tokens + s.usage_cache_read_tokens
        + s.usage_cache_write_tokens)),
    Field("cost", OBJECT, "Null when a model has no price.", shape=SESSION_MONEY, null=True,
          source=_session_cost),
))
