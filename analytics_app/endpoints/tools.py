"""Tool and skill use: calls by category, agent, tool name and week, and the outcome figures
of each tool (``analytics_app.tool_outcomes``), all from the sessions' rollups."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import date

from analytics_app import tool_outcomes
from analytics_app.endpoints.filters import analytics_sessions, local_day, parse_filters
from analytics_app.endpoints.numbers import ratio
from analytics_app.scoring import rollups
from analytics_app.serializers import SKILLS, TOOLS

# ---------------------------------------------------------------------------------------------
# tools
# ---------------------------------------------------------------------------------------------


def _category_counts(counts: Mapping[str, int], total: int) -> list[dict]:
    """``[{category, count, pct}]``, most used first."""
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return [{"category": c, "count": n, "pct": ratio(n, total, scale=100)} for c, n in ordered]


def tools(params: Mapping[str, str], using: str, *, outcomes: bool = True) -> dict:
    """Tool calls by category, by agent, by tool name, and per ISO week of the session start;
    each tool's outcome figures (``tool_outcomes``), summed from the per-session figures the
    rollups keep (``rollups``: ``rollup_tools``), the trailing sequence of a session settled
    with its termination status. ``outcomes=False`` leaves them out, for callers that show no
    ``by_tool`` outcome (every call of a row is then a ``missing_calls`` one)."""
    f = parse_filters(params)
    # two dict updates per (session, tool): calls per (agent, week, category, name) cell and
    # sessions per tool; every breakdown is then summed from the far fewer cells
    cells: dict[tuple[str, date, str, str], int] = {}
    tool_sessions: dict[tuple[str, str], int] = {}
    sums: dict[tuple[str, str], list[int]] = {}  # per tool, ToolOutcomes' fields in order
    for termination, agent, week, text in (
            analytics_sessions(f, using).exclude(rollup_tools__in=("", "[]"))
            .annotate(week=local_day("_start", f.timezone, "week"))
            .values_list("termination_status", "agent", "week", "rollup_tools")):
        rows = rollups.loads(text)
        for row in rows:
            category, name, n = row[0], row[1], row[2]
            key = (agent, week, category, name)
            cells[key] = cells.get(key, 0) + n
            tool = (category, name)
            tool_sessions[tool] = tool_sessions.get(tool, 0) + 1
        if outcomes:
            tool_outcomes.add_rollup(sums, rows, termination)
    analysed = tool_outcomes.totals_of(sums)
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
