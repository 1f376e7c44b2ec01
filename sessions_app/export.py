"""Session export formats: the XML-tagged Markdown transcript and the standalone HTML page.

Pure functions over the API DTOs (the dicts the session and messages endpoints return).
Transcript text is untrusted: everything from it is escaped, or wrapped in CDATA sections
that cannot be closed early, before it reaches either format.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

ChildLoader = Callable[[str], tuple[dict, list[dict]] | None]

# Agent names as the Markdown export prints them.
MARKDOWN_AGENT_NAMES = {
    "claude": "Claude",
    "codex": "Codex",
    "gemini": "Gemini CLI",
    "copilot": "Copilot CLI",
    "opencode": "OpenCode",
    "cursor": "Cursor",
    "amp": "Amp",
    "vscode-copilot": "VSCode Copilot",
    "openclaw": "OpenClaw",
}

# The HTML page uses the agent registry's display names ("Claude Code", not "Claude").
HTML_AGENT_NAMES = {
    **MARKDOWN_AGENT_NAMES,
    "claude": "Claude Code",
    "vscode-copilot": "VS Code Copilot",
}

# Heads of the tool labels the parsers append to message content ("[Read: path]", "[Bash]").
TOOL_LABEL_HEADS = frozenset({
    "Tool", "Read", "Write", "Edit", "Bash", "Glob", "Grep", "Task", "Agent", "Skill",
    "Question", "Todo List", "Entering Plan Mode", "Exiting Plan Mode", "List",
    "exec_command", "shell_command", "write_stdin", "apply_patch", "shell", "parallel",
    "view_image", "request_user_input", "update_plan",
})

_TODO_ICONS = {"completed": "\u2713", "in_progress": "\u2192"}
_TODO_PENDING_ICON = "\u25cb"

# Characters XML 1.0 forbids (C0 controls except tab/newline/CR, the two non-characters,
# lone surrogates). C1 controls are legal but invisible mischief; drop them too.
_XML_INVALID_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff\ud800-\udfff]")
_HEADER_UNSAFE_RE = re.compile(r"[^A-Za-z0-9_.\-]")
_MD_HEADING_SPECIAL = set("\\`*_[]<>#|~&!")
_FENCE_RE = re.compile(r"^\s*```")
_INLINE_CODE_RE = re.compile(r"`([^`\n]+)`")

_ALLOWED_DEPTHS = {"1": "1", "all": "all"}


# ---------------------------------------------------------------------------
# Escaping helpers
# ---------------------------------------------------------------------------


def _clean(text: Any) -> str:
    """Coerce to str and drop characters that would make the XML ill-formed."""
    if text is None:
        return ""
    if not isinstance(text, str):
        text = str(text)
    return _XML_INVALID_RE.sub("", text)


def _xml_text(text: Any) -> str:
    """Escape text the way the reference does (Go's html.EscapeString)."""
    return (
        _clean(text)
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
    body = _clean(text).replace("]]>", "]]]]><![CDATA[>")
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
    flat = " ".join(_clean(text).split())
    return "".join("\\" + ch if ch in _MD_HEADING_SPECIAL else ch for ch in flat)


def _html(text: Any) -> str:
    """HTML-escape text, quotes included."""
    return (
        _clean(text)
        .replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&#39;")
    )


def _parse_time(value: Any) -> datetime | None:
    """Parse an RFC 3339 string; None when absent or unparseable."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError:
        return None


def _display_time(value: Any) -> str:
    """`YYYY-MM-DD HH:MM:SS` in the timestamp's own offset; raw text if unparseable."""
    parsed = _parse_time(value)
    if parsed is None:
        return "" if value is None else _clean(value)
    return parsed.strftime("%Y-%m-%d %H:%M:%S")


# ---------------------------------------------------------------------------
# Content segmentation
# ---------------------------------------------------------------------------


@dataclass
class _Segment:
    """One piece of a message's stored content."""

    kind: str  # "text", "thinking" or "tool"
    text: str = ""  # text or thinking body; for tools, the body after the label line
    label: str = ""  # tools: the whole label line, e.g. "[Bash: Run tests]"
    head: str = ""  # tools: the label's tool name, e.g. "Bash"
    lines: list[str] = field(default_factory=list)


def _label_head(line: str, heads: set[str] | frozenset[str]) -> str | None:
    """The tool name when the line is a tool label such as `[Read: x]` or `[Bash]`."""
    stripped = line.rstrip()
    if not (stripped.startswith("[") and stripped.endswith("]")) or len(stripped) < 3:
        return None
    inner = stripped[1:-1]
    matches = [
        head
        for head in heads
        if inner == head
        or (len(inner) > len(head) and inner.startswith(head) and inner[len(head)] in ": ")
    ]
    return max(matches, key=len) if matches else None


def _is_thinking_open(line: str) -> bool:
    return line.strip() == "[Thinking]"


def _is_thinking_close(line: str) -> bool:
    return line.strip() == "[/Thinking]"


def _segments(content: str, *, thinking: bool, tools: bool, heads: set[str]) -> list[_Segment]:
    """Split stored content into text, thinking and tool-label segments, in order.

    Thinking runs from `[Thinking]` to `[/Thinking]` (or, without a closing marker, to a
    blank line). A tool segment is a label line plus the lines after it up to a blank line,
    another label, or a code fence. Nothing inside a fenced code block is interpreted.
    """
    lines = content.split("\n")
    segments: list[_Segment] = []
    text_lines: list[str] = []

    def flush_text() -> None:
        if text_lines:
            segments.append(_Segment("text", lines=list(text_lines)))
            text_lines.clear()

    i = 0
    in_fence = False
    while i < len(lines):
        line = lines[i]
        if _FENCE_RE.match(line):
            in_fence = not in_fence
            text_lines.append(line)
            i += 1
            continue
        if in_fence:
            text_lines.append(line)
            i += 1
            continue
        if thinking and _is_thinking_open(line):
            flush_text()
            closed = any(_is_thinking_close(rest) for rest in lines[i + 1:])
            body: list[str] = []
            i += 1
            while i < len(lines):
                if closed and _is_thinking_close(lines[i]):
                    i += 1
                    break
                if not closed and (not lines[i].strip() or _label_head(lines[i], heads)):
                    break
                body.append(lines[i])
                i += 1
            segments.append(_Segment("thinking", text="\n".join(body)))
            continue
        head = _label_head(line, heads) if tools else None
        if head is not None:
            flush_text()
            body = []
            i += 1
            while i < len(lines):
                nxt = lines[i]
                if (
                    not nxt.strip()
                    or _FENCE_RE.match(nxt)
                    or _label_head(nxt, heads)
                    or (thinking and _is_thinking_open(nxt))
                ):
                    break
                body.append(nxt)
                i += 1
            segments.append(
                _Segment("tool", text="\n".join(body), label=line.rstrip(), head=head)
            )
            continue
        text_lines.append(line)
        i += 1
    flush_text()

    for seg in segments:
        if seg.kind == "text":
            kept = list(seg.lines)
            while kept and not kept[0].strip():
                kept.pop(0)
            while kept and not kept[-1].strip():
                kept.pop()
            seg.text = "\n".join(kept).rstrip()
    return [s for s in segments if s.kind != "text" or s.text]


def _message_segments(message: dict) -> list[_Segment]:
    """Segment a message DTO's content, interpreting markers only where the flags allow."""
    calls = message.get("tool_calls") or []
    heads = set(TOOL_LABEL_HEADS)
    for call in calls:
        for key in ("tool_name", "category"):
            if call.get(key):
                heads.add(str(call[key]))
    has_tools = bool(message.get("has_tool_use") or calls or message.get("role") == "assistant")
    has_thinking = bool(message.get("has_thinking") or message.get("thinking_text"))
    return _segments(
        _clean(message.get("content")), thinking=has_thinking, tools=has_tools, heads=heads
    )


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
    None when the input is not a JSON object.
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
    except (ValueError, IndexError):
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


def _tool_body(call: dict, segment: _Segment | None) -> str:
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


def _tool_call_xml(call: dict, segment: _Segment | None) -> list[str]:
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


def _legacy_tool_xml(segment: _Segment) -> list[str]:
    """A tool label in the content with no stored tool call behind it."""
    out = [f"<tool_call{_attrs([('name', segment.head), ('category', segment.head)])}>"]
    out.append("</tool_call>")
    if segment.text.strip():
        out.append(f"<tool_body>{_cdata(segment.text.strip())}</tool_body>")
    return out


def _anchor_xml(call: dict, state: _ExportState, level: int) -> list[str]:
    """The spawned child session, nested under the tool call, when depth allows it."""
    child_id = call.get("subagent_session_id")
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
        ("tool_call_id", call.get("tool_use_id")),
        ("depth", state.depth),
    ])
    out = [f"<subagent_anchor{anchor}>"]
    out.append("<subagent_session" + _session_attrs(child, child=True) + ">")
    for message in child_messages:
        out.extend(_message_xml(message, state, level + 1))
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
    thinking_text = _clean(message.get("thinking_text"))
    parts: list[str] = []
    thinking_done = False
    call_index = 0

    def emit_thinking(text: str) -> None:
        parts.append(f"<thinking>{_cdata(text)}</thinking>")

    for seg in _message_segments(message):
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


def _agent_name(agent: Any, names: dict[str, str]) -> str:
    key = str(agent or "")
    return names.get(key, key)


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
        ("agent", _agent_name(session.get("agent"), MARKDOWN_AGENT_NAMES)),
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
    load_child: Callable[[str], tuple[dict, list[dict]] | None] | None = None,
) -> str:
    """The XML-tagged Markdown transcript of a session (spec 7.1).

    `depth` None exports the session alone, 1 adds its direct children and "all" every
    descendant, each nested right after the tool call that spawned it. `load_child` maps a
    child session id to its (session DTO, message DTOs), or None when unknown. A session is
    exported at most once, which also stops cycles. Raises ValueError for any other depth.
    """
    state = _ExportState(
        depth=_normalise_depth(depth),
        load_child=load_child,
        seen={str(session.get("id") or "")},
    )
    lines = [
        f"# Session: {_markdown_heading_text(session.get('project'))}",
        "",
        "<session" + _session_attrs(session, child=False) + ">",
    ]
    for message in messages:
        lines.extend(_message_xml(message, state, 0))
    lines.append("</session>")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------
# HTML page
# ---------------------------------------------------------------------------

_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'none'; font-src 'none'; "
    "connect-src 'none'; script-src 'none'; base-uri 'none'; form-action 'none'"
)

_LIGHT_VARS = """\
  --bg-primary: #f7f7fa;
  --bg-surface: #ffffff;
  --bg-inset: #edeef3;
  --border-default: #dfe1e8;
  --border-muted: #e8eaf0;
  --text-primary: #1a1d26;
  --text-secondary: #5a6070;
  --text-muted: #8b92a0;
  --accent-blue: #2563eb;
  --accent-purple: #7c3aed;
  --accent-amber: #d97706;
  --accent-green: #059669;
  --accent-red: #dc2626;
  --user-bg: #eef2ff;
  --assistant-bg: #faf9ff;
  --thinking-bg: #f5f3ff;
  --tool-bg: #fffbf0;
  --code-bg: #1e1e2e;
  --code-text: #cdd6f4;
  color-scheme: light;"""

_DARK_VARS = """\
  --bg-primary: #0c0c10;
  --bg-surface: #15151b;
  --bg-inset: #101015;
  --border-default: #2a2a35;
  --border-muted: #222230;
  --text-primary: #e2e4e9;
  --text-secondary: #9ca3af;
  --text-muted: #6b7280;
  --accent-blue: #60a5fa;
  --accent-purple: #a78bfa;
  --accent-amber: #fbbf24;
  --accent-green: #34d399;
  --accent-red: #f87171;
  --user-bg: #111827;
  --assistant-bg: #141220;
  --thinking-bg: #1a1530;
  --tool-bg: #1a1508;
  --code-bg: #0d0d14;
  --code-text: #cdd6f4;
  color-scheme: dark;"""

_CSS = (
    ".page {\n" + _LIGHT_VARS + "\n}\n"
    "#theme-toggle:checked ~ .page {\n" + _DARK_VARS + "\n}\n"
    """\
* { box-sizing: border-box; margin: 0; padding: 0; }
body { background: #f7f7fa; }
.page {
  min-height: 100vh;
  font-family: -apple-system, BlinkMacSystemFont, "Segoe UI", "Noto Sans", Helvetica,
    Arial, sans-serif;
  font-size: 14px; line-height: 1.5;
  background: var(--bg-primary); color: var(--text-primary);
}
header {
  background: var(--bg-surface);
  border-bottom: 1px solid var(--border-default);
  padding: 12px 24px;
  position: sticky; top: 0; z-index: 100;
}
.header-content {
  max-width: 900px; margin: 0 auto;
  display: flex; align-items: center; justify-content: space-between; gap: 12px;
}
h1 { font-size: 14px; font-weight: 600; word-break: break-word; }
.session-meta { font-size: 11px; color: var(--text-muted); display: flex; gap: 12px; }
.controls { display: flex; gap: 8px; flex-wrap: wrap; }
main { max-width: 900px; margin: 0 auto; padding: 16px; }
.messages { display: flex; flex-direction: column; gap: 8px; }
.message {
  border-left: 4px solid var(--border-default);
  padding: 14px 20px;
  border-radius: 0 6px 6px 0;
  background: var(--bg-surface);
}
.message.user { background: var(--user-bg); border-left-color: var(--accent-blue); }
.message.assistant {
  background: var(--assistant-bg); border-left-color: var(--accent-purple);
}
.message-header { display: flex; align-items: center; gap: 8px; margin-bottom: 10px; }
.message-role { font-size: 13px; font-weight: 600; }
.message.user .message-role { color: var(--accent-blue); }
.message.assistant .message-role { color: var(--accent-purple); }
.message-time { font-size: 12px; color: var(--text-muted); }
.message-content {
  font-size: 14px; line-height: 1.7;
  white-space: pre-wrap; word-break: break-word;
}
.message-content pre {
  background: var(--code-bg); color: var(--code-text);
  border-radius: 6px; padding: 12px 16px; overflow-x: auto; margin: 0.5em 0;
}
.message-content code {
  font-family: "SF Mono", Menlo, Consolas, monospace; font-size: 0.85em;
  background: var(--bg-inset); border: 1px solid var(--border-muted);
  border-radius: 4px; padding: 0.15em 0.4em;
}
.message-content pre code {
  background: none; border: none; padding: 0; font-size: 13px; color: inherit;
}
.thinking-block {
  border-left: 2px solid var(--accent-purple);
  background: var(--thinking-bg);
  border-radius: 0 4px 4px 0;
  padding: 8px 14px 12px; margin: 4px 0;
  font-style: italic; color: var(--text-secondary);
  font-size: 13px; display: none;
}
.thinking-label {
  font-size: 12px; font-weight: 600; color: var(--accent-purple);
  margin-bottom: 4px; font-style: normal;
}
.message.thinking-only { display: none; }
#thinking-toggle:checked ~ main .thinking-block { display: block; }
#thinking-toggle:checked ~ main .message.thinking-only { display: block; }
#transcript-focused:checked ~ main .message.focused-hidden { display: none; }
.tool-block {
  border-left: 2px solid var(--accent-amber);
  background: var(--tool-bg);
  border-radius: 0 4px 4px 0;
  padding: 6px 10px; margin: 4px 0;
  font-family: "SF Mono", Menlo, Consolas, monospace;
  font-size: 12px; color: var(--text-secondary);
}
#sort-toggle:checked ~ main .messages { flex-direction: column-reverse; }
.toggle-input { position: absolute; opacity: 0; pointer-events: none; }
.toggle-label, .theme-btn {
  display: inline-flex; align-items: center; gap: 4px;
  padding: 4px 10px;
  background: var(--bg-inset);
  border: 1px solid var(--border-default);
  border-radius: 4px;
  color: var(--text-primary);
  cursor: pointer; font-size: 11px;
}
#transcript-normal:checked ~ header label[for="transcript-normal"],
#transcript-focused:checked ~ header label[for="transcript-focused"],
#thinking-toggle:checked ~ header label[for="thinking-toggle"],
#sort-toggle:checked ~ header label[for="sort-toggle"] {
  background: var(--accent-blue); color: #fff; border-color: var(--accent-blue);
}
.theme-light { display: none; }
#theme-toggle:checked ~ .page .theme-dark { display: none; }
#theme-toggle:checked ~ .page .theme-light { display: inline; }
.toggle-input:focus-visible + * { outline: 2px solid var(--accent-blue); }
footer {
  max-width: 900px; margin: 40px auto; padding: 16px 24px;
  border-top: 1px solid var(--border-default);
  font-size: 11px; color: var(--text-muted); text-align: center;
}
"""
)


def _html_text(text: str) -> str:
    """Escape a text segment, then mark up fenced and inline code on the escaped text."""
    out: list[str] = []
    buffer: list[str] = []
    fence: list[str] | None = None
    for line in text.split("\n"):
        if _FENCE_RE.match(line):
            if fence is None:
                if buffer:
                    out.append(_INLINE_CODE_RE.sub(r"<code>\1</code>", _html("\n".join(buffer))))
                    buffer = []
                fence = []
            else:
                out.append("<pre><code>" + _html("\n".join(fence)) + "</code></pre>")
                fence = None
            continue
        (buffer if fence is None else fence).append(line)
    if fence is not None:  # unclosed fence: show it as plain text
        buffer.extend(["```", *fence])
    if buffer:
        out.append(_INLINE_CODE_RE.sub(r"<code>\1</code>", _html("\n".join(buffer))))
    return "\n".join(out)


def _thinking_html(text: str) -> str:
    return (
        '<div class="thinking-block"><div class="thinking-label">Thinking</div>'
        + _html(text)
        + "</div>"
    )


def _tool_html(text: str) -> str:
    return '<div class="tool-block">' + _html(text) + "</div>"


def _message_html(message: dict) -> str:
    """One message block; every piece of transcript text passes through `_html`."""
    role = str(message.get("role") or "")
    role_class = role if role in ("user", "assistant") else "unknown"
    calls = list(message.get("tool_calls") or [])
    segments = _message_segments(message)
    thinking_text = _clean(message.get("thinking_text"))

    pieces: list[str] = []
    tool_segments = 0
    if thinking_text and not any(s.kind == "thinking" for s in segments):
        pieces.append(_thinking_html(thinking_text))
    for seg in segments:
        if seg.kind == "thinking":
            pieces.append(_thinking_html(seg.text or thinking_text))
        elif seg.kind == "text":
            pieces.append(_html_text(seg.text))
        else:
            tool_segments += 1
            pieces.append(_tool_html("\n".join(x for x in (seg.label, seg.text) if x)))
    for call in calls[tool_segments:]:
        pieces.append(_tool_html(f"[{_clean(call.get('tool_name') or 'Tool')}]"))

    classes = ["message", role_class]
    only_thinking = bool(segments) and all(s.kind == "thinking" for s in segments) and not calls
    if role == "assistant" and (only_thinking or (thinking_text and not segments and not calls)):
        classes.append("thinking-only")
    if message.get("is_system") or (
        role == "assistant" and (message.get("has_tool_use") or calls)
    ):
        classes.append("focused-hidden")

    content = "\n".join(pieces)
    ordinal = message.get("ordinal")
    ordinal_text = str(ordinal) if isinstance(ordinal, int) else _html(ordinal)
    return (
        f'<div class="{" ".join(classes)}" data-ordinal="{ordinal_text}">'
        '<div class="message-header">'
        f'<span class="message-role">{_html(role)}</span>'
        f'<span class="message-time">{_html(_display_time(message.get("timestamp")))}</span>'
        "</div>"
        f'<div class="message-content">{content}</div>'
        "</div>"
    )


def session_html(session: dict, messages: list[dict]) -> str:
    """A self-contained HTML page for one session (spec 7.2).

    No scripts, no external resources; the toggles (focused mode, thinking, newest first,
    dark theme) are CSS-only checkboxes and radios. All transcript text is escaped.
    """
    project = _html(session.get("project") or "")
    agent = _html(_agent_name(session.get("agent"), HTML_AGENT_NAMES))
    count = session.get("message_count")
    count_text = str(count) if isinstance(count, int) else str(len(messages))
    started = _html(_display_time(session.get("started_at")))
    body = "\n".join(_message_html(m) for m in messages)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="{_CSP}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{project} - Agent Session</title>
<style>
{_CSS}</style>
</head>
<body>
<input type="checkbox" id="theme-toggle" class="toggle-input">
<div class="page">
<input type="radio" id="transcript-normal" name="transcript-mode" class="toggle-input" checked>
<input type="radio" id="transcript-focused" name="transcript-mode" class="toggle-input">
<input type="checkbox" id="thinking-toggle" class="toggle-input">
<input type="checkbox" id="sort-toggle" class="toggle-input">
<header>
<div class="header-content">
<div>
  <h1>{project}</h1>
  <div class="session-meta">
    <span>{agent}</span>
    <span>{count_text} messages</span>
    <span>{started}</span>
  </div>
</div>
<div class="controls">
  <label for="transcript-normal" class="toggle-label">Normal</label>
  <label for="transcript-focused" class="toggle-label">Focused</label>
  <label for="thinking-toggle" class="toggle-label">Thinking</label>
  <label for="sort-toggle" class="toggle-label">Newest first</label>
  <label for="theme-toggle" class="theme-btn"><span class="theme-dark">Dark</span\
><span class="theme-light">Light</span></label>
</div>
</div>
</header>
<main><div class="messages">
{body}
</div></main>
<footer>Exported from agentsview</footer>
</div>
</body>
</html>
"""


# ---------------------------------------------------------------------------
# File names
# ---------------------------------------------------------------------------


def export_filename(session: dict, extension: str) -> str:
    """`<project>-<YYYYMMDD of started_at>.<extension>`, safe inside a quoted header value.

    Anything outside ASCII letters, digits, `_`, `.` and `-` becomes `_`. A missing or
    unparseable start time gives `unknown`; a missing project gives `session`.
    """
    project = _HEADER_UNSAFE_RE.sub("_", str(session.get("project") or "").strip())[:100]
    if not project.strip("._"):
        project = "session"
    started = _parse_time(session.get("started_at"))
    date = started.strftime("%Y%m%d") if started else "unknown"
    ext = _HEADER_UNSAFE_RE.sub("_", str(extension or "").lstrip(".")) or "txt"
    return f"{project}-{date}.{ext}"
