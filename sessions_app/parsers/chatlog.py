"""What the parsers of message-list transcripts share (aider, gptme, grok, iflow, kimi, kiro,
omnigent): a session builder that numbers messages and pairs tool results with their calls,
the tool label lines, and reading whole JSON documents and SQLite databases forgivingly.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

import orjson

from sessions_app.parsers.base import (
    Note,
    ParsedMessage,
    ParsedResultEvent,
    ParsedSession,
    ParsedToolCall,
    ParseOptions,
    ParseResult,
    as_int,
    clamp_int,
    compact_json,
    text_length,
)
from sessions_app.parsers.jsonl import (
    MAX_ISSUES_KEPT,
    FileReadError,
    open_session_file,
    read_at_most,
)
from sessions_app.parsers.registry import category_of

# The label heads these parsers write ("[Read: path]", "[Tool: name]").
LABEL_HEADS = frozenset({"Read", "Edit", "Write", "Bash", "Grep", "Glob", "Task", "Tool"})
# Whole documents (a summary.json, a database payload) larger than this are not decoded.
MAX_DOCUMENT_BYTES = 256 * 1024 * 1024
SQLITE_HEADER = b"SQLite format 3\x00"
_PATH_KEYS = (
    "file_path", "path", "absolute_path", "target_file", "filename", "file", "notebook_path",
)
_COMMAND_KEYS = ("command", "cmd", "code", "script")
_FILE_CATEGORIES = frozenset({"Read", "Edit", "Write"})


def s(value: object) -> str:
    """*value* when it is a string, else ''."""
    return value if isinstance(value, str) else ""


def first_line(text: str) -> str:
    return text.split("\n", 1)[0]


class Issues:
    """One-line issues of one file, each said once, at most ``MAX_ISSUES_KEPT``."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, text: str) -> None:
        if "\n" in text:
            text = " ".join(text.split())
        if text in self.lines:
            return
        if len(self.lines) < MAX_ISSUES_KEPT:
            self.lines.append(text)
        elif len(self.lines) == MAX_ISSUES_KEPT:
            self.lines.append("more issues not shown")

    def note(self, where: str) -> Note:
        """A ``Note`` that prefixes what it hears with *where* ("line 3", "row 7")."""
        return lambda message: self.add(f"{where}: {message}" if where else message)


# --- tool calls -------------------------------------------------------------------------------


def decode_arguments(raw: object) -> object:
    """Tool arguments as the JSON value they hold: a JSON text is decoded, anything else is
    returned as it is (a dict, a plain string)."""
    if isinstance(raw, str) and raw[:1] in ("{", "["):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            return raw
    return raw


def input_text(raw: object, note: Note | None = None) -> str:
    """The stored ``input_json`` of a call: a string is kept as written, a value as JSON."""
    if raw is None:
        return ""
    if isinstance(raw, str):
        return raw
    return compact_json(raw, note, "tool input")


def call_file_path(category: str, data: object) -> str:
    if category not in _FILE_CATEGORIES or not isinstance(data, dict):
        return ""
    for key in _PATH_KEYS:  # the first non-empty string
        value = data.get(key)
        if value and isinstance(value, str):
            return value
    return ""


def tool_label(name: str, category: str, data: object, target: str | None = None) -> str:
    """The label line (with a command line for shells) a tool call adds to its message;
    *target* is ``call_file_path(category, data)`` when the caller has it already."""
    if category in _FILE_CATEGORIES:
        if target is None:
            target = call_file_path(category, data)
        return f"[{category}: {target}]" if target else f"[{category}]"
    if category == "Other":
        return f"[Tool: {name}]"
    args = data if isinstance(data, dict) else {}
    if category == "Bash":
        command = next((args.get(k) for k in _COMMAND_KEYS if args.get(k)), None)
        if isinstance(command, list) and all(isinstance(p, str) for p in command):
            command = " ".join(command)
        if not isinstance(command, str) and isinstance(data, str):
            command = data
        return f"[Bash]\n$ {first_line(command)}" if isinstance(command, str) and command \
            else "[Bash]"
    if category in ("Grep", "Glob"):
        pattern = s(args.get("pattern")) or s(args.get("query")) or s(args.get("regex"))
        return f"[{category}: {pattern}]" if pattern else f"[{category}]"
    if category == "Task":
        what = s(args.get("description")) or s(args.get("prompt")) or s(args.get("name"))
        return f"[Task: {first_line(what)}]" if what else f"[Task: {name}]"
    return f"[Tool: {name}]"


class Builder:
    """The messages of one session, in the order they happened: numbers them, pairs each tool
    result with its call by id, and drops what carries nothing."""

    def __init__(self, options: ParseOptions) -> None:
        self.options = options
        self.started: datetime | None = None  # bounds over every record, not only messages
        self.ended: datetime | None = None
        self.messages: list[ParsedMessage] = []
        self.calls: dict[str, ParsedToolCall] = {}
        self._categories: dict[str, str] = {}  # tool name -> category_of(name)

    def bound(self, ts: datetime | None) -> None:
        if ts is None:
            return
        if self.started is None or ts < self.started:
            self.started = ts
        if self.ended is None or ts > self.ended:
            self.ended = ts

    def add(self, role: str, content: str, timestamp: datetime | None, *, thinking: str = "",
            **fields) -> ParsedMessage:
        """A message; its *thinking* goes before its text, as the model produced it."""
        message = ParsedMessage(role=role, content="", timestamp=timestamp,
                                source_type=fields.pop("source_type", role), **fields)
        if thinking:
            self.thinking(message, thinking)
        if content:
            message.content = f"{message.content}\n{content}" if message.content else content
        self.messages.append(message)
        return message

    def thinking(self, message: ParsedMessage, text: str) -> None:
        """Add a thinking block to *message*, after what it holds (the exports read it from
        its content too)."""
        message.has_thinking = True
        if not text:
            return
        message.thinking_text = f"{message.thinking_text}\n\n{text}" if message.thinking_text \
            else text
        block = f"[Thinking]\n{text}\n[/Thinking]"
        message.content = f"{message.content}\n{block}" if message.content else block

    def call(self, message: ParsedMessage, name: str, raw_input: object, tool_use_id: str = "",
             note: Note | None = None, *, label: bool = True,
             category: str | None = None) -> ParsedToolCall | None:
        """Add a tool call to *message*; a call whose id is already known is not added twice
        (streamed snapshots repeat them). Returns the call, or None for a repeat."""
        if tool_use_id and tool_use_id in self.calls:
            return None
        name = name or "unknown"
        if isinstance(raw_input, dict):  # decode_arguments and input_text, inline
            data, input_json = raw_input, compact_json(raw_input, note, "tool input")
        else:
            data, input_json = decode_arguments(raw_input), input_text(raw_input, note)
        if not category:
            category = self._categories.get(name)
            if category is None:
                category = self._categories[name] = category_of(name)
        file_path = call_file_path(category, data)
        call = ParsedToolCall(
            tool_use_id=tool_use_id,
            tool_name=name,
            category=category,
            input_json=input_json,
            skill_name=(s(data.get("skill")) or s(data.get("name")))
            if name in ("Skill", "skill") and isinstance(data, dict) else "",
            file_path=file_path,
            call_index=len(message.tool_calls),
        )
        message.tool_calls.append(call)
        message.has_tool_use = True
        if label:
            text = tool_label(name, category, data, file_path)
            message.content = f"{message.content}\n{text}" if message.content else text
        if tool_use_id:
            self.calls[tool_use_id] = call
        return call

    def result(self, tool_use_id: str, text: str, *, status: str = "",
               timestamp: datetime | None = None, source: str = "tool_result") -> bool:
        """Attach a result to the call with *tool_use_id*; False when there is none."""
        call = self.calls.get(tool_use_id)
        if call is None:
            return False
        attach(call, text, status=status, timestamp=timestamp, source=source,
               blocked=self.options.blocked_result_categories)
        return True

    def finish(self) -> list[ParsedMessage]:
        """The messages worth storing, numbered 0..n-1."""
        kept = [m for m in self.messages if m.content.strip() or m.tool_calls or m.has_thinking]
        for ordinal, message in enumerate(kept):
            message.ordinal = ordinal
        return kept


def attach(call: ParsedToolCall, text: str, *, status: str = "", timestamp: datetime | None,
           source: str = "tool_result", blocked: tuple[str, ...],
           length: int | None = None) -> None:
    """Record one result of *call* (its text kept unless the category's results are not).
    *length* is the text's UTF-8 length when the caller has it: then *text* is not needed
    when the category is blocked."""
    keep = call.category not in blocked
    if length is None:
        length = text_length(text)
    call.result_content_length = length
    call.result_content = text if keep else None
    call.result_events.append(ParsedResultEvent(
        source=source, status=status, content=text if keep else "", content_length=length,
        timestamp=timestamp, tool_use_id=call.tool_use_id, event_index=len(call.result_events),
    ))


def termination_status(messages: list[ParsedMessage], truncated: bool = False) -> str:
    if truncated:
        return "truncated"
    if not messages:
        return ""
    last = messages[-1]
    if last.role == "user" and not last.is_system:
        return "awaiting_assistant"
    if any(c.result_content_length is None for c in last.tool_calls):
        return "tool_call_pending"
    return "awaiting_user"


def usage_fields(message: ParsedMessage, usage: Mapping[str, object], note: Note,
                 what: str = "usage", *, input_includes_cache: bool = False) -> None:
    """Set *message*'s token usage from Anthropic-style counts (``input_tokens``,
    ``output_tokens``, ``cache_read_input_tokens``, ``cache_creation_input_tokens``): the
    stored JSON, the context it used and its output. When *input_includes_cache*, the cached
    tokens are part of ``input_tokens`` and stored apart."""
    present = [k for k in ("input_tokens", "output_tokens", "cache_read_input_tokens",
                           "cache_creation_input_tokens") if usage.get(k) is not None]
    if not present:
        return
    counts = {k: as_int(usage.get(k), note, f"{what}.{k}") for k in present}
    if input_includes_cache and "input_tokens" in counts:
        cached = counts.get("cache_read_input_tokens", 0)
        counts["input_tokens"] = clamp_int(max(counts["input_tokens"] - cached, 0))
    message.token_usage = compact_json(counts)
    context_keys = ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")
    if any(k in counts for k in context_keys):
        message.context_tokens = clamp_int(sum(counts.get(k, 0) for k in context_keys))
        message.has_context_tokens = True
    if "output_tokens" in counts:
        message.output_tokens = counts["output_tokens"]
        message.has_output_tokens = True


def finish_result(result: ParseResult, sessions: list[ParsedSession]) -> ParseResult:
    for session in sessions:
        if session.messages:
            session.fill_bounds_from_messages()
            if not session.termination_status:
                session.termination_status = termination_status(session.messages,
                                                                 result.is_truncated)
    result.sessions = [session for session in sessions if session.messages]
    return result


# --- whole files ------------------------------------------------------------------------------


def read_document(path: Path, issues: Issues, what: str = "") -> tuple[bytes, object]:
    """The bytes of a JSON document and its decoded value (None, with an issue, when it is
    not valid JSON). Raises ``FileReadError`` when the file cannot be read."""
    with open_session_file(path) as fh:
        try:
            data = read_at_most(fh, MAX_DOCUMENT_BYTES + 1)
        except OSError as exc:
            raise FileReadError(exc.strerror or str(exc)) from None
    name = what or path.name
    if len(data) > MAX_DOCUMENT_BYTES:
        issues.add(f"{name}: larger than {MAX_DOCUMENT_BYTES // (1024 * 1024)} MiB, not read")
        return data, None
    return data, decode_document(data, issues, name)


def decode_document(data: bytes | str, issues: Issues, name: str) -> object:
    """A JSON document decoded (invalid UTF-8 replaced); None with an issue when it is not
    JSON, or cut short."""
    if not data.strip():
        issues.add(f"{name}: empty")
        return None
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        pass
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    try:
        import json

        value = json.loads(text, strict=False)
    except RecursionError:
        issues.add(f"{name}: JSON nested too deeply to read, ignored")
        return None
    except ValueError:
        cut = "cut short (incomplete JSON)" if _unclosed(text) else "invalid JSON"
        issues.add(f"{name}: {cut}, ignored")
        return None
    issues.add(f"{name}: invalid UTF-8 or control characters replaced")
    return value


def _unclosed(text: str) -> bool:
    """Whether *text* ends inside a string or an open object or array: cut short."""
    depth, in_string, escape = 0, False, False
    for char in text:
        if in_string:
            if escape:
                escape = False
            elif char == "\\":
                escape = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
    return in_string or depth > 0
