"""Claude Code transcripts.

Layout: ``<root>/<encoded-cwd>/<session-uuid>.jsonl``; subagents in
``<root>/<encoded-cwd>/<parent-uuid>/subagents/agent-<id>.jsonl``. One file can hold several
sessions: a uuid tree whose branch point has a long first branch is a fork, and each other
branch becomes its own session ``<session>-<uuid>``.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
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
    is_slash_command,
    parse_timestamp,
)
from sessions_app.parsers.jsonl import JsonlReader, head_lines
from sessions_app.parsers.project import project_from_cwd, project_from_encoded_dir
from sessions_app.parsers.registry import category_of
from sessions_app.parsers.tools import by_category, claude_label

AGENT = "claude"
FORK_THRESHOLD = 3  # a first branch with more user turns than this is a fork, not a retry
SUBAGENT_TOOLS = ("Task", "Agent")


@dataclass(slots=True)
class _Entry:
    kind: str  # user | assistant
    line: int
    uuid: str
    parent: str
    timestamp: datetime | None
    content: object
    is_sidechain: bool = False
    is_meta: bool = False
    is_compact_summary: bool = False
    queued: bool = False
    message_id: str = ""
    request_id: str = ""
    model: str = ""
    usage: object = None
    stop_reason: str = ""
    result_agent_id: str = ""


class _FileState:
    """What one pass over the file collects."""

    def __init__(self) -> None:
        self.entries: list[_Entry] = []
        self.queued: list[_Entry] = []
        self.started: datetime | None = None
        self.ended: datetime | None = None
        self.cwd = ""
        self.git_branch = ""
        self.version = ""
        self.source_session_id = ""
        self.display_name: str | None = None
        self.links: dict[str, str] = {}  # tool_use_id -> subagent session id

    def bound(self, ts: datetime | None) -> None:
        if ts is None:
            return
        if self.started is None or ts < self.started:
            self.started = ts
        if self.ended is None or ts > self.ended:
            self.ended = ts

    def feed(self, lineno: int, obj: dict) -> None:
        kind = obj.get("type")
        ts = parse_timestamp(obj.get("timestamp"))
        if ts is None and kind == "file-history-snapshot":
            snapshot = obj.get("snapshot")
            if isinstance(snapshot, dict):
                ts = parse_timestamp(snapshot.get("timestamp"))
        self.bound(ts)
        for key, attr in (("cwd", "cwd"), ("gitBranch", "git_branch"), ("version", "version")):
            value = obj.get(key)
            if isinstance(value, str) and value and not getattr(self, attr):
                setattr(self, attr, value)

        if kind in ("user", "assistant"):
            self._message(lineno, kind, obj, ts)
        elif kind == "system":
            self._system(obj)
        elif kind == "custom-title":  # /rename, or the SDK's rename_session
            title = obj.get("customTitle")
            if isinstance(title, str):
                self.display_name = title.strip() or None
        elif kind == "progress":
            data = obj.get("data")
            parent_tool = obj.get("parentToolUseID")
            if isinstance(data, dict) and data.get("type") == "agent_progress":
                agent_id = data.get("agentId")
                if isinstance(parent_tool, str) and isinstance(agent_id, str) and agent_id:
                    self.links[parent_tool] = f"agent-{agent_id}"
        elif kind == "queue-operation" and obj.get("operation") == "enqueue":
            self._queue_link(obj.get("content"))
        elif kind == "attachment":
            att = obj.get("attachment")
            if isinstance(att, dict) and att.get("type") == "queued_command":
                prompt = att.get("prompt")
                if isinstance(prompt, str) and prompt.strip():
                    self.queued.append(
                        _Entry("user", lineno, "", "", ts, prompt, queued=True)
                    )

    def _message(self, lineno: int, kind: str, obj: dict, ts: datetime | None) -> None:
        message = obj.get("message")
        if not isinstance(message, dict):
            return
        sid = obj.get("sessionId")
        if isinstance(sid, str) and sid and not self.source_session_id:
            self.source_session_id = sid
        tool_result = obj.get("toolUseResult")
        entry = _Entry(
            kind=kind,
            line=lineno,
            uuid=obj.get("uuid") if isinstance(obj.get("uuid"), str) else "",
            parent=obj.get("parentUuid") if isinstance(obj.get("parentUuid"), str) else "",
            timestamp=ts,
            content=message.get("content"),
            is_sidechain=obj.get("isSidechain") is True,
            is_meta=obj.get("isMeta") is True,
            is_compact_summary=obj.get("isCompactSummary") is True,
            message_id=_str(message.get("id")),
            request_id=_str(obj.get("requestId")),
            model=_str(message.get("model")),
            usage=message.get("usage"),
            stop_reason=_str(message.get("stop_reason")),
            result_agent_id=_str(tool_result.get("agentId")) if isinstance(tool_result, dict)
            else "",
        )
        self.entries.append(entry)

    def _system(self, obj: dict) -> None:
        content = obj.get("content")
        if isinstance(content, str) and "<command-name>/rename</command-name>" in content:
            match = re.search(r"<command-args>(.*?)</command-args>", content, re.S)
            name = match.group(1).strip() if match else ""
            self.display_name = name or None

    def _queue_link(self, content: object) -> None:
        tool_use_id = task_id = ""
        if isinstance(content, str):
            try:
                data = orjson.loads(content)
            except orjson.JSONDecodeError:
                data = None
            if isinstance(data, dict):
                tool_use_id, task_id = _str(data.get("tool_use_id")), _str(data.get("task_id"))
            else:
                m_task = re.search(r"<task-id>(.*?)</task-id>", content, re.S)
                m_tool = re.search(r"<tool-use-id>(.*?)</tool-use-id>", content, re.S)
                task_id = m_task.group(1).strip() if m_task else ""
                tool_use_id = m_tool.group(1).strip() if m_tool else ""
        if tool_use_id and task_id:
            self.links[tool_use_id] = f"agent-{task_id}"


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


# --- branch selection -------------------------------------------------------------------------


def _is_user_turn(entry: _Entry) -> bool:
    if entry.kind != "user" or entry.is_meta or entry.is_compact_summary:
        return False
    content = entry.content
    if isinstance(content, str):
        return bool(content.strip())
    if isinstance(content, list):
        return any(
            isinstance(b, dict) and b.get("type") == "text" and _str(b.get("text")).strip()
            for b in content
        )
    return False


def _tree_is_usable(entries: list[_Entry]) -> bool:
    """Walk the uuid tree only when it is complete: every entry has a unique uuid, there is
    exactly one root, and every parent is one of the entries."""
    uuids = [e.uuid for e in entries]
    if not entries or not all(uuids) or len(set(uuids)) != len(uuids):
        return False
    known = set(uuids)
    roots = sum(1 for e in entries if not e.parent)
    return roots == 1 and all(not e.parent or e.parent in known for e in entries)


def _branches(session_id: str, entries: list[_Entry]) -> list[tuple[str, list[_Entry], str]]:
    """``[(session id, entries in order, parent session id)]``, the main branch first."""
    children: dict[str, list[_Entry]] = defaultdict(list)
    root = None
    for e in entries:
        if e.parent:
            children[e.parent].append(e)
        else:
            root = e

    def user_turns_along_first_children(node: _Entry) -> int:
        turns, current = 0, node
        while current is not None and turns <= FORK_THRESHOLD:
            turns += _is_user_turn(current)
            kids = children.get(current.uuid)
            current = kids[0] if kids else None
        return turns

    result: list[tuple[str, list[_Entry], str]] = []
    work: list[tuple[_Entry, str, str]] = [(root, session_id, "")]
    while work:
        node, branch_id, parent_id = work.pop(0)
        sequence: list[_Entry] = []
        current: _Entry | None = node
        while current is not None:
            sequence.append(current)
            kids = children.get(current.uuid)
            if not kids:
                break
            if len(kids) > 1 and user_turns_along_first_children(kids[0]) > FORK_THRESHOLD:
                for other in kids[1:]:
                    work.append((other, f"{session_id}-{other.uuid}", branch_id))
                current = kids[0]
            else:
                current = kids[-1]  # a retry: the last attempt is the one that counts
        result.append((branch_id, sequence, parent_id))
    return result


# --- messages ---------------------------------------------------------------------------------

_REMINDER_RE = re.compile(r"^\s*(?:<system-reminder>.*?</system-reminder>\s*)+", re.S)
_IDE_RE = re.compile(r"^<(ide_opened_file|ide_selection)>.*?</\1>\s*", re.S)
_SYSTEM_PREFIXES = (
    ("This session is being continued", "continuation"),
    ("<local-command-caveat>", "resume"),
    ("[Request interrupted", "interrupted"),
    ("<task-notification>", "task_notification"),
    ("Stop hook feedback:", "stop_hook"),
)


def _command_text(text: str) -> str | None:
    name = re.search(r"<command-name>(.*?)</command-name>", text, re.S)
    if not name or not name.group(1).strip():
        return None
    args = re.search(r"<command-args>(.*?)</command-args>", text, re.S)
    command = name.group(1).strip()
    if not command.startswith("/"):
        command = "/" + command
    arg_text = args.group(1).strip() if args else ""
    return f"{command} {arg_text}" if arg_text else command


def classify_user_text(text: str) -> list[tuple[str, str, str]]:
    """Rows a user text becomes: ``[(text, subtype, uuid_suffix)]``; subtype '' = a real prompt,
    anything else = a system row. ``[]`` = dropped."""
    stripped = _REMINDER_RE.sub("", text, count=1)
    if not stripped.strip():
        return [(text.strip(), "system_reminder", "")] if "<system-reminder>" in text else []
    body = stripped.strip()
    if body.startswith(("<command-name>", "<command-message>")):
        command = _command_text(body)
        return [(command, "", "")] if command else []
    for prefix, subtype in _SYSTEM_PREFIXES:
        if body.startswith(prefix):
            return [(body, subtype, "")]
    if body.startswith("<local-command-"):
        return []  # command stdout/stderr echoes: noise
    ide = _IDE_RE.match(body)
    if ide:
        rest = body[ide.end():].strip()
        wrapper = body[: ide.end()].strip()
        if not rest:
            return [(wrapper, ide.group(1), "")]
        return [(wrapper, ide.group(1), ":ide-context"), (rest, "", "")]
    return [(body, "", "")]


def _result_text(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            _str(b.get("text")) for b in content if isinstance(b, dict) and b.get("type") == "text"
        )
    return ""


def _split_user_content(content: object) -> tuple[str, list[tuple[str, str, bool]]]:
    """Visible text and the tool results ``(tool_use_id, text, is_error)`` of a user entry."""
    if isinstance(content, str):
        return content, []
    texts: list[str] = []
    results: list[tuple[str, str, bool]] = []
    if isinstance(content, list):
        for block in content:
            if not isinstance(block, dict):
                continue
            kind = block.get("type")
            if kind == "text":
                texts.append(_str(block.get("text")))
            elif kind == "tool_result":
                results.append(
                    (
                        _str(block.get("tool_use_id")),
                        _result_text(block.get("content")),
                        block.get("is_error") is True,
                    )
                )
    return "\n".join(t for t in texts if t), results


def _apply_usage(message: ParsedMessage, usage: object, note: Note) -> None:
    if not isinstance(usage, dict) or not usage:
        return
    message.token_usage = compact_json(usage, note, "usage")
    context_keys = ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
    if any(k in usage for k in context_keys):
        message.context_tokens = clamp_int(
            sum(as_int(usage.get(k), note, f"usage.{k}") for k in context_keys)
        )
        message.has_context_tokens = True
    if "output_tokens" in usage:
        message.output_tokens = as_int(usage.get("output_tokens"), note, "usage.output_tokens")
        message.has_output_tokens = True


def _add_assistant_blocks(message: ParsedMessage, content: object, parts: list[str],
                          thinking: list[str], note: Note) -> None:
    if isinstance(content, str):
        if content.strip():
            parts.append(content)
        return
    if not isinstance(content, list):
        return
    for block in content:
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "text":
            text = _str(block.get("text"))
            if text:
                parts.append(text)
        elif kind == "thinking":
            text = _str(block.get("thinking"))
            message.has_thinking = True
            if text:
                thinking.append(text)
                parts.append(f"[Thinking]\n{text}\n[/Thinking]")
        elif kind == "tool_use":
            name = _str(block.get("name")) or "unknown"
            inp = block.get("input")
            data = inp if isinstance(inp, dict) else {}
            category = category_of(name)
            message.has_tool_use = True
            message.tool_calls.append(
                ParsedToolCall(
                    tool_use_id=_str(block.get("id")),
                    tool_name=name,
                    category=category,
                    input_json=compact_json(inp, note, "tool input") if inp is not None
                    else "",
                    skill_name=_str(data.get("skill")) if name in ("Skill", "skill") else "",
                    file_path=_str(data.get("file_path")) or _str(data.get("notebook_path"))
                    if category in ("Read", "Edit", "Write") else "",
                    call_index=len(message.tool_calls),
                )
            )
            parts.append(claude_label(name, inp))


class _MessageBuilder:
    """Turns one branch's entries into stored messages, pairing tool results with calls."""

    def __init__(self, options: ParseOptions, links: dict[str, str],
                 issue: Callable[[int, str], None]) -> None:
        self.options = options
        self.links = dict(links)
        self.issue = issue  # (line, what was clamped or dropped)
        self.messages: list[ParsedMessage] = []
        self.result_only: set[int] = set()  # ids of user rows that only carried tool results
        self.results: list[tuple[str, str, bool, datetime | None]] = []
        self.ordinal = 0
        self._parts: dict[int, tuple[list[str], list[str]]] = {}
        self._last_assistant: ParsedMessage | None = None

    def add(self, entry: _Entry) -> None:
        if entry.kind == "assistant":
            self._assistant(entry)
        else:
            self._user(entry)

    def _next_ordinal(self) -> int:
        self.ordinal += 1
        return self.ordinal - 1

    def _assistant(self, entry: _Entry) -> None:
        last = self._last_assistant
        if last is not None and entry.message_id and entry.message_id == last.claude_message_id:
            message = last  # a streamed chunk of the same API message
        else:
            message = ParsedMessage(
                role="assistant",
                ordinal=self._next_ordinal(),
                timestamp=entry.timestamp,
                source_type="assistant",
                claude_message_id=entry.message_id,
                claude_request_id=entry.request_id,
                source_uuid=entry.uuid,
                source_parent_uuid=entry.parent,
                is_sidechain=entry.is_sidechain,
            )
            self.messages.append(message)
            self._parts[id(message)] = ([], [])
            self._last_assistant = message
        parts, thinking = self._parts[id(message)]
        note = partial(self.issue, entry.line)
        _add_assistant_blocks(message, entry.content, parts, thinking, note)
        message.model = entry.model or message.model
        _apply_usage(message, entry.usage, note)

    def _user(self, entry: _Entry) -> None:
        self._last_assistant = None
        if entry.is_meta:
            return
        if entry.is_compact_summary:
            text, _ = _split_user_content(entry.content)
            self.messages.append(
                ParsedMessage(
                    role="assistant",
                    content=text.strip(),
                    ordinal=self._next_ordinal(),
                    timestamp=entry.timestamp,
                    is_system=True,
                    source_type="system",
                    source_subtype="compact_boundary",
                    is_compact_boundary=True,
                    source_uuid=entry.uuid,
                    source_parent_uuid=entry.parent,
                    is_sidechain=entry.is_sidechain,
                )
            )
            return
        text, results = _split_user_content(entry.content)
        for tool_use_id, result, is_error in results:
            self.results.append((tool_use_id, result, is_error, entry.timestamp))
            if entry.result_agent_id and tool_use_id:
                self.links[tool_use_id] = f"agent-{entry.result_agent_id}"
        rows = classify_user_text(text) if text.strip() else []
        if not rows:
            if results:  # keeps its ordinal for pairing, removed afterwards
                holder = ParsedMessage(role="user", ordinal=self._next_ordinal(),
                                       timestamp=entry.timestamp)
                self.messages.append(holder)
                self.result_only.add(id(holder))
            return
        for row_text, subtype, uuid_suffix in rows:
            self.messages.append(
                ParsedMessage(
                    role="user",
                    content=row_text,
                    ordinal=self._next_ordinal(),
                    timestamp=entry.timestamp,
                    is_system=bool(subtype),
                    source_type="system" if subtype else "user",
                    source_subtype=subtype,
                    source_uuid=entry.uuid + uuid_suffix if entry.uuid else "",
                    source_parent_uuid=entry.parent,
                    is_sidechain=entry.is_sidechain,
                )
            )

    def finish(self) -> list[ParsedMessage]:
        for message in self.messages:
            parts, thinking = self._parts.get(id(message), ([], []))
            if message.role == "assistant" and not message.is_compact_boundary:
                message.content = "\n".join(parts)
                message.thinking_text = "\n\n".join(thinking)
        calls = {
            c.tool_use_id: c for m in self.messages for c in m.tool_calls if c.tool_use_id
        }
        blocked = self.options.blocked_result_categories
        for tool_use_id, text, is_error, ts in self.results:
            assign_results(calls, tool_use_id, text, source="tool_result",
                           status="errored" if is_error else "", timestamp=ts, blocked=blocked)
        for call in calls.values():
            if call.tool_name in SUBAGENT_TOOLS and call.tool_use_id in self.links:
                call.subagent_session_id = self.links[call.tool_use_id]
        return [m for m in self.messages if id(m) not in self.result_only]


def _splice_by_time(entries: list[_Entry], queued: list[_Entry]) -> list[_Entry]:
    """Insert prompts typed while a tool ran at their place in time (stable for ties)."""
    if not queued:
        return entries
    out: list[_Entry] = []
    pending = sorted(queued, key=lambda e: (e.timestamp is None, e.timestamp or 0, e.line))
    i = 0
    for entry in entries:
        while i < len(pending) and pending[i].timestamp and entry.timestamp and \
                pending[i].timestamp < entry.timestamp:
            out.append(pending[i])
            i += 1
        out.append(entry)
    out.extend(pending[i:])
    return out


def _termination_status(session: ParsedSession, truncated: bool, stop_reason: str) -> str:
    if truncated:
        return "truncated"
    if not session.messages:
        return ""
    last = session.messages[-1]
    if last.role == "user":
        return "interrupted" if last.source_subtype == "interrupted" else "awaiting_assistant"
    if any(c.result_content_length is None for c in last.tool_calls):
        return "tool_call_pending"
    return "awaiting_user" if stop_reason in ("end_turn", "") else stop_reason


def _parse(path: Path, root: Path, options: ParseOptions) -> ParseResult:
    reader = JsonlReader(path, options.max_line_bytes)
    state = _FileState()
    for lineno, obj in reader:
        state.feed(lineno, obj)
    result = reader.result()
    result.sessions = _build_sessions(path, root, state, options, reader.truncated,
                                      reader.issue)
    return result


def _build_sessions(path: Path, root: Path, state: _FileState, options: ParseOptions,
                    truncated: bool, issue: Callable[[int, str], None]) -> list[ParsedSession]:
    session_id = path.stem
    if _tree_is_usable(state.entries):
        branches = _branches(session_id, state.entries)
    else:
        branches = [(session_id, sorted(state.entries, key=lambda e: e.line), "")]

    try:
        project_dir = path.relative_to(root).parts[0]
    except ValueError:
        project_dir = path.parent.name
    project = (
        project_from_cwd(state.cwd, state.git_branch)
        if state.cwd
        else project_from_encoded_dir(project_dir)
    )
    parent_id: str | None = None
    relationship = ""
    if state.source_session_id and state.source_session_id != session_id:
        parent_id = state.source_session_id
        relationship = "subagent" if session_id.startswith("agent-") else "continuation"

    sessions: list[ParsedSession] = []
    for branch_id, entries, branch_parent in branches:
        is_main = branch_id == session_id
        if is_main:
            entries = _splice_by_time(entries, state.queued)
        builder = _MessageBuilder(options, state.links, issue)
        for entry in entries:
            builder.add(entry)
        messages = builder.finish()
        if not messages:
            continue
        last_stop = next((e.stop_reason for e in reversed(entries) if e.kind == "assistant"), "")
        session = ParsedSession(
            id=branch_id,
            agent=AGENT,
            project=project,
            cwd=state.cwd,
            git_branch=state.git_branch,
            display_name=state.display_name if is_main else None,
            started_at=state.started if is_main else None,
            ended_at=state.ended if is_main else None,
            parent_session_id=parent_id if is_main else branch_parent,
            relationship_type=relationship if is_main else "fork",
            source_session_id=state.source_session_id,
            source_version=state.version,
            messages=messages,
            not_a_prompt=is_slash_command,  # /clear, /model: commands, not the opening prompt
        )
        session.fill_bounds_from_messages()
        session.termination_status = _termination_status(
            session, truncated and is_main, last_stop
        )
        if _only_usage_command(session):
            continue
        sessions.append(session)
    return sessions


def _only_usage_command(session: ParsedSession) -> bool:
    prompts = [m for m in session.messages if m.role == "user" and not m.is_system]
    return len(prompts) == 1 and prompts[0].content.strip() == "/usage"


class ClaudeParser:
    version = 2  # 2: session signals (health, outcome) computed at sync
    tool_categories = by_category({
        "Read": ("Read", "LS"),
        "Edit": ("Edit", "MultiEdit"),
        "Write": ("Write", "NotebookEdit"),
        "Bash": ("Bash", "BashOutput", "KillShell"),
        "Grep": ("Grep",),
        "Glob": ("Glob",),
        "Task": ("Task", "Agent"),
        "Tool": ("Skill", "TodoWrite", "AskUserQuestion", "WebFetch", "WebSearch"),
    })
    label_heads = frozenset({
        "Tool", "Read", "Write", "Edit", "Bash", "Glob", "Grep", "Task", "Agent", "Skill",
        "Question", "Todo List", "Entering Plan Mode", "Exiting Plan Mode", "List",
    })

    def matches(self, rel_parts: tuple[str, ...]) -> bool:
        """``<project>/<uuid>.jsonl`` or ``<project>/<parent>/subagents/[...]/agent-<id>.jsonl``
        (top-level ``agent-*`` files are a legacy layout, not read)."""
        name = rel_parts[-1]
        if not name.endswith(".jsonl"):
            return False
        if len(rel_parts) == 2:
            return not name.startswith("agent-")
        return len(rel_parts) >= 4 and rel_parts[2] == "subagents" and name.startswith("agent-")

    def sniff(self, path: Path) -> bool:
        """A ``user`` or ``assistant`` line carrying its ``message`` object with Anthropic
        ``content``. The dialects are not Claude's: Qwen Code's message holds genai ``parts``,
        iFlow's session ids start with ``session-`` (Claude's are UUIDs)."""
        for line in head_lines(path):
            try:
                obj = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            if not isinstance(obj, dict) or obj.get("type") not in ("user", "assistant"):
                continue
            message, session_id = obj.get("message"), obj.get("sessionId")
            if isinstance(session_id, str) and session_id.startswith("session-"):
                return False
            if isinstance(message, dict) and "content" in message and "parts" not in message:
                return True
        return False

    def root_of(self, path: Path) -> Path:
        """Two levels up (``<project>/<file>``); for a subagent, three above its
        ``subagents`` directory."""
        parents = path.parents
        if path.name.startswith("agent-"):  # <parent>/subagents/[workflows/<id>/]agent-*.jsonl
            for index in range(min(3, len(parents) - 3)):
                if parents[index].name == "subagents":
                    return parents[index + 3]
        return path.parent.parent

    def parse(self, path: Path, root: Path, options: ParseOptions | None = None) -> ParseResult:
        return _parse(path, root, options or ParseOptions())


parser: AgentParser = ClaudeParser()
