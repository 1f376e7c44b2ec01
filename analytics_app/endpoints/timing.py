"""How sessions run: velocity (turn cycles, first response, throughput), the biggest sessions
and the distributions of length, duration and autonomy."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Case, CharField, Count, F, QuerySet, Value, When

from agentsview.api.params import Params
from analytics_app.endpoints.filters import analytics_sessions, parse_filters
from analytics_app.endpoints.numbers import Number, go_round, percentile_index, ratio
from analytics_app.scoring import rollups
from analytics_app.serializers import SESSION_DISTRIBUTIONS, TOP_SESSIONS, VELOCITY

TOP_METRICS = ("messages", "duration", "output_tokens")
TOP_LIMIT = 10


# ---------------------------------------------------------------------------------------------
# Message timing (velocity, active duration): from the sessions' rollups (scoring/rollups.py)
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
    return VELOCITY.dump({
        "overall": (overall or _Velocity()).overview(overall_cycles),
        "by_agent": by_agent,
        "by_complexity": by_complexity,
    })


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
    for s in rows:  # the two durations TOP_SESSION writes beside the row's own fields
        s.duration_min = _minutes(s.started_at, s.ended_at)
        s.active_duration_min = go_round(s.active_ms / 60_000)
    return TOP_SESSIONS.dump({"metric": metric, "sessions": rows})


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
    return SESSION_DISTRIBUTIONS.dump({
        "count": base.count(), "length_distribution": length,
        "duration_distribution": duration, "autonomy_distribution": autonomy})
