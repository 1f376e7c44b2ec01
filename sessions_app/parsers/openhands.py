"""OpenHands (the CLI on the software-agent SDK): a conversation directory
``<root>/<conversation id>/`` holding ``base_state.json`` (the conversation's id, agent and
model, workspace, status and token metrics) and ``events/event-<n>-<event id>.json``, one
JSON event per file, numbered in order.

The source is ``base_state.json``; its ``events`` directory is a companion (an event adds a
file there). ``MessageEvent`` is a user or assistant message, ``ActionEvent`` a tool call
(with the model's thought), ``ObservationEvent`` (and ``AgentErrorEvent``,
``UserRejectObservation``) its result. Tokens come from the metrics in ``base_state.json``,
matched to the events by their LLM response id.
"""

from __future__ import annotations

import hashlib
import re
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
    compact_json,
)
from sessions_app.parsers.database import json_object
from sessions_app.parsers.jsonl import FileReadError, head_lines
from sessions_app.parsers.project import project_from_cwd
from sessions_app.parsers.registry import AGENTS, category_of
from sessions_app.parsers.stores import LABEL_HEADS, Issues, finish, stamp, text, tool_label
from sessions_app.parsers.tools import by_category

AGENT = "openhands"
ID_PREFIX = AGENTS[AGENT].id_prefix
BASE_STATE = "base_state.json"
EVENTS = "events"
_EVENT_RE = re.compile(r"^event-(\d{5,})-[0-9A-Za-z-]+\.json$")
_HEX_ID_RE = re.compile(r"^[0-9a-fA-F]{32}$")
_EDITOR = {"view": "Read", "create": "Write", "str_replace": "Edit", "insert": "Edit",
           "undo_edit": "Edit"}
_STATUS = {"error": "errored", "stuck": "errored", "paused": "interrupted"}


def _texts(content: object) -> str:
    """``[{"type": "text", "text"}, {"type": "image", ...}]`` (or a string) as text."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    out = []
    for item in content:
        if isinstance(item, dict):
            if item.get("type") == "text" and text(item.get("text")).strip():
                out.append(text(item.get("text")))
            elif item.get("type") == "image":
                out.append("[Image]")
    return "\n".join(out)


def _thinking(*holders: object) -> str:
    """Thinking blocks, else the reasoning text, of an event or its LLM message."""
    for holder in holders:
        if not isinstance(holder, dict):
            continue
        blocks = holder.get("thinking_blocks")
        parts = [text(b.get("thinking")).strip() for b in blocks
                 if isinstance(b, dict)] if isinstance(blocks, list) else []
        if any(parts):
            return "\n\n".join(p for p in parts if p)
        if text(holder.get("reasoning_content")).strip():
            return text(holder.get("reasoning_content")).strip()
    return ""


def _observation_text(observation: dict) -> str:
    body = _texts(observation.get("content"))
    if body:
        return body
    return "\n".join(text(observation.get(k)) for k in ("command", "detail", "error")
                     if text(observation.get(k)))


class _Events:
    def __init__(self, model: str, options: ParseOptions, issues: Issues) -> None:
        self.model = model
        self.options = options
        self.issues = issues
        self.messages: list[ParsedMessage] = []
        self.by_response: dict[str, ParsedMessage] = {}
        self.calls: dict[str, ParsedToolCall] = {}
        self.results: list[tuple] = []
        self.cwd = ""

    def add(self, name: str, event: dict) -> None:
        kind = event.get("kind")
        when = stamp(event.get("timestamp"))
        note = self.issues.at(f"{EVENTS}/{name}")
        if kind == "MessageEvent":
            self._message(event, when)
        elif kind == "ActionEvent":
            self._action(event, when, note)
        elif kind == "ObservationEvent":
            observation = event.get("observation") if isinstance(event.get("observation"),
                                                                 dict) else {}
            exit_code = observation.get("exit_code")
            failed = observation.get("is_error") is True or (
                isinstance(exit_code, int) and not isinstance(exit_code, bool)
                and exit_code != 0)
            metadata = observation.get("metadata")
            if isinstance(metadata, dict) and not self.cwd:
                self.cwd = text(metadata.get("working_dir"))
            self.results.append((text(event.get("tool_call_id")),
                                 _observation_text(observation), failed, when))
        elif kind == "AgentErrorEvent":
            self.results.append((text(event.get("tool_call_id")), text(event.get("error")),
                                 True, when))
        elif kind == "UserRejectObservation":
            reason = text(event.get("rejection_reason"))
            self.results.append((text(event.get("tool_call_id")),
                                 f"[rejected] {reason}".strip(), True, when))
        elif kind == "CondensationSummaryEvent" and text(event.get("summary")).strip():
            self.messages.append(ParsedMessage(
                role="assistant", content=text(event.get("summary")).strip(), timestamp=when,
                is_system=True, is_compact_boundary=True, source_type="system",
                source_subtype="compact_boundary"))

    def _message(self, event: dict, when) -> None:
        llm = event.get("llm_message") if isinstance(event.get("llm_message"), dict) else {}
        role = llm.get("role")
        if role not in ("user", "assistant"):
            return
        body = _texts(llm.get("content")).strip()
        thinking = _thinking(event, llm) if role == "assistant" else ""
        message = ParsedMessage(role=role, timestamp=when, source_type=role,
                                model=self.model if role == "assistant" else "")
        if thinking:
            message.has_thinking, message.thinking_text = True, thinking
            body = f"[Thinking]\n{thinking}\n[/Thinking]\n{body}".rstrip("\n")
        message.content = body
        if message.content.strip():
            self.messages.append(message)
            self._remember(event, message)

    def _action(self, event: dict, when, note: Note) -> None:
        call_info = event.get("tool_call") if isinstance(event.get("tool_call"), dict) else {}
        name = text(event.get("tool_name")) or text(call_info.get("name"))
        if not name:
            return
        action = event.get("action") if isinstance(event.get("action"), dict) else {}
        arguments = call_info.get("arguments")
        if isinstance(arguments, str) and arguments.strip():
            input_json = arguments.strip()
        else:
            input_json = compact_json(action, note, "tool input") if action else ""
        category = (_EDITOR.get(text(action.get("command")), "Edit")
                    if name in ("file_editor", "str_replace_editor") else category_of(name))
        call = ParsedToolCall(
            tool_use_id=text(event.get("tool_call_id")) or text(call_info.get("id")),
            tool_name=name,
            category=category,
            input_json=input_json,
            file_path=text(action.get("path")) if category in ("Read", "Edit", "Write") else "",
        )
        if call.tool_use_id:
            self.calls.setdefault(call.tool_use_id, call)
        message = ParsedMessage(role="assistant", timestamp=when, source_type="assistant",
                                model=self.model, has_tool_use=True, tool_calls=[call])
        parts = []
        thinking = _thinking(event)
        if thinking:
            message.has_thinking, message.thinking_text = True, thinking
            parts.append(f"[Thinking]\n{thinking}\n[/Thinking]")
        thought = _texts(event.get("thought")).strip()
        if thought:
            parts.append(thought)
        if name == "finish" and text(action.get("message")).strip():
            parts.append(text(action.get("message")).strip())  # the agent's closing answer
        parts.append(tool_label(category, name, action, path_keys=("path",),
                                description=text(event.get("summary"))))
        message.content = "\n".join(parts)
        self.messages.append(message)
        self._remember(event, message)
        if category == "Read" and name == "file_editor" and not self.cwd:
            path = text(action.get("path"))
            self.cwd = str(Path(path).parent) if path.startswith("/") else ""

    def _remember(self, event: dict, message: ParsedMessage) -> None:
        response = text(event.get("llm_response_id"))
        if response:
            self.by_response.setdefault(response, message)

    def usage(self, metrics: object, note: Note) -> None:
        """Token usage per LLM response onto the first message it produced."""
        entries = metrics.get("usage_to_metrics") if isinstance(metrics, dict) else None
        for entry in entries.values() if isinstance(entries, dict) else ():
            usages = entry.get("token_usages") if isinstance(entry, dict) else None
            for usage in usages if isinstance(usages, list) else ():
                if not isinstance(usage, dict):
                    continue
                message = self.by_response.get(text(usage.get("response_id")))
                if message is None or message.token_usage:
                    continue
                counts = {key: as_int(usage.get(key), note, f"token_usages.{key}") for key in (
                    "prompt_tokens", "completion_tokens", "cache_read_tokens",
                    "cache_write_tokens", "reasoning_tokens")}
                message.token_usage = compact_json({
                    "input_tokens": counts["prompt_tokens"],
                    "output_tokens": counts["completion_tokens"],
                    "cache_read_input_tokens": counts["cache_read_tokens"],
                    "cache_creation_input_tokens": counts["cache_write_tokens"],
                    "reasoning_tokens": counts["reasoning_tokens"]})
                message.context_tokens = counts["prompt_tokens"]
                message.output_tokens = counts["completion_tokens"]
                message.has_context_tokens = message.has_output_tokens = True
                message.model = text(usage.get("model")) or message.model

    def finish(self) -> list[ParsedMessage]:
        for tool_use_id, body, failed, when in self.results:
            assign_results(self.calls, tool_use_id, body, source="tool_result",
                           status="errored" if failed else "completed", timestamp=when,
                           blocked=self.options.blocked_result_categories)
        return self.messages


def _event_files(events: Path, issues: Issues) -> list[tuple[int, Path]]:
    try:
        entries = list(events.iterdir())
    except FileNotFoundError:
        return []
    except OSError as exc:
        issues.add(f"{EVENTS}: cannot list ({exc.strerror}); skipped")
        return []
    numbered = []
    for entry in entries:
        match = _EVENT_RE.match(entry.name)
        if match:
            numbered.append((int(match.group(1)), entry))
    return sorted(numbered, key=lambda item: (item[0], item[1].name))


def _conversation_id(state: dict, directory: Path) -> str:
    raw = text(state.get("id")).strip() or directory.name
    if _HEX_ID_RE.match(raw):  # the directory's spelling of a UUID
        return f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}".lower()
    return raw


def _parse(path: Path, options: ParseOptions) -> ParseResult:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise FileReadError(exc.strerror or str(exc)) from None
    digest = hashlib.sha256(raw)
    result = ParseResult(path=path, size=len(raw))
    issues = Issues()
    state = json_object(raw) if raw.strip() else None
    if state is None:
        if raw.strip():
            issues.add(f"{BASE_STATE}: not a JSON object (invalid or cut short); the events"
                       " are read without it")
        state = {}
    agent = state.get("agent") if isinstance(state.get("agent"), dict) else {}
    llm = agent.get("llm") if isinstance(agent.get("llm"), dict) else {}
    workspace = state.get("workspace") if isinstance(state.get("workspace"), dict) else {}
    events = _Events(text(llm.get("model")), options, issues)
    files = _event_files(path.parent / EVENTS, issues)
    for _, event_path in files:
        try:
            data = event_path.read_bytes()
        except OSError as exc:
            issues.add(f"{EVENTS}/{event_path.name}: cannot read ({exc.strerror}); skipped")
            continue
        digest.update(data)
        event = json_object(data)
        if event is None:
            result.malformed_lines += 1
            issues.add(f"{EVENTS}/{event_path.name}: not a JSON object (invalid or cut short);"
                       " skipped")
            continue
        result.records += 1
        events.add(event_path.name, event)
    events.usage(state.get("stats"), issues.at(BASE_STATE))
    messages = events.finish()
    result.records += 1 if state else 0
    result.issues, result.sha256 = issues, digest.hexdigest()
    if not messages:
        return result
    cwd = text(workspace.get("working_dir")).strip() or events.cwd
    conversation = _conversation_id(state, path.parent)
    session = ParsedSession(
        id=ID_PREFIX + conversation,
        agent=AGENT,
        project=project_from_cwd(cwd) if cwd else "openhands",
        cwd=cwd,
        source_session_id=conversation,
        messages=messages,
    )
    last = messages[-1]
    if last.role == "assistant":
        session.termination_status = _STATUS.get(text(state.get("execution_status")), "")
    result.sessions = [finish(session)]
    return result


class OpenHandsParser:
    version = 1
    tool_categories = by_category({
        "Edit": ("file_editor", "str_replace_editor", "planning_file_editor"),
        "Bash": ("execute_bash",),
        "Task": ("delegate",),
        "Tool": ("task_tracker", "finish", "think"),
    })
    label_heads = LABEL_HEADS

    def matches(self, rel_parts: tuple[str, ...]) -> bool:
        """``<conversation>/base_state.json``."""
        return len(rel_parts) == 2 and rel_parts[1] == BASE_STATE

    def sniff(self, path: Path) -> bool:
        """A ``base_state.json`` beside an ``events`` directory."""
        if path.name != BASE_STATE or not (path.parent / EVENTS).is_dir():
            return False
        head = b"".join(head_lines(path, 1, 64 * 1024))
        return b'"agent"' in head or b'"id"' in head

    def root_of(self, path: Path) -> Path:
        return path.parent.parent

    def companion_paths(self, path: Path) -> tuple[Path, ...]:
        """The events directory: each event is a new file in it."""
        return (path.parent / EVENTS,)

    def parse(self, path: Path, root: Path, options: ParseOptions | None = None) -> ParseResult:
        return _parse(path, options or ParseOptions())


parser: AgentParser = OpenHandsParser()
