"""QwenPaw (formerly CoPaw) sessions: one JSON document per session,
``<root>/<workspace>/sessions/[<channel>/]<stem>.json``.

The document is ``{"agent": {"memory": {"content": [[message, marks], ...]}, ...}}``; a
message has ``role`` (user, assistant, system), ``content`` blocks (text, thinking, tool_use,
tool_result) and a ``timestamp`` in local time without offset (``YYYY-MM-DD HH:MM:SS.fff``).
Tool results come back in system messages; they are attached to their calls. The session id is
``qwenpaw:<workspace>:[<channel>:]<stem>`` (AgentsView's), the project the workspace.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path

import orjson

from sessions_app.parsers.base import (
    AgentParser,
    Note,
    ParsedMessage,
    ParsedSession,
    ParsedToolCall,
    ParseOptions,
    ParseResult,
    assign_results,
    compact_json,
)
from sessions_app.parsers.finish import termination_status, tool_label
from sessions_app.parsers.jsondoc import read_document
from sessions_app.parsers.jsonl import head_lines
from sessions_app.parsers.project import normalize_name
from sessions_app.parsers.registry import AGENTS, category_of
from sessions_app.parsers.tools import by_category

AGENT = "qwenpaw"
ID_PREFIX = AGENTS[AGENT].id_prefix
SESSIONS = "sessions"
# How QwenPaw's tools say they failed, in a result's text (tool_outcome.error_tool_chunk).
_ERROR_OUTCOME = "TOOL_OUTCOME: status=error"


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


def local_time(value: object) -> datetime | None:
    """QwenPaw's local wall-clock time (no offset): read in this machine's time zone, as it was
    written on it. A time with an offset is taken as it says."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    try:
        return parsed.astimezone(UTC)  # a naive time is local time
    except (OverflowError, OSError, ValueError):
        return None


def _texts(blocks: object) -> str:
    if isinstance(blocks, str):
        return blocks
    if not isinstance(blocks, list):
        return ""
    return "\n".join(_str(b.get("text")) for b in blocks
                     if isinstance(b, dict) and b.get("type") == "text" and _str(b.get("text")))


class _Builder:
    def __init__(self, options: ParseOptions, note: Note) -> None:
        self.options = options
        self.note = note
        self.messages: list[ParsedMessage] = []
        self.results: list[tuple[str, str, str, datetime | None]] = []
        self.skipped = 0

    def add(self, entry: object) -> None:
        message = entry[0] if isinstance(entry, list) and entry else entry
        if not isinstance(message, dict):
            self.skipped += 1
            return
        role = message.get("role")
        ts = local_time(message.get("timestamp"))
        content = message.get("content")
        blocks = content if isinstance(content, list) else []
        if role == "user":
            text = _texts(content)
            if text.strip():
                self.messages.append(ParsedMessage(role="user", content=text, timestamp=ts,
                                                   source_type="user",
                                                   source_uuid=_str(message.get("id"))))
        elif role == "assistant":
            self._assistant(message, content, ts)
        elif role == "system":
            for block in blocks:
                if isinstance(block, dict) and block.get("type") == "tool_result":
                    self._result(block, ts)
            text = _texts([b for b in blocks if isinstance(b, dict)]) \
                if blocks else _str(content)
            if text.strip():
                self.messages.append(ParsedMessage(
                    role="user", content=text, timestamp=ts, is_system=True,
                    source_type="system", source_uuid=_str(message.get("id"))))
        else:
            self.skipped += 1

    def _assistant(self, message: dict, content: object, ts: datetime | None) -> None:
        parsed = ParsedMessage(role="assistant", timestamp=ts, source_type="assistant",
                               source_uuid=_str(message.get("id")))
        parts: list[str] = []
        thinking: list[str] = []
        if isinstance(content, str):
            parts.append(content)
        for block in content if isinstance(content, list) else ():
            if not isinstance(block, dict):
                continue
            kind = block.get("type")
            if kind == "text" and _str(block.get("text")):
                parts.append(block["text"])
            elif kind == "thinking" and _str(block.get("thinking")):
                parsed.has_thinking = True
                thinking.append(block["thinking"])
                parts.append(f"[Thinking]\n{block['thinking']}\n[/Thinking]")
            elif kind == "tool_use":
                parts.append(self._call(parsed, block))
            elif kind == "tool_result":  # a result inside the model's own message
                self._result(block, ts)
        parsed.content = "\n".join(parts)
        parsed.thinking_text = "\n\n".join(thinking)
        if parsed.content.strip() or parsed.tool_calls:
            self.messages.append(parsed)

    def _call(self, message: ParsedMessage, block: dict) -> str:
        name = _str(block.get("name")) or "unknown"
        args = block.get("input")
        raw = _str(block.get("raw_input"))
        if not isinstance(args, dict) and raw:
            try:
                args = orjson.loads(raw)
            except orjson.JSONDecodeError:
                args = None
        data = args if isinstance(args, dict) else {}
        category = category_of(name)
        message.has_tool_use = True
        message.tool_calls.append(ParsedToolCall(
            tool_use_id=_str(block.get("id")),
            tool_name=name,
            category=category,
            input_json=compact_json(args, self.note, "tool input") if args is not None else raw,
            file_path=_str(data.get("file_path")) or _str(data.get("path"))
            if category in ("Read", "Edit", "Write") else "",
            call_index=len(message.tool_calls),
        ))
        return tool_label(name, data)

    def _result(self, block: dict, ts: datetime | None) -> None:
        output = block.get("output")
        text = _texts(output) if isinstance(output, list | str) else (
            compact_json(output, self.note, "tool output") if output is not None else "")
        failed = (block.get("is_error") is True
                  or _str(block.get("state")).lower() in ("error", "errored", "failed")
                  or _ERROR_OUTCOME in text)
        self.results.append((_str(block.get("id")), text, "errored" if failed else "", ts))

    def finish(self) -> list[ParsedMessage]:
        calls = {c.tool_use_id: c for m in self.messages for c in m.tool_calls if c.tool_use_id}
        blocked = self.options.blocked_result_categories
        for tool_use_id, text, status, ts in self.results:
            assign_results(calls, tool_use_id, text, source="tool_result", status=status,
                           timestamp=ts, blocked=blocked)
        for ordinal, message in enumerate(self.messages):
            message.ordinal = ordinal
        return self.messages


def _session_id(path: Path, root: Path) -> tuple[str, str]:
    """``(raw id, workspace)`` from where the file lies."""
    try:
        parts = path.relative_to(root).parts
    except ValueError:
        parts = ()
    if len(parts) not in (3, 4):  # outside its root: the layout above the file says it
        sessions = path.parent if path.parent.name == SESSIONS else path.parent.parent
        parts = (sessions.parent.name, SESSIONS, *path.relative_to(sessions).parts)
    stem = path.name[: -len(".json")] if path.name.endswith(".json") else path.name
    return ":".join((parts[0], *parts[2:-1], stem)), parts[0]


def _parse(path: Path, root: Path, options: ParseOptions) -> ParseResult:
    doc = read_document(path, options.max_line_bytes)
    result = ParseResult(path=path, records=1 if doc.value is not None else 0,
                         is_truncated=doc.truncated, issues=list(doc.issues),
                         sha256=doc.sha256, size=doc.size)
    agent = doc.object.get("agent") if doc.object else None
    memory = agent.get("memory") if isinstance(agent, dict) else None
    content = memory.get("content") if isinstance(memory, dict) else None
    if doc.value is not None and not isinstance(content, list):
        result.issues.append("no agent.memory.content list: not a QwenPaw session")
        return result
    builder = _Builder(options, lambda what: result.issues.append(what))
    for entry in content or ():
        builder.add(entry)
    result.malformed_lines = builder.skipped
    if builder.skipped:
        result.issues.append(f"{builder.skipped} memory entries that are not messages, skipped")
    messages = builder.finish()
    if not messages:
        return result
    raw_id, workspace = _session_id(path, root)
    session = ParsedSession(
        id=ID_PREFIX + raw_id,
        agent=AGENT,
        project=normalize_name(workspace),
        source_session_id=raw_id,
        messages=messages,
    )
    session.fill_bounds_from_messages()
    if session.started_at is None:  # no message kept its time: the file's is the clock
        with suppress(OSError, OverflowError, ValueError):
            session.started_at = session.ended_at = datetime.fromtimestamp(
                path.stat().st_mtime, tz=UTC)
    session.termination_status = termination_status(messages, doc.truncated)
    result.sessions = [session]
    return result


class QwenPawParser:
    version = 2  # 2: view_image and view_video are Other (as Codex's view_image), not Read
    tool_categories = by_category({
        "Read": ("read_file",),
        "Edit": ("edit_file", "apply_patch"),
        "Write": ("write_file", "append_file"),
        "Bash": ("execute_shell_command",),
        "Grep": ("grep_search",),
        "Glob": ("glob_search",),
        "Task": ("spawn_subagent", "delegate_external_agent", "chat_with_agent",
                 "submit_to_agent", "check_agent_task", "list_agents"),
        "Tool": ("browser_use", "desktop_screenshot", "send_file_to_user", "get_current_time",
                 "get_token_usage", "memory_search", "web_fetch", "web_search",
                 "set_user_timezone"),
    })
    label_heads = frozenset({"Tool", "Read", "Write", "Edit", "Bash", "Grep", "Glob", "Task",
                             "Skill", "Todo List", "Question"})

    def matches(self, rel_parts: tuple[str, ...]) -> bool:
        """``<workspace>/sessions/[<channel>/]<stem>.json``."""
        if not rel_parts[-1].endswith(".json") or len(rel_parts) not in (3, 4):
            return False
        return rel_parts[1] == SESSIONS and not rel_parts[-2].startswith(".")

    def sniff(self, path: Path) -> bool:
        """A JSON document whose first lines open ``agent`` and its ``memory``."""
        head = b"".join(head_lines(path, 20, 64 * 1024))
        return head.lstrip().startswith(b"{") and b'"agent"' in head and b'"memory"' in head

    def root_of(self, path: Path) -> Path:
        """Above the workspace: two levels over ``sessions``."""
        sessions = path.parent if path.parent.name == SESSIONS else path.parent.parent
        return sessions.parent.parent

    def parse(self, path: Path, root: Path, options: ParseOptions | None = None) -> ParseResult:
        return _parse(path, root, options or ParseOptions())


parser: AgentParser = QwenPawParser()
