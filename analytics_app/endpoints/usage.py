"""Usage and cost over many sessions (``/api/v1/usage/summary``, ``/usage/top-sessions``):
totals, per local day, per model, project, agent and machine.

Which usage counts: the records (``sessions_app/usage/records.py``) whose quarter-hour falls
in the window of local days ``[from, to]`` (an untimed record: at its session's start), of the
sessions the session filters keep. Unlike the other analytics, subagents, one-shot and
automated sessions count by default: their tokens were spent too. Nothing reads the
messages: each session's usage rollup (one JSON row per session) is decoded and summed here,
in integers, so SQLite and PostgreSQL give the same bytes.

A record whose model has no price adds its tokens to ``unpricedTokens`` and its model to
``unpricedModels``, never 0 to a cost: a cost is the sum of the priced records, and an entry
with nothing priced has a null cost.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import orjson
from django.db.models import F, FloatField, QuerySet, Value
from django.db.models.functions import Cast, StrIndex, Substr
from django.db.models.lookups import GreaterThanOrEqual, LessThan

from agentsview.api.params import Params
from analytics_app.endpoints.filters import ANALYTICS_FILTERS
from analytics_app.serializers import USAGE_SUMMARY, USAGE_TOP_SESSION
from sessions_app.models import ACTIVE_FROM, COST, LAST_ACTIVE, Session
from sessions_app.parsers.base import INT64_MAX, clamp_int
from sessions_app.selectors import browsable_sessions
from sessions_app.usage.records import rollup_cells

TOP_DEFAULT_LIMIT = 20
TOP_MAX_LIMIT = 100
TOP_SORTS = ("cost", "tokens")
SPANNING_BATCH = 1000  # sessions whose quarter-hour cells one query reads

# The analytics filters (window, model, weekday, hour and the session filters), with every
# session that spent tokens counted unless the query leaves some out.
USAGE_FILTERS = ANALYTICS_FILTERS.with_defaults(
    "UsageFilters", include_one_shot=True, include_automated=True, include_children=True)


def parse_filters(params: Mapping[str, str]) -> Any:
    return USAGE_FILTERS.parse(params)


def usage_sessions(f: Any, using: str) -> QuerySet:
    """The sessions the filters keep that have usage and were active in the window."""
    start, end = f.bounds()
    qs = USAGE_FILTERS.apply(browsable_sessions(using=using), f)
    return qs.exclude(usage_rollup="").filter(
        GreaterThanOrEqual(LAST_ACTIVE, start), LessThan(ACTIVE_FROM, end))


@dataclass(slots=True)
class Sum:
    """Tokens by kind, the cost of the priced ones and the tokens without a price."""

    input: int = 0
    output: int = 0
    cache_read: int = 0
    cache_write: int = 0
    cost: int = 0
    priced: bool = False  # some record was priced (else the cost is unknown: null)
    unpriced_tokens: int = 0

    def __post_init__(self) -> None:
        # sums of clamped counts may pass 64 bits: JSON (and every reader) stops there
        if max(self.input, self.output, self.cache_read, self.cache_write, self.cost,
               self.unpriced_tokens) > INT64_MAX:
            for name in ("input", "output", "cache_read", "cache_write", "cost",
                         "unpriced_tokens"):
                setattr(self, name, clamp_int(getattr(self, name)))

    @property
    def total_tokens(self) -> int:
        return clamp_int(self.input + self.output + self.cache_read + self.cache_write)


@dataclass
class Day:
    """One local day's usage; its splits by name while summing, then ranked (``ranked``)."""

    date: str
    total: Sum = field(default_factory=Sum)
    models: Any = field(default_factory=dict)
    projects: Any = field(default_factory=dict)
    agents: Any = field(default_factory=dict)
    machines: Any = field(default_factory=dict)

    def rank(self) -> Day:
        for name in ("models", "projects", "agents", "machines"):
            setattr(self, name, ranked(getattr(self, name)))
        return self


def _merge(table: dict, key: tuple, acc: list) -> None:
    t = table.get(key)
    if t is None:
        table[key] = acc[:]
        return
    t[0] += acc[0]
    t[1] += acc[1]
    t[2] += acc[2]
    t[3] += acc[3]
    t[4] += acc[4]
    t[5] = t[5] or acc[5]
    t[6] += acc[6]


def _accumulate(cells: dict, key: tuple, i: int, o: int, r: int, w: int, cost) -> None:
    acc = cells.get(key)
    if acc is None:
        acc = cells[key] = [0, 0, 0, 0, 0, False, 0]
    acc[0] += i
    acc[1] += o
    acc[2] += r
    acc[3] += w
    if cost is None:
        acc[6] += i + o + r + w
    else:
        acc[4] += cost
        acc[5] = True


def summary(params: Mapping[str, str], using: str) -> dict:
    """Totals, per day (with per-model, project, agent and machine slices; the last three
    left empty with ``breakdowns=false``) and per dimension over the window."""
    f = parse_filters(params)
    breakdowns = Params(params).boolean("breakdowns", default=True)
    zone, first, last = f.timezone, f.first_day, f.last_day
    models = frozenset(f.models)
    # the rollups' first lines only (a seventh of their text); the quarter-hour cells are
    # read for the sessions that span local days, in a second query
    rows = usage_sessions(f, using).annotate(_head=Substr(
        "usage_rollup", 1, StrIndex("usage_rollup", Value("\n")) - 1)).values_list(
        "id", "project", "agent", "machine", "_head")
    day_cache: dict[int, date] = {}

    def day_of(quarter: int) -> date:
        day = day_cache.get(quarter)
        if day is None:
            day = day_cache[quarter] = datetime.fromtimestamp(quarter, UTC).astimezone(
                zone).date()
        return day

    # (day, model, project, agent, machine) -> [input, output, cache read, cache write,
    # cost of the priced, something priced, unpriced tokens]
    cells: dict[tuple[date, str, str, str, str], list] = {}
    sessions: dict[str, tuple[str, str]] = {}
    spanning: dict[str, tuple[str, str, str]] = {}
    for sid, project, agent, machine, head in rows:
        q0, q1, totals_by_model = orjson.loads(head)
        single = day_of(q0)
        if single != day_of(q1):
            spanning[sid] = (project, agent, machine)
            continue
        if first <= single <= last:  # the whole session in one local day: its model totals
            counted = False
            for model, i, o, r, w, cost in totals_by_model:
                if models and model not in models:
                    continue
                _accumulate(cells, (single, model, project, agent, machine), i, o, r, w, cost)
                counted = True
            if counted:
                sessions[sid] = (project, agent)
    ids = list(spanning)
    for start in range(0, len(ids), SPANNING_BATCH):
        batch = ids[start:start + SPANNING_BATCH]
        for sid, rollup in Session.objects.using(using).filter(pk__in=batch).values_list(
                "id", "usage_rollup"):
            project, agent, machine = spanning[sid]
            # summed per (day, model) first: a session's quarters mostly share their day
            mine: dict[tuple[date, str], list] = {}
            for quarter, model, i, o, r, w, cost in rollup_cells(rollup):
                if models and model not in models:
                    continue
                day = day_cache.get(quarter)
                if day is None:
                    day = day_of(quarter)
                if day < first or day > last:
                    continue
                acc = mine.get((day, model))
                if acc is None:
                    mine[(day, model)] = [i, o, r, w, cost]
                else:
                    acc[0] += i
                    acc[1] += o
                    acc[2] += r
                    acc[3] += w
                    acc[4] = None if acc[4] is None or cost is None else acc[4] + cost
            for (day, model), (i, o, r, w, cost) in mine.items():
                _accumulate(cells, (day, model, project, agent, machine), i, o, r, w, cost)
            if mine:
                sessions[sid] = (project, agent)

    # each day's slices from the cells, then the window's from the days' (fewer entries);
    # without breakdowns, the days' project, agent and machine slices are not made
    slices: dict[tuple[int, date | None, str], list] = {}
    get = slices.get
    for (day, model, project, agent, machine), acc in cells.items():
        i, o, r, w, cost, priced, unpriced = acc
        keys = ((0, day, ""), (1, day, model), (2, day, project), (3, day, agent),
                (4, day, machine)) if breakdowns else (
            (0, day, ""), (1, day, model), (2, None, project), (3, None, agent),
            (4, None, machine))
        for key in keys:
            t = get(key)
            if t is None:
                slices[key] = acc[:]
            else:  # _merge, inlined: the hottest loop of the summary
                t[0] += i
                t[1] += o
                t[2] += r
                t[3] += w
                t[4] += cost
                t[5] = t[5] or priced
                t[6] += unpriced
    for (dimension, day, name), acc in list(slices.items()):
        if day is not None:
            _merge(slices, (dimension, None, name), acc)
    totals = Sum()
    days: dict[date, Day] = {}
    by: dict[str, dict[str, Sum]] = {"model": {}, "project": {}, "agent": {}, "machine": {}}
    names = ("", "model", "project", "agent", "machine")
    for (dimension, day, name), acc in slices.items():
        part = Sum(*acc)
        if day is None:
            if dimension == 0:
                totals = part
            else:
                by[names[dimension]][name] = part
            continue
        entry = days.get(day)
        if entry is None:
            entry = days[day] = Day(day.isoformat())
        if dimension == 0:
            entry.total = part
        else:
            getattr(entry, names[dimension] + "s")[name] = part
    unpriced = sorted(name for name, part in by["model"].items() if part.unpriced_tokens)
    by_project: dict[str, int] = {}
    by_agent: dict[str, int] = {}
    for project, agent in sessions.values():
        by_project[project] = by_project.get(project, 0) + 1
        by_agent[agent] = by_agent.get(agent, 0) + 1
    return USAGE_SUMMARY.dump({
        "from": first.isoformat(),
        "to": last.isoformat(),
        "timezone": zone.key,
        "totals": totals,
        "unpricedModels": unpriced,
        "daily": [days[d].rank() for d in sorted(days)],
        "modelTotals": ranked(by["model"]),
        "projectTotals": ranked(by["project"]),
        "agentTotals": ranked(by["agent"]),
        "machineTotals": ranked(by["machine"]),
        "sessionCounts": {"total": len(sessions), "byProject": dict(sorted(by_project.items())),
                          "byAgent": dict(sorted(by_agent.items()))},
    })


def ranked(table: dict[str, Sum]) -> list[tuple[str, Sum]]:
    """Entries by cost, then tokens, then name: the costliest first."""
    return sorted(table.items(), key=lambda kv: (-kv[1].cost, -kv[1].total_tokens, kv[0]))


def top_sessions(params: Mapping[str, str], using: str) -> list[dict]:
    """The costliest sessions (or those with the most tokens) active in the window, each
    with its whole usage; an unknown cost ranks below every known one."""
    p = Params(params)
    limit = p.integer("limit", minimum=1, maximum=TOP_MAX_LIMIT, default=TOP_DEFAULT_LIMIT)
    sort = p.choice("sort", TOP_SORTS, "cost")
    f = parse_filters(params)
    # ranked as floats: four 64-bit counts may not sum in 64 bits (the JSON gives the exact,
    # clamped sum)
    tokens = sum((Cast(F(c), FloatField()) for c in (
        "usage_input_tokens", "usage_output_tokens", "usage_cache_read_tokens",
        "usage_cache_write_tokens")), Value(0.0, output_field=FloatField()))
    qs = usage_sessions(f, using).annotate(_cost=COST, _tokens=tokens)
    order = ("-_cost", "-_tokens", "id") if sort == "cost" else ("-_tokens", "-_cost", "id")
    rows = qs.order_by(*order).only(
        "id", "display_name", "first_message", "agent", "project", "machine", "started_at",
        "created_at", "usage_input_tokens", "usage_output_tokens", "usage_cache_read_tokens",
        "usage_cache_write_tokens", "cost_microdollars")[:limit]
    return USAGE_TOP_SESSION.dump_all(rows)
