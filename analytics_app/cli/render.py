"""Human output of the analytics commands: ``health`` (rendered from the API's session JSON, so
it reads the same whether a server or the local archive answered) and ``stats``."""

from __future__ import annotations

from agentsview.humanize import table, truncate
from analytics_app.scoring import PENALTY_LABELS
from sessions_app.usage.display import usd


def _grade(s: dict) -> str:
    return s.get("health_grade") or "-"


def render_health_list(data: dict) -> str:
    sessions = data["sessions"]
    if not sessions:
        return "No sessions match."
    rows = [
        [
            (s.get("ended_at") or s.get("started_at") or "")[:10] or "-",
            s["agent"],
            _grade(s),
            "-" if s.get("health_score") is None else str(s["health_score"]),
            s["outcome"],
            str(s["message_count"]),
            str(s["tool_failure_signal_count"]),
            truncate(s["project"], 20),
            truncate(s.get("display_name") or s["first_message"] or "(no prompt)", 40),
            s["id"],
        ]
        for s in sessions
    ]
    text = table(["DATE", "AGENT", "GRADE", "SCORE", "OUTCOME", "MSGS", "FAILS", "PROJECT",
                  "NAME", "ID"], rows, right={3, 5, 6})
    if data["total"] > len(sessions):
        text += f"\n{len(sessions)} of {data['total']} sessions (--limit for more)"
    return text


def render_health_detail(s: dict) -> str:
    lines = [f"{s['id']}  {truncate(s.get('display_name') or s['first_message'] or '', 60)}"]
    if s.get("health_score") is None:
        lines.append("Health:   not scored (too little to judge: no tool calls, no context"
                     " data and a low-confidence outcome)")
    else:
        lines.append(f"Health:   {s['health_score']} ({s['health_grade']})")
        basis = s.get("health_score_basis") or []
        if basis:
            lines.append(f"Based on: {', '.join(basis)}")
    lines.append(f"Outcome:  {s['outcome']} ({s['outcome_confidence']} confidence)")
    penalties = s.get("health_penalties") or {}
    if penalties:
        lines.append("Penalties:")
        width = max(len(name) for name in penalties)
        for name, points in sorted(penalties.items(), key=lambda kv: (-kv[1], kv[0])):
            label = PENALTY_LABELS.get(name, "")
            lines.append(f"  -{points:<3} {name.ljust(width)}  {label}".rstrip())
    elif s.get("health_score") is not None:
        lines.append("Penalties: none")
    pressure = s.get("context_pressure_max")
    facts = [
        ("tool failures", s["tool_failure_signal_count"]),
        ("retries", s["tool_retry_count"]),
        ("edit churn", s["edit_churn_count"]),
        ("longest failure streak", s["consecutive_failure_max"]),
        ("failures at the end", s["final_failure_streak"]),
        ("compactions", f"{s['compaction_count']} ({s['mid_task_compaction_count']} mid-task)"),
        ("peak context", "-" if pressure is None else f"{pressure:.0%} of the window"),
    ]
    width = max(len(k) for k, _ in facts)
    lines.append("Signals:")
    lines.extend(f"  {k.ljust(width)}  {v}" for k, v in facts)
    return "\n".join(lines)


def _mapping_lines(mapping: dict, limit: int = 8) -> list[str]:
    items = sorted(mapping.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    width = max((len(k) for k, _ in items), default=0)
    return [f"  {k.ljust(width)}  {v:,}" for k, v in items] or ["  (none)"]


def _population(f: dict, t: dict) -> str:
    """Which sessions the sections after the totals count, in words."""
    flags = [("one-shot sessions", "include_one_shot"), ("automated runs", "include_automated")]
    left_out = [(words, flag) for words, flag in flags if not f.get(flag)]
    counted = t.get("sessions_counted", 0)
    text = f"Counted below: {counted:,} top-level session{'' if counted == 1 else 's'}"
    if left_out:
        text += (f", without {' and '.join(w for w, _ in left_out)}\n  ("
                 + ", ".join(f"--{flag.replace('_', '-')}" for _, flag in left_out)
                 + " to add them)")
    return text


def render_stats(d: dict) -> str:
    """The ``stats`` document as a terminal reads it."""
    t, w, f = d["totals"], d["window"], d["filters"]
    v, o = d["velocity"], d["outcomes"]
    lines = [
        f"Window:    {w['since']} -> {w['until']} ({w['days']} days, {f['timezone']})",
        f"Agents:    {f['agent']}"
        + (f"   Projects: {','.join(f['projects'])}" if f["projects"] else ""),
        "",
        "Totals (every session that started in the window)",
        f"  Sessions:  {t['sessions_all']:,} (human {t['sessions_human']:,}, automation"
        f" {t['sessions_automation']:,}, subagent {t['sessions_subagent']:,})",
        f"  Messages:  {t['messages_total']:,} (user {t['user_messages_total']:,})",
        "",
        _population(f, t),
        "",
        "Session length (messages)",
        f"  mean {d['distributions']['messages_avg']}, median"
        f" {d['distributions']['messages_median']}, p90 {d['distributions']['messages_p90']}",
        "",
        "Velocity",
        f"  Turn cycle (s):      p50={v['turn_cycle_sec']['p50']} p90={v['turn_cycle_sec']['p90']}",
        f"  First response (s):  p50={v['first_response_sec']['p50']}"
        f" p90={v['first_response_sec']['p90']}",
        f"  Messages per active minute: {v['msgs_per_active_min']}",
        "",
        f"Tool mix ({d['tool_mix']['total_calls']:,} calls)",
        *_mapping_lines(d["tool_mix"]["by_category"]),
        "",
        "Models (sessions)",
        *_mapping_lines(d["model_mix"]["by_sessions"]),
        "",
        "Agents (sessions)",
        *_mapping_lines(d["agent_portfolio"]["by_sessions"]),
        "",
        f"Skills ({d['adoption']['skill_calls']:,} calls,"
        f" {d['adoption']['distinct_skills']} distinct)",
        *_mapping_lines(d["adoption"]["by_skill"]),
        f"  Subagents per session: {d['adoption']['subagents_per_session']:.2f}",
        "",
        "Outcomes",
        *_mapping_lines(o["distribution"]),
        "  Grades:  " + (" ".join(f"{g}={n}" for g, n in sorted(o["grade_distribution"].items()))
                         or "(none scored)"),
        f"  Average health: {o['avg_health_score'] if o['avg_health_score'] is not None else '-'}"
        f"   Sessions with tool failures: {o['sessions_with_tool_failures']}",
    ]
    if "cost" in d:
        lines += ["", *_cost_lines(d["cost"])]
    return "\n".join(lines)


def _cost_lines(c: dict) -> list[str]:
    """The cost section: the total of the priced tokens, the unpriced ones, by model."""
    head = f"Cost: {usd(c['total_microdollars'])}"
    if not c["complete"]:
        head += (f" + {c['unpriced_tokens']:,} tokens without a price"
                 f" ({', '.join(m or '(no model)' for m in c['unpriced_models'])})")
    items = sorted(c["by_model"].items(), key=lambda kv: (-(kv[1] or 0), kv[0]))[:8]
    width = max((len(k) for k, _ in items), default=0)
    return [head, *(f"  {k.ljust(width)}  {usd(v)}" for k, v in items)]
