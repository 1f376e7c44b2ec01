"""The analytics endpoints (``/api/v1/analytics/*``) as plain functions: query parameters in,
JSON-ready data out, like ``sessions_app.api.handlers`` (so a CLI can call them too).

Which sessions count: the browsable top-level ones (never soft-deleted, empty or children;
one-shot and automated runs only with ``include_one_shot`` / ``include_automated``) whose
*start* (``started_at``, else ``created_at``) falls in ``[from, to]``, both days read in
``timezone``. Every per-day (week, month) figure is bucketed by that same local start day,
except the hour-of-week grid, which places each message at its own local time.

Nothing reads the messages: what the analytics need of them (counts by role, tool calls by
category, active time, turn cycles, first response, models, messages per quarter-hour) is
rolled up per session when the session is written (``analytics_app/rollups.py``) and pushed
with it. Sums are aggregated in the database; Python only combines one row per session
(medians, percentiles, the JSON rollups). Results are identical on SQLite and PostgreSQL:
counts come back as integers and every ratio is computed here, with Go's rounding (half away
from zero) so the numbers match AgentsView's.

Fields of AgentsView's responses that need data we do not have are left out rather than
invented: the tool outcome analysis of ``tools.by_tool`` (``analyzed_calls``…).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import orjson
from django.db.models import (
    Case,
    CharField,
    Count,
    DateField,
    F,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import (
    Coalesce,
    ExtractHour,
    ExtractIsoWeekDay,
    StrIndex,
    Trunc,
)

from agentsview.timefmt import rfc3339
from analytics_app import rollups
from sessions_app.filters import (
    AUTOMATED_SCOPES,
    HEALTH_GRADES,
    OUTCOMES,
    BadParameter,
    Params,
    SessionFilters,
)
from sessions_app.models import STARTED
from sessions_app.selectors import filtered_sessions

DEFAULT_RANGE_DAYS = 30
HEATMAP_MAX_DAYS = 366  # the heatmap shows at most this many days, ending at `to`
GRANULARITIES = ("day", "week", "month")
HEATMAP_METRICS = ("messages", "sessions", "output_tokens")
TOP_METRICS = ("messages", "duration", "output_tokens")
TOP_LIMIT = 10
HIGH_PRESSURE = 0.8

Number = int | float


# ---------------------------------------------------------------------------------------------
# Parameters
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnalyticsFilters:
    """The shared parameters: a range of local days and the session filters."""

    date_from: date
    date_to: date
    zone: ZoneInfo
    projects: tuple[str, ...] = ()
    agents: tuple[str, ...] = ()
    machines: tuple[str, ...] = ()
    include_one_shot: bool = False
    include_automated: bool = False
    automated_scope: str = ""
    git_branches: tuple[str, ...] = ()
    terminations: tuple[str, ...] = ()
    min_user_messages: int | None = None
    active_since: datetime | None = None
    models: tuple[str, ...] = ()
    dow: int | None = None  # local weekday of the start, 0 = Monday
    hour: int | None = None  # local hour of the start

    def bounds(self, date_from: date | None = None) -> tuple[datetime, datetime]:
        """[local midnight of *date_from* (default: from), local midnight after to) in UTC."""
        start = datetime.combine(date_from or self.date_from, time.min, self.zone)
        end = datetime.combine(self.date_to + timedelta(days=1), time.min, self.zone)
        return start.astimezone(UTC), end.astimezone(UTC)

    def session_filters(self) -> SessionFilters:
        return SessionFilters(
            projects=self.projects, machines=self.machines, agents=self.agents,
            include_one_shot=self.include_one_shot, include_automated=self.include_automated,
            automated_scope=self.automated_scope, include_children=False,
            git_branches=self.git_branches, terminations=self.terminations,
            min_user_messages=self.min_user_messages, active_since=self.active_since,
        )


def parse_filters(params: Mapping[str, str]) -> AnalyticsFilters:
    """``from``/``to`` (YYYY-MM-DD; default: the 30 days up to today in the time zone),
    ``timezone``, ``project``/``agent``/``machine``/``model``/``termination`` (comma lists),
    ``git_branch``, ``dow`` (0 = Monday) and ``hour`` of the local start,
    ``min_user_messages``, ``active_since``, ``include_one_shot``, ``include_automated``,
    ``automated_scope``. Raises ``BadParameter``."""
    p = Params(params)
    zone = p.zone("timezone")
    date_from, date_to = p.day("from"), p.day("to")
    if date_to is None:
        date_to = datetime.now(zone).date()
    if date_from is None:
        date_from = date_to - timedelta(days=DEFAULT_RANGE_DAYS)
    if date_from > date_to:
        raise BadParameter("from", p.text("from") or date_from.isoformat(),
                           f"from is after to={date_to.isoformat()}")
    return AnalyticsFilters(
        date_from=date_from,
        date_to=date_to,
        zone=zone,
        projects=p.items("project"),
        agents=p.items("agent"),
        machines=p.items("machine"),
        include_one_shot=p.boolean("include_one_shot"),
        include_automated=p.boolean("include_automated"),
        automated_scope=p.choice("automated_scope", AUTOMATED_SCOPES, "") or "",
        git_branches=p.repeated("git_branch"),
        terminations=p.items("termination"),
        min_user_messages=p.integer("min_user_messages", minimum=0),
        active_since=p.moment("active_since"),
        models=p.items("model"),
        dow=p.integer("dow", minimum=0, maximum=6),
        hour=p.integer("hour", minimum=0, maximum=23),
    )


# ---------------------------------------------------------------------------------------------
# Shared building blocks
# ---------------------------------------------------------------------------------------------


def analytics_sessions(f: AnalyticsFilters, using: str, *,
                       date_from: date | None = None) -> QuerySet:
    """The sessions analytics counts (see the module docstring), annotated with ``_start``.
    *date_from* narrows the range's start (the heatmap shows at most a year)."""
    qs = filtered_sessions(f.session_filters(), using=using)
    start, end = f.bounds(date_from)
    # = Coalesce(started_at, created_at) in [start, end), written so the planner can use
    # the started_at statistics and index (it cannot see through COALESCE)
    in_range = (Q(started_at__gte=start, started_at__lt=end)
                | Q(started_at__isnull=True, created_at__gte=start, created_at__lt=end))
    qs = qs.filter(in_range).annotate(_start=STARTED)
    if f.models:
        # rollup_models is a JSON list of strings: find the quoted name, case-sensitively on
        # both databases (INSTR / STRPOS; SQLite's LIKE would ignore case)
        names = {f"_model{i}": StrIndex("rollup_models", Value(orjson.dumps(m).decode()))
                 for i, m in enumerate(f.models)}
        used = Q(pk__in=[])
        for alias in names:
            used |= Q(**{f"{alias}__gt": 0})
        qs = qs.alias(**names).filter(used)
    if f.dow is not None:
        qs = qs.annotate(_dow=ExtractIsoWeekDay("_start", tzinfo=f.zone)).filter(_dow=f.dow + 1)
    if f.hour is not None:
        qs = qs.annotate(_hour=ExtractHour("_start", tzinfo=f.zone)).filter(_hour=f.hour)
    return qs


def local_day(expression, zone: ZoneInfo, kind: str = "day") -> Trunc:
    """The local day (or first day of the ISO week / month) of a moment, in the database."""
    return Trunc(expression, kind, output_field=DateField(), tzinfo=zone)





def go_round(value: float, digits: int = 1) -> Number:
    """Go's ``math.Round(v*10^d)/10^d`` (half away from zero); integral results as ``int``
    (Go prints ``4``, not ``4.0``)."""
    scale = 10 ** digits
    scaled = value * scale
    result = math.copysign(math.floor(abs(scaled) + 0.5), scaled) / scale
    return int(result) if result.is_integer() else result


def ratio(numerator: float, denominator: float, *, scale: float = 1, digits: int = 1) -> Number:
    """``numerator / denominator * scale`` rounded; 0 for an empty denominator."""
    return go_round(numerator / denominator * scale, digits) if denominator else 0


def median_int(values: list[int]) -> int:
    """Median of sorted ints; the mean of the middle two (floored) for an even count."""
    n = len(values)
    if n == 0:
        return 0
    if n % 2 == 0:
        return (values[n // 2 - 1] + values[n // 2]) // 2
    return values[n // 2]


def percentile_index(n: int, tenths: int) -> int:
    """0-based index of the *tenths*/10 percentile of *n* sorted values (AgentsView's
    ``int(n * p)``, clamped), in integer arithmetic so both databases agree."""
    return min(n * tenths // 10, n - 1)


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
        days=Count(local_day("_start", f.zone), distinct=True),
    )
    counts = sorted(base.values_list("message_count", flat=True))
    by_project = list(base.values("project").annotate(messages=Sum("message_count"))
                      .order_by("-messages", "project").values_list("project", "messages"))
    agents = base.values("agent").annotate(sessions=Count("id"), messages=Sum("message_count"))
    models = sorted({model for text in base.values_list("rollup_models", flat=True)
                     for model in rollups.loads(text)})
    n, total_messages = totals["sessions"], totals["messages"]
    top3 = sum(m for _, m in by_project[:3])
    return {
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
        "agents": {a["agent"]: {"sessions": a["sessions"], "messages": a["messages"]}
                   for a in agents.order_by("agent")},
    }


# ---------------------------------------------------------------------------------------------
# activity
# ---------------------------------------------------------------------------------------------


def activity(params: Mapping[str, str], using: str) -> dict:
    """Sessions, messages by role, tool calls and thinking per local day, ISO week or month
    (``granularity``) of the session start."""
    f = parse_filters(params)
    granularity = Params(params).choice("granularity", GRANULARITIES, "day")
    base = analytics_sessions(f, using)
    buckets: dict[date, dict] = {}

    def entry(day: date) -> dict:
        if day not in buckets:
            buckets[day] = {"date": day.isoformat(), "sessions": 0, "messages": 0,
                            "user_messages": 0, "assistant_messages": 0, "tool_calls": 0,
                            "thinking_messages": 0, "by_agent": {}}
        return buckets[day]

    rows = (base.annotate(bucket=local_day("_start", f.zone, granularity))
            .values("bucket", "agent")
            .annotate(sessions=Count("id"), n=Sum("rollup_messages"),
                      user=Sum("rollup_user_messages"), assistant=Sum("rollup_assistant_messages"),
                      thinking=Sum("rollup_thinking_messages"), calls=Sum("rollup_tool_calls"))
            .order_by())
    for row in rows:
        e = entry(row["bucket"])
        e["sessions"] += row["sessions"]
        e["messages"] += row["n"]
        e["user_messages"] += row["user"]
        e["assistant_messages"] += row["assistant"]
        e["thinking_messages"] += row["thinking"]
        e["tool_calls"] += row["calls"]
        if row["n"]:
            e["by_agent"][row["agent"]] = row["n"]
    series = [buckets[day] for day in sorted(buckets)]
    for e in series:
        e["by_agent"] = dict(sorted(e["by_agent"].items()))
    return {"granularity": granularity, "series": series}


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
    entries_from = max(f.date_from, f.date_to - timedelta(days=HEATMAP_MAX_DAYS - 1))
    aggregate = {
        "messages": Sum("message_count"),
        "sessions": Count("id"),
        "output_tokens": Sum("total_output_tokens", filter=Q(has_total_output_tokens=True)),
    }[metric]
    rows = (analytics_sessions(f, using, date_from=entries_from)
            .annotate(day=local_day("_start", f.zone)).values("day")
            .annotate(value=aggregate).order_by())
    by_day = {row["day"]: row["value"] or 0 for row in rows}
    if metric == "output_tokens" and not any(by_day.values()):
        # no session reported tokens: "no data" rather than a grid of zeros
        return {"metric": metric, "entries": [], "levels": {"l1": 0, "l2": 0, "l3": 0, "l4": 0},
                "entries_from": entries_from.isoformat()}
    levels = quartile_levels(sorted(v for v in by_day.values() if v > 0))
    days = (entries_from + timedelta(days=i)
            for i in range((f.date_to - entries_from).days + 1))
    entries = [{"date": day.isoformat(), "value": by_day.get(day, 0),
                "level": heat_level(by_day.get(day, 0), levels)} for day in days]
    return {"metric": metric, "entries": entries, "levels": levels,
            "entries_from": entries_from.isoformat()}


# ---------------------------------------------------------------------------------------------
# projects
# ---------------------------------------------------------------------------------------------


def projects(params: Mapping[str, str], using: str) -> dict:
    """Per project: sessions, messages, first/last local day, mean and median messages per
    session, sessions per agent and messages per active day; busiest first."""
    f = parse_filters(params)
    base = analytics_sessions(f, using)
    rows = (base.annotate(day=local_day("_start", f.zone))
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
    return {"projects": result}


# ---------------------------------------------------------------------------------------------
# tools
# ---------------------------------------------------------------------------------------------


def _category_counts(counts: Mapping[str, int], total: int) -> list[dict]:
    """``[{category, count, pct}]``, most used first."""
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return [{"category": c, "count": n, "pct": ratio(n, total, scale=100)} for c, n in ordered]


def tools(params: Mapping[str, str], using: str) -> dict:
    """Tool calls by category, by agent, by tool name, and per ISO week of the session start.
    (AgentsView's per-tool outcome analysis needs result data we do not keep: left out.)"""
    f = parse_filters(params)
    rows = (analytics_sessions(f, using).annotate(week=local_day("_start", f.zone, "week"))
            .values_list("agent", "week", "rollup_tools"))
    # two dict updates per (session, tool): calls per (agent, week, category, name) cell and
    # sessions per tool; every breakdown is then summed from the far fewer cells
    cells: dict[tuple[str, date, str, str], int] = {}
    tool_sessions: dict[tuple[str, str], int] = {}
    for agent, week, text in rows:
        for category, name, n in rollups.loads(text):
            key = (agent, week, category, name)
            cells[key] = cells.get(key, 0) + n
            tool_sessions[(category, name)] = tool_sessions.get((category, name), 0) + 1
    by_category: dict[str, int] = defaultdict(int)
    by_agent: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    by_week: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    per_tool: dict[tuple[str, str], list[int]] = {}  # calls, sessions
    for (agent, week, category, name), n in cells.items():
        by_category[category] += n
        by_agent[agent][category] += n
        by_week[week][category] += n
        per_tool.setdefault((category, name), [0, tool_sessions[(category, name)]])[0] += n
    total = sum(by_category.values())
    by_tool = sorted(
        ({"tool_name": name or "Unknown", "category": category, "call_count": calls,
          "session_count": sessions, "pct": ratio(calls, total, scale=100)}
         for (category, name), (calls, sessions) in per_tool.items()),
        key=lambda t: (-t["call_count"], t["tool_name"], t["category"]),
    )
    return {
        "total_calls": total,
        "by_category": _category_counts(by_category, total),
        "by_agent": [
            {"agent": agent, "total": sum(cats.values()),
             "categories": _category_counts(cats, sum(cats.values()))}
            for agent, cats in sorted(by_agent.items())
        ],
        "by_tool": by_tool,
        "trend": [{"date": week.isoformat(), "by_category": dict(sorted(cats.items()))}
                  for week, cats in sorted(by_week.items())],
    }


# ---------------------------------------------------------------------------------------------
# Message timing (velocity, active duration): from the sessions' rollups (rollups.py)
# ---------------------------------------------------------------------------------------------


@dataclass
class SessionTiming:
    agent: str
    complexity: str  # 1-15, 16-60 or 61+ messages
    messages: int
    assistant_chars: int
    active_ms: int


def complexity_of(message_count: int) -> str:
    return "1-15" if message_count <= 15 else "16-60" if message_count <= 60 else "61+"


def _percentiles(ordered: list[int]) -> tuple[int, int]:
    """The p50 and p90 of sorted *ordered* by rank (rank n·k/10 + 1)."""
    n = len(ordered)
    return ordered[n * 5 // 10], ordered[n * 9 // 10]


# ---------------------------------------------------------------------------------------------
# velocity
# ---------------------------------------------------------------------------------------------


COMPLEXITIES = ("1-15", "16-60", "61+")  # messages per session, as the SQL labels them


@dataclass
class _Velocity:
    """Accumulates the sessions of one group (overall, an agent, a complexity)."""

    sessions: int = 0
    messages: int = 0
    chars: int = 0
    tool_calls: int = 0
    active_ms: int = 0
    first_responses: list[int] = field(default_factory=list)

    def add(self, timing: SessionTiming, first_response_ms: int | None, tool_calls: int
            ) -> None:
        self.sessions += 1
        if first_response_ms is not None:
            self.first_responses.append(first_response_ms)
        if timing.active_ms > 0:
            self.messages += timing.messages
            self.chars += timing.assistant_chars
            self.tool_calls += tool_calls
            self.active_ms += timing.active_ms

    @classmethod
    def combined(cls, parts: list[_Velocity]) -> _Velocity:
        """The sum of disjoint groups (their first responses already sorted: sorting the
        concatenation merges the runs in linear time)."""
        total = cls()
        for part in parts:
            total.sessions += part.sessions
            total.messages += part.messages
            total.chars += part.chars
            total.tool_calls += part.tool_calls
            total.active_ms += part.active_ms
            total.first_responses += part.first_responses
        total.first_responses.sort()
        return total

    def overview(self, cycles: tuple[int, int] | None) -> dict:
        first = sorted(self.first_responses)
        n = len(first)
        minutes = self.active_ms / 60_000
        return {
            "turn_cycle_sec": {"p50": go_round(cycles[0] / 1000) if cycles else 0,
                               "p90": go_round(cycles[1] / 1000) if cycles else 0},
            "first_response_sec": {
                "p50": go_round(first[percentile_index(n, 5)] / 1000) if n else 0,
                "p90": go_round(first[percentile_index(n, 9)] / 1000) if n else 0,
            },
            "msgs_per_active_min": ratio(self.messages, minutes),
            "chars_per_active_min": ratio(self.chars, minutes),
            "tool_calls_per_active_min": ratio(self.tool_calls, minutes),
        }


def velocity(params: Mapping[str, str], using: str) -> dict:
    """Turn cycle and first response percentiles (seconds) and throughput per active minute
    (gaps between messages count up to 5 minutes), overall, per agent and per complexity.
    Sessions with fewer than two messages are left out."""
    f = parse_filters(params)
    rows = analytics_sessions(f, using).values_list(
        "agent", "message_count", "rollup_messages", "rollup_assistant_chars", "active_ms",
        "first_response_ms", "rollup_tool_calls", "turn_cycles_ms")
    # accumulate per (agent, complexity), the finest grouping; the overall, per-agent and
    # per-complexity figures are unions of these cells
    cells: dict[tuple[str, str], _Velocity] = defaultdict(_Velocity)
    turns: dict[tuple[str, str], list[int]] = defaultdict(list)
    for agent, count, messages, chars, active, first, tool_calls, cycles_text in rows:
        cell = (agent, complexity_of(count))
        turns[cell].extend(rollups.loads(cycles_text))
        if messages >= 2:
            cells[cell].add(SessionTiming(agent, cell[1], messages, chars, active), first,
                            tool_calls)
    for values in turns.values():
        values.sort()
    for group in cells.values():
        group.first_responses.sort()

    def union(match: Callable[[tuple[str, str]], bool]) -> tuple[_Velocity | None, tuple]:
        keys = sorted(k for k in cells if match(k))
        merged = [v for k in sorted(turns) if match(k) for v in turns[k]]
        merged.sort()  # sorted runs: a linear merge
        cycles = _percentiles(merged) if merged else None
        return (_Velocity.combined([cells[k] for k in keys]) if keys else None), cycles

    overall, overall_cycles = union(lambda k: True)
    agents = sorted({k[0] for k in cells})
    labels = [c for c in COMPLEXITIES if any(k[1] == c for k in cells)]
    by_agent = []
    for a in agents:
        group, cycles = union(lambda k, a=a: k[0] == a)
        by_agent.append({"label": a, "sessions": group.sessions, "overview": group.overview(
            cycles)})
    by_complexity = []
    for c in labels:
        group, cycles = union(lambda k, c=c: k[1] == c)
        by_complexity.append({"label": c, "sessions": group.sessions,
                              "overview": group.overview(cycles)})
    return {
        "overall": (overall or _Velocity()).overview(overall_cycles),
        "by_agent": by_agent,
        "by_complexity": by_complexity,
    }


# ---------------------------------------------------------------------------------------------
# top-sessions
# ---------------------------------------------------------------------------------------------


def _minutes(start: datetime | None, end: datetime | None) -> Number:
    if start is None or end is None:
        return 0
    return go_round((end - start).total_seconds() / 60)


def top_sessions(params: Mapping[str, str], using: str) -> dict:
    """The ten sessions with the most messages, output tokens, or active time (``metric``
    = messages, output_tokens, duration), ties by id."""
    f = parse_filters(params)
    metric = Params(params).choice("metric", TOP_METRICS, "messages")
    base = analytics_sessions(f, using)
    if metric == "duration":
        rows = list(base.filter(started_at__isnull=False, ended_at__isnull=False,
                                ended_at__gte=F("started_at"))
                    .order_by("-active_ms", "id")[:TOP_LIMIT])
    else:
        if metric == "output_tokens":
            rows = list(base.filter(has_total_output_tokens=True)
                        .order_by("-total_output_tokens", "id")[:TOP_LIMIT])
        else:
            rows = list(base.order_by("-message_count", "id")[:TOP_LIMIT])
    sessions = []
    for s in rows:
        item: dict = {"id": s.id, "project": s.project, "first_message": s.first_message}
        if s.display_name:
            item["display_name"] = s.display_name
        active = s.active_ms
        item.update(message_count=s.message_count, output_tokens=s.total_output_tokens,
                    duration_min=_minutes(s.started_at, s.ended_at),
                    active_duration_min=go_round(active / 60_000))
        for key, value in (("started_at", rfc3339(s.started_at)),
                           ("ended_at", rfc3339(s.ended_at)),
                           ("termination_status", s.termination_status)):
            if value:
                item[key] = value
        sessions.append(item)
    return {"metric": metric, "sessions": sessions}


# ---------------------------------------------------------------------------------------------
# sessions (distributions)
# ---------------------------------------------------------------------------------------------

LENGTH_BUCKETS = ((5, "1-5"), (15, "6-15"), (30, "16-30"), (60, "31-60"), (120, "61-120"))
DURATION_BUCKETS = ((5, "<5m"), (15, "5-15m"), (30, "15-30m"), (60, "30-60m"), (120, "1-2h"))
# autonomy = assistant tool-use messages / user messages, compared as integers: t < k·u / 10
AUTONOMY_BUCKETS = ((5, "<0.5"), (10, "0.5-1"), (20, "1-2"), (50, "2-5"), (100, "5-10"))


def _distribution(qs: QuerySet, whens: list[When], default: str, order: list[str]) -> list:
    rows = (qs.annotate(bucket=Case(*whens, default=Value(default), output_field=CharField()))
            .values("bucket").annotate(n=Count("id")).order_by())
    counts = {row["bucket"]: row["n"] for row in rows}
    return [{"label": label, "count": counts[label]} for label in order if counts.get(label)]


def session_shapes(params: Mapping[str, str], using: str) -> dict:
    """Histograms of session length (messages), duration (started → ended) and autonomy
    (assistant tool-use messages per user message)."""
    f = parse_filters(params)
    base = analytics_sessions(f, using)
    length = _distribution(
        base, [When(message_count__lte=top, then=Value(label)) for top, label in LENGTH_BUCKETS],
        "121+", [label for _, label in LENGTH_BUCKETS] + ["121+"])
    timed = base.filter(started_at__isnull=False, ended_at__isnull=False,
                        ended_at__gte=F("started_at")).annotate(
        duration=F("ended_at") - F("started_at"))
    duration = _distribution(
        timed, [When(duration__lt=timedelta(minutes=top), then=Value(label))
                for top, label in DURATION_BUCKETS],
        "2h+", [label for _, label in DURATION_BUCKETS] + ["2h+"])
    per_session = base.filter(rollup_user_messages__gt=0).values_list(
        "rollup_user_messages", "rollup_tool_use_messages")
    autonomy_counts: dict[str, int] = defaultdict(int)
    for users, tool_turns in per_session:  # one row per session: bucket its ratio
        label = next((label for k, label in AUTONOMY_BUCKETS if tool_turns * 10 < users * k),
                     "10+")
        autonomy_counts[label] += 1
    autonomy = [{"label": label, "count": autonomy_counts[label]}
                for label in [label for _, label in AUTONOMY_BUCKETS] + ["10+"]
                if autonomy_counts.get(label)]
    return {"count": base.count(), "length_distribution": length,
            "duration_distribution": duration, "autonomy_distribution": autonomy}


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
        local = datetime.fromtimestamp(quarter, f.zone)
        grid[(local.weekday(), local.hour)] += n
    return {"cells": [{"day_of_week": d, "hour": h, "messages": grid.get((d, h), 0)}
                      for d in range(7) for h in range(24)]}


# ---------------------------------------------------------------------------------------------
# signals
# ---------------------------------------------------------------------------------------------

QUALITY_COUNTS = ("short_prompt_count", "missing_success_criteria_count",
                  "missing_verification_count", "duplicate_prompt_count",
                  "no_code_context_count", "runaway_tool_loop_count", "frustration_marker_count")
QUALITY_FIELDS = ("short_prompt_count", "unstructured_start", *QUALITY_COUNTS[1:])
# The calibrated signals and the sessions each marks as affected.
SIGNAL_PREDICATES: dict[str, Q] = {
    "tool_failure_signals": Q(tool_failure_signal_count__gt=0),
    "tool_retries": Q(tool_retry_count__gt=0),
    "edit_churn": Q(edit_churn_count__gt=0),
    "sessions_with_compaction": Q(compaction_count__gt=0),
    "mid_task_compaction_count": Q(mid_task_compaction_count__gt=0),
    "high_pressure_sessions": Q(context_pressure_max__gte=HIGH_PRESSURE),
    "short_prompt_count": Q(short_prompt_count__gt=0),
    "unstructured_start": Q(unstructured_start=True),
    **{name: Q(**{f"{name}__gt": 0}) for name in QUALITY_COUNTS[1:]},
}
INCOMPLETE = Q(outcome__in=("errored", "abandoned")) | Q(health_grade__in=("D", "F"))
DISTRIBUTION_VALUES = {"health_grade": HEALTH_GRADES, "outcome": OUTCOMES,
                       "outcome_confidence": ("high", "medium", "low")}
SCORED = Q(health_score__isnull=False)


def _group_aggregates() -> dict:
    return {"n": Count("id"), "score_sum": Sum("health_score"),
            "scored": Count("id", filter=SCORED),
            "completed": Count("id", filter=Q(outcome="completed")),
            "errored": Count("id", filter=Q(outcome="errored")),
            "abandoned": Count("id", filter=Q(outcome="abandoned")),
            "failures": Sum("tool_failure_signal_count")}


def _avg_score(row: Mapping) -> Number | None:
    return ratio(row["score_sum"], row["scored"]) if row["scored"] else None


def _group_row(key: str, row: Mapping) -> dict:
    return {key: row[key], "session_count": row["n"], "avg_health_score": _avg_score(row),
            "completed_rate": ratio(row["completed"], row["n"], scale=100),
            "avg_failure_signals": ratio(row["failures"] or 0, row["n"])}


def _calibration(row: Mapping) -> dict:
    """Sessions with each signal against those without: incomplete rate and score delta."""
    result = {}
    for name in sorted(SIGNAL_PREDICATES):
        affected, base_n = row[f"{name}__n"], row["n"] - row[f"{name}__n"]
        incomplete = row[f"{name}__incomplete"]
        base_incomplete = row["incomplete"] - incomplete
        a_scored, a_sum = row[f"{name}__scored"], row[f"{name}__score_sum"] or 0
        b_scored, b_sum = row["scored"] - a_scored, (row["score_sum"] or 0) - a_sum
        a_rate = ratio(incomplete, affected, scale=100)
        b_rate = ratio(base_incomplete, base_n, scale=100)
        result[name] = {
            "signal": name,
            "affected_sessions": affected,
            "baseline_sessions": base_n,
            "affected_incomplete_rate": a_rate,
            "baseline_incomplete_rate": b_rate,
            "incomplete_lift": go_round(a_rate / b_rate) if affected and b_rate else None,
            "avg_score_delta": (go_round(a_sum / a_scored - b_sum / b_scored)
                                if a_scored and b_scored else None),
        }
    return result


def signals(params: Mapping[str, str], using: str) -> dict:
    """Health scores, grades, outcomes, tool/context/prompt-quality signals, their trend per
    local day, per agent and per project, and each signal's calibration."""
    f = parse_filters(params)
    base = analytics_sessions(f, using)
    aggregates = {
        **_group_aggregates(),
        "incomplete": Count("id", filter=INCOMPLETE),
        "retries": Sum("tool_retry_count"), "churn": Sum("edit_churn_count"),
        "with_failures": Count("id", filter=Q(tool_failure_signal_count__gt=0)),
        "compactions": Sum("compaction_count"),
        "with_compaction": Count("id", filter=Q(compaction_count__gt=0)),
        "mid_task": Sum("mid_task_compaction_count"),
        "with_mid_task": Count("id", filter=Q(mid_task_compaction_count__gt=0)),
        "with_context": Count("id", filter=Q(context_pressure_max__isnull=False)),
        "pressure_sum": Sum("context_pressure_max"),
        "high_pressure": Count("id", filter=Q(context_pressure_max__gte=HIGH_PRESSURE)),
        "quality": Count("id", filter=Q(quality_signal_version__gt=0)),
    }
    computed = Q(quality_signal_version__gt=0)
    for name in QUALITY_COUNTS:
        aggregates[f"total__{name}"] = Sum(name, filter=computed)
    aggregates["total__unstructured_start"] = Count("id", filter=computed & Q(
        unstructured_start=True))
    for name in QUALITY_FIELDS:
        aggregates[f"with__{name}"] = Count("id", filter=computed & SIGNAL_PREDICATES[name])
    for name, predicate in SIGNAL_PREDICATES.items():
        aggregates[f"{name}__n"] = Count("id", filter=predicate)
        aggregates[f"{name}__incomplete"] = Count("id", filter=predicate & INCOMPLETE)
        aggregates[f"{name}__scored"] = Count("id", filter=predicate & SCORED)
        aggregates[f"{name}__score_sum"] = Sum("health_score", filter=predicate)
    # the grade, outcome and confidence distributions as counts of the same scan (their
    # values come from fixed sets: signals.py writes no other)
    for column, values in DISTRIBUTION_VALUES.items():
        for value in values:
            aggregates[f"dist__{column}__{value}"] = Count("id", filter=Q(**{column: value}))
    row = base.aggregate(**aggregates)
    n = row["n"]
    distributions = {
        column: {value: row[f"dist__{column}__{value}"] for value in sorted(values)
                 if row[f"dist__{column}__{value}"]}
        for column, values in DISTRIBUTION_VALUES.items()
    }
    trend = (base.annotate(day=local_day("_start", f.zone)).values("day")
             .annotate(**_group_aggregates()).order_by("day"))
    # per agent and per project from one grouped scan: every aggregate is a count or a sum
    agents: dict[str, dict] = {}
    projects: dict[str, dict] = {}
    for r in base.values("agent", "project").annotate(**_group_aggregates()).order_by():
        for key, groups in (("agent", agents), ("project", projects)):
            total = groups.setdefault(r[key], {key: r[key]})
            for name, value in r.items():
                if name not in ("agent", "project"):
                    total[name] = total.get(name, 0) + (value or 0)
    by_agent = [agents[name] for name in sorted(agents)]
    by_project = sorted((_group_row("project", r) for r in projects.values()),
                        key=lambda r: (-r["session_count"], r["project"]))
    quality = row["quality"]
    return {
        "scored_sessions": row["scored"],
        "unscored_sessions": n - row["scored"],
        "grade_distribution": dict(sorted(distributions["health_grade"].items())),
        "avg_health_score": _avg_score(row),
        "outcome_distribution": dict(sorted(distributions["outcome"].items())),
        "outcome_confidence_distribution": dict(sorted(
            distributions["outcome_confidence"].items())),
        "tool_health": {
            "total_failure_signals": row["failures"] or 0,
            "total_retries": row["retries"] or 0,
            "total_edit_churn": row["churn"] or 0,
            "sessions_with_failures": row["with_failures"],
            "failure_rate": ratio(row["with_failures"], n, scale=100),
        },
        "context_health": {
            "avg_compaction_count": ratio(row["compactions"] or 0, n),
            "sessions_with_compaction": row["with_compaction"],
            "mid_task_compaction_count": row["mid_task"] or 0,
            "sessions_with_mid_task_compaction": row["with_mid_task"],
            "sessions_with_context_data": row["with_context"],
            "avg_context_pressure": (ratio(row["pressure_sum"], row["with_context"], digits=3)
                                     if row["with_context"] else None),
            "high_pressure_sessions": row["high_pressure"],
        },
        "quality_health": {
            "computed_sessions": quality,
            "totals": {name: row[f"total__{name}"] or 0 for name in QUALITY_FIELDS},
            "sessions_with_signal": {name: row[f"with__{name}"] for name in QUALITY_FIELDS},
        },
        "trend": [{"date": r["day"].isoformat(), "session_count": r["n"],
                   "avg_health_score": _avg_score(r), "completed": r["completed"],
                   "errored": r["errored"], "abandoned": r["abandoned"],
                   "avg_failure_signals": ratio(r["failures"] or 0, r["n"])} for r in trend],
        "by_agent": [_group_row("agent", r) for r in by_agent],
        "by_project": by_project,
        "calibration": _calibration(row),
    }


# ---------------------------------------------------------------------------------------------
# signal-sessions, skills
# ---------------------------------------------------------------------------------------------

# The column that measures each calibrated signal (SIGNAL_PREDICATES): what signal-sessions
# shows as `value` and ranks by.
SIGNAL_VALUES: dict[str, str] = {
    "tool_failure_signals": "tool_failure_signal_count",
    "tool_retries": "tool_retry_count",
    "edit_churn": "edit_churn_count",
    "sessions_with_compaction": "compaction_count",
    "mid_task_compaction_count": "mid_task_compaction_count",
    "high_pressure_sessions": "context_pressure_max",
    "short_prompt_count": "short_prompt_count",
    "unstructured_start": "unstructured_start",
    **{name: name for name in QUALITY_COUNTS[1:]},
}
SIGNAL_SESSIONS_LIMIT = 50
SIGNAL_SESSIONS_MAX = 500


def signal_sessions(params: Mapping[str, str], using: str) -> dict:
    """The sessions one calibrated signal marks (``signal``, a key of ``signals``'
    calibration), the strongest first: what a lead opens after seeing a signal's rate."""
    f = parse_filters(params)
    p = Params(params)
    name = p.text("signal") or ""
    if name not in SIGNAL_PREDICATES:
        raise BadParameter("signal", name,
                           f'unsupported signal; expected one of "{", ".join(SIGNAL_VALUES)}"')
    limit = p.integer("limit", minimum=1, maximum=SIGNAL_SESSIONS_MAX,
                      default=SIGNAL_SESSIONS_LIMIT)
    column = SIGNAL_VALUES[name]
    affected = analytics_sessions(f, using).filter(SIGNAL_PREDICATES[name])
    total = affected.count()
    rows = affected.order_by(F(column).desc(), F("_start").desc(), "id")[:limit]
    sessions = []
    for s in rows:
        value = getattr(s, column)
        item: dict = {"id": s.id, "project": s.project, "agent": s.agent, "machine": s.machine,
                      "first_message": s.first_message}
        if s.display_name:
            item["display_name"] = s.display_name
        item.update(started_at=rfc3339(s.started_at),
                    ended_at=rfc3339(s.ended_at), message_count=s.message_count,
                    outcome=s.outcome, health_score=s.health_score,
                    health_grade=s.health_grade,
                    value=int(value) if isinstance(value, bool) else value)
        sessions.append(item)
    return {"signal": name, "total": total, "sessions": sessions}


def skills(params: Mapping[str, str], using: str) -> dict:
    """Skill invocations (the ``skill_name`` of Skill tool calls) by skill and per ISO week
    of the session start, from the sessions' rollups."""
    f = parse_filters(params)
    rows = (analytics_sessions(f, using).exclude(rollup_skills__in=("", "[]"))
            .annotate(week=local_day("_start", f.zone, "week"))
            .values_list("week", "rollup_skills"))
    per_skill: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # calls, sessions
    by_week: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for week, text in rows:
        for skill, n in rollups.loads(text):
            counts = per_skill[skill]
            counts[0] += n
            counts[1] += 1
            by_week[week][skill] += n
    total = sum(calls for calls, _ in per_skill.values())
    return {
        "total_skill_calls": total,
        "distinct_skills": len(per_skill),
        "by_skill": sorted(
            ({"skill_name": skill, "call_count": calls, "session_count": n,
              "pct": ratio(calls, total, scale=100)}
             for skill, (calls, n) in per_skill.items()),
            key=lambda r: (-r["call_count"], r["skill_name"])),
        "trend": [{"date": week.isoformat(), "by_skill": dict(sorted(counts.items()))}
                  for week, counts in sorted(by_week.items())],
    }


# ---------------------------------------------------------------------------------------------

ENDPOINTS: dict[str, Callable[[Mapping[str, str], str], dict]] = {
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
