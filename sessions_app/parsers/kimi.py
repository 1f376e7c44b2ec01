"""Kimi CLI wire logs.

Two layouts under a root:

- Kimi CLI: ``<root>/<md5 of the work dir>/<session>/wire.jsonl`` (``~/.kimi/sessions``);
  the work dir is named in ``kimi.json`` beside the sessions folder. After a ``metadata``
  line, every line is ``{"timestamp": <epoch s>, "message": {"type", "payload"}}``: TurnBegin
  (the prompt), ContentPart (text or ``think``), ToolCall, ToolResult (``return_value`` with
  ``is_error``), StatusUpdate (``token_usage``), StepBegin, TurnEnd, CompactionBegin.
- Kimi Code: ``<root>/wd_<work dir name>_<hash>/session_<id>/agents/<agent>/wire.jsonl``
  (``~/.kimi-code/sessions``), with top-level records: ``config.update`` (``cwd``,
  ``modelAlias``), ``turn.prompt``, ``context.append_loop_event`` (content.part, tool.call,
  tool.result, step.end with the model and usage) and ``usage.record``.

A model step's text, thinking and tool calls are one assistant message; its tool results
are paired with the calls by id.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path

import orjson

from sessions_app.parsers.base import (
    AgentParser,
    ParsedMessage,
    ParsedSession,
    ParseOptions,
    ParseResult,
    compact_json,
    parse_timestamp,
)
from sessions_app.parsers.chatlog import LABEL_HEADS, Builder, finish_result, s, usage_fields
from sessions_app.parsers.jsonl import JsonlReader, head_lines
from sessions_app.parsers.project import normalize_name, project_from_cwd
from sessions_app.parsers.registry import AGENTS
from sessions_app.parsers.tools import by_category

AGENT = "kimi"
ID_PREFIX = AGENTS[AGENT].id_prefix
WIRE = "wire.jsonl"
MAX_METADATA_BYTES = 4 * 1024 * 1024


def _parts_text(parts: object) -> str:
    if isinstance(parts, str):
        return parts
    if not isinstance(parts, list):
        return ""
    return "\n".join(s(p.get("text")) for p in parts
                     if isinstance(p, dict) and p.get("type") == "text" and s(p.get("text")))


def _output_text(output: object, note) -> str:
    if isinstance(output, str):
        return output
    if isinstance(output, list):
        return "\n".join(s(p.get("text")) for p in output if isinstance(p, dict) and p.get("text")
                         and isinstance(p.get("text"), str))
    return "" if output is None else compact_json(output, note, "tool output")


def _timestamp(obj: dict) -> datetime | None:
    for key in ("timestamp", "time", "created_at"):
        value = obj.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return parse_timestamp(value)
    return None


class _Wire:
    def __init__(self, options: ParseOptions, issue) -> None:
        self.builder = Builder(options)
        self.issue = issue
        self.line = 0
        self.ts: datetime | None = None
        self.cwd = ""
        self.model = ""
        self.step: ParsedMessage | None = None  # the assistant message of the running step
        self.last_step: ParsedMessage | None = None  # the latest one, for a usage after it

    def note(self, message: str) -> None:
        self.issue(self.line, message)

    def feed(self, lineno: int, obj: dict) -> None:
        self.line = lineno
        ts = _timestamp(obj)
        self.builder.bound(ts)
        self.ts = ts or self.ts
        message = obj.get("message")
        if isinstance(message, dict) and isinstance(message.get("type"), str):
            payload = message.get("payload")
            self._legacy(message["type"], payload if isinstance(payload, dict) else {})
        elif isinstance(obj.get("type"), str):
            self._record(obj["type"], obj)

    # --- the assistant message of a step ----------------------------------------------------

    def current(self) -> ParsedMessage:
        if self.step is None:
            self.step = self.builder.add("assistant", "", self.ts, model=self.model)
            self.last_step = self.step
        return self.step

    def end_step(self) -> None:
        self.step = None

    def text(self, text: str) -> None:
        if text:
            message = self.current()
            message.content = f"{message.content}\n{text}" if message.content else text

    def think(self, text: str) -> None:
        if text:
            self.builder.thinking(self.current(), text)

    def call(self, name: str, arguments: object, call_id: str) -> None:
        self.builder.call(self.current(), name, arguments, call_id, self.note)

    def result(self, call_id: str, output: object, message: str, failed: bool) -> None:
        self.end_step()
        text = _output_text(output, self.note) or message or ("[error]" if failed else "")
        self.builder.result(call_id, text, status="errored" if failed else "completed",
                            timestamp=self.ts)

    def usage(self, usage: dict, what: str, model: str = "") -> None:
        target = self.step or self.last_step
        if target is None or target.token_usage:
            return
        usage_fields(target, {
            "input_tokens": usage.get("input_other", usage.get("inputOther")),
            "output_tokens": usage.get("output"),
            "cache_read_input_tokens": usage.get("input_cache_read", usage.get("inputCacheRead")),
            "cache_creation_input_tokens": usage.get("input_cache_creation",
                                                     usage.get("inputCacheCreation")),
        }, self.note, what)
        if model:
            target.model = model

    def prompt(self, text: str, steer: bool = False) -> None:
        self.end_step()
        if text.strip():
            self.builder.add("user", text.strip(), self.ts,
                             source_subtype="steer" if steer else "")

    # --- Kimi CLI ---------------------------------------------------------------------------

    def _legacy(self, kind: str, payload: dict) -> None:
        if kind in ("TurnBegin", "SteerInput"):
            self.prompt(_parts_text(payload.get("user_input")), steer=kind == "SteerInput")
        elif kind == "ContentPart":
            if payload.get("type") == "text":
                self.text(s(payload.get("text")))
            elif payload.get("type") == "think":
                self.think(s(payload.get("think")))
        elif kind == "ToolCall":
            function = payload.get("function")
            function = function if isinstance(function, dict) else {}
            self.call(s(function.get("name")), function.get("arguments"), s(payload.get("id")))
        elif kind == "ToolResult":
            value = payload.get("return_value")
            value = value if isinstance(value, dict) else {}
            self.result(s(payload.get("tool_call_id")), value.get("output"),
                        s(value.get("message")), value.get("is_error") is True)
        elif kind == "StatusUpdate":
            usage = payload.get("token_usage")
            if isinstance(usage, dict):
                self.usage(usage, "payload.token_usage")
        elif kind in ("StepBegin", "TurnEnd", "StepInterrupted"):
            self.end_step()
        elif kind == "CompactionBegin":
            self.end_step()
            self.builder.add("assistant", "Context compacted.", self.ts, is_system=True,
                             source_type="system", source_subtype="compact_boundary",
                             is_compact_boundary=True)

    # --- Kimi Code --------------------------------------------------------------------------

    def _record(self, kind: str, obj: dict) -> None:
        if kind == "config.update":
            self.model = s(obj.get("modelAlias")) or s(obj.get("model")) or self.model
            self.cwd = s(obj.get("cwd")) or self.cwd
        elif kind in ("turn.prompt", "turn.steer"):
            self.prompt(_parts_text(obj.get("input")), steer=kind == "turn.steer")
        elif kind == "context.append_loop_event":
            event = obj.get("event")
            if isinstance(event, dict):
                self._event(s(event.get("type")), event)
        elif kind == "usage.record":
            usage = obj.get("usage")
            if isinstance(usage, dict):
                self.usage(usage, "usage", s(obj.get("model")))

    def _event(self, kind: str, event: dict) -> None:
        if kind == "content.part":
            part = event.get("part")
            part = part if isinstance(part, dict) else {}
            if part.get("type") == "text":
                self.text(s(part.get("text")))
            elif part.get("type") == "think":
                self.think(s(part.get("think")) or s(part.get("text")))
        elif kind == "tool.call":
            self.call(s(event.get("name")), event.get("args"), s(event.get("toolCallId")))
        elif kind == "tool.result":
            result = event.get("result")
            result = result if isinstance(result, dict) else {}
            self.result(s(event.get("toolCallId")), result.get("output"),
                        s(result.get("message")), result.get("isError") is True)
        elif kind == "step.end":
            model = s(event.get("model"))
            usage = event.get("usage")
            if isinstance(usage, dict):
                self.usage(usage, "event.usage", model)
            elif model and (self.step or self.last_step):
                (self.step or self.last_step).model = model
            self.end_step()
        elif kind == "step.begin":
            self.end_step()


def _work_dirs(root: Path, issues: list[str]) -> dict[str, str]:
    """md5 of each work dir ``kimi.json`` names -> that dir (Kimi CLI's session folders)."""
    path = root.parent / "kimi.json"
    try:
        if not path.is_file():
            return {}
        with path.open("rb") as fh:
            data = orjson.loads(fh.read(MAX_METADATA_BYTES))
    except (OSError, orjson.JSONDecodeError) as exc:
        issues.append(f"{path}: not read ({type(exc).__name__})")
        return {}
    dirs = data.get("work_dirs") if isinstance(data, dict) else None
    found = {}
    for entry in dirs if isinstance(dirs, list) else []:
        work_dir = s(entry.get("path")) if isinstance(entry, dict) else ""
        if work_dir:
            digest = hashlib.md5(work_dir.encode("utf-8", "surrogatepass")).hexdigest()
            kaos = s(entry.get("kaos"))
            found[digest if kaos in ("", "local") else f"{kaos}_{digest}"] = work_dir
    return found


def decode_work_dir(name: str) -> str:
    """``wd_kimi-code_057f5c09ee3f`` -> ``kimi-code``; anything else as it is."""
    if not name.startswith("wd_"):
        return name
    body = name[3:]
    head, sep, tail = body.rpartition("_")
    if sep and head and len(tail) == 12 and all(c in "0123456789abcdefABCDEF" for c in tail):
        return head
    return body


def _parse(path: Path, root: Path, options: ParseOptions) -> ParseResult:
    reader = JsonlReader(path, options.max_line_bytes)
    wire = _Wire(options, reader.issue)
    for lineno, obj in reader:
        wire.feed(lineno, obj)
    result = reader.result()
    try:
        rel = path.relative_to(root).parts
    except ValueError:
        rel = path.parts[-3:]
    if len(rel) == 5:  # wd_<dir>_<hash>/session_<id>/agents/<agent>/wire.jsonl
        raw_id = f"{rel[0]}:{rel[3]}:{rel[1]}"
        folder = decode_work_dir(rel[0])
        cwd = wire.cwd
    else:  # <hash>/<session>/wire.jsonl
        raw_id = f"{rel[-3]}:{rel[-2]}" if len(rel) >= 3 else path.parent.name
        folder = ""
        cwd = wire.cwd or _work_dirs(root, result.issues).get(rel[-3] if len(rel) >= 3 else "",
                                                              "")
    if cwd:
        project = project_from_cwd(cwd)
    else:
        project = normalize_name(folder) if folder else "unknown"
    session = ParsedSession(
        id=ID_PREFIX + raw_id,
        agent=AGENT,
        project=project,
        cwd=cwd,
        started_at=wire.builder.started,
        ended_at=wire.builder.ended,
        messages=wire.builder.finish(),
    )
    return finish_result(result, [session])


class KimiParser:
    version = 1
    tool_categories = by_category({
        "Bash": ("Shell",),
        "Read": ("ReadFile", "ReadMediaFile"),
        "Write": ("WriteFile",),
        "Edit": ("StrReplaceFile",),
        "Glob": ("Glob",),
        "Grep": ("Grep",),
        "Task": ("Agent",),
        "Tool": ("Think", "SetTodoList", "SearchWeb", "FetchURL", "SendDMail", "TaskList",
                 "TaskOutput", "TaskStop"),
    })
    label_heads = LABEL_HEADS

    def matches(self, rel_parts: tuple[str, ...]) -> bool:
        """``<hash>/<session>/wire.jsonl`` or ``<dir>/<session>/agents/<agent>/wire.jsonl``."""
        if rel_parts[-1] != WIRE:
            return False
        return len(rel_parts) == 3 or (len(rel_parts) == 5 and rel_parts[2] == "agents")

    def sniff(self, path: Path) -> bool:
        """A ``wire.jsonl`` starting with its metadata line or a Kimi Code record."""
        return path.name == WIRE and any(
            b'"protocol_version"' in line or b'"config.update"' in line
            or b'"turn.prompt"' in line or b'"TurnBegin"' in line
            for line in head_lines(path, 5))

    def root_of(self, path: Path) -> Path:
        if path.parent.parent.name == "agents":
            return path.parents[4]
        return path.parents[2]

    def parse(self, path: Path, root: Path, options: ParseOptions | None = None) -> ParseResult:
        return _parse(path, root, options or ParseOptions())


parser: AgentParser = KimiParser()
