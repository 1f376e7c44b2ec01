"""Human output of the session CLI, rendered from the API's JSON (so it is the same whatever
answered)."""

from __future__ import annotations

from datetime import datetime

from agentsview.humanize import age, table, truncate
from sessions_app.parsers.registry import AGENTS

NAME_WIDTH = 48
CONTENT_LINES = 12


def _when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def render_list(data: dict) -> str:
    sessions = data["sessions"]
    if not sessions:
        return "No sessions match."
    rows = [
        [
            s["id"],
            age(_when(s.get("ended_at") or s.get("started_at"))),
            s["agent"],
            truncate(s["project"], 20),
            truncate(s.get("git_branch") or "—", 24),
            str(s["message_count"]),
            truncate(s.get("display_name") or s["first_message"] or "(no prompt)", NAME_WIDTH),
            truncate(s["machine"], 16),
        ]
        for s in sessions
    ]
    text = table(["ID", "AGE", "AGENT", "PROJECT", "BRANCH", "MSGS", "NAME", "MACHINE"], rows,
                 right={5})
    shown = len(sessions)
    if data["total"] > shown:
        more = " (--cursor with the next_cursor of --format json for more)" \
            if data.get("next_cursor") else ""
        text += f"\n{shown} of {data['total']} sessions{more}"
    return text


def render_detail(s: dict) -> str:
    fields = [
        ("id", s["id"]),
        ("name", s.get("display_name") or s["first_message"]),
        ("project", s["project"]),
        ("agent", s["agent"]),
        ("machine", s["machine"]),
        ("branch", s.get("git_branch", "")),
        ("cwd", s.get("cwd", "")),
        ("started", s.get("started_at") or ""),
        ("ended", s.get("ended_at") or ""),
        ("messages", f"{s['message_count']} ({s['user_message_count']} prompts)"),
        ("parent", s.get("parent_session_id", "")),
        ("relationship", s.get("relationship_type", "")),
        ("outcome", f"{s['outcome']} ({s['outcome_confidence']} confidence)"),
        ("health", "not scored" if s.get("health_score") is None
         else f"{s['health_score']} ({s['health_grade']})"),
        ("tokens", f"{s['total_output_tokens']} out, peak context {s['peak_context_tokens']}"),
    ]
    width = max(len(k) for k, _ in fields)
    return "\n".join(f"{k.ljust(width)}  {v}" for k, v in fields if v not in ("", None))


def render_messages(data: dict) -> str:
    blocks = []
    for m in data["messages"]:
        label = m["role"]
        if m["is_system"]:
            label += f" (system: {m.get('source_subtype', '')})"
        head = f"#{m['ordinal']}  {label}  {m.get('timestamp') or ''}".rstrip()
        lines = m["content"].splitlines() or [""]
        shown = lines[:CONTENT_LINES]
        if len(lines) > CONTENT_LINES:
            shown.append(f"… {len(lines) - CONTENT_LINES} more lines")
        blocks.append(head + "\n" + "\n".join("    " + line for line in shown))
    if not blocks:
        return "No messages."
    return "\n\n".join(blocks)


def render_tools(data: dict) -> str:
    calls = data["tool_calls"]
    if not calls:
        return "No tool calls."
    rows = [
        [str(c["ordinal"]), (c.get("timestamp") or "")[11:19], c["tool_name"], c["category"],
         ("—" if c.get("result_length") is None else str(c["result_length"]))
         + (" failed" if c.get("status") in ("errored", "cancelled") else ""),
         truncate(c["input_json"], 60)]
        for c in calls
    ]
    return table(["ORD", "TIME", "TOOL", "CATEGORY", "RESULT", "INPUT"], rows, right={0, 4})


def render_matches(data: dict) -> str:
    """``session search``: one line per match (session, ordinal, where, the snippet on one
    line), then how to get the next page."""
    matches = data["matches"]
    if not matches:
        return "No matches."
    rows = [[m["session_id"], f"#{m['ordinal']}",
             m["location"] + (f" ({m['tool_name']})" if m.get("tool_name") else ""),
             truncate(" ".join(m["snippet"].split()), 100)] for m in matches]
    text = table(["SESSION", "ORD", "WHERE", "SNIPPET"], rows)
    if data.get("next_cursor"):
        text += f"\n(more: --cursor {data['next_cursor']})"
    return text


def render_agents(data: dict) -> str:
    """Every agent the archive knows, by the key the ``--agent`` flags take, with its display
    name and its sessions (0 for an agent without any yet)."""
    counts = {a["name"]: a["session_count"] for a in data["agents"]}
    names = {a["name"]: a.get("display_name") or a["name"] for a in data["agents"]}
    keys = [*AGENTS, *sorted(set(counts) - set(AGENTS))]
    rows = [[key, AGENTS[key].display_name if key in AGENTS else names[key],
             str(counts.get(key, 0))] for key in keys]
    return table(["AGENT", "NAME", "SESSIONS"], rows, right={2})
