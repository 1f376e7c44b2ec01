"""The ``manage.py stats`` document: a window's usage in one JSON object (schema_version 1),
assembled from the analytics queries so its numbers are the API's numbers.

Sections that need data we do not record (cache economics, code attribution, plan mode) are
left out rather than filled with guesses; ``adoption`` has the skills and subagent figures
only. ``cost`` (schema 2) is the usage summary's (``/api/v1/usage/summary``) over the same
window and filters: every session that spent tokens in it, subagents included, exact
microdollars, tokens without a price counted apart.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce

from agentsview.api.params import BadParameter, Params
from agentsview.timefmt import rfc3339
from analytics_app import endpoints
from analytics_app.endpoints import usage
from analytics_app.endpoints.filters import analytics_sessions, default_last_day, parse_filters
from analytics_app.scoring import rollups

SCHEMA_VERSION = 2  # 2: the cost section (issue 18)
RELATIVE = re.compile(r"^(\d{1,4})([dwmy])$")
SINCE_PATTERN = "^([0-9]{1,4}[dwmy]|[0-9]{4}-[0-9]{2}-[0-9]{2})$"  # what since_day reads
UNIT_DAYS = {"d": 1, "w": 7, "m": 30, "y": 365}


def since_day(raw: str, today: date) -> date:
    """``28d``, ``2w``, ``3m`` (30-day months), ``1y`` before *today*, or a YYYY-MM-DD day."""
    match = RELATIVE.match(raw.strip())
    if match:
        return today - timedelta(days=int(match.group(1)) * UNIT_DAYS[match.group(2)])
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise BadParameter("since", raw, "expected 28d, 2w, 3m, 1y or YYYY-MM-DD") from None


DEFAULT_SINCE = "28d"
# the window's own parameters: ``from`` and ``to`` of the analytics, said as people say them
WINDOW_PARAMETERS = ("since", "until")


def window_params(params: Mapping[str, str], using: str, *, since: str | None,
                  until: str | None) -> dict[str, str]:
    """The analytics parameters of a stats window: *params* (the filters) with ``from`` and
    ``to`` from *since* (``28d``, ``2w``, ``3m``, ``1y`` or a day; default 28 days) and
    *until* (a day; default today, or the newest session's day when nothing was asked)."""
    out = {k: v for k, v in params.items() if k not in WINDOW_PARAMETERS}
    zone = Params(out).zone("timezone")
    today = datetime.now(zone).date()
    if until:
        last = Params({"until": until}).day("until")
    elif since:
        last = today
    else:  # nothing asked: the window that holds the newest sessions
        last = default_last_day(out, using, today=today)
    out.update({"from": since_day(since or DEFAULT_SINCE, last).isoformat(),
                "to": last.isoformat(), "timezone": zone.key})
    return out


def _totals(f, using: str) -> dict:
    """Every session of the window the filters keep, children, one-shot and automated runs
    too, split by kind."""
    everything = analytics_sessions(replace(f, include_one_shot=True, include_automated=True,
                                            include_children=True, automated_scope=""), using)
    row = everything.aggregate(
        all=Count("id"),
        subagent=Count("id", filter=Q(parent_session_id__isnull=False)),
        automation=Count("id", filter=Q(parent_session_id__isnull=True, is_automated=True)),
        messages=Coalesce(Sum("message_count"), 0),
        user_messages=Coalesce(Sum("user_message_count"), 0),
    )
    return {
        "sessions_all": row["all"],
        "sessions_human": row["all"] - row["subagent"] - row["automation"],
        "sessions_automation": row["automation"],
        "sessions_subagent": row["subagent"],
        "messages_total": row["messages"],
        "user_messages_total": row["user_messages"],
    }


def _model_mix(f, using: str) -> dict:
    """Sessions per model (a session that switched models counts for each)."""
    counts: Counter[str] = Counter()
    for text in analytics_sessions(f, using).values_list("rollup_models", flat=True):
        counts.update(rollups.loads(text))
    return {"by_sessions": dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))}


def build(params: Mapping[str, str], using: str, *, now: datetime | None = None) -> dict:
    """*params* are the analytics parameters (``from``, ``to``, ``timezone``, filters)."""
    now = now or datetime.now(UTC)
    f = parse_filters(params)
    summary = endpoints.summary(params, using)
    shapes = endpoints.session_shapes(params, using)
    velocity = endpoints.velocity(params, using)["overall"]
    tools = endpoints.tools(params, using, outcomes=False)
    signals = endpoints.signals(params, using)
    hours = endpoints.hour_of_week(params, using)["cells"]
    skills = endpoints.skills(params, using)
    totals = _totals(f, using)
    # the sections after totals count only the top-level sessions the filters keep
    totals["sessions_counted"] = summary["total_sessions"]
    top_level = totals["sessions_all"] - totals["sessions_subagent"]
    by_sessions = {a: v["sessions"] for a, v in summary["agents"].items()}
    outcomes = signals.get("outcome_distribution") or {}
    scored = signals.get("scored_sessions") or 0
    tool_health = signals.get("tool_health") or {}
    context_health = signals.get("context_health") or {}
    start, end = f.bounds()
    return {
        "schema_version": SCHEMA_VERSION,
        "window": {"since": rfc3339(start), "until": rfc3339(end),
                   "days": (f.last_day - f.first_day).days + 1},
        "filters": {
            "agent": ",".join(f.agents) or "all",
            "projects": list(f.projects),
            "machines": list(f.machines),
            "timezone": str(f.timezone),
            "include_one_shot": f.include_one_shot,
            "include_automated": f.include_automated,
        },
        "totals": totals,
        "distributions": {
            "messages": shapes["length_distribution"],
            "duration": shapes["duration_distribution"],
            "autonomy": shapes["autonomy_distribution"],
            "messages_avg": summary["avg_messages"],
            "messages_median": summary["median_messages"],
            "messages_p90": summary["p90_messages"],
        },
        "velocity": velocity,
        "tool_mix": {"by_category": {c["category"]: c["count"] for c in tools["by_category"]},
                     "total_calls": tools["total_calls"]},
        "model_mix": _model_mix(f, using),
        "agent_portfolio": {
            "by_sessions": by_sessions,
            "by_messages": {a: v["messages"] for a, v in summary["agents"].items()},
            "primary": max(sorted(by_sessions), key=by_sessions.get) if by_sessions else "",
        },
        "adoption": {
            "distinct_skills": skills["distinct_skills"],
            "skill_calls": skills["total_skill_calls"],
            "by_skill": {r["skill_name"]: r["call_count"] for r in skills["by_skill"]},
            # subagent sessions per top-level session of the window (every agent)
            "subagents_per_session": (totals["sessions_subagent"] / top_level
                                      if top_level else 0),
        },
        "temporal": {
            "hour_of_week": [c for c in hours if c["messages"]],
            "active_days": summary["active_days"],
            "timezone": str(f.timezone),
        },
        "outcomes": {
            "distribution": outcomes,
            "grade_distribution": signals.get("grade_distribution") or {},
            "scored_sessions": scored,
            "avg_health_score": signals.get("avg_health_score"),
            "sessions_with_tool_failures": tool_health.get("sessions_with_failures", 0),
            "tool_retries": tool_health.get("total_retries", 0),
            "avg_compactions": context_health.get("avg_compaction_count", 0),
        },
        "cost": _cost(params, using),
        "generated_at": rfc3339(now),
    }


def _cost(params: Mapping[str, str], using: str) -> dict:
    """What the window's tokens cost, by model, agent, project and machine."""
    data = usage.summary(params, using)
    totals = data["totals"]

    def by(entries: list[dict], key: str) -> dict:
        return {e[key]: e["cost"]["microdollars"] if e["cost"] is not None else None
                for e in entries}

    return {
        "total_microdollars": totals["cost"]["microdollars"] if totals["cost"] else 0,
        "complete": not totals["unpricedTokens"],
        "unpriced_tokens": totals["unpricedTokens"],
        "unpriced_models": data["unpricedModels"],
        "tokens": {"input": totals["inputTokens"], "output": totals["outputTokens"],
                   "cache_read": totals["cacheReadTokens"],
                   "cache_write": totals["cacheCreationTokens"]},
        "by_model": by(data["modelTotals"], "model"),
        "by_agent": by(data["agentTotals"], "agent"),
        "by_project": by(data["projectTotals"], "project"),
        "by_machine": by(data["machineTotals"], "machineName"),
        "sessions": data["sessionCounts"]["total"],
    }
