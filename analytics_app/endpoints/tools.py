"""Tool and skill use: calls by category, agent, tool name and week, from the rollups; the
outcome figures of each tool from the tool calls' rows (``analytics_app.tool_outcomes``)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping
from datetime import date
from itertools import groupby

from django.db import connections
from django.db.models import OuterRef, Subquery, Value
from django.db.models.functions import Coalesce

from analytics_app import tool_outcomes
from analytics_app.endpoints.filters import analytics_sessions, local_day, parse_filters
from analytics_app.endpoints.numbers import ratio
from analytics_app.scoring import rollups
from analytics_app.serializers import SKILLS, TOOLS
from sessions_app.models import ToolCall, ToolResultEvent

# ---------------------------------------------------------------------------------------------
# tools
# ---------------------------------------------------------------------------------------------


def _category_counts(counts: Mapping[str, int], total: int) -> list[dict]:
    """``[{category, count, pct}]``, most used first."""
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return [{"category": c, "count": n, "pct": ratio(n, total, scale=100)} for c, n in ordered]


_CALL_FIELDS = ("session_id", "message_ordinal", "tool_name", "category", "input_json",
                "result_content", "result_content_length", "_status")
_IN_CHUNK = 500  # session ids per IN list (SQLite's bound-parameter limit)

# The outcome summary of each session this process has analysed, under its content digest
# (``sessions_app.rows.content_digest``: a hash of every tool call and result event row, so a
# changed session gets a new one): (database, session id) -> (digest, summary). Reading and
# analysing the calls of 10,000 sessions takes seconds; once done, a request reads only the
# sessions that are new or changed. Sessions without a digest are analysed every time.
_SUMMARIES: dict[tuple[str, str], tuple[str, tool_outcomes.SessionSummary]] = {}
_SUMMARIES_LIMIT = 200_000


def _database(using: str) -> str:
    s = connections[using].settings_dict
    return repr((using, s.get("HOST"), s.get("PORT"), s.get("NAME"), s.get("OPTIONS")))


def _calls(session_ids: list[str], using: str) -> Iterator[tuple]:
    """The tool calls of *session_ids* in session, message ordinal, call index order, each
    with the status of its last result event ('' without one)."""
    last_status = (ToolResultEvent.objects.using(using)
                   .filter(session_id=OuterRef("session_id"),
                           tool_call_message_ordinal=OuterRef("message_ordinal"),
                           call_index=OuterRef("call_index"))
                   .order_by("-event_index").values("status")[:1])
    for start in range(0, len(session_ids), _IN_CHUNK):
        yield from (ToolCall.objects.using(using)
                    .filter(session_id__in=session_ids[start:start + _IN_CHUNK])
                    .annotate(_status=Coalesce(Subquery(last_status), Value("")))
                    .order_by("session_id", "message_ordinal", "call_index")
                    .values_list(*_CALL_FIELDS).iterator(chunk_size=5000))


def _outcomes(sessions: list[tuple[str, str, str]], using: str
              ) -> dict[tuple[str, str], tool_outcomes.ToolOutcomes]:
    """Each tool's outcome figures over *sessions* ``(id, content digest, termination)``."""
    database = _database(using)
    summaries: dict[str, tool_outcomes.SessionSummary] = {}
    missing = []
    for session_id, digest, _ in sessions:
        known = _SUMMARIES.get((database, session_id)) if digest else None
        if known is not None and known[0] == digest:
            summaries[session_id] = known[1]
        else:
            missing.append(session_id)
    if missing:
        digests = {session_id: digest for session_id, digest, _ in sessions}
        if len(_SUMMARIES) + len(missing) > _SUMMARIES_LIMIT:
            _SUMMARIES.clear()
        for session_id, rows in groupby(_calls(missing, using), key=lambda row: row[0]):
            summary = tool_outcomes.summarize(tool_outcomes.Call(*row[1:]) for row in rows)
            summaries[session_id] = summary
            if digests[session_id]:
                _SUMMARIES[(database, session_id)] = (digests[session_id], summary)
    sums: dict[tuple[str, str], list[int]] = {}
    tool_outcomes.add_summaries(sums, ((summaries[session_id], termination)
                                       for session_id, _, termination in sessions
                                       if session_id in summaries))
    return tool_outcomes.totals_of(sums)


def tools(params: Mapping[str, str], using: str, *, outcomes: bool = True) -> dict:
    """Tool calls by category, by agent, by tool name, and per ISO week of the session start;
    each tool's outcome figures (``tool_outcomes``) from the calls of the same sessions.
    ``outcomes=False`` skips that analysis, for callers that show no ``by_tool`` outcome
    (every call of a row is then a ``missing_calls`` one)."""
    f = parse_filters(params)
    sessions: list[tuple[str, str, str]] = []  # id, content digest, termination status
    rows = []
    for session_id, digest, termination, agent, week, text in (
            analytics_sessions(f, using).annotate(week=local_day("_start", f.timezone, "week"))
            .values_list("id", "content_digest", "termination_status", "agent", "week",
                         "rollup_tools")):
        if text not in ("", "[]"):
            sessions.append((session_id, digest, termination))
        rows.append((agent, week, text))
    analysed = _outcomes(sessions, using) if outcomes else {}
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
        ({**tool_outcomes.fields(analysed.get((category, name)), calls),
          "tool_name": name or "Unknown", "category": category, "call_count": calls,
          "session_count": n, "pct": ratio(calls, total, scale=100)}
         for (category, name), (calls, n) in per_tool.items()),
        key=lambda t: (-t["call_count"], t["tool_name"], t["category"]),
    )
    return TOOLS.dump({
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
    })


def skills(params: Mapping[str, str], using: str) -> dict:
    """Skill invocations (the ``skill_name`` of Skill tool calls) by skill and per ISO week
    of the session start, from the sessions' rollups."""
    f = parse_filters(params)
    rows = (analytics_sessions(f, using).exclude(rollup_skills__in=("", "[]"))
            .annotate(week=local_day("_start", f.timezone, "week"))
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
    return SKILLS.dump({
        "total_skill_calls": total,
        "distinct_skills": len(per_skill),
        "by_skill": sorted(
            ({"skill_name": skill, "call_count": calls, "session_count": n,
              "pct": ratio(calls, total, scale=100)}
             for skill, (calls, n) in per_skill.items()),
            key=lambda r: (-r["call_count"], r["skill_name"])),
        "trend": [{"date": week.isoformat(), "by_skill": dict(sorted(counts.items()))}
                  for week, counts in sorted(by_week.items())],
    })
