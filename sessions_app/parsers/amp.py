"""Amp threads: ``<root>/T-<id>.json``, one JSON document per thread.

``messages[]`` carry Anthropic-style content blocks; a tool's result comes back in a user
message as ``{"type": "tool_result", "toolUseID", "run": {"status", "result" | "error"}}``
and is paired with its call. Each assistant message's ``usage`` gives its model, tokens and
time. The project is the first tree's ``displayName`` as Amp shows it (not normalised).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from urllib.parse import unquote, urlparse

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
)
from sessions_app.parsers.database import json_object
from sessions_app.parsers.jsonl import FileReadError, head_lines
from sessions_app.parsers.registry import AGENTS, category_of
from sessions_app.parsers.stores import LABEL_HEADS, Issues, finish, stamp, text, tool_label
from sessions_app.parsers.tools import by_category

AGENT = "amp"
ID_PREFIX = AGENTS[AGENT].id_prefix
_THREAD_ID_RE = re.compile(r"^T-[A-Za-z0-9][A-Za-z0-9-]*$")
# run.status of a tool that did not do its job
_FAILED_RUNS = frozenset({"error", "cancelled", "rejected-by-user"})


def _result_text(value: object, note: Note) -> str:
    """A tool's ``run.result`` as text: Amp's display fields first (``output`` of Bash,
    ``content`` of Read, ``diff`` of an edit), else the value as JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        for key in ("output", "content", "diff"):
            if key in value:
                return _result_text(value[key], note)
        if isinstance(value.get("success"), bool):
            return "success" if value["success"] else "failed"
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return "\n".join(value)
    if isinstance(value, list) and value and isinstance(value[0], dict) \
            and value[0].get("type") == "image":
        return "[binary content]"
    return compact_json(value, note, "tool result")


def _apply_usage(message: ParsedMessage, usage: object, note: Note) -> None:
    if not isinstance(usage, dict):
        return
    message.model = text(usage.get("model")) or message.model
    message.timestamp = stamp(usage.get("timestamp")) or message.timestamp
    counts = {key: as_int(usage.get(key), note, f"usage.{key}") for key in (
        "inputTokens", "outputTokens", "cacheCreationInputTokens", "cacheReadInputTokens")}
    context_keys = ("inputTokens", "cacheCreationInputTokens", "cacheReadInputTokens")
    if not any(key in usage for key in ("outputTokens", *context_keys)):
        return
    normalized = {"input_tokens": counts["inputTokens"],
                  "output_tokens": counts["outputTokens"],
                  "cache_read_input_tokens": counts["cacheReadInputTokens"]}
    if message.model.startswith("gpt-"):
        # OpenAI threads file the whole uncached prompt as cache creation: it is input
        normalized["input_tokens"] = clamp_int(counts["inputTokens"]
                                               + counts["cacheCreationInputTokens"])
    else:
        normalized["cache_creation_input_tokens"] = counts["cacheCreationInputTokens"]
    message.token_usage = compact_json(normalized)
    if any(key in usage for key in context_keys):
        message.context_tokens = clamp_int(sum(counts[key] for key in context_keys))
        message.has_context_tokens = True
    if "outputTokens" in usage:
        message.output_tokens = counts["outputTokens"]
        message.has_output_tokens = True


class _Thread:
    def __init__(self, options: ParseOptions, issues: Issues) -> None:
        self.options = options
        self.issues = issues
        self.messages: list[ParsedMessage] = []
        self.calls: dict[str, ParsedToolCall] = {}
        self.results: list[tuple] = []

    def add(self, index: int, entry: object) -> None:
        if not isinstance(entry, dict) or entry.get("role") not in ("user", "assistant"):
            return
        note = self.issues.at(f"messages[{index}]")
        role = entry["role"]
        meta = entry.get("meta") if isinstance(entry.get("meta"), dict) else {}
        message = ParsedMessage(role=role, timestamp=stamp(meta.get("sentAt")),
                                source_type=role)
        content = entry.get("content")
        blocks = content if isinstance(content, list) else []
        parts: list[str] = [content] if isinstance(content, str) and content.strip() else []
        thinking: list[str] = []
        for block in blocks:
            if isinstance(block, dict):
                self._block(block, message, parts, thinking, note)
        if role == "assistant":
            _apply_usage(message, entry.get("usage"), note)
        message.content = "\n".join(parts)
        message.thinking_text = "\n\n".join(thinking)
        if message.content.strip() or message.tool_calls:
            self.messages.append(message)

    def _block(self, block: dict, message: ParsedMessage, parts: list[str],
               thinking: list[str], note: Note) -> None:
        kind = block.get("type")
        if kind == "text":
            if text(block.get("text")).strip():
                parts.append(text(block.get("text")))
        elif kind in ("thinking", "redacted_thinking"):
            message.has_thinking = True
            body = text(block.get("thinking"))
            if body.strip():
                thinking.append(body)
                parts.append(f"[Thinking]\n{body}\n[/Thinking]")
        elif kind == "tool_use" and message.role == "assistant":
            name = text(block.get("name")) or "unknown"
            inp = block.get("input")
            data = inp if isinstance(inp, dict) else {}
            category = category_of(name)
            call = ParsedToolCall(
                tool_use_id=text(block.get("id")),
                tool_name=name,
                category=category,
                input_json=compact_json(inp, note, "tool input") if inp is not None else "",
                file_path=text(data.get("path")) or text(data.get("file_path"))
                if category in ("Read", "Edit", "Write") else "",
            )
            message.tool_calls.append(call)
            message.has_tool_use = True
            if call.tool_use_id:
                self.calls.setdefault(call.tool_use_id, call)
            parts.append(tool_label(category, name, data))
        elif kind == "tool_result":
            self._result(block, message, note)

    def _result(self, block: dict, message: ParsedMessage, note: Note) -> None:
        if text(block.get("tool_use_id")):  # the Anthropic shape
            content = block.get("content")
            body = content if isinstance(content, str) else "\n".join(
                text(b.get("text")) for b in content if isinstance(b, dict)
            ) if isinstance(content, list) else ""
            failed = block.get("is_error") is True
            self.results.append((text(block.get("tool_use_id")), body, failed,
                                 message.timestamp))
            return
        run = block.get("run") if isinstance(block.get("run"), dict) else {}
        status = text(run.get("status"))
        result = run.get("result")
        error = run.get("error")
        if result is not None:
            body = _result_text(result, note)
        elif isinstance(error, dict):
            body = text(error.get("message")) or compact_json(error, note, "tool error")
        else:
            body = text(error) or (f"[{status}]" if status in _FAILED_RUNS else "")
        exit_code = result.get("exitCode") if isinstance(result, dict) else None
        failed = status in _FAILED_RUNS or (
            isinstance(exit_code, int) and not isinstance(exit_code, bool) and exit_code != 0)
        if result is None and not body and status not in _FAILED_RUNS:
            return  # still running: the call stays pending
        self.results.append((text(block.get("toolUseID")), body, failed, message.timestamp))

    def finish(self) -> list[ParsedMessage]:
        for tool_use_id, body, failed, ts in self.results:
            assign_results(self.calls, tool_use_id, body, source="tool_result",
                           status="errored" if failed else "completed", timestamp=ts,
                           blocked=self.options.blocked_result_categories)
        return self.messages


def _cwd(uri: str) -> str:
    parsed = urlparse(uri)
    return unquote(parsed.path) if parsed.scheme == "file" else ""


def _parse(path: Path, options: ParseOptions) -> ParseResult:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise FileReadError(exc.strerror or str(exc)) from None
    result = ParseResult(path=path, size=len(raw), sha256=hashlib.sha256(raw).hexdigest())
    issues = Issues()
    result.issues = issues
    doc = json_object(raw) if raw.strip() else None
    if doc is None:
        if raw.strip():
            result.malformed_lines = 1
            result.is_truncated = not raw.rstrip().endswith(b"}")
            issues.add("not a JSON object (invalid or cut short); skipped")
        return result
    result.records = 1
    thread_id = path.stem if _THREAD_ID_RE.match(path.stem) else text(doc.get("id"))
    if not _THREAD_ID_RE.match(thread_id):
        issues.add("no thread id in the file name or the document; skipped")
        return result
    thread = _Thread(options, issues)
    entries = doc.get("messages")
    for index, entry in enumerate(entries if isinstance(entries, list) else []):
        thread.add(index, entry)
    messages = thread.finish()
    if not messages:
        return result  # an empty thread: Amp's own placeholder, not a session
    ended = None
    meta = doc.get("meta") if isinstance(doc.get("meta"), dict) else {}
    traces = meta.get("traces") if isinstance(meta.get("traces"), list) else []
    for trace in reversed(traces):
        ended = stamp(trace.get("endTime")) if isinstance(trace, dict) else None
        if ended is not None:
            break
    stamps = [m.timestamp for m in messages if m.timestamp is not None]
    if stamps and (ended is None or max(stamps) > ended):
        ended = max(stamps)  # a turn still running has no trace end yet
    env = doc.get("env") if isinstance(doc.get("env"), dict) else {}
    initial = env.get("initial") if isinstance(env.get("initial"), dict) else {}
    trees = initial.get("trees") if isinstance(initial.get("trees"), list) else []
    tree = trees[0] if trees and isinstance(trees[0], dict) else {}
    title = text(doc.get("title")).strip()
    created = doc.get("created")
    session = ParsedSession(
        id=ID_PREFIX + thread_id,
        agent=AGENT,
        project=text(tree.get("displayName")).strip() or "amp",
        cwd=_cwd(text(tree.get("uri"))),
        display_name=title or None,
        started_at=stamp(created) if isinstance(created, int | float) else None,
        ended_at=ended,
        source_session_id=thread_id,
        source_version=str(doc["v"]) if isinstance(doc.get("v"), int) else "",
        messages=messages,
    )
    result.sessions = [finish(session)]
    return result


class AmpParser:
    version = 1
    tool_categories = by_category({
        "Edit": ("format_file",),
        "Task": ("codebase_search_agent",),
        "Tool": ("todo_read", "mermaid", "oracle", "get_diagnostics"),
    })
    label_heads = LABEL_HEADS

    def matches(self, rel_parts: tuple[str, ...]) -> bool:
        """``T-<id>.json`` at the root."""
        name = rel_parts[-1]
        return len(rel_parts) == 1 and name.startswith("T-") and name.endswith(".json")

    def sniff(self, path: Path) -> bool:
        """A JSON document with a ``T-`` thread id and ``messages``."""
        head = b"".join(head_lines(path, 60))
        return b'"T-' in head and b'"messages"' in head

    def root_of(self, path: Path) -> Path:
        return path.parent

    def parse(self, path: Path, root: Path, options: ParseOptions | None = None) -> ParseResult:
        return _parse(path, options or ParseOptions())


parser: AgentParser = AmpParser()
