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

import gc
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from django.db.models import F, FloatField, QuerySet, Value
from django.db.models.functions import Cast
from django.db.models.lookups import GreaterThanOrEqual, LessThan

from agentsview.api.params import Params
from analytics_app.endpoints.filters import ANALYTICS_FILTERS
from analytics_app.serializers import USAGE_SUMMARY, USAGE_TOP_SESSION
from sessions_app.models import ACTIVE_FROM, COST, LAST_ACTIVE
from sessions_app.parsers.base import INT64_MAX, clamp_int
from sessions_app.selectors import browsable_sessions
from sessions_app.usage.records import QUARTER_S

TOP_DEFAULT_LIMIT = 20
TOP_MAX_LIMIT = 100
TOP_SORTS = ("cost", "tokens")
DAY_S = 86400
OFFSET_STEP_S = 6 * 3600  # how often offset_segments reads the zone's offset
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()

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
    total_tokens: int = field(init=False)  # of the four kinds, clamped

    def __post_init__(self) -> None:
        # sums of clamped counts may pass 64 bits: JSON (and every reader) stops there
        if max(self.input, self.output, self.cache_read, self.cache_write, self.cost,
               self.unpriced_tokens) > INT64_MAX:
            for name in ("input", "output", "cache_read", "cache_write", "cost",
                         "unpriced_tokens"):
                setattr(self, name, clamp_int(getattr(self, name)))
        self.total_tokens = clamp_int(
            self.input + self.output + self.cache_read + self.cache_write)


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


def offset_segments(zone: ZoneInfo, start: int, end: int) -> list[tuple[int, int]]:
    """``[(from, offset)]``: *zone*'s UTC offset (seconds) from each epoch second on, over
    the quarter-hours of ``[start, end)`` (a window of local days: quarter-aligned). The
    offset is read every few hours and a change is found by halving; no zone changes its
    offset twice within ``OFFSET_STEP_S``."""
    def offset_at(seconds: int) -> int:
        return _offset_at(zone, seconds)

    current = offset_at(start)
    segments = [(start, current)]
    pos, last = start, end - QUARTER_S
    while pos < last:
        probe = min(pos + OFFSET_STEP_S, last)
        if offset_at(probe) == current:
            pos = probe
            continue
        low, high = pos, probe  # the offset is current at low, not at high
        while high - low > QUARTER_S:
            mid = low + (high - low) // (2 * QUARTER_S) * QUARTER_S
            low, high = (mid, high) if offset_at(mid) == current else (low, mid)
        current = offset_at(high)
        segments.append((high, current))
        pos = high
    return segments


def _offset_at(zone: ZoneInfo, seconds: int) -> int:
    offset = datetime.fromtimestamp(seconds, UTC).astimezone(zone).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


def local_days(zone: ZoneInfo) -> Callable[[int], int]:
    """The local day in *zone* (days since 1970-01-01) of any UTC epoch second: the offset
    is read once per UTC day, and for each moment of a day in which it changes."""
    offsets: dict[int, int] = {}

    def day(seconds: int) -> int:
        utc_day = seconds // DAY_S
        off = offsets.get(utc_day)
        if off is None:
            midnight = utc_day * DAY_S
            off = _offset_at(zone, midnight)
            if off != _offset_at(zone, midnight + DAY_S - 1):
                return (seconds + _offset_at(zone, seconds)) // DAY_S
            offsets[utc_day] = off
        return (seconds + off) // DAY_S

    return day


Slices = dict[tuple[int, int | None, str], list]  # (dimension, local day or None, name) -> acc
Counts = dict[tuple[str, str], int]  # (project, agent) -> sessions counted


def summary(params: Mapping[str, str], using: str) -> dict:
    """Totals, per day (with per-model, project, agent and machine slices; the last three
    left empty with ``breakdowns=false``) and per dimension over the window."""
    f = parse_filters(params)
    breakdowns = Params(params).boolean("breakdowns", default=True)
    with no_cycle_collection():
        return _summary(f, using, breakdowns)


@contextmanager
def no_cycle_collection() -> Iterator[None]:
    """The cyclic garbage collector paused: a summary makes some 100,000 small lists, tuples
    and dicts (none in a cycle, freed by reference counting), and each few hundred of them
    started a collection that walked the heap (a third of the whole span's median time).
    It resumes at the end, as it was; another thread's request may see it paused."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _summary(f: Any, using: str, breakdowns: bool) -> dict:
    zone, first, last = f.timezone, f.first_day, f.last_day
    slices, counted = _slices(f, using, breakdowns)
    totals = Sum()
    days: dict[int, Day] = {}
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
            entry = days[day] = Day(date.fromordinal(day + EPOCH_ORDINAL).isoformat())
        if dimension == 0:
            entry.total = part
        else:
            getattr(entry, names[dimension] + "s")[name] = part
    unpriced = sorted(name for name, part in by["model"].items() if part.unpriced_tokens)
    by_project: dict[str, int] = {}
    by_agent: dict[str, int] = {}
    for (project, agent), n in counted.items():
        by_project[project] = by_project.get(project, 0) + n
        by_agent[agent] = by_agent.get(agent, 0) + n
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
        "sessionCounts": {"total": sum(counted.values()),
                          "byProject": dict(sorted(by_project.items())),
                          "byAgent": dict(sorted(by_agent.items()))},
    })


def _slices(f: Any, using: str, breakdowns: bool) -> tuple[Slices, Counts]:
    """Each day's slices and the window's, and the sessions counted by project and agent.

    A session inside the window whose first and last quarters share a local day adds its
    per-model totals. Another adds its quarter-hour cells by local day: cut at the local
    midnights when one UTC offset covers the session (the cells are in time order), else
    each cell placed on its own."""
    models = frozenset(f.models)
    start, end = (int(b.timestamp()) for b in f.bounds())
    lo = f.first_day.toordinal() - EPOCH_ORDINAL
    hi = f.last_day.toordinal() - EPOCH_ORDINAL
    segments = offset_segments(f.timezone, start, end)
    starts = [b for b, _ in segments]
    offsets = [o for _, o in segments]
    one_offset = len(segments) == 1
    # whole rollups: PostgreSQL sends them as fast as it cuts their first lines, and the
    # sessions that span local days need their second lines
    rows = usage_sessions(f, using).values_list("project", "agent", "machine", "usage_rollup")
    loads = orjson.loads
    day_of = local_days(f.timezone)

    # (day, model, project, agent, machine) -> [input, output, cache read, cache write,
    # cost of the priced, something priced, unpriced tokens]; days are local day numbers
    cells: dict[tuple[int, str, str, str, str], list] = {}
    get_cell = cells.get
    counted: Counts = {}
    for project, agent, machine, rollup in rows:
        head, _, rest = rollup.partition("\n")
        q0, q1, totals_by_model = loads(head)
        offset: int | None = None  # one UTC offset over the whole session
        if q0 < start or q1 >= end:  # partly (or wholly) outside the window
            if q1 < start or q0 >= end:
                continue
        else:
            if one_offset:
                k0 = k1 = 0
            else:
                k0, k1 = bisect_right(starts, q0) - 1, bisect_right(starts, q1) - 1
            day = (q0 + offsets[k0]) // DAY_S
            if day == (q1 + offsets[k1]) // DAY_S:
                # the whole session in one local day of the window: its model totals
                seen = False
                for model, i, o, r, w, cost in totals_by_model:
                    if models and model not in models:
                        continue
                    seen = True
                    key = (day, model, project, agent, machine)
                    acc = get_cell(key)
                    if acc is None:
                        cells[key] = ([i, o, r, w, 0, False, i + o + r + w] if cost is None
                                      else [i, o, r, w, cost, True, 0])
                        continue
                    acc[0] += i
                    acc[1] += o
                    acc[2] += r
                    acc[3] += w
                    if cost is None:
                        acc[6] += i + o + r + w
                    else:
                        acc[4] += cost
                        acc[5] = True
                if seen:
                    pa = (project, agent)
                    counted[pa] = counted.get(pa, 0) + 1
                continue
            if k0 == k1:
                offset = offsets[k0]
        # its quarter-hour cells, summed per (day, model) first
        quarters = loads(rest)
        mine: dict[tuple[int, str], list] = {}
        if offset is None:
            _add_cells(mine, quarters, models, day_of, lo, hi)
        else:
            times = [c[0] for c in quarters]
            at, n = 0, len(quarters)
            while at < n:
                day = (times[at] + offset) // DAY_S
                upto = bisect_left(times, (day + 1) * DAY_S - offset, at)
                _add_day(mine, day, quarters[at:upto], models)
                at = upto
        for (day, model), (i, o, r, w, cost) in mine.items():
            _accumulate(cells, (day, model, project, agent, machine), i, o, r, w, cost)
        if mine:
            pa = (project, agent)
            counted[pa] = counted.get(pa, 0) + 1

    # each day's slices from the cells, then the window's from the days' (fewer entries);
    # without breakdowns, the days' project, agent and machine slices are not made
    slices: Slices = {}
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
    return slices, counted


def _add_cell(mine: dict, day: int, model: str, i: int, o: int, r: int, w: int,
              cost: int | None) -> None:
    acc = mine.get((day, model))
    if acc is None:
        mine[(day, model)] = [i, o, r, w, cost]
    else:
        acc[0] += i
        acc[1] += o
        acc[2] += r
        acc[3] += w
        acc[4] = None if acc[4] is None or cost is None else acc[4] + cost


def _add_cells(mine: dict, quarters: list, models: frozenset, day_of: Callable[[int], int],
               lo: int, hi: int) -> None:
    """Each cell in its own local day (those outside days lo..hi left out)."""
    for quarter, model, i, o, r, w, cost in quarters:
        if models and model not in models:
            continue
        day = day_of(quarter)
        if lo <= day <= hi:
            _add_cell(mine, day, model, i, o, r, w, cost)


def _add_day(mine: dict, day: int, quarters: list, models: frozenset) -> None:
    """The cells of one local day: summed by column when they share a model (most days)."""
    columns = list(zip(*quarters, strict=True))
    names = set(columns[1])
    if len(names) > 1:
        for _quarter, model, i, o, r, w, cost in quarters:
            if not models or model in models:
                _add_cell(mine, day, model, i, o, r, w, cost)
        return
    (model,) = names
    if models and model not in models:
        return
    costs = columns[6]
    mine[(day, model)] = [sum(columns[2]), sum(columns[3]), sum(columns[4]), sum(columns[5]),
                          None if None in costs else sum(costs)]


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
