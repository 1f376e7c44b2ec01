"""The overview endpoints: summary, activity over time, the heatmap, projects and the
hour-of-week grid."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from agentsview.api.params import Params
from analytics_app.endpoints.filters import analytics_sessions, local_day, parse_filters
from analytics_app.endpoints.numbers import median_int, percentile_index, ratio
from analytics_app.scoring import rollups
from analytics_app.serializers import ACTIVITY, HEATMAP, HOUR_OF_WEEK, PROJECTS, SUMMARY
from sessions_app.models import Session

HEATMAP_MAX_DAYS = 366  # the heatmap shows at most this many days, ending at `to`
GRANULARITIES = ("day", "week", "month")
HEATMAP_METRICS = ("messages", "sessions", "output_tokens")


# ---------------------------------------------------------------------------------------------
# summary
# ---------------------------------------------------------------------------------------------


def summary(params: Mapping[str, str], using: str) -> dict:
    """Totals, message-count spread, the most active project and per-agent counts."""
    f = parse_filters(params)
    base = analytics_sessions(f, using)
    totals = base.aggregate(
        sessions=Count("id"),
        messages=Coalesce(Sum("message_count"), 0),
        output_tokens=Coalesce(Sum("total_output_tokens",
                                   filter=Q(has_total_output_tokens=True)), 0),
        token_sessions=Count("id", filter=Q(has_total_output_tokens=True)),
        projects=Count("project", distinct=True),
        days=Count(local_day("_start", f.timezone), distinct=True),
    )
    counts = sorted(base.values_list("message_count", flat=True))
    by_project = list(base.values("project").annotate(messages=Sum("message_count"))
                      .order_by("-messages", "project").values_list("project", "messages"))
    agents = base.values("agent").annotate(sessions=Count("id"), messages=Sum("message_count"))
    models = sorted({model for text in base.values_list("rollup_models", flat=True)
                     for model in rollups.loads(text)})
    cost = session_cost(base)
    n, total_messages = totals["sessions"], totals["messages"]
    top3 = sum(m for _, m in by_project[:3])
    return SUMMARY.dump({
        "total_sessions": n,
        "total_messages": total_messages,
        "total_output_tokens": totals["output_tokens"],
        "token_reporting_sessions": totals["token_sessions"],
        "models": models,
        "active_projects": totals["projects"],
        "active_days": totals["days"],
        "avg_messages": ratio(total_messages, n),
        "median_messages": median_int(counts),
        "p90_messages": counts[percentile_index(n, 9)] if n else 0,
        "most_active_project": by_project[0][0] if by_project else "",
        "concentration": ratio(top3, total_messages, digits=3),
        "agents": {a["agent"]: a for a in agents.order_by("agent")},  # sessions, messages
        "total_cost": {"microdollars": cost["known"]},
        "cost_unknown_sessions": cost["unknown"],
    })


def session_cost(base: QuerySet) -> dict:
    """The cost of *base*'s sessions and of their direct subagents (whose tokens were spent
    for them), in SQL: ``known``, the sum of the known costs, and ``unknown``, how many of
    them spent tokens on a model without a price (not in ``known``)."""
    spent = Session.objects.using(base.db).filter(
        Q(pk__in=base.values("pk"))
        | Q(parent_session_id__in=base.values("pk"), relationship_type="subagent",
            deleted_at__isnull=True))
    found = spent.aggregate(
        known=Coalesce(Sum("cost_microdollars"), 0),
        unknown=Count("id", filter=Q(cost_microdollars__isnull=True) & ~Q(usage_rollup="")))
    return {"known": int(found["known"]), "unknown": found["unknown"]}


# ---------------------------------------------------------------------------------------------
# activity
# ---------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Bucket:
    """One day, week or month of activity, as ``ACTIVITY_BUCKET`` writes it."""

    date: str
    sessions: int = 0
    messages: int = 0
    user_messages: int = 0
    assistant_messages: int = 0
    tool_calls: int = 0
    thinking_messages: int = 0
    by_agent: dict[str, int] = field(default_factory=dict)


def activity(params: Mapping[str, str], using: str) -> dict:
    """Sessions, messages by role, tool calls and thinking per local day, ISO week or month
    (``granularity``) of the session start."""
    f = parse_filters(params)
    granularity = Params(params).choice("granularity", GRANULARITIES, "day")
    base = analytics_sessions(f, using)
    buckets: dict[date, _Bucket] = {}

    rows = (base.annotate(bucket=local_day("_start", f.timezone, granularity))
            .values("bucket", "agent")
            .annotate(sessions=Count("id"), n=Sum("rollup_messages"),
                      user=Sum("rollup_user_messages"), assistant=Sum("rollup_assistant_messages"),
                      thinking=Sum("rollup_thinking_messages"), calls=Sum("rollup_tool_calls"))
            .order_by())
    for row in rows:
        e = buckets.get(row["bucket"])
        if e is None:
            e = buckets[row["bucket"]] = _Bucket(row["bucket"].isoformat())
        e.sessions += row["sessions"]
        e.messages += row["n"]
        e.user_messages += row["user"]
        e.assistant_messages += row["assistant"]
        e.thinking_messages += row["thinking"]
        e.tool_calls += row["calls"]
        if row["n"]:
            e.by_agent[row["agent"]] = row["n"]
    series = [buckets[day] for day in sorted(buckets)]
    for e in series:
        e.by_agent = dict(sorted(e.by_agent.items()))
    return ACTIVITY.dump({"granularity": granularity, "series": series})


# ---------------------------------------------------------------------------------------------
# heatmap
# ---------------------------------------------------------------------------------------------


def quartile_levels(values: list[int]) -> dict[str, int]:
    """Level thresholds from the sorted non-zero day values."""
    if not values:
        return {"l1": 1, "l2": 2, "l3": 3, "l4": 4}
    n = len(values)
    return {"l1": values[0], "l2": values[n // 4], "l3": values[n // 2],
            "l4": values[n * 3 // 4]}


def heat_level(value: int, levels: Mapping[str, int]) -> int:
    if value <= 0:
        return 0
    for level, key in ((1, "l2"), (2, "l3"), (3, "l4")):
        if value <= levels[key]:
            return level
    return 4


def heatmap(params: Mapping[str, str], using: str) -> dict:
    """One entry per local day (at most the last 366 days up to ``to``) with a 0-4 level;
    ``metric`` = messages (default), sessions or output_tokens."""
    f = parse_filters(params)
    metric = Params(params).choice("metric", HEATMAP_METRICS, "messages")
    entries_from = max(f.first_day, f.last_day - timedelta(days=HEATMAP_MAX_DAYS - 1))
    aggregate = {
        "messages": Sum("message_count"),
        "sessions": Count("id"),
        "output_tokens": Sum("total_output_tokens", filter=Q(has_total_output_tokens=True)),
    }[metric]
    rows = (analytics_sessions(f, using, first_day=entries_from)
            .annotate(day=local_day("_start", f.timezone)).values("day")
            .annotate(value=aggregate).order_by())
    by_day = {row["day"]: row["value"] or 0 for row in rows}
    if metric == "output_tokens" and not any(by_day.values()):
        # no session reported tokens: "no data" rather than a grid of zeros
        return HEATMAP.dump({"metric": metric, "entries": [],
                             "levels": {"l1": 0, "l2": 0, "l3": 0, "l4": 0},
                             "entries_from": entries_from.isoformat()})
    levels = quartile_levels(sorted(v for v in by_day.values() if v > 0))
    days = (entries_from + timedelta(days=i)
            for i in range((f.last_day - entries_from).days + 1))
    values = ((day, by_day.get(day, 0)) for day in days)
    entries = [(day.isoformat(), value, heat_level(value, levels)) for day, value in values]
    return HEATMAP.dump({"metric": metric, "entries": entries, "levels": levels,
                         "entries_from": entries_from.isoformat()})


# ---------------------------------------------------------------------------------------------
# projects
# ---------------------------------------------------------------------------------------------


def projects(params: Mapping[str, str], using: str) -> dict:
    """Per project: sessions, messages, first/last local day, mean and median messages per
    session, sessions per agent and messages per active day; busiest first."""
    f = parse_filters(params)
    base = analytics_sessions(f, using)
    rows = (base.annotate(day=local_day("_start", f.timezone))
            .values("project", "agent", "day")
            .annotate(sessions=Count("id"), messages=Sum("message_count")).order_by())
    acc: dict[str, dict] = {}
    for row in rows:
        p = acc.setdefault(row["project"], {"sessions": 0, "messages": 0, "agents": {},
                                            "days": set()})
        p["sessions"] += row["sessions"]
        p["messages"] += row["messages"]
        p["agents"][row["agent"]] = p["agents"].get(row["agent"], 0) + row["sessions"]
        p["days"].add(row["day"])
    counts: dict[str, list[int]] = defaultdict(list)
    for project, message_count in base.values_list("project", "message_count"):
        counts[project].append(message_count)
    result = []
    for name, p in acc.items():
        result.append({
            "name": name,
            "sessions": p["sessions"],
            "messages": p["messages"],
            "first_session": min(p["days"]).isoformat(),
            "last_session": max(p["days"]).isoformat(),
            "avg_messages": ratio(p["messages"], p["sessions"]),
            "median_messages": median_int(sorted(counts[name])),
            "agents": dict(sorted(p["agents"].items())),
            "daily_trend": ratio(p["messages"], len(p["days"])),
        })
    result.sort(key=lambda p: (-p["messages"], p["name"]))
    return PROJECTS.dump({"projects": result})


# ---------------------------------------------------------------------------------------------
# hour-of-week
# ---------------------------------------------------------------------------------------------


def hour_of_week(params: Mapping[str, str], using: str) -> dict:
    """Messages per local (weekday, hour), Monday = 0: always 168 cells."""
    f = parse_filters(params)
    per_quarter: dict[int, int] = {}  # UTC quarter-hour start -> messages, all sessions
    for text in analytics_sessions(f, using).values_list("message_quarters", flat=True):
        for quarter, n in rollups.loads(text):
            per_quarter[quarter] = per_quarter.get(quarter, 0) + n
    grid: dict[tuple[int, int], int] = defaultdict(int)
    for quarter, n in per_quarter.items():
        local = datetime.fromtimestamp(quarter, f.timezone)
        grid[(local.weekday(), local.hour)] += n
    return HOUR_OF_WEEK.dump({"cells": [(d, h, grid.get((d, h), 0))
                                         for d in range(7) for h in range(24)]})
