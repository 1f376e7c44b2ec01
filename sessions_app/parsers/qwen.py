"""Qwen Code chat recordings: ``<root>/<project dir>/chats/<session id>.jsonl``, the root being
``~/.qwen/projects`` and the project directory the working directory with every character
but letters and digits replaced by ``-``.

Qwen Code is a fork of Gemini CLI; its records carry genai ``Content`` (``role``, ``parts``:
text, thought, functionCall, functionResponse), as Gemini's do, and share its helpers
(``genai``). Every record has ``uuid``, ``parentUuid``, ``sessionId``, ``timestamp``,
``type`` (user, assistant, tool_result, system), ``cwd``, ``version``, ``gitBranch``. Tool
results come in ``tool_result`` records and attach to their calls by id; ``system`` records
give the title (``custom_title``), a parent session (``parent_session``) and compactions
(``chat_compression``). A ``/branch`` copy marks every copied record ``forkedFrom``.
Records of subagents (``isSidechain``) are not part of the session's conversation.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial
from pathlib import Path

import orjson

from sessions_app.parsers.base import (
    AgentParser,
    Note,
    ParsedMessage,
    ParsedSession,
    ParseOptions,
    ParseResult,
    as_int,
    assign_results,
    clamp_int,
    compact_json,
    is_slash_command,
    parse_timestamp,
)
from sessions_app.parsers.genai import (
    LABEL_HEADS,
    family_categories,
    file_clock,
    function_response,
    part_texts,
    termination_status,
    text_of,
    thinking_block,
    tool_call,
    tool_label,
)
from sessions_app.parsers.jsonl import JsonlReader, head_lines
from sessions_app.parsers.project import project_from_cwd, project_from_encoded_dir
from sessions_app.parsers.registry import AGENTS

AGENT = "qwen"
ID_PREFIX = AGENTS[AGENT].id_prefix
RECORD_TYPES = frozenset({"user", "assistant", "tool_result", "system"})
# User records that are prompts; other subtypes (notification, cron, goal_runtime...) are the
# CLI speaking and become system rows.
PROMPT_SUBTYPES = frozenset({"", "mid_turn_user_message", "realtime_message"})
RESULT_STATUS = {"error": "errored", "cancelled": "cancelled"}


def _parts(record: dict) -> list:
    message = record.get("message")
    parts = message.get("parts") if isinstance(message, dict) else None
    return parts if isinstance(parts, list) else []


class _Chat:
    def __init__(self, options: ParseOptions, issue: Callable[[int, str], None]) -> None:
        self.options = options
        self.issue = issue
        self.session_id = ""
        self.cwd = ""
        self.branch = ""
        self.version = ""
        self.title: str | None = None
        self.parent = ""
        self.relationship = ""
        self.started: datetime | None = None
        self.ended: datetime | None = None
        self.messages: list[ParsedMessage] = []
        self.calls: dict = {}
        self.results: list[tuple[str, str, str, datetime | None]] = []

    def feed(self, line: int, obj: dict) -> None:
        kind = obj.get("type")
        if not isinstance(kind, str) or kind not in RECORD_TYPES:
            return
        ts = parse_timestamp(obj.get("timestamp"))
        if ts is not None:
            self.started = ts if self.started is None or ts < self.started else self.started
            self.ended = ts if self.ended is None or ts > self.ended else self.ended
        self.session_id = self.session_id or text_of(obj.get("sessionId"))
        self.cwd = self.cwd or text_of(obj.get("cwd"))
        self.branch = self.branch or text_of(obj.get("gitBranch"))
        self.version = self.version or text_of(obj.get("version"))
        forked = obj.get("forkedFrom")
        if isinstance(forked, dict) and text_of(forked.get("sessionId")) and not self.parent:
            self.parent, self.relationship = text_of(forked.get("sessionId")), "fork"
        if obj.get("isSidechain") is True:
            return  # a subagent's own turn
        note = partial(self.issue, line)
        if kind == "user":
            self._user(obj, ts, note)
        elif kind == "assistant":
            self._assistant(obj, ts, note)
        elif kind == "tool_result":
            self._tool_result(obj, ts, note)
        else:
            self._system(obj, ts)

    def _collect_results(self, parts: list, ts: datetime | None, status: str, fallback_id: str,
                         note: Note) -> bool:
        found = False
        for part in parts:
            response = function_response(part, note)
            if response is None:
                continue
            call_id, text, is_error = response
            self.results.append((call_id or fallback_id, text,
                                 "errored" if is_error else status, ts))
            found = True
        return found

    def _user(self, obj: dict, ts: datetime | None, note: Note) -> None:
        parts = _parts(obj)
        self._collect_results(parts, ts, "", "", note)  # older versions sent results as user
        payload = obj.get("systemPayload")
        shown = text_of(payload.get("displayText")) if isinstance(payload, dict) else ""
        text = shown or "\n".join(part_texts(parts))
        if not text.strip():
            return
        subtype = text_of(obj.get("subtype"))
        system = subtype not in PROMPT_SUBTYPES
        self.messages.append(ParsedMessage(
            role="user", content=text, timestamp=ts, is_system=system,
            source_type="system" if system else "user", source_subtype=subtype,
            source_uuid=text_of(obj.get("uuid")), source_parent_uuid=text_of(
                obj.get("parentUuid")),
        ))

    def _assistant(self, obj: dict, ts: datetime | None, note: Note) -> None:
        parts = _parts(obj)
        thoughts = part_texts(parts, thoughts=True)
        pieces = [thinking_block(t) for t in thoughts] + part_texts(parts)
        message = ParsedMessage(
            role="assistant", timestamp=ts, model=text_of(obj.get("model")),
            source_type="assistant", source_uuid=text_of(obj.get("uuid")),
            source_parent_uuid=text_of(obj.get("parentUuid")),
        )
        for part in parts:
            call = part.get("functionCall") if isinstance(part, dict) else None
            if not isinstance(call, dict) or not text_of(call.get("name")):
                continue
            name = text_of(call.get("name"))
            parsed = tool_call(name, text_of(call.get("id")), call.get("args"),
                               len(message.tool_calls), note)
            message.tool_calls.append(parsed)
            if parsed.tool_use_id:
                self.calls[parsed.tool_use_id] = parsed
            pieces.append(tool_label(name, call.get("args")))
        message.content = "\n\n".join(pieces)
        if not message.content.strip():
            return
        message.thinking_text = "\n\n".join(thoughts)
        message.has_thinking = bool(thoughts)
        message.has_tool_use = bool(message.tool_calls)
        self._usage(message, obj.get("usageMetadata"), note)
        self.messages.append(message)

    @staticmethod
    def _usage(message: ParsedMessage, usage: object, note: Note) -> None:
        """promptTokenCount includes the cached part; candidatesTokenCount the thoughts."""
        if not isinstance(usage, dict):
            return
        prompt, output, cached = (
            as_int(usage.get(key), note, f"usageMetadata.{key}")
            for key in ("promptTokenCount", "candidatesTokenCount", "cachedContentTokenCount"))
        has_context = "promptTokenCount" in usage or "cachedContentTokenCount" in usage
        has_output = "candidatesTokenCount" in usage
        if not has_context and not has_output:
            return
        message.token_usage = compact_json({
            "input_tokens": clamp_int(max(prompt - cached, 0)),
            "output_tokens": output,
            "cache_read_input_tokens": cached,
        })
        message.context_tokens, message.has_context_tokens = prompt, has_context
        message.output_tokens, message.has_output_tokens = output, has_output

    def _tool_result(self, obj: dict, ts: datetime | None, note: Note) -> None:
        info = obj.get("toolCallResult")
        info = info if isinstance(info, dict) else {}
        status = RESULT_STATUS.get(text_of(info.get("status")), "")
        call_id = text_of(info.get("callId"))
        if not self._collect_results(_parts(obj), ts, status, call_id, note) and call_id:
            shown = info.get("resultDisplay")
            self.results.append((call_id, text_of(shown), status, ts))

    def _system(self, obj: dict, ts: datetime | None) -> None:
        subtype = obj.get("subtype")
        payload = obj.get("systemPayload")
        payload = payload if isinstance(payload, dict) else {}
        if subtype == "custom_title":
            self.title = text_of(payload.get("customTitle")).strip() or self.title
        elif subtype == "parent_session" and not self.parent:
            parent = text_of(payload.get("parentSessionId"))
            if parent:
                self.parent, self.relationship = parent, "subagent"
        elif subtype == "chat_compression":
            history = payload.get("compressedHistory")
            first = history[0] if isinstance(history, list) and history else None
            summary = first.get("parts") if isinstance(first, dict) else None
            self.messages.append(ParsedMessage(
                role="assistant", content="\n".join(part_texts(summary)), timestamp=ts,
                is_system=True, source_type="system", source_subtype="compact_boundary",
                is_compact_boundary=True, source_uuid=text_of(obj.get("uuid")),
                source_parent_uuid=text_of(obj.get("parentUuid")),
            ))

    def finish(self) -> bool:
        """Results onto their calls, ordinals 0..n-1; True when the last message has a call
        that never got its result."""
        blocked = self.options.blocked_result_categories
        for call_id, text, status, ts in self.results:
            assign_results(self.calls, call_id, text, source="tool_result", status=status,
                           timestamp=ts, blocked=blocked)
        for ordinal, message in enumerate(self.messages):
            message.ordinal = ordinal
        last = self.messages[-1] if self.messages else None
        return last is not None and any(c.result_content_length is None
                                        for c in last.tool_calls)


def _parse(path: Path, root: Path, options: ParseOptions) -> ParseResult:
    reader = JsonlReader(path, options.max_line_bytes)
    chat = _Chat(options, reader.issue)
    for lineno, obj in reader:
        chat.feed(lineno, obj)
    result = reader.result()
    pending = chat.finish()
    messages = chat.messages
    if all(m.is_compact_boundary for m in messages):
        return result
    raw_id = chat.session_id
    if not raw_id:
        raw_id = path.stem
        result.issues.append(f"no sessionId; id taken from the file name ({raw_id})")
    try:
        project_dir = path.relative_to(root).parts[0]
    except (ValueError, IndexError):
        project_dir = path.parent.parent.name
    session = ParsedSession(
        id=ID_PREFIX + raw_id,
        agent=AGENT,
        project=project_from_cwd(chat.cwd, chat.branch) if chat.cwd
        else project_from_encoded_dir(project_dir),
        cwd=chat.cwd,
        git_branch=chat.branch,
        display_name=chat.title,
        started_at=chat.started,
        ended_at=chat.ended,
        parent_session_id=ID_PREFIX + chat.parent if chat.parent else None,
        relationship_type=chat.relationship,
        source_version=chat.version,
        messages=messages,
        not_a_prompt=is_slash_command,
    )
    if session.started_at is None:  # no record had a time
        session.started_at = session.ended_at = file_clock(path)
    session.termination_status = termination_status(messages, reader.truncated, pending)
    result.sessions = [session]
    return result


class QwenParser:
    version = 1
    tool_categories = family_categories({
        "Task": ("agent",),
        "Tool": (
            "task_create", "task_get", "task_list", "task_update", "task_stop", "task_output",
            "lsp", "ask_user_question", "web_search", "skill",
        ),
    })
    label_heads = LABEL_HEADS

    def matches(self, rel_parts: tuple[str, ...]) -> bool:
        """``<project dir>/chats/<session id>.jsonl``."""
        return (len(rel_parts) == 3 and rel_parts[1] == "chats"
                and rel_parts[2].endswith(".jsonl"))

    def sniff(self, path: Path) -> bool:
        """A record with a ``sessionId`` and genai ``Content`` (a ``message`` with ``parts``),
        or one of Qwen's ``tool_result`` records."""
        for line in head_lines(path):
            try:
                obj = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            if not isinstance(obj, dict) or "sessionId" not in obj:
                continue
            message = obj.get("message")
            if obj.get("type") == "tool_result" or (
                    isinstance(message, dict) and isinstance(message.get("parts"), list)):
                return True
        return False

    def root_of(self, path: Path) -> Path:
        """Two above ``chats/``."""
        if path.parent.name == "chats" and len(path.parents) > 2:
            return path.parents[2]
        return path.parent

    def parse(self, path: Path, root: Path, options: ParseOptions | None = None) -> ParseResult:
        return _parse(path, root, options or ParseOptions())


parser: AgentParser = QwenParser()
