"""Posit Assistant conversations: ``<root>/<workspace>/<conversation>/`` holding
``conversation.json`` (a tree of message nodes, each naming the transcript lines it shows and
whether it is on the active branch) and ``lm-messages.jsonl`` (the transcript: one AI SDK
``ModelMessage`` per line, with an ``id``); a subagent's conversation nests under its parent's
``subagents/<id>/``. ``<root>/<workspace>/workspace.json`` names the project folder.

The transcript is the session file (the other two are its companions, so a change to either
is a change of the session). Messages follow the active branch of the tree; without a readable
tree, every transcript line in order.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from functools import partial
from pathlib import Path

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
from sessions_app.parsers.jsondoc import read_document
from sessions_app.parsers.jsonl import FileReadError, JsonlReader, head_lines
from sessions_app.parsers.project import project_from_cwd
from sessions_app.parsers.registry import AGENTS, category_of
from sessions_app.parsers.tools import by_category, claude_label

AGENT = "posit-assistant"
ID_PREFIX = AGENTS[AGENT].id_prefix
TRANSCRIPT = "lm-messages.jsonl"
TREE = "conversation.json"
WORKSPACE = "workspace.json"
SUBAGENTS = "subagents"
# The assistant's own bookkeeping inside its text, not meant to be read.
_SUMMARY_TAGS_RE = re.compile(
    r"<(MESSAGESUMMARY|CONVERSATIONSUMMARY)>.*?</\1>", re.S)
# AI SDK tool output types that mean the call failed or was refused.
_FAILED_OUTPUTS = {"error-text": "errored", "error-json": "errored",
                   "execution-denied": "cancelled"}


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


def _dict(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def _conversation_parts(rel_parts: tuple[str, ...]) -> bool:
    """``<workspace>/<conversation>`` followed by any number of ``subagents/<id>`` pairs."""
    if len(rel_parts) < 2 or len(rel_parts) % 2:
        return False
    return all(part == SUBAGENTS for part in rel_parts[2::2]) and all(
        part and part not in (".", "..") for part in rel_parts[1::2])


def _workspace_of(conversation_dir: Path) -> Path:
    """The workspace directory a conversation (a subagent's, however deep) belongs to."""
    while conversation_dir.parent.name == SUBAGENTS:
        conversation_dir = conversation_dir.parent.parent
    return conversation_dir.parent


def _text_of(content: object) -> str:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    return "\n".join(_str(p.get("text")) for p in content
                     if isinstance(p, dict) and p.get("type") == "text" and _str(p.get("text")))


def _output_text(output: object, note: Note) -> tuple[str, str]:
    """An AI SDK tool output (``{type, value}``) as text, and the status it implies."""
    data = _dict(output)
    kind = _str(data.get("type"))
    status = _FAILED_OUTPUTS.get(kind, "")
    value = data.get("value")
    if kind == "execution-denied":
        return _str(data.get("reason")) or "execution denied", status
    if isinstance(value, str):
        return value, status
    if kind == "content" and isinstance(value, list):
        return _text_of(value), status
    if value is None:
        return ("" if output is None or isinstance(output, dict)
                else compact_json(output, note, "tool output")), status
    return compact_json(value, note, "tool output"), status


class _Builder:
    def __init__(self, options: ParseOptions, issue: Callable[[int, str], None]) -> None:
        self.options = options
        self.issue = issue
        self.messages: list[ParsedMessage] = []
        self.results: list[tuple[str, str, str, datetime | None]] = []
        self.default_model = ""

    def add(self, line: int, lm: dict, fallback: datetime | None) -> None:
        message = lm.get("message")
        if not isinstance(message, dict):
            return
        note = partial(self.issue, line)
        positai = _dict(_dict(_dict(message.get("providerOptions")).get("providerMetadata"))
                        .get("positai"))
        ts = parse_timestamp(positai.get("timestamp")) or fallback
        role = message.get("role")
        content = message.get("content")
        if role == "user":
            text = _text_of(content)
            if text.strip():
                self.messages.append(ParsedMessage(role="user", content=text, timestamp=ts,
                                                   source_type="user"))
        elif role == "assistant":
            self._assistant(content, positai, ts, note)
        elif role == "tool":
            for part in content if isinstance(content, list) else ():
                if isinstance(part, dict) and part.get("type") == "tool-result":
                    text, status = _output_text(part.get("output"), note)
                    self.results.append((_str(part.get("toolCallId")), text, status, ts))

    def _assistant(self, content: object, positai: dict, ts: datetime | None,
                   note: Note) -> None:
        message = ParsedMessage(role="assistant", timestamp=ts, source_type="assistant",
                                model=_str(positai.get("modelId")) or self.default_model)
        parts: list[str] = []
        thinking: list[str] = []
        if isinstance(content, str):
            parts.append(content)
        for part in content if isinstance(content, list) else ():
            if not isinstance(part, dict):
                continue
            kind = part.get("type")
            if kind == "text":
                parts.append(_str(part.get("text")))
            elif kind == "reasoning":
                text = _str(part.get("text"))
                if text:
                    message.has_thinking = True
                    thinking.append(text)
                    parts.append(f"[Thinking]\n{text}\n[/Thinking]")
            elif kind == "tool-call":
                parts.append(self._call(message, part, note))
        text = _SUMMARY_TAGS_RE.sub("", "\n".join(p for p in parts if p)).strip()
        message.content = text
        message.thinking_text = "\n\n".join(thinking)
        _apply_usage(message, positai.get("usage"), note)
        if text or message.tool_calls:
            self.messages.append(message)

    def _call(self, message: ParsedMessage, part: dict, note: Note) -> str:
        name = _str(part.get("toolName")) or "unknown"
        args = part.get("input")
        data = _dict(args)
        category = category_of(name)
        message.has_tool_use = True
        message.tool_calls.append(ParsedToolCall(
            tool_use_id=_str(part.get("toolCallId")),
            tool_name=name,
            category=category,
            input_json=compact_json(args, note, "tool input") if args is not None else "",
            skill_name=_str(data.get("skill")) or _str(data.get("name"))
            if name == "skill" else "",
            file_path=_str(data.get("file_path")) or _str(data.get("path"))
            if category in ("Read", "Edit", "Write") else "",
            call_index=len(message.tool_calls),
        ))
        return claude_label(name, data)

    def finish(self) -> list[ParsedMessage]:
        calls = {c.tool_use_id: c for m in self.messages for c in m.tool_calls if c.tool_use_id}
        blocked = self.options.blocked_result_categories
        for tool_use_id, text, status, ts in self.results:
            assign_results(calls, tool_use_id, text, source="tool_result", status=status,
                           timestamp=ts, blocked=blocked)
        for ordinal, message in enumerate(self.messages):
            message.ordinal = ordinal
        return self.messages


def _apply_usage(message: ParsedMessage, usage: object, note: Note) -> None:
    """positai's ``{inputTokens, outputTokens, cacheReadTokens, cacheWriteTokens}`` (input
    excludes the cache) in Anthropic's shape."""
    if not isinstance(usage, dict):
        return
    names = {"inputTokens": "input_tokens", "outputTokens": "output_tokens",
             "cacheReadTokens": "cache_read_input_tokens",
             "cacheWriteTokens": "cache_creation_input_tokens"}
    present = {ours: as_int(usage.get(theirs), note, f"usage.{theirs}")
               for theirs, ours in names.items() if theirs in usage}
    if not present:
        return
    message.token_usage = compact_json(present)
    if "output_tokens" in present:
        message.output_tokens, message.has_output_tokens = present["output_tokens"], True
    context_keys = ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")
    if any(k in present for k in context_keys):
        message.context_tokens = clamp_int(sum(present.get(k, 0) for k in context_keys))
        message.has_context_tokens = True


def _active_lines(tree: dict, lines: dict[int, tuple[int, dict]],
                  issues: list[str]) -> list[tuple[int, dict, datetime | None]] | None:
    """The transcript lines the active branch shows, in order, each with its node's time;
    None when the tree lists no nodes."""
    nodes = tree.get("messages")
    if not isinstance(nodes, list):
        return None
    shown: list[tuple[int, dict, datetime | None]] = []
    seen: set[int] = set()
    missing: list[str] = []
    for node in nodes:
        if not isinstance(node, dict) or node.get("isActive") is False:
            continue
        ts = parse_timestamp(node.get("timestamp"))
        ids = node.get("lmMessageIds")
        for lm_id in ids if isinstance(ids, list) else ():
            if not isinstance(lm_id, int) or isinstance(lm_id, bool) or lm_id in seen:
                continue
            seen.add(lm_id)
            if lm_id in lines:
                shown.append((*lines[lm_id], ts))
            else:
                missing.append(str(lm_id))
    if missing:
        issues.append(f"{TREE} names transcript messages not in {TRANSCRIPT}:"
                      f" {', '.join(missing[:10])}{' ...' if len(missing) > 10 else ''}")
    return shown


def _parse(path: Path, root: Path, options: ParseOptions) -> ParseResult:
    reader = JsonlReader(path, options.max_line_bytes)
    lines: dict[int, tuple[int, dict]] = {}
    order: list[tuple[int, dict]] = []
    for lineno, obj in reader:
        lm_id = obj.get("id")
        order.append((lineno, obj))
        if isinstance(lm_id, int) and not isinstance(lm_id, bool):
            lines.setdefault(lm_id, (lineno, obj))
    result = reader.result()
    conversation_dir = path.parent
    tree_doc = None
    try:
        tree_doc = read_document(conversation_dir / TREE, options.max_line_bytes, name=TREE)
        result.issues.extend(tree_doc.issues)
    except FileReadError as exc:
        if (conversation_dir / TREE).exists():
            result.issues.append(f"{TREE}: not read ({exc})")
    tree = tree_doc.object if tree_doc is not None and tree_doc.object is not None else {}
    tree_root = _dict(tree.get("root"))
    metadata = _dict(tree_root.get("metadata"))

    builder = _Builder(options, reader.issue)
    builder.default_model = _str(_dict(metadata.get("model")).get("id"))
    shown = _active_lines(tree, lines, result.issues) if tree else None
    if shown is None:
        if order:
            result.issues.append(f"no readable {TREE}: every transcript message is shown,"
                                 " in order")
        shown = [(lineno, obj, None) for lineno, obj in order]
    for lineno, obj, ts in shown:
        builder.add(lineno, obj, ts)
    messages = builder.finish()
    if not messages:
        return result

    cwd = ""
    try:
        workspace = read_document(_workspace_of(conversation_dir) / WORKSPACE, 1024 * 1024,
                                  name=WORKSPACE)
        cwd = _str(workspace.object.get("path")) if workspace.object else ""
    except FileReadError:
        pass  # the default workspace has no manifest: no project folder
    raw_id = conversation_dir.name
    parent = ""
    if metadata.get("kind") == "subagent":
        parent = _str(metadata.get("parentTreeId"))
    if not parent and conversation_dir.parent.name == SUBAGENTS:
        parent = conversation_dir.parent.parent.name
    session = ParsedSession(
        id=ID_PREFIX + raw_id,
        agent=AGENT,
        project=project_from_cwd(cwd) if cwd else "unknown",
        cwd=cwd,
        git_branch=_str(metadata.get("gitBranch")),
        display_name=_str(tree_root.get("title")) or None,
        started_at=parse_timestamp(tree_root.get("timestamp")),
        parent_session_id=ID_PREFIX + parent if parent else None,
        relationship_type="subagent" if parent else "",
        source_session_id=raw_id,
        messages=messages,
    )
    stamps = [t for t in (session.started_at, *(m.timestamp for m in messages)) if t]
    session.started_at = min(stamps, default=None)
    session.ended_at = max(stamps, default=None)
    session.termination_status = termination_status(messages, reader.truncated)
    result.sessions = [session]
    return result


class PositAssistantParser:
    version = 1
    tool_categories = by_category({
        "Read": ("read", "ls", "getConsoleContent"),
        "Edit": ("edit",),
        "Write": ("write",),
        "Bash": ("bash", "runCode", "executeCode"),
        "Grep": ("grep",),
        "Task": ("explore",),
        "Tool": ("skill", "web_search", "todoWrite", "webfetch", "EnterMode", "ExitMode"),
    })
    label_heads = frozenset({"Tool", "Read", "Write", "Edit", "Bash", "Grep", "Glob", "Task",
                             "Skill", "Todo List", "Question"})

    def matches(self, rel_parts: tuple[str, ...]) -> bool:
        """``<workspace>/<conversation>[/subagents/<id>...]/lm-messages.jsonl``."""
        return rel_parts[-1] == TRANSCRIPT and _conversation_parts(rel_parts[:-1])

    def companion_paths(self, path: Path) -> tuple[Path, ...]:
        """The conversation's tree and its workspace's manifest (its project folder)."""
        return path.with_name(TREE), _workspace_of(path.parent) / WORKSPACE

    def sniff(self, path: Path) -> bool:
        """A transcript named ``lm-messages.jsonl`` beside a ``conversation.json``, whose lines
        carry an ``id`` and an AI SDK ``message``."""
        if path.name != TRANSCRIPT or not path.with_name(TREE).is_file():
            return False
        return any(b'"message"' in line and b'"role"' in line for line in head_lines(path, 5))

    def root_of(self, path: Path) -> Path:
        """The directory holding the workspaces."""
        return _workspace_of(path.parent).parent

    def parse(self, path: Path, root: Path, options: ParseOptions | None = None) -> ParseResult:
        return _parse(path, root, options or ParseOptions())


parser: AgentParser = PositAssistantParser()
