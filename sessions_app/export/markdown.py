"""The XML-tagged Markdown transcript of a session, byte-equal to AgentsView's.

Pure functions over the API DTOs (the dicts the session and messages endpoints return).
Transcript text is untrusted: everything from it is escaped, or wrapped in CDATA sections
that cannot be closed early.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sessions_app.export.segments import Segment, message_segments
from sessions_app.export.text import clean
from sessions_app.parsers.registry import AGENTS

ChildLoader = Callable[[str], tuple[dict, list[dict]] | None]

_TODO_ICONS = {"completed": "\u2713", "in_progress": "\u2192"}
_TODO_PENDING_ICON = "\u25cb"

_MD_HEADING_SPECIAL = set("\\`*_[]<>#|~&!")

_ALLOWED_DEPTHS = {"1": "1", "all": "all"}


# ---------------------------------------------------------------------------
# Escaping helpers
# ---------------------------------------------------------------------------


def _xml_text(text: Any) -> str:
    """Escape text the way the reference does (Go's html.EscapeString)."""
    return (
        clean(text)
        .replace("&", "&amp;")
        .replace("'", "&#39;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&#34;")
    )


def _xml_attr(value: Any) -> str:
    """Escape an attribute value; whitespace that XML would normalise is kept as references."""
    return (
        _xml_text(value).replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#9;")
    )


def _cdata(text: Any) -> str:
    """Wrap text in a CDATA section on its own lines; a `]]>` inside is split in two."""
    body = clean(text).replace("]]>", "]]]]><![CDATA[>")
    return f"<![CDATA[\n{body}\n]]>"


def _attrs(pairs: list[tuple[str, Any]]) -> str:
    """Render ` key="value"` pairs, skipping None and empty strings."""
    out = []
    for key, value in pairs:
        if value is None or value == "":
            continue
        out.append(f' {key}="{_xml_attr(value)}"')
    return "".join(out)


def _markdown_heading_text(text: Any) -> str:
    """Make a project name safe for a one-line Markdown heading."""
    flat = " ".join(clean(text).split())
    return "".join("\\" + ch if ch in _MD_HEADING_SPECIAL else ch for ch in flat)


# ---------------------------------------------------------------------------
# Tool bodies
# ---------------------------------------------------------------------------


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _object_members(raw: str) -> list[tuple[str, Any, str]] | None:
    """Top-level members of a JSON object as (key, value, value's raw JSON text).

    The raw text is kept so non-string values print exactly as the agent wrote them.
    None when the input is not a JSON object, or nests too deep to read (the tool body then
    falls back to the stored text).
    """
    decoder = json.JSONDecoder()
    try:
        pos = _skip_ws(raw, 0)
        if pos >= len(raw) or raw[pos] != "{":
            return None
        pos = _skip_ws(raw, pos + 1)
        members: list[tuple[str, Any, str]] = []
        if pos < len(raw) and raw[pos] == "}":
            return members if not raw[pos + 1:].strip() else None
        while True:
            key, pos = decoder.raw_decode(raw, pos)
            if not isinstance(key, str):
                return None
            pos = _skip_ws(raw, pos)
            if raw[pos] != ":":
                return None
            start = _skip_ws(raw, pos + 1)
            value, end = decoder.raw_decode(raw, start)
            members.append((key, value, raw[start:end]))
            pos = _skip_ws(raw, end)
            if raw[pos] == ",":
                pos = _skip_ws(raw, pos + 1)
                continue
            if raw[pos] == "}" and not raw[pos + 1:].strip():
                return members
            return None
    except (ValueError, IndexError, RecursionError):
        return None


def _diff_lines(prefix: str, text: str) -> list[str]:
    return [prefix + line for line in text.split("\n")]


def _todo_body(todos: Any) -> str | None:
    if not isinstance(todos, list):
        return None
    rows = []
    for item in todos:
        if not isinstance(item, dict):
            continue
        icon = _TODO_ICONS.get(str(item.get("status", "")), _TODO_PENDING_ICON)
        rows.append(f"  {icon} {item.get('content', '')}")
    return "\n".join(rows)


def _fallback_body(call: dict) -> str:
    """Body generated from a tool call's input when the content carried none."""
    members = _object_members(str(call.get("input_json") or ""))
    if not members:
        return ""
    values = {key: value for key, value, _ in members}
    raws = {key: raw for key, _, raw in members}
    category = call.get("category") or ""
    name = call.get("tool_name") or ""

    if category == "Bash" and "command" in values:
        cmd = values["command"]
        return "$ " + (cmd if isinstance(cmd, str) else raws["command"])
    if category == "Read" and isinstance(values.get("file_path"), str):
        return values["file_path"]
    if category == "Edit":
        for old_key, new_key in (("old_string", "new_string"), ("oldString", "newString")):
            old, new = values.get(old_key), values.get(new_key)
            if isinstance(old, str) and isinstance(new, str):
                old_lines, new_lines = _diff_lines("-", old), _diff_lines("+", new)
                header = f"@@ -1,{len(old_lines)} +1,{len(new_lines)} @@"
                return "\n".join([header, *old_lines, *new_lines])
    if category == "Write" and isinstance(values.get("content"), str):
        new_lines = _diff_lines("+", values["content"])
        return "\n".join([f"@@ -0,0 +1,{len(new_lines)} @@", *new_lines])
    if name in ("TodoWrite", "todo_write") and "todos" in values:
        todo = _todo_body(values["todos"])
        if todo is not None:
            return todo
    lines = []
    for key in sorted(values):
        value = values[key]
        lines.append(f"{key}: {value if isinstance(value, str) else raws[key]}")
    return "\n".join(lines)


def _tool_body(call: dict, segment: Segment | None) -> str:
    """The readable body of a tool call: Task prompt, else the content's body, else input."""
    if call.get("category") == "Task":
        members = _object_members(str(call.get("input_json") or "")) or []
        for key, value, _ in members:
            if key == "prompt" and isinstance(value, str) and value.strip():
                return value.strip()
    if segment is not None and segment.text.strip():
        return segment.text.strip()
    return _fallback_body(call).strip()


# ---------------------------------------------------------------------------
# Markdown (XML-tagged transcript)
# ---------------------------------------------------------------------------


def _normalise_depth(depth: int | str | None) -> str | None:
    """None for root only, else "1" or "all"; anything else is a ValueError."""
    if depth is None or depth == "" or depth == 0 or depth == "0":
        return None
    key = str(depth).strip().lower()
    if isinstance(depth, bool) or key not in _ALLOWED_DEPTHS:
        raise ValueError(f"invalid depth {depth!r}: use 1 or 'all'")
    return _ALLOWED_DEPTHS[key]


@dataclass
class _ExportState:
    depth: str | None
    load_child: ChildLoader | None
    seen: set[str]
    children_of: Callable[[str], list[str]] | None = None


def _tool_call_xml(call: dict, segment: Segment | None) -> list[str]:
    out = [
        "<tool_call"
        + _attrs([
            ("id", call.get("tool_use_id")),
            ("name", call.get("tool_name")),
            ("category", call.get("category")),
            ("subagent_session_id", call.get("subagent_session_id")),
        ])
        + ">"
    ]
    input_json = call.get("input_json")
    if input_json:
        out.append(f"<arguments>{_cdata(input_json)}</arguments>")
    out.append("</tool_call>")
    body = _tool_body(call, segment)
    if body:
        out.append(f"<tool_body>{_cdata(body)}</tool_body>")
    result = call.get("result_content")
    if result:
        out.append(f"<tool_result>{_cdata(result)}</tool_result>")
    for event in call.get("result_events") or []:
        attrs = _attrs([
            ("tool_call_id", event.get("tool_use_id") or call.get("tool_use_id")),
            ("source", event.get("source")),
            ("status", event.get("status")),
            ("subagent_session_id", event.get("subagent_session_id")),
            ("timestamp", event.get("timestamp")),
        ])
        out.append(f"<tool_result{attrs}>{_cdata(event.get('content'))}</tool_result>")
    return out


def _legacy_tool_xml(segment: Segment) -> list[str]:
    """A tool label in the content with no stored tool call behind it."""
    out = [f"<tool_call{_attrs([('name', segment.head), ('category', segment.head)])}>"]
    out.append("</tool_call>")
    if segment.text.strip():
        out.append(f"<tool_body>{_cdata(segment.text.strip())}</tool_body>")
    return out


def _anchor_xml(call: dict, state: _ExportState, level: int) -> list[str]:
    """The spawned child session, nested under the tool call, when depth allows it."""
    return _child_xml(call.get("subagent_session_id"), call.get("tool_use_id"), state, level)


def _other_children_xml(session_id: str, state: _ExportState, level: int) -> list[str]:
    """The children no tool call spawned (forks, a Codex run's subagents, a continuation),
    after the session's messages, when depth allows them."""
    if state.children_of is None or state.depth is None:
        return []
    out: list[str] = []
    for child_id in state.children_of(session_id):
        out.extend(_child_xml(child_id, None, state, level))
    return out


def _child_xml(child_id: str | None, tool_call_id: str | None, state: _ExportState,
               level: int) -> list[str]:
    if not child_id or state.depth is None or state.load_child is None:
        return []
    if state.depth == "1" and level >= 1:
        return []
    if child_id in state.seen:
        return []
    loaded = state.load_child(child_id)
    if loaded is None:
        return []
    child, child_messages = loaded
    state.seen.add(child_id)
    state.seen.add(str(child.get("id") or child_id))
    anchor = _attrs([
        ("session_id", child_id),
        ("tool_call_id", tool_call_id),
        ("depth", state.depth),
    ])
    out = [f"<subagent_anchor{anchor}>"]
    out.append("<subagent_session" + _session_attrs(child, child=True) + ">")
    for message in child_messages:
        out.extend(_message_xml(message, state, level + 1))
    if state.depth != "1":
        out.extend(_other_children_xml(child_id, state, level + 1))
    out.append("</subagent_session>")
    out.append("</subagent_anchor>")
    return out


def _message_xml(message: dict, state: _ExportState, level: int) -> list[str]:
    """One `<message>` element, its parts in content order."""
    open_tag = "<message" + _attrs([
        ("role", message.get("role")),
        ("ordinal", message.get("ordinal")),
        ("timestamp", message.get("timestamp")),
        ("has_thinking", "true" if message.get("has_thinking") else None),
        ("has_tool_use", "true" if message.get("has_tool_use") else None),
        ("is_system", "true" if message.get("is_system") else None),
    ]) + ">"
    calls = list(message.get("tool_calls") or [])
    thinking_text = clean(message.get("thinking_text"))
    parts: list[str] = []
    thinking_done = False
    call_index = 0

    def emit_thinking(text: str) -> None:
        parts.append(f"<thinking>{_cdata(text)}</thinking>")

    for seg in message_segments(message):
        if seg.kind == "thinking":
            if thinking_text:
                if not thinking_done:
                    emit_thinking(thinking_text)
            else:
                emit_thinking(seg.text)
            thinking_done = True
        elif seg.kind == "text":
            if thinking_text and not thinking_done:
                emit_thinking(thinking_text)
                thinking_done = True
            parts.append(_xml_text(seg.text))
        elif call_index < len(calls):
            if thinking_text and not thinking_done:
                emit_thinking(thinking_text)
                thinking_done = True
            call = calls[call_index]
            call_index += 1
            parts.extend(_tool_call_xml(call, seg))
            parts.extend(_anchor_xml(call, state, level))
        else:
            parts.extend(_legacy_tool_xml(seg))
    if thinking_text and not thinking_done:
        parts.insert(0, f"<thinking>{_cdata(thinking_text)}</thinking>")
    for call in calls[call_index:]:
        parts.extend(_tool_call_xml(call, None))
        parts.extend(_anchor_xml(call, state, level))

    if not parts:
        return [open_tag + "</message>"]
    return [open_tag, *parts, "</message>"]


def _agent_name(agent: Any) -> str:
    """The registry's export name ("Claude", "VSCode Copilot"); an unknown key as itself."""
    key = str(agent or "")
    return AGENTS[key].export_name if key in AGENTS else key


def _session_attrs(session: dict, *, child: bool) -> str:
    pairs: list[tuple[str, Any]] = [("id", session.get("id"))]
    if child:
        pairs += [
            ("parent_session_id", session.get("parent_session_id")),
            ("relationship", session.get("relationship_type")),
        ]
    count = session.get("message_count")
    pairs += [
        ("project", session.get("project")),
        ("agent", _agent_name(session.get("agent"))),
        ("started_at", session.get("started_at")),
        ("ended_at", session.get("ended_at")),
        ("message_count", 0 if count is None else count),
    ]
    return _attrs(pairs)


def session_markdown(
    session: dict,
    messages: list[dict],
    *,
    depth: int | str | None = None,
    load_child: ChildLoader | None = None,
    children_of: Callable[[str], list[str]] | None = None,
) -> str:
    """The XML-tagged Markdown transcript of a session (spec 7.1).

    `depth` None exports the session alone, 1 adds its direct children and "all" every
    descendant, each nested right after the tool call that spawned it; `children_of` (a
    session id to its children's ids) adds, after a session's messages, the children no call
    spawned (forks, a Codex run's subagents). `load_child` maps a child session id to its
    (session DTO, message DTOs), or None when unknown. A session is exported at most once,
    which also stops cycles. Raises ValueError for any other depth.
    """
    state = _ExportState(
        depth=_normalise_depth(depth),
        load_child=load_child,
        seen={str(session.get("id") or "")},
        children_of=children_of,
    )
    lines = [
        f"# Session: {_markdown_heading_text(session.get('project'))}",
        "",
        "<session" + _session_attrs(session, child=False) + ">",
    ]
    for message in messages:
        lines.extend(_message_xml(message, state, 0))
    lines.extend(_other_children_xml(str(session.get("id") or ""), state, 0))
    lines.append("</session>")
    return "\n".join(lines) + "\n"
