"""Grok Build sessions: ``<root>/<url-encoded cwd>/<session id>/summary.json``.

The session is its folder, read from its ``summary.json`` (id, cwd, times, model, branch,
the parent a fork came from) with these companions:

- ``chat_history.jsonl``: the conversation, one row per line. The current format has typed
  rows (``system``, ``user`` with ``synthetic_reason`` for injected ones, ``reasoning``,
  ``backend_tool_call``, ``assistant`` with ``tool_calls``, ``tool_result``); the legacy one
  is OpenAI-style (``role``, ``tool_calls[].function``, ``reasoning_content``). Its rows
  carry no times.
- ``updates.jsonl``: the timestamped stream the history is derived from; it gives the
  messages their times, the tool calls their completion and failure, and each turn's token
  usage (``turn_completed``).
- ``prompt_context.json``: ``is_non_interactive`` marks a headless run (automated, §4.7).

A change to any companion is a change of the session (``companion_paths``).
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from pathlib import Path
from urllib.parse import unquote

from sessions_app.parsers.base import (
    AgentParser,
    ParsedMessage,
    ParsedSession,
    ParseOptions,
    ParseResult,
    as_int,
    clamp_int,
    compact_json,
    parse_timestamp,
)
from sessions_app.parsers.chatlog import (
    LABEL_HEADS,
    Builder,
    Issues,
    attach,
    decode_document,
    finish_result,
    read_document,
    s,
)
from sessions_app.parsers.jsonl import FileReadError, JsonlReader
from sessions_app.parsers.project import normalize_name, project_from_cwd
from sessions_app.parsers.registry import AGENTS
from sessions_app.parsers.tools import by_category

AGENT = "grok"
ID_PREFIX = AGENTS[AGENT].id_prefix
SUMMARY = "summary.json"
HISTORY = "chat_history.jsonl"
UPDATES = "updates.jsonl"
SIGNALS = "signals.json"
PROMPT_CONTEXT = "prompt_context.json"
MAX_SIDECAR_BYTES = 4 * 1024 * 1024
_META_BLOCKS = ("user_info", "git_status", "system-reminder", "agent_skills", "mcp_servers")
_USER_QUERY_RE = re.compile(r"<user_query>\s*(.*?)\s*</user_query>", re.DOTALL)


def _first(data: dict, *keys: str) -> str:
    for key in keys:
        value = data
        for part in key.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def user_text(content: object) -> str:
    """What the person typed: the ``<user_query>`` when the prompt is wrapped, else the text
    without the context blocks Grok injects (meta-only text becomes '')."""
    if isinstance(content, list):
        text = "\n".join(s(p.get("text")) for p in content
                         if isinstance(p, dict) and p.get("type") == "text" and s(p.get("text")))
    else:
        text = s(content)
    text = text.strip()
    query = _USER_QUERY_RE.search(text)
    if query:
        return query.group(1).strip()
    for tag in _META_BLOCKS:
        while f"<{tag}>" in text:
            start = text.index(f"<{tag}>")
            end = text.find(f"</{tag}>", start)
            text = text[:start] + (text[end + len(tag) + 3:] if end >= 0 else "")
    return text.strip()


def _reasoning(row: dict) -> str:
    parts = [s(p.get("text")).strip() for key in ("summary", "content")
             for p in (row.get(key) if isinstance(row.get(key), list) else [])
             if isinstance(p, dict) and s(p.get("text")).strip()]
    return "\n\n".join(parts) if parts else s(row.get("content")).strip()


def _result_text(content: object, note) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [s(p.get("text")) for p in content if isinstance(p, dict) and s(p.get("text"))]
        if texts:
            return "\n".join(texts)
    return "" if content is None else compact_json(content, note, "tool result")


class _History:
    def __init__(self, options: ParseOptions, issue, default_model: str) -> None:
        self.builder = Builder(options)
        self.issue = issue
        self.line = 0
        self.default_model = default_model
        self.thinking: list[str] = []
        self.texts: dict[int, str] = {}  # id(message) -> its own text, for the update times

    def note(self, message: str) -> None:
        self.issue(self.line, message)

    def feed(self, lineno: int, row: dict) -> None:
        self.line = lineno
        kind = row.get("type") if isinstance(row.get("type"), str) else ""
        if kind not in ("system", "user", "reasoning", "backend_tool_call", "assistant",
                        "tool_result"):
            kind = {"system": "system", "user": "user", "assistant": "assistant",
                    "tool": "tool_result"}.get(s(row.get("role")), "")
        if kind == "user":
            self.thinking = []
            reason = s(row.get("synthetic_reason"))
            if reason and reason != "interjection":
                return  # project instructions and other context Grok adds
            text = user_text(row.get("content"))
            if text:
                self.builder.add("user", text, None,
                                 source_subtype="interjection" if reason else "")
        elif kind == "reasoning":
            text = _reasoning(row)
            if text:
                self.thinking.append(text)
        elif kind == "backend_tool_call":
            self._backend(row.get("kind") if isinstance(row.get("kind"), dict) else row)
        elif kind == "assistant":
            self._assistant(row)
        elif kind == "tool_result":
            self.thinking = []
            call_id = s(row.get("tool_call_id"))
            self.builder.result(call_id, _result_text(row.get("content"), self.note),
                                status="completed")

    def _backend(self, payload: dict) -> None:
        """A tool the model's provider ran (web search, X search, code interpreter)."""
        name = s(payload.get("tool_type")) or {
            "web_search_call": "web_search", "custom_tool_call": "x_search",
            "code_interpreter_call": "code_interpreter"}.get(s(payload.get("type")), "")
        if not name:
            return
        call_id = s(payload.get("id"))
        if call_id and call_id in self.builder.calls:
            return
        action = payload.get("action")
        raw = action if action is not None else payload.get("input")
        message = self.builder.add("assistant", "", None, model=self.default_model)
        call = self.builder.call(message, name, raw if raw is not None else payload, call_id,
                                 self.note, label=False)
        if call is None:
            return
        detail = ""
        if isinstance(action, dict):
            detail = _first(action, "query", "url", "pattern")
        elif isinstance(raw, str):
            detail = raw.split("\n", 1)[0][:300]
        message.content = f"[Tool: {name}]\n{detail}" if detail else f"[Tool: {name}]"
        status = s(payload.get("status"))
        if status in ("completed", "failed"):
            self.builder.result(call_id, "", status="errored" if status == "failed"
                                else "completed", source="tool_execution")

    def _assistant(self, row: dict) -> None:
        raw_output = row.get("raw_output")
        for item in raw_output if isinstance(raw_output, list) else []:
            if isinstance(item, dict) and item.get("type") in (
                    "web_search_call", "custom_tool_call", "code_interpreter_call"):
                self._backend(item)
        thinking = "\n\n".join(self.thinking)
        self.thinking = []
        inline = _first(row, "reasoning.text") or s(row.get("reasoning_content")).strip()
        if not inline and isinstance(raw_output, list):
            inline = "\n\n".join(_reasoning(i) for i in raw_output
                                 if isinstance(i, dict) and i.get("type") == "reasoning"
                                 and _reasoning(i))
        text = s(row.get("content")).strip()
        message = self.builder.add("assistant", text, None, thinking=inline or thinking,
                                   model=s(row.get("model_id")) or self.default_model)
        self.texts[id(message)] = text
        calls = row.get("tool_calls")
        for call in calls if isinstance(calls, list) else []:
            if not isinstance(call, dict):
                continue
            function = call.get("function") if isinstance(call.get("function"), dict) else {}
            name = s(call.get("name")) or s(function.get("name"))
            raw = next((v for v in (call.get("arguments"), function.get("arguments"),
                                    call.get("input")) if v is not None), None)
            self.builder.call(message, name, raw,
                              s(call.get("id")) or s(call.get("tool_call_id")), self.note)


class _Anchor:
    __slots__ = ("role", "text", "ts", "call_ids", "result_id", "status")

    def __init__(self, role: str, ts: datetime | None, text: str = "",
                 call_ids: tuple[str, ...] = (), result_id: str = "", status: str = "") -> None:
        self.role, self.text, self.ts = role, text, ts
        self.call_ids, self.result_id, self.status = call_ids, result_id, status


def _updates(path: Path, options: ParseOptions, issues: Issues
             ) -> tuple[list[_Anchor], list[tuple[datetime | None, dict]]]:
    """The timed anchors of ``updates.jsonl`` (a user's text, the model's text, a tool call
    started or done) and each turn's usage, in order."""
    anchors: list[_Anchor] = []
    usages: list[tuple[datetime | None, dict]] = []
    if not path.is_file():
        return anchors, usages
    reader = JsonlReader(path, options.max_line_bytes)
    open_role, texts = "", []

    def close() -> None:
        nonlocal open_role, texts
        if open_role:
            anchors[-1].text = "".join(texts).strip()
        open_role, texts = "", []

    try:
        for _, obj in reader:
            params = obj.get("params")
            update = params.get("update") if isinstance(params, dict) else obj.get("update")
            if not isinstance(update, dict):
                continue
            ts = parse_timestamp(obj.get("timestamp"))
            kind = update.get("sessionUpdate")
            content = update.get("content") if isinstance(update.get("content"), dict) else {}
            meta = update.get("_meta") if isinstance(update.get("_meta"), dict) else {}
            if kind in ("user_message_chunk", "agent_message_chunk"):
                role = "user" if kind == "user_message_chunk" else "assistant"
                if meta.get("hostTurn") is True:
                    close()
                    continue
                if open_role != role:
                    close()
                    anchors.append(_Anchor(role, ts))
                    open_role = role
                if content.get("type") == "text":
                    texts.append(s(content.get("text")) + ("\n" if role == "user" else ""))
            elif kind == "tool_call":
                close()
                call_id = s(update.get("toolCallId"))
                anchors.append(_Anchor("assistant", ts, call_ids=(call_id,) if call_id else ()))
            elif kind == "tool_call_update" and update.get("status") in ("completed", "failed"):
                close()
                anchors.append(_Anchor("result", ts, result_id=s(update.get("toolCallId")),
                                       status="errored" if update.get("status") == "failed"
                                       else "completed"))
            elif kind == "compaction_checkpoint":
                close()
                anchors.clear()
            usage = update.get("usage")
            if isinstance(usage, dict):
                usages.append((ts, usage))
    except FileReadError as exc:
        issues.add(f"{UPDATES}: not read ({exc})")
    close()
    for issue in reader.issues:
        issues.add(f"{UPDATES}: {issue}")
    return anchors, usages


def _matches(message: ParsedMessage, anchor: _Anchor, texts: dict[int, str]) -> bool:
    if message.role != anchor.role:
        return False
    ids = [c.tool_use_id for c in message.tool_calls if c.tool_use_id]
    if ids and anchor.call_ids:
        return any(i in anchor.call_ids for i in ids)
    if message.role == "user":
        return message.content == user_text(anchor.text)
    text = texts.get(id(message), "")
    return bool(text) and text == anchor.text.strip()


def _apply_times(messages: list[ParsedMessage], anchors: list[_Anchor], texts: dict[int, str],
                 start: datetime | None, blocked: tuple[str, ...]) -> None:
    """Give the messages the times of their anchors, in order; a message without one takes
    the time of the one before it (the first ones the session's start)."""
    at = 0
    calls = {c.tool_use_id: c for m in messages for c in m.tool_calls if c.tool_use_id}
    for anchor in anchors:
        if anchor.role != "result":
            continue
        call = calls.get(anchor.result_id)
        if call is None:
            continue
        event = next((e for e in call.result_events if e.source != "tool_execution"), None)
        if event is not None:
            event.timestamp = anchor.ts
            event.status = anchor.status
        else:
            attach(call, "", status=anchor.status, timestamp=anchor.ts, source="tool_execution",
                   blocked=blocked)
    timed = [a for a in anchors if a.role != "result"]
    last = start
    for message in messages:
        for j in range(at, len(timed)):
            if _matches(message, timed[j], texts):
                message.timestamp = timed[j].ts
                at = j + 1
                break
        if message.timestamp is None:
            message.timestamp = last
        last = message.timestamp or last


def _apply_usage(messages: list[ParsedMessage], usages: list[tuple[datetime | None, dict]],
                 note) -> None:
    """Each ``turn_completed`` usage on the last assistant message of its turn (a turn begins
    with each prompt the person typed)."""
    turns: list[ParsedMessage | None] = []
    for message in messages:
        if message.role == "user" and not message.is_system \
                and message.source_subtype != "interjection":
            turns.append(None)
        elif message.role == "assistant" and turns:
            turns[-1] = message
    for index, (_, usage) in enumerate(usages[: len(turns)]):
        target = turns[index]
        if target is None:
            continue
        models = usage.get("modelUsage")
        per_model = [v for v in models.values() if isinstance(v, dict)] \
            if isinstance(models, dict) else []
        parts = per_model or [usage]
        total_in = clamp_int(sum(as_int(p.get("inputTokens"), note, "usage.inputTokens")
                                 for p in parts))
        cached = clamp_int(sum(as_int(p.get("cachedReadTokens"), note, "usage.cachedReadTokens")
                               for p in parts))
        output = clamp_int(sum(as_int(p.get("outputTokens"), note, "usage.outputTokens")
                               for p in parts))
        target.token_usage = compact_json({
            "input_tokens": clamp_int(max(total_in - cached, 0)),
            "cache_read_input_tokens": cached,
            "output_tokens": output,
        })
        target.context_tokens, target.output_tokens = total_in, output
        target.has_context_tokens = target.has_output_tokens = True
        if len(per_model) == 1 and not target.model and isinstance(models, dict):
            target.model = next(iter(models))


def _sidecar(path: Path, issues: Issues) -> dict:
    """A small JSON sidecar of the session folder ({} when absent or unreadable)."""
    try:
        if not path.is_file():
            return {}
        with path.open("rb") as fh:
            data = fh.read(MAX_SIDECAR_BYTES)
    except OSError as exc:
        issues.add(f"{path.name}: not read ({exc.strerror or exc})")
        return {}
    value = decode_document(data, issues, path.name)
    return value if isinstance(value, dict) else {}


def _project(summary: dict, folder: str) -> tuple[str, str]:
    """(project, cwd) of a session."""
    branch = _first(summary, "head_branch", "headBranch", "git.branch")
    cwd = _first(summary, "info.cwd", "cwd") or _first(summary, "git_root_dir", "gitRootDir")
    workspace = _first(summary, "source_workspace_dir") or cwd
    if workspace:
        return project_from_cwd(workspace, branch), cwd
    label = _first(summary, "worktreeLabel", "worktree_label")
    if label:
        return normalize_name(label), cwd
    decoded = unquote(folder)
    return (project_from_cwd(decoded, branch) if decoded else "unknown"), cwd


def _parse(path: Path, root: Path, options: ParseOptions) -> ParseResult:
    issues = Issues()
    data, value = read_document(path, issues, SUMMARY)
    result = ParseResult(path=path, records=1 if value is not None else 0, size=len(data),
                         sha256=hashlib.sha256(data).hexdigest())
    summary = value if isinstance(value, dict) else {}
    if value is not None and not summary:
        issues.add(f"{SUMMARY}: not a JSON object, ignored")
    folder = path.parent
    model = _first(summary, "current_model_id", "modelId", "model_id")
    history = _History(options, lambda line, message: issues.add(
        f"{HISTORY}: line {line}: {message}"), model)
    history_path = folder / HISTORY
    reader = None
    if history_path.is_file():
        reader = JsonlReader(history_path, options.max_line_bytes)
        try:
            for lineno, row in reader:
                history.feed(lineno, row)
        except FileReadError as exc:
            issues.add(f"{HISTORY}: not read ({exc})")
        for issue in reader.issues:
            issues.add(f"{HISTORY}: {issue}")
        result.malformed_lines = reader.malformed
        result.is_truncated = reader.truncated
        result.records += reader.records
    messages = history.builder.finish()
    started = parse_timestamp(_first(summary, "created_at", "createdAt"))
    ended = next((t for t in (parse_timestamp(_first(summary, k)) for k in (
        "last_active_at", "lastActiveAt", "updated_at", "updatedAt")) if t), None)
    version = "grok-chat-v1"
    if not messages:
        prompt = _first(summary, "firstPrompt", "first_prompt", "generated_title",
                        "session_summary", "summary")
        if prompt:  # a session known only by its summary
            messages = [ParsedMessage(role="user", content=prompt, timestamp=started)]
            version = "grok-summary-v1"
    anchors, usages = _updates(folder / UPDATES, options, issues)
    _apply_times(messages, anchors, history.texts, started, options.blocked_result_categories)
    _apply_usage(messages, usages, issues.note(UPDATES))
    project, cwd = _project(summary, folder.parent.name)
    raw_id = folder.name
    session = ParsedSession(
        id=ID_PREFIX + raw_id,
        agent=AGENT,
        project=project,
        cwd=cwd,
        git_branch=_first(summary, "head_branch", "headBranch", "git.branch"),
        source_session_id=raw_id,
        source_version=version,
        messages=messages,
    )
    parent = _first(summary, "parent_session_id")
    if parent:
        session.parent_session_id = ID_PREFIX + parent
        session.relationship_type = "fork"
    if _sidecar(folder / PROMPT_CONTEXT, issues).get("is_non_interactive") is True:
        session.session_kind = "non-interactive"
    bounds = [t for t in (started, ended, *(m.timestamp for m in messages)) if t is not None]
    if bounds:
        session.started_at, session.ended_at = min(bounds), max(bounds)
    result.issues = issues.lines
    return finish_result(result, [session])


class GrokParser:
    version = 1
    tool_categories = by_category({
        "Read": ("read_file",),
        "Bash": ("code_interpreter", "run_terminal_cmd"),
        "Tool": ("web_search", "x_search"),
    })
    label_heads = LABEL_HEADS

    def matches(self, rel_parts: tuple[str, ...]) -> bool:
        """``<url-encoded cwd>/<session id>/summary.json``."""
        return len(rel_parts) == 3 and rel_parts[2] == SUMMARY

    def companion_paths(self, path: Path) -> tuple[Path, ...]:
        """The session folder's other files: a new message changes them, not the summary."""
        return tuple(path.with_name(name) for name in (HISTORY, UPDATES, PROMPT_CONTEXT,
                                                       SIGNALS))

    def sniff(self, path: Path) -> bool:
        """A ``summary.json`` beside a ``chat_history.jsonl`` or naming ``grok-build``."""
        if path.name != SUMMARY:
            return False
        if path.with_name(HISTORY).is_file():
            return True
        with path.open("rb") as fh:
            return b'"chat_format_version"' in fh.read(64 * 1024)

    def root_of(self, path: Path) -> Path:
        return path.parents[2]

    def parse(self, path: Path, root: Path, options: ParseOptions | None = None) -> ParseResult:
        return _parse(path, root, options or ParseOptions())


parser: AgentParser = GrokParser()
