"""GitHub Copilot CLI sessions: ``<root>/session-state/<id>/events.jsonl`` (current; its
``workspace.yaml`` may name the session) or the legacy single file
``<root>/session-state/<id>.jsonl``; when both exist the directory form is read (a legacy
session archived before its directory form appeared keeps its archived copy while the legacy
file exists: the archive does not move a session between files).

Every line is an event ``{"type", "data", "id", "timestamp", "parentId"}``. Tool executions
become result events of their calls; a finished execution takes an ordinal of its own, as the
tool-result row AgentsView drops, so ordinals keep its gaps. The usage ``session.shutdown``
reports per model has no message of its own: it is kept in the last assistant message's usage
record, under ``session_usage``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import orjson

from sessions_app.parsers.base import (
    AgentParser,
    Note,
    ParsedMessage,
    ParsedResultEvent,
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
from sessions_app.parsers.jsonl import JsonlReader, head_lines
from sessions_app.parsers.project import project_from_cwd
from sessions_app.parsers.registry import AGENTS, category_of
from sessions_app.parsers.tools import by_category

AGENT = "copilot"
ID_PREFIX = AGENTS[AGENT].id_prefix
EVENT_TYPES = frozenset({
    "session.start", "session.model_change", "user.message", "assistant.message",
    "assistant.reasoning", "tool.execution_start", "tool.execution_complete",
    "session.shutdown",
})
CATEGORIES = ("Read", "Write", "Edit", "Bash", "Grep", "Glob", "Task", "Tool", "Other")
USAGE_KEYS = (
    ("inputTokens", "input_tokens"), ("outputTokens", "output_tokens"),
    ("cacheReadTokens", "cache_read_input_tokens"),
    ("cacheWriteTokens", "cache_creation_input_tokens"), ("reasoningTokens", "reasoning_tokens"),
)
MAX_WORKSPACE_BYTES = 64 * 1024


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


def normalize_model(model: str) -> str:
    """Copilot writes Claude versions with dots (``claude-sonnet-4.5``); everyone else, and
    the context-window table, with hyphens. Other families keep their dots (``gpt-5.1``)."""
    return model.replace(".", "-") if model.startswith("claude-") else model


def _label(category: str, name: str) -> str:
    name = " ".join(name.replace("]", ")").split())
    return f"[{category}: {name}]" if name else f"[{category}]"


class _Events:
    def __init__(self, options: ParseOptions, issue: Callable[[int, str], None]) -> None:
        self.options = options
        self.issue = issue
        self.raw_id = ""
        self.cwd = ""
        self.git_root = ""
        self.branch = ""
        self.version = ""
        self.model = ""
        self.started: datetime | None = None
        self.ended: datetime | None = None
        self.messages: list[ParsedMessage] = []
        self.calls: dict[str, ParsedToolCall] = {}
        self.ordinal = 0
        self.usage: dict[str, dict[str, int]] = {}  # model -> summed shutdown usage

    def feed(self, line: int, obj: dict) -> None:
        ts = parse_timestamp(obj.get("timestamp"))
        if ts is not None:
            self.started = ts if self.started is None or ts < self.started else self.started
            self.ended = ts if self.ended is None or ts > self.ended else self.ended
        data = obj.get("data")
        if not isinstance(data, dict):
            return
        note = partial(self.issue, line)
        kind = obj.get("type")
        if kind == "session.start":
            self._start(data)
        elif kind == "session.model_change":
            self.model = normalize_model(_str(data.get("newModel"))) or self.model
        elif kind == "user.message":
            self._user(data, ts)
        elif kind == "assistant.message":
            self._assistant(data, ts, note)
        elif kind == "assistant.reasoning":
            self._reasoning(data)
        elif kind == "tool.execution_start":
            self._started(data, ts)
        elif kind == "tool.execution_complete":
            self._completed(data, ts, note)
        elif kind == "session.shutdown":
            self._shutdown(data, note)

    def _start(self, data: dict) -> None:
        self.raw_id = self.raw_id or _str(data.get("sessionId"))
        self.version = self.version or _str(data.get("copilotVersion"))
        self.model = self.model or normalize_model(_str(data.get("selectedModel")))
        context = data.get("context")
        if isinstance(context, dict):
            self.cwd = self.cwd or _str(context.get("cwd"))
            self.git_root = self.git_root or _str(context.get("gitRoot"))
            self.branch = self.branch or _str(context.get("branch"))

    def _next_ordinal(self) -> int:
        self.ordinal += 1
        return self.ordinal - 1

    def _user(self, data: dict, ts: datetime | None) -> None:
        content = _str(data.get("content")).strip()
        if not content:
            return
        if _str(data.get("source")).strip().startswith("skill-") or content.startswith(
                "<skill-context"):
            return  # a skill's instructions, injected as if typed
        self.messages.append(ParsedMessage(role="user", content=content, timestamp=ts,
                                           ordinal=self._next_ordinal(), source_type="user"))

    def _assistant(self, data: dict, ts: datetime | None, note: Note) -> None:
        content = _str(data.get("content")).strip()
        reasoning = _str(data.get("reasoningText")).strip()
        message = ParsedMessage(role="assistant", timestamp=ts, model=self.model,
                                source_type="assistant")
        requests = data.get("toolRequests")
        for request in requests if isinstance(requests, list) else ():
            if not isinstance(request, dict) or not _str(request.get("name")):
                continue
            name = _str(request.get("name"))
            arguments = request.get("arguments")
            call = ParsedToolCall(
                tool_use_id=_str(request.get("toolCallId")),
                tool_name=name,
                category=category_of(name),
                input_json=arguments if isinstance(arguments, str) else compact_json(
                    arguments, note, "tool input") if arguments is not None else "",
                call_index=len(message.tool_calls),
            )
            if call.category in ("Read", "Edit", "Write") and isinstance(arguments, dict):
                call.file_path = _str(arguments.get("path")) or _str(arguments.get("file_path"))
            message.tool_calls.append(call)
            if call.tool_use_id:
                self.calls[call.tool_use_id] = call
        text = content or "\n".join(_label(c.category, c.tool_name) for c in message.tool_calls)
        if reasoning:
            block = f"[Thinking]\n{reasoning}\n[/Thinking]"
            text = f"{block}\n\n{text}" if text else block
        if not text and not message.tool_calls:
            return
        message.content = text
        message.thinking_text = reasoning
        message.has_thinking = bool(reasoning)
        message.has_tool_use = bool(message.tool_calls)
        if "outputTokens" in data:
            message.output_tokens = as_int(data.get("outputTokens"), note, "outputTokens")
            message.has_output_tokens = True
            message.token_usage = compact_json({"output_tokens": message.output_tokens})
        message.ordinal = self._next_ordinal()
        self.messages.append(message)

    def _reasoning(self, data: dict) -> None:
        """Reasoning reported apart from its message: the last assistant message's."""
        last = next((m for m in reversed(self.messages) if m.role == "assistant"), None)
        if last is None:
            return
        last.has_thinking = True
        text = _str(data.get("content")).strip()
        if text and text not in last.thinking_text:
            last.thinking_text = f"{last.thinking_text}\n\n{text}".strip()

    def _started(self, data: dict, ts: datetime | None) -> None:
        call = self.calls.get(_str(data.get("toolCallId")))
        if call is None:
            return
        call.result_events.append(ParsedResultEvent(
            source="tool_execution", status="started", content="", content_length=0,
            timestamp=ts, tool_use_id=call.tool_use_id, event_index=len(call.result_events),
        ))

    def _completed(self, data: dict, ts: datetime | None, note: Note) -> None:
        call_id = _str(data.get("toolCallId"))
        if not call_id:
            return
        self._next_ordinal()  # the tool-result row AgentsView stores, then drops
        result = data.get("result")
        if isinstance(result, dict) and isinstance(result.get("content"), str):
            text = result["content"]
        elif isinstance(result, str):
            text = result
        elif result is not None:
            text = compact_json(result, note, "tool result")
        else:
            error = data.get("error")
            text = _str(error.get("message")) if isinstance(error, dict) else _str(error)
        failed = data.get("success") is False
        assign_results(self.calls, call_id, text, source="tool_execution",
                       status="errored" if failed else "completed", timestamp=ts,
                       blocked=self.options.blocked_result_categories)

    def _shutdown(self, data: dict, note: Note) -> None:
        metrics = data.get("modelMetrics")
        for model, entry in metrics.items() if isinstance(metrics, dict) else ():
            usage = entry.get("usage") if isinstance(entry, dict) else None
            if not isinstance(usage, dict):
                continue
            counts = {name: as_int(usage.get(key), note, f"modelMetrics.usage.{key}")
                      for key, name in USAGE_KEYS if key in usage}
            # Anthropic's shape: input_tokens is what the cache did not serve
            counts["input_tokens"] = max(counts.get("input_tokens", 0)
                                         - counts.get("cache_read_input_tokens", 0)
                                         - counts.get("cache_creation_input_tokens", 0), 0)
            total = self.usage.setdefault(normalize_model(model), {})
            for name, value in counts.items():
                total[name] = clamp_int(total.get(name, 0) + value)

    def finish(self) -> None:
        """The session's usage onto its last assistant message; its output count too when no
        message recorded one (older Copilot versions)."""
        last = next((m for m in reversed(self.messages) if m.role == "assistant"), None)
        usage = {model: counts for model, counts in self.usage.items() if any(counts.values())}
        if last is None or not usage:
            return
        record = orjson.loads(last.token_usage) if last.token_usage else {}
        record["session_usage"] = usage
        last.token_usage = compact_json(record)
        if not any(m.has_output_tokens for m in self.messages):
            last.output_tokens = clamp_int(sum(c.get("output_tokens", 0) for c in usage.values()))
            last.has_output_tokens = True


def _id_from_path(path: Path) -> str:
    return path.parent.name if path.name == "events.jsonl" else path.stem


def _read_workspace_name(path: Path) -> str | None:
    """The ``name:`` the directory form's ``workspace.yaml`` gives the session, if any."""
    try:
        with (path.parent / "workspace.yaml").open("rb") as fh:
            text = fh.read(MAX_WORKSPACE_BYTES).decode("utf-8", "replace")
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("name:"):
            name = line[len("name:"):].strip()
            if len(name) >= 2 and name[0] == name[-1] and name[0] in "'\"":
                name = name[1:-1]
            return name or None
    return None


def _parse(path: Path, options: ParseOptions) -> ParseResult:
    reader = JsonlReader(path, options.max_line_bytes)
    events = _Events(options, reader.issue)
    for lineno, obj in reader:
        events.feed(lineno, obj)
    result = reader.result()
    if path.name != "events.jsonl" and (path.parent / path.stem / "events.jsonl").is_file():
        return result  # the directory form of this session is read instead
    events.finish()
    messages = events.messages
    if not any(m.content for m in messages):
        return result
    raw_id = events.raw_id or _id_from_path(path)
    where = events.git_root or events.cwd
    session = ParsedSession(
        id=ID_PREFIX + raw_id,
        agent=AGENT,
        project=project_from_cwd(where, events.branch) if where else "unknown",
        cwd=events.cwd,
        git_branch=events.branch,
        display_name=_read_workspace_name(path) if path.name == "events.jsonl" else None,
        started_at=events.started,
        ended_at=events.ended,
        source_version=events.version,
        messages=messages,
    )
    if session.started_at is None:  # no event had a time: the file's
        with contextlib.suppress(OSError, OverflowError, ValueError):
            session.started_at = session.ended_at = datetime.fromtimestamp(
                path.stat().st_mtime, tz=UTC)
    last = messages[-1]
    if reader.truncated:
        session.termination_status = "truncated"
    elif last.role == "user":
        session.termination_status = "awaiting_assistant"
    elif any(c.result_content_length is None for c in last.tool_calls):
        session.termination_status = "tool_call_pending"
    else:
        session.termination_status = "awaiting_user"
    result.sessions = [session]
    return result


class CopilotParser:
    version = 1
    tool_categories = by_category({
        "Read": ("view",),
        "Write": ("create",),
        "Edit": ("edit", "str_replace_editor"),
        "Bash": ("bash", "write_bash", "read_bash", "stop_bash", "list_bash"),
        "Grep": ("grep",),
        "Glob": ("glob",),
        "Task": ("task",),
        "Tool": ("report_intent", "update_todo", "web_fetch", "fetch_copilot_cli_documentation"),
    })
    label_heads = frozenset(CATEGORIES)

    def matches(self, rel_parts: tuple[str, ...]) -> bool:
        """``session-state/<id>/events.jsonl`` or the legacy ``session-state/<id>.jsonl``."""
        if not rel_parts or rel_parts[0] != "session-state":
            return False
        if len(rel_parts) == 3:
            return rel_parts[2] == "events.jsonl"
        return len(rel_parts) == 2 and rel_parts[1].endswith(".jsonl")

    def sniff(self, path: Path) -> bool:
        """A line typed as a Copilot event (``session.start``, ``user.message``...) with data."""
        for line in head_lines(path):
            try:
                obj = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            if (isinstance(obj, dict) and obj.get("type") in EVENT_TYPES
                    and isinstance(obj.get("data"), dict)):
                return True
        return False

    def companion_paths(self, path: Path) -> tuple[Path, ...]:
        """``workspace.yaml`` names a session without a new event; the directory form of a
        legacy file's session, once it appears, takes that session over."""
        if path.name == "events.jsonl":
            return (path.parent / "workspace.yaml",)
        return (path.parent / path.stem / "events.jsonl",)

    def root_of(self, path: Path) -> Path:
        """The directory holding ``session-state/``."""
        for parent in path.parents[:2]:
            if parent.name == "session-state":
                return parent.parent
        return path.parent

    def parse(self, path: Path, root: Path, options: ParseOptions | None = None) -> ParseResult:
        return _parse(path, options or ParseOptions())


parser: AgentParser = CopilotParser()
