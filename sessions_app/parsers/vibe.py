"""Mistral Vibe sessions: ``<root>/session_<YYYYMMDD>_<HHMMSS>_<short id>/messages.jsonl`` (one
OpenAI-style message a line: ``role``, ``content``, ``reasoning_content``, ``tool_calls``;
``tool`` messages answer a call by ``tool_call_id``) beside ``meta.json`` (session id, parent
session, start and end times, working directory, git branch, title, token totals).

``meta.json`` is a companion: a change to it is a change of the session. The messages carry no
time: the first is stamped with the session's start and the last with its end (the file's mtime
when ``meta.json`` has none). Token totals are per session: they are put on the last assistant
message, so the session's totals are Vibe's own.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
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
    as_int,
    assign_results,
    clamp_int,
    compact_json,
    parse_timestamp,
)
from sessions_app.parsers.finish import termination_status, tool_label
from sessions_app.parsers.jsondoc import read_document
from sessions_app.parsers.jsonl import FileReadError, JsonlReader, head_lines
from sessions_app.parsers.project import project_from_cwd
from sessions_app.parsers.registry import AGENTS, category_of
from sessions_app.parsers.tools import by_category

AGENT = "vibe"
ID_PREFIX = AGENTS[AGENT].id_prefix
MESSAGES = "messages.jsonl"
META = "meta.json"
# How Vibe marks a tool call that failed or that the user cancelled, in the tool's answer.
_FAILED_PREFIXES = (("<tool_error>", "errored"), ("<user_cancellation>", "cancelled"))


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


def _dict(value: object) -> dict:
    return value if isinstance(value, dict) else {}


class _Builder:
    def __init__(self, options: ParseOptions, issue: Callable[[int, str], None]) -> None:
        self.options = options
        self.issue = issue
        self.model = ""
        self.messages: list[ParsedMessage] = []
        self.results: list[tuple[str, str, str]] = []

    def add(self, lineno: int, obj: dict) -> None:
        role = obj.get("role")
        note = partial(self.issue, lineno)
        content = obj.get("content")
        text = content if isinstance(content, str) else _text_parts(content)
        if role == "tool":
            status = next((s for prefix, s in _FAILED_PREFIXES
                           if text.lstrip().startswith(prefix)), "")
            self.results.append((_str(obj.get("tool_call_id")), text, status))
            return
        if role == "user":
            if text.strip():
                injected = obj.get("injected") is True  # middleware context, not typed
                self.messages.append(ParsedMessage(
                    role="user", content=text, is_system=injected,
                    source_type="system" if injected else "user",
                    source_subtype="injected" if injected else "",
                    source_uuid=_str(obj.get("message_id"))))
            return
        if role != "assistant":
            return  # the system prompt
        message = ParsedMessage(role="assistant", source_type="assistant",
                                source_uuid=_str(obj.get("message_id")),
                                model=_str(obj.get("model")) or self.model)
        parts: list[str] = []
        reasoning = obj.get("reasoning_content")
        thinking = reasoning if isinstance(reasoning, str) else _text_parts(reasoning)
        if thinking.strip():
            message.has_thinking = True
            message.thinking_text = thinking
            parts.append(f"[Thinking]\n{thinking}\n[/Thinking]")
        if text.strip():
            parts.append(text)
        calls = obj.get("tool_calls")
        for call in calls if isinstance(calls, list) else ():
            if isinstance(call, dict):
                parts.append(self._call(message, call, note))
        message.content = "\n".join(parts)
        if message.content.strip() or message.tool_calls:
            self.messages.append(message)

    def _call(self, message: ParsedMessage, call: dict, note: Note) -> str:
        function = _dict(call.get("function"))
        name = _str(function.get("name")) or "unknown"
        args = function.get("arguments")
        raw = ""
        if isinstance(args, str):  # the OpenAI wire format: JSON in a string
            raw = args
            try:
                args = orjson.loads(args)
            except orjson.JSONDecodeError:
                args = None
        data = _dict(args)
        category = category_of(name)
        message.has_tool_use = True
        message.tool_calls.append(ParsedToolCall(
            tool_use_id=_str(call.get("id")),
            tool_name=name,
            category=category,
            input_json=compact_json(args, note, "tool arguments") if args is not None else raw,
            file_path=_str(data.get("file_path")) or _str(data.get("path"))
            if category in ("Read", "Edit", "Write") else "",
            call_index=len(message.tool_calls),
        ))
        return tool_label(name, data)

    def finish(self, started: datetime | None, ended: datetime | None) -> list[ParsedMessage]:
        calls = {c.tool_use_id: c for m in self.messages for c in m.tool_calls if c.tool_use_id}
        blocked = self.options.blocked_result_categories
        for tool_use_id, text, status in self.results:
            assign_results(calls, tool_use_id, text, source="tool_result", status=status,
                           timestamp=None, blocked=blocked)
        for ordinal, message in enumerate(self.messages):
            message.ordinal = ordinal
        if self.messages:
            self.messages[0].timestamp = started
            self.messages[-1].timestamp = ended or started
        return self.messages


def _text_parts(content: object) -> str:
    if not isinstance(content, list):
        return ""
    return "\n".join(_str(p.get("text")) for p in content
                     if isinstance(p, dict) and _str(p.get("text")))


def _apply_totals(messages: list[ParsedMessage], stats: dict, note: Note) -> None:
    """Vibe's session token totals on the last assistant message."""
    last = next((m for m in reversed(messages) if m.role == "assistant"), None)
    if last is None:
        return
    names = ("session_prompt_tokens", "session_completion_tokens", "session_cached_tokens",
             "context_tokens")
    values = {n: as_int(stats.get(n), note, f"stats.{n}") for n in names if n in stats}
    if not values:
        return
    prompt, cached = values.get("session_prompt_tokens", 0), values.get(
        "session_cached_tokens", 0)
    usage = {"input_tokens": clamp_int(max(prompt - cached, 0))}
    if "session_cached_tokens" in values:
        usage["cache_read_input_tokens"] = cached
    if "session_completion_tokens" in values:
        usage["output_tokens"] = values["session_completion_tokens"]
        last.output_tokens, last.has_output_tokens = usage["output_tokens"], True
    last.token_usage = compact_json(usage)
    context = values.get("context_tokens") or prompt
    if context:
        last.context_tokens, last.has_context_tokens = context, True


def _parse(path: Path, options: ParseOptions) -> ParseResult:
    reader = JsonlReader(path, options.max_line_bytes)
    builder = _Builder(options, reader.issue)
    meta: dict = {}
    meta_issues: list[str] = []
    try:
        doc = read_document(path.with_name(META), 16 * 1024 * 1024, name=META)
        meta = doc.object or {}
        meta_issues = doc.issues
    except FileReadError:
        meta_issues = [f"no readable {META}: id from the folder name, times from the file"]
    config = _dict(meta.get("config"))
    builder.model = (_str(meta.get("model")) or _str(config.get("active_model"))
                     or _str(_dict(meta.get("agent_config")).get("active_model")))
    for lineno, obj in reader:
        builder.add(lineno, obj)
    result = reader.result()
    started, ended = parse_timestamp(meta.get("start_time")), parse_timestamp(
        meta.get("end_time"))
    if started is None:
        try:
            started = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
        except (OSError, OverflowError, ValueError):
            started = None
    messages = builder.finish(started, ended)
    if not messages:
        return result
    result.issues.extend(meta_issues)
    _apply_totals(messages, _dict(meta.get("stats")), lambda what: result.issues.append(
        f"{META}: {what}"))
    environment = _dict(meta.get("environment"))
    cwd = _str(meta.get("working_dir")) or _str(environment.get("working_directory"))
    branch = _str(meta.get("git_branch"))
    raw_id = _str(meta.get("session_id")) or path.parent.name
    parent = _str(meta.get("parent_session_id"))
    title = _str(meta.get("title"))
    session = ParsedSession(
        id=ID_PREFIX + raw_id,
        agent=AGENT,
        project=project_from_cwd(cwd, branch) if cwd else "unknown",
        cwd=cwd,
        git_branch=branch,
        display_name=title if title and meta.get("title_source") == "manual" else None,
        parent_session_id=ID_PREFIX + parent if parent and parent != raw_id else None,
        # a compaction or a fork starts a new session naming the one it came from
        relationship_type="continuation" if parent and parent != raw_id else "",
        source_session_id=raw_id,
        messages=messages,
    )
    session.fill_bounds_from_messages()
    session.termination_status = termination_status(messages, reader.truncated)
    result.sessions = [session]
    return result


class VibeParser:
    version = 1
    tool_categories = by_category({
        "Read": ("read_file", "read"),
        "Edit": ("search_replace", "edit"),
        "Write": ("write_file",),
        "Bash": ("bash",),
        "Grep": ("grep",),
        "Task": ("task",),
        "Tool": ("todo", "skill", "web_fetch", "web_search", "ask_user_question",
                 "exit_plan_mode"),
    })
    label_heads = frozenset({"Tool", "Read", "Write", "Edit", "Bash", "Grep", "Glob", "Task",
                             "Skill", "Todo List", "Question"})

    def matches(self, rel_parts: tuple[str, ...]) -> bool:
        """``<session folder>/messages.jsonl``."""
        return len(rel_parts) == 2 and rel_parts[1] == MESSAGES

    def companion_paths(self, path: Path) -> tuple[Path, ...]:
        return (path.with_name(META),)

    def sniff(self, path: Path) -> bool:
        """``messages.jsonl`` beside a ``meta.json``, holding role/content lines."""
        if path.name != MESSAGES or not path.with_name(META).is_file():
            return False
        return any(b'"role"' in line for line in head_lines(path, 5))

    def root_of(self, path: Path) -> Path:
        return path.parent.parent

    def parse(self, path: Path, root: Path, options: ParseOptions | None = None) -> ParseResult:
        return _parse(path, options or ParseOptions())


parser: AgentParser = VibeParser()
