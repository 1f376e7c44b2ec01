"""Codex rollouts: ``<root>/YYYY/MM/DD/rollout-<timestamp>-<uuid>.jsonl`` (archived ones flat).

Every line is ``{"timestamp", "type", "payload"}``. Function calls become assistant rows of
their own; their outputs are paired by ``call_id``. Messages are ordered by time and numbered
without gaps.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import orjson

from sessions_app.parsers.base import (
    AgentParser,
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
from sessions_app.parsers.jsonl import JsonlReader, head_lines
from sessions_app.parsers.project import project_from_cwd
from sessions_app.parsers.registry import AGENTS, category_of
from sessions_app.parsers.tools import by_category, codex_label, patch_files

AGENT = "codex"
ID_PREFIX = AGENTS[AGENT].id_prefix
RECORD_TYPES = frozenset({"session_meta", "response_item", "turn_context", "event_msg"})
# TRAE CLI (a fork of Codex) writes the same rollouts: its model provider or instructions say so.
TRAEX_MARKER_RE = re.compile(rb'"model_provider"\s*:\s*"trae"|"text"\s*:\s*"You are TRAE CLI')
_UUID_TAIL_RE = re.compile(
    r"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$", re.IGNORECASE
)
# User items that are context the CLI injects, not something the person typed.
CONTEXT_PREFIXES = (
    "# AGENTS.md",
    "<environment_context>",
    "<INSTRUCTIONS>",
    "<user_instructions>",
    "<skill>",
    "<turn_aborted>",
    "<subagent_notification>",
    "<goal_context>",
)
TEXT_BLOCKS = ("input_text", "output_text", "text")


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


class _Rollout:
    def __init__(self, options: ParseOptions, issue: Callable[[int, str], None]) -> None:
        self.options = options
        self.issue = issue  # (line, what was clamped or dropped)
        self.line = 0  # the line being fed
        self.meta_seen = False
        self.raw_id = ""
        self.cwd = ""
        self.git_branch = ""
        self.session_kind = ""
        self.parent_id: str | None = None
        self.version = ""
        self.model = ""
        self.effort = ""
        self.started: datetime | None = None
        self.ended: datetime | None = None
        self.messages: list[ParsedMessage] = []
        self.calls: dict[str, ParsedToolCall] = {}
        self.outputs: list[tuple[str, str, str, datetime | None, str]] = []
        self.turn_start = 0  # index in messages where the current turn began
        self.first_prompt = ""
        self.aborted = False

    def bound(self, ts: datetime | None) -> None:
        if ts is None:
            return
        if self.started is None or ts < self.started:
            self.started = ts
        if self.ended is None or ts > self.ended:
            self.ended = ts

    def note(self, message: str) -> None:
        self.issue(self.line, message)

    def feed(self, lineno: int, obj: dict) -> None:
        self.line = lineno
        ts = parse_timestamp(obj.get("timestamp"))
        self.bound(ts)
        payload = obj.get("payload")
        if not isinstance(payload, dict):
            return
        kind = obj.get("type")
        if kind == "session_meta":
            self._meta(payload)
        elif kind == "turn_context":
            self.model = _str(payload.get("model")) or self.model
            self.effort = _str(payload.get("effort")) or self.effort
        elif kind == "response_item":
            self._item(payload, ts)
        elif kind == "event_msg":
            event = payload.get("type")
            if event == "token_count":
                self._tokens(payload.get("info"))
            elif event == "turn_aborted":
                self.aborted = True

    def _meta(self, payload: dict) -> None:
        if self.meta_seen:
            return  # a fork replays its parent's meta: the first one is this file's
        self.meta_seen = True
        self.raw_id = _str(payload.get("id"))
        self.cwd = _str(payload.get("cwd"))
        self.version = _str(payload.get("cli_version"))
        git = payload.get("git")
        if isinstance(git, dict):
            self.git_branch = _str(git.get("branch"))
        if payload.get("originator") == "codex_exec":
            self.session_kind = "non-interactive"
        source = payload.get("source")
        parent = ""
        subagent = source.get("subagent") if isinstance(source, dict) else None
        thread = subagent.get("thread_spawn") if isinstance(subagent, dict) else None
        if isinstance(thread, dict):
            parent = _str(thread.get("parent_thread_id"))
        if not parent and payload.get("thread_source") == "subagent":
            parent = _str(payload.get("parent_thread_id"))
        if parent:
            self.parent_id = ID_PREFIX + parent

    def _item(self, payload: dict, ts: datetime | None) -> None:
        kind = payload.get("type")
        if kind == "message" or (kind is None and "role" in payload):  # older rollouts
            self._message(payload, ts)
        elif kind in ("function_call", "custom_tool_call"):
            self._call(payload, ts, custom=kind == "custom_tool_call")
        elif kind in ("function_call_output", "custom_tool_call_output"):
            text, exit_code = _output_text(payload.get("output"), self.note)
            status = "completed" if kind == "custom_tool_call_output" else ""
            if exit_code:
                status = "errored"  # a command that exited non-zero failed, as Claude's is_error
            self.outputs.append((_str(payload.get("call_id")), text, kind, ts, status))

    def _message(self, payload: dict, ts: datetime | None) -> None:
        role = payload.get("role")
        if role not in ("user", "assistant"):
            return  # developer/system instructions
        content = payload.get("content")
        blocks = content if isinstance(content, list) else []
        text = "\n".join(
            _str(b.get("text")) for b in blocks
            if isinstance(b, dict) and b.get("type") in TEXT_BLOCKS and _str(b.get("text"))
        )
        if isinstance(content, str):
            text = content
        if not text.strip():
            return
        if role == "user":
            if text.lstrip().startswith(CONTEXT_PREFIXES):
                return
            if self.aborted and text == self.first_prompt:
                self.aborted = False
                return  # re-emitted after an aborted turn
            self.first_prompt = self.first_prompt or text
            self.turn_start = len(self.messages)
        message = ParsedMessage(
            role=role,
            content=text,
            timestamp=ts,
            model=self.model,
            reasoning_effort=self.effort if role == "assistant" else "",
            source_type=role,
        )
        self.messages.append(message)

    def _call(self, payload: dict, ts: datetime | None, custom: bool) -> None:
        name = _str(payload.get("name")) or "unknown"
        raw_args = payload.get("input") if custom else payload.get("arguments")
        if isinstance(raw_args, str):
            raw = raw_args
            try:
                args: object = orjson.loads(raw_args) if not custom else raw_args
            except orjson.JSONDecodeError:
                args = raw_args
        elif raw_args is None:
            raw, args = "", None
        else:
            raw, args = compact_json(raw_args, self.note, "tool input"), raw_args
        category = category_of(name)
        call = ParsedToolCall(
            tool_use_id=_str(payload.get("call_id")),
            tool_name=name,
            category=category,
            input_json=raw,
        )
        if category == "Edit":
            patch = raw if custom or not isinstance(args, dict) else _str(args.get("patch"))
            files = patch_files(patch or raw)
            call.file_path = files[0] if files else ""
        elif isinstance(args, dict) and category in ("Read", "Write"):
            call.file_path = _str(args.get("path")) or _str(args.get("file_path"))
        if call.tool_use_id:
            self.calls[call.tool_use_id] = call
        self.messages.append(
            ParsedMessage(
                role="assistant",
                content=codex_label(name, args, raw, _str(payload.get("summary"))),
                timestamp=ts,
                has_tool_use=True,
                model=self.model,
                reasoning_effort=self.effort,
                source_type="assistant",
                tool_calls=[call],
            )
        )

    def _tokens(self, info: object) -> None:
        if not isinstance(info, dict):
            return
        last = info.get("last_token_usage")
        if not isinstance(last, dict):
            return
        for message in reversed(self.messages[self.turn_start:]):
            if message.role == "assistant" and not message.token_usage:
                total_in, cached, output = (
                    as_int(last.get(key), self.note, f"last_token_usage.{key}")
                    for key in ("input_tokens", "cached_input_tokens", "output_tokens")
                )
                message.token_usage = compact_json(
                    {
                        "input_tokens": clamp_int(max(total_in - cached, 0)),
                        "cache_read_input_tokens": cached,
                        "output_tokens": output,
                    }
                )
                message.context_tokens = total_in
                message.output_tokens = output
                message.has_context_tokens = message.has_output_tokens = True
                return

    def finish(self) -> list[ParsedMessage]:
        blocked = self.options.blocked_result_categories
        for call_id, text, source, ts, status in self.outputs:
            if assign_results(self.calls, call_id, text, source=source, status=status,
                              timestamp=ts, blocked=blocked):
                call = self.calls[call_id]
                if call.tool_name == "spawn_agent":
                    agent_id = _spawned_agent(text)
                    if agent_id:
                        call.subagent_session_id = ID_PREFIX + agent_id
        # Stable order by time (rows without a time keep their neighbour's), numbered 0..n-1.
        keyed = []
        last_ts: datetime | None = None
        for index, message in enumerate(self.messages):
            last_ts = message.timestamp or last_ts
            keyed.append((last_ts is None, last_ts or datetime.min, index, message))
        keyed.sort(key=lambda k: k[:3])
        ordered = [k[3] for k in keyed]
        for ordinal, message in enumerate(ordered):
            message.ordinal = ordinal
        return ordered


# How Codex reports a command's exit status in an output's text: the freeform shell tools'
# header, and unified exec's (exec_command, write_stdin) status line.
_EXIT_CODE_RE = re.compile(r"^(?:Exit code:|Process exited with code) (-?\d{1,10})$", re.MULTILINE)
_OUTPUT_TEXT_BLOCKS = ("input_text", "output_text", "text")


def _output_text(output: object, note: Callable[[str], None]) -> tuple[str, int]:
    """A tool output as the text it shows and the exit code it reports (0 when none).

    The structured shell tools answer ``{"output": "...", "metadata": {"exit_code": N}}`` as
    a JSON string: their text is the ``output``. An output given as content items is their
    text; any other JSON is kept as JSON text."""
    if isinstance(output, list):
        texts = [_str(item.get("text")) for item in output
                 if isinstance(item, dict) and item.get("type") in _OUTPUT_TEXT_BLOCKS]
        if texts:
            return "\n".join(texts), 0
    if output is None:
        return "", 0
    if not isinstance(output, str):
        return compact_json(output, note, "tool output"), 0
    if output.startswith("{") and '"metadata"' in output:
        try:
            data = orjson.loads(output)
        except orjson.JSONDecodeError:
            data = None
        metadata = data.get("metadata") if isinstance(data, dict) else None
        if isinstance(metadata, dict) and isinstance(data.get("output"), str):
            code = metadata.get("exit_code")
            exit_code = code if isinstance(code, int) and not isinstance(code, bool) else 0
            return data["output"], exit_code
    header, found, _ = output[:4096].partition("\nOutput:")
    match = _EXIT_CODE_RE.search(header) if found else None  # never the command's own output
    return output, int(match.group(1)) if match else 0


def _spawned_agent(output: str) -> str:
    try:
        data = orjson.loads(output)
    except orjson.JSONDecodeError:
        return ""
    return _str(data.get("agent_id")) if isinstance(data, dict) else ""


def _id_from_filename(path: Path) -> str:
    match = _UUID_TAIL_RE.search(path.stem)
    return match.group(1) if match else path.stem


def _parse(path: Path, options: ParseOptions) -> ParseResult:
    # the root is not needed: the layout carries nothing the lines do not
    reader = JsonlReader(path, options.max_line_bytes)
    rollout = _Rollout(options, reader.issue)
    for lineno, obj in reader:
        rollout.feed(lineno, obj)
    result = reader.result()
    messages = rollout.finish()
    if not messages:
        return result
    raw_id = rollout.raw_id
    if not raw_id:
        raw_id = _id_from_filename(path)
        result.issues.append(f"no session_meta line; id taken from the file name ({raw_id})")
    session = ParsedSession(
        id=ID_PREFIX + raw_id,
        agent=AGENT,
        project=project_from_cwd(rollout.cwd, rollout.git_branch) if rollout.cwd else "unknown",
        cwd=rollout.cwd,
        git_branch=rollout.git_branch,
        session_kind=rollout.session_kind,
        started_at=rollout.started,
        ended_at=rollout.ended,
        parent_session_id=rollout.parent_id,
        # AgentsView files a non-interactive run (codex exec) as a subagent, parent or not.
        relationship_type="subagent" if rollout.parent_id or rollout.session_kind else "",
        source_version=rollout.version,
        messages=messages,
    )
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


class CodexParser:
    # 2: session signals (health, outcome) computed at sync; 3: a non-zero exit is a failed
    # call, results as text, commands as command lines, codex exec runs are subagents
    version = 3
    tool_categories = by_category({
        "Edit": ("apply_patch",),
        "Bash": ("shell", "shell_command", "exec_command", "write_stdin"),
        "Task": ("spawn_agent",),
        "Tool": ("update_plan",),
    })
    label_heads = frozenset({
        "Tool", "Read", "Write", "Edit", "Bash", "Glob", "Grep", "Task", "exec_command",
        "shell_command", "write_stdin", "apply_patch", "shell", "parallel", "view_image",
        "request_user_input", "update_plan",
    })

    def matches(self, rel_parts: tuple[str, ...]) -> bool:
        """Flat files (archived sessions) or ``YYYY/MM/DD/<file>.jsonl``."""
        if not rel_parts[-1].endswith(".jsonl"):
            return False
        if len(rel_parts) == 1:
            return True
        return len(rel_parts) == 4 and all(p.isdigit() for p in rel_parts[:3])

    def sniff(self, path: Path) -> bool:
        """A line with a typed ``payload`` (``session_meta``, ``response_item``, ...), in a
        rollout TRAE CLI did not write (``traex`` reads those)."""
        lines = head_lines(path)
        return any(b'"payload"' in line and any(f'"{t}"'.encode() in line for t in RECORD_TYPES)
                   for line in lines) and not any(TRAEX_MARKER_RE.search(x) for x in lines)

    def root_of(self, path: Path) -> Path:
        """The directory above ``YYYY/MM/DD``, or the file's own for a flat (archived) one."""
        parents = path.parents
        if len(parents) > 3 and all(p.name.isdigit() for p in parents[:3]):
            return parents[3]
        return path.parent

    def parse(self, path: Path, root: Path, options: ParseOptions | None = None) -> ParseResult:
        return _parse(path, options or ParseOptions())


parser: AgentParser = CodexParser()
