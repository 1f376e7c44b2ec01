"""Pi coding agent sessions (JSONL, header version 3):
``<root>/--<cwd with / as ->--/<timestamp>_<uuid>.jsonl``, or flat under a ``--session-dir``.

The first line is a ``session`` header (id, cwd, timestamp, and ``branchedFrom`` or
``parentSession``: the transcript of the session this one was forked from). Then entries with
``id``/``parentId``: ``message`` (roles user, assistant, toolResult, bashExecution),
``model_change``, ``compaction``, ``branch_summary``, ``session_info`` (a name), and others
that carry nothing to show. Entries are kept in file order, as AgentsView does; tool results
(``toolResult`` messages) are attached to their calls, not stored as messages.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from functools import partial
from pathlib import Path, PurePosixPath

import orjson

from sessions_app.parsers.base import (
    AgentParser,
    Note,
    ParsedMessage,
    ParsedSession,
    ParsedToolCall,
    ParseOptions,
    ParseResult,
    as_int,
    assign_results,
    clamp_int,
    compact_json,
    parse_timestamp,
)
from sessions_app.parsers.finish import termination_status
from sessions_app.parsers.jsonl import JsonlReader, head_lines
from sessions_app.parsers.project import project_from_cwd, project_from_encoded_dir
from sessions_app.parsers.registry import AGENTS, category_of
from sessions_app.parsers.tools import by_category, claude_label

AGENT = "pi"
ID_PREFIX = AGENTS[AGENT].id_prefix
# <timestamp>_<uuid>: the file name pi gives a session; the id is what follows the timestamp.
_FILE_NAME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T[0-9-]+Z_(.+)$")


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


def session_id_of_file(name: str) -> str:
    """The session id a pi transcript's file name (or path) carries."""
    stem = PurePosixPath(name.replace("\\", "/")).name
    if stem.endswith(".jsonl"):
        stem = stem[: -len(".jsonl")]
    match = _FILE_NAME_RE.match(stem)
    return match.group(1) if match else stem


def _texts(content: object) -> str:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    return "\n".join(_str(b.get("text")) for b in content
                     if isinstance(b, dict) and b.get("type") == "text" and _str(b.get("text")))


class _Session:
    """What one pass over a pi transcript collects."""

    def __init__(self, options: ParseOptions, issue: Callable[[int, str], None]) -> None:
        self.options = options
        self.issue = issue
        self.header_seen = False
        self.raw_id = ""
        self.cwd = ""
        self.version = ""
        self.parent_ref = ""
        self.title = ""
        self.display_name = ""
        self.model = ""
        self.stop_reason = ""
        self.started: datetime | None = None
        self.ended: datetime | None = None
        self.messages: list[ParsedMessage] = []
        self.results: list[tuple[str, str, bool, datetime | None]] = []
        # entry id -> the id of the nearest entry shown as a message (metadata entries are
        # bridged over, so a message's parent is always a message)
        self.visible: dict[str, str] = {}

    def bound(self, ts: datetime | None, *, end: bool = True) -> None:
        if ts is None:
            return
        if self.started is None or ts < self.started:
            self.started = ts
        if end and (self.ended is None or ts > self.ended):
            self.ended = ts

    def feed(self, lineno: int, obj: dict) -> None:
        kind = obj.get("type")
        entry_id, parent = _str(obj.get("id")), _str(obj.get("parentId"))
        ancestor = self.visible.get(parent, "") if parent else ""
        if entry_id:
            self.visible[entry_id] = ancestor  # replaced below when the entry is shown
        note = partial(self.issue, lineno)
        if kind == "session":
            self._header(obj)
            return
        if kind == "title":  # Oh My Pi's rewritable title slot
            self.title = _str(obj.get("title")) or self.title
            return
        ts = parse_timestamp(obj.get("timestamp"))
        message: ParsedMessage | None = None
        if kind == "message" and isinstance(obj.get("message"), dict):
            inner = obj["message"]
            ts = ts or parse_timestamp(inner.get("timestamp"))
            message = self._message(inner, ts, note)
        elif kind == "model_change":
            self.model = _str(obj.get("modelId")) or _str(obj.get("model")) or self.model
        elif kind == "compaction":
            message = self._system(_str(obj.get("summary")), "compact_boundary", ts,
                                   role="assistant")
        elif kind == "branch_summary":
            message = self._system(_str(obj.get("summary")), "branch_summary", ts)
        elif kind == "session_info":
            self.display_name = _str(obj.get("name")) or self.display_name
        self.bound(ts)
        if message is not None:
            message.source_uuid, message.source_parent_uuid = entry_id, ancestor
            self.messages.append(message)
            if entry_id:
                self.visible[entry_id] = entry_id

    def _header(self, obj: dict) -> None:
        if self.header_seen:
            return
        self.header_seen = True
        self.raw_id = _str(obj.get("id"))
        self.cwd = _str(obj.get("cwd"))
        version = obj.get("version")
        self.version = str(version) if isinstance(version, int | str) and \
            not isinstance(version, bool) else ""
        self.parent_ref = _str(obj.get("branchedFrom")) or _str(obj.get("parentSession"))
        self.title = self.title or _str(obj.get("title"))
        self.bound(parse_timestamp(obj.get("timestamp")), end=False)

    def _system(self, text: str, subtype: str, ts: datetime | None,
                role: str = "user") -> ParsedMessage | None:
        if not text.strip():
            return None
        return ParsedMessage(role=role, content=text, timestamp=ts, is_system=True,
                             source_type="system", source_subtype=subtype,
                             is_compact_boundary=subtype == "compact_boundary")

    def _message(self, inner: dict, ts: datetime | None, note: Note) -> ParsedMessage | None:
        role = inner.get("role")
        if role == "user":
            text = _texts(inner.get("content"))
            if not text.strip():
                return None
            return ParsedMessage(role="user", content=text, timestamp=ts, source_type="user")
        if role == "assistant":
            return self._assistant(inner, ts, note)
        if role == "toolResult":
            self.results.append((_str(inner.get("toolCallId")), _texts(inner.get("content")),
                                 inner.get("isError") is True, ts))
            return None
        if role == "bashExecution":  # a command the user ran with !, not a prompt
            command, output = _str(inner.get("command")), _str(inner.get("output"))
            if not command:
                return None
            return self._system(f"$ {command}\n{output}".rstrip("\n"), "bash_execution", ts)
        return None

    def _assistant(self, inner: dict, ts: datetime | None, note: Note) -> ParsedMessage | None:
        message = ParsedMessage(role="assistant", timestamp=ts, source_type="assistant")
        parts: list[str] = []
        thinking: list[str] = []
        content = inner.get("content")
        if isinstance(content, str) and content.strip():
            parts.append(content)
        for block in content if isinstance(content, list) else ():
            if not isinstance(block, dict):
                continue
            kind = block.get("type")
            if kind == "text" and _str(block.get("text")):
                parts.append(block["text"])
            elif kind == "thinking":
                message.has_thinking = True  # a redacted block is thinking too, with no text
                text = _str(block.get("thinking"))
                if text:
                    thinking.append(text)
                    parts.append(f"[Thinking]\n{text}\n[/Thinking]")
            elif kind == "toolCall":
                parts.append(self._call(message, block, note))
        self.stop_reason = _str(inner.get("stopReason"))
        error = _str(inner.get("errorMessage"))
        if self.stop_reason == "error" and error:
            parts.append(f"[Error: {error}]")
        message.content = "\n".join(parts)
        message.thinking_text = "\n\n".join(thinking)
        message.model = _str(inner.get("model")) or self.model
        self.model = message.model
        _apply_usage(message, inner.get("usage"), note)
        if not message.content.strip() and not message.tool_calls and not message.has_thinking:
            return None
        return message

    def _call(self, message: ParsedMessage, block: dict, note: Note) -> str:
        name = _str(block.get("name")) or "unknown"
        args = block.get("arguments")
        data = args if isinstance(args, dict) else {}
        category = category_of(name)
        message.has_tool_use = True
        message.tool_calls.append(ParsedToolCall(
            tool_use_id=_str(block.get("id")),
            tool_name=name,
            category=category,
            input_json=compact_json(args, note, "tool arguments") if args is not None else "",
            file_path=_str(data.get("path")) or _str(data.get("file_path"))
            if category in ("Read", "Edit", "Write") else "",
            call_index=len(message.tool_calls),
        ))
        return claude_label(name, data)

    def finish(self) -> list[ParsedMessage]:
        calls = {c.tool_use_id: c for m in self.messages for c in m.tool_calls if c.tool_use_id}
        blocked = self.options.blocked_result_categories
        for tool_use_id, text, is_error, ts in self.results:
            assign_results(calls, tool_use_id, text, source="tool_result",
                           status="errored" if is_error else "", timestamp=ts, blocked=blocked)
        for ordinal, message in enumerate(self.messages):
            message.ordinal = ordinal
        return self.messages


def _apply_usage(message: ParsedMessage, usage: object, note: Note) -> None:
    """Pi's ``{input, output, cacheRead, cacheWrite, totalTokens, cost}`` in Anthropic's
    shape; a usage object with none of these is not usage."""
    if not isinstance(usage, dict):
        return
    cache = usage.get("cache") if isinstance(usage.get("cache"), dict) else {}
    fields = {
        "input_tokens": ("input", usage),
        "output_tokens": ("output", usage),
        "cache_read_input_tokens": ("read", cache) if "read" in cache else ("cacheRead", usage),
        "cache_creation_input_tokens": ("write", cache) if "write" in cache
        else ("cacheWrite", usage),
    }
    present = {key: as_int(source.get(name), note, f"usage.{name}")
               for key, (name, source) in fields.items() if name in source}
    if not present:
        return
    message.token_usage = compact_json(present)
    if "output_tokens" in present:
        message.output_tokens = present["output_tokens"]
        message.has_output_tokens = True
    context_keys = ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")
    if any(k in present for k in context_keys):
        message.context_tokens = clamp_int(sum(present.get(k, 0) for k in context_keys))
        message.has_context_tokens = True


def _parse(path: Path, root: Path, options: ParseOptions) -> ParseResult:
    reader = JsonlReader(path, options.max_line_bytes)
    state = _Session(options, reader.issue)
    for lineno, obj in reader:
        state.feed(lineno, obj)
    result = reader.result()
    messages = state.finish()
    if not messages:
        return result
    raw_id = state.raw_id
    if not raw_id:
        raw_id = session_id_of_file(path.name)
        if not state.header_seen:
            result.issues.append(f"no session header; id taken from the file name ({raw_id})")
    try:
        rel = path.relative_to(root).parts
    except ValueError:
        rel = (path.parent.name, path.name)
    if state.cwd:
        project = project_from_cwd(state.cwd)
    elif len(rel) >= 2:
        project = project_from_encoded_dir(rel[-2])
    else:
        project = "unknown"
    parent = ID_PREFIX + session_id_of_file(state.parent_ref) if state.parent_ref else None
    if parent == ID_PREFIX + raw_id:
        parent = None
    session = ParsedSession(
        id=ID_PREFIX + raw_id,
        agent=AGENT,
        project=project,
        cwd=state.cwd,
        display_name=state.display_name or state.title or None,
        started_at=state.started,
        ended_at=state.ended,
        parent_session_id=parent,
        relationship_type="fork" if parent else "",
        source_session_id=raw_id,
        source_version=state.version,
        messages=messages,
    )
    session.fill_bounds_from_messages()
    session.termination_status = termination_status(messages, reader.truncated,
                                                    state.stop_reason)
    result.sessions = [session]
    return result


class PiParser:
    version = 1
    tool_categories = by_category({
        "Read": ("read", "ls", "find"),
        "Edit": ("edit",),
        "Write": ("write",),
        "Bash": ("bash",),
        "Grep": ("grep",),
    })
    label_heads = frozenset({"Tool", "Read", "Write", "Edit", "Bash", "Grep", "Glob", "Task",
                             "Skill", "Todo List", "Question"})

    def matches(self, rel_parts: tuple[str, ...]) -> bool:
        """``--<cwd>--/<file>.jsonl``, or a flat ``<file>.jsonl`` (a ``--session-dir``)."""
        return len(rel_parts) in (1, 2) and rel_parts[-1].endswith(".jsonl")

    def sniff(self, path: Path) -> bool:
        """The first line (after an Oh My Pi title slot) is a ``session`` header."""
        for line in head_lines(path, 5):
            if not line.strip():
                continue
            try:
                obj = orjson.loads(line)
            except orjson.JSONDecodeError:
                return False
            if not isinstance(obj, dict) or obj.get("type") != "title":
                return isinstance(obj, dict) and obj.get("type") == "session" \
                    and "cwd" in obj
        return False

    def root_of(self, path: Path) -> Path:
        """Above the ``--<cwd>--`` directory, or the file's own directory for a flat one."""
        parent = path.parent
        return parent.parent if parent.name.startswith("--") else parent

    def parse(self, path: Path, root: Path, options: ParseOptions | None = None) -> ParseResult:
        return _parse(path, root, options or ParseOptions())


parser: AgentParser = PiParser()
