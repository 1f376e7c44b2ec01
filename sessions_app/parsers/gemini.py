"""Gemini CLI chat recordings: ``<root>/tmp/<project dir>/chats/session-*.json`` (one JSON
document, older) or ``session-*.jsonl`` (a header record, message records and ``$set``
metadata updates, current), and subagents in ``chats/<parent session id>/<id>.jsonl``.

``<project dir>`` is the SHA-256 of the project's path, or (newer Gemini) a project name;
both are resolved through ``<root>/projects.json`` and ``<root>/trustedFolders.json``. Token
counts are cumulative over a session and are stored as per-message deltas. A document cut
short keeps every message complete before the cut.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache, partial
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
    clean_json,
    compact_json,
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
from sessions_app.parsers.jsonl import (
    MAX_ISSUES_KEPT,
    FileReadError,
    JsonlReader,
    open_session_file,
    read_at_most,
)
from sessions_app.parsers.project import normalize_name, project_from_cwd
from sessions_app.parsers.registry import AGENTS

AGENT = "gemini"
ID_PREFIX = AGENTS[AGENT].id_prefix
_HEX64_RE = re.compile(r"[0-9a-f]{64}")
# A tool call's recorded status -> the status of its result event ('' = it succeeded).
RESULT_STATUS = {"error": "errored", "cancelled": "cancelled"}
FINISHED = frozenset({"success", "error", "cancelled"})
MAX_SIDECAR_BYTES = 1024 * 1024  # projects.json, trustedFolders.json


# --- project names ----------------------------------------------------------------------------


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0


def project_map(root: Path) -> dict[str, tuple[str, str]]:
    """``{tmp/ directory name: (project, project path)}`` from the root's projects.json and
    trustedFolders.json (re-read when either changes)."""
    stamps = tuple(_mtime(root / name) for name in ("projects.json", "trustedFolders.json"))
    return _load_project_map(str(root), stamps)


def _read_sidecar(path: Path) -> object:
    try:
        with path.open("rb") as fh:
            return orjson.loads(fh.read(MAX_SIDECAR_BYTES))
    except (OSError, orjson.JSONDecodeError):
        return None


@lru_cache(maxsize=32)
def _load_project_map(root: str, _stamps: tuple[int, ...]) -> dict[str, tuple[str, str]]:
    paths: dict[str, str] = {}  # project path -> its name in projects.json ('' if none)
    projects = _read_sidecar(Path(root) / "projects.json")
    if isinstance(projects, dict) and isinstance(projects.get("projects"), dict):
        for path, name in projects["projects"].items():
            paths[path] = name if isinstance(name, str) else ""
    trusted = _read_sidecar(Path(root) / "trustedFolders.json")
    if isinstance(trusted, dict):
        folders = trusted.get("trustedFolders")
        # {"trustedFolders": [paths]} or Gemini's {path: "TRUST_FOLDER"}
        listed = folders if isinstance(folders, list) else list(trusted)
        for path in listed:
            if isinstance(path, str):
                paths.setdefault(path, "")
    resolved: dict[str, tuple[str, str]] = {}
    for path in sorted(p for p in paths if p):
        entry = (project_from_cwd(path), path)
        resolved.setdefault(hashlib.sha256(path.encode("utf-8", "replace")).hexdigest(), entry)
        if paths[path]:
            resolved.setdefault(paths[path], entry)
    return resolved


def resolve_project(dir_name: str, root: Path) -> tuple[str, str]:
    """``(project, cwd)`` of a ``tmp/<dir_name>`` directory: from the root's project files,
    else ``unknown`` for a path hash, else the directory's own (newer Gemini) name."""
    known = project_map(root).get(dir_name)
    if known:
        return known
    if _HEX64_RE.fullmatch(dir_name):
        return "unknown", ""
    return normalize_name(dir_name), ""


# --- reading the file -------------------------------------------------------------------------


class _Issues:
    """A JSON document's issues (it has no lines): deduplicated, at most ``MAX_ISSUES_KEPT``."""

    def __init__(self, issues: list[str]) -> None:
        self.issues = issues

    def __call__(self, message: str) -> None:
        if message in self.issues:
            return
        if len(self.issues) < MAX_ISSUES_KEPT:
            self.issues.append(message)
        elif len(self.issues) == MAX_ISSUES_KEPT:
            self.issues.append("more issues not shown")


def _parse_int(digits: str) -> int | float:
    try:
        return int(digits)
    except ValueError:  # more digits than Python converts: beyond any count anyway
        return float("-inf") if digits.startswith("-") else float("inf")


def _lenient(text: str, note: Note) -> object | None:
    """A JSON document orjson refused (control characters, NaN, lone surrogates, huge
    numbers), read by Python's decoder and cleaned; None when it is not JSON at all."""
    try:
        value = json.loads(text, strict=False, parse_int=_parse_int)
    except (ValueError, RecursionError):
        return None
    return clean_json(value, note, "document:")


def _salvage(text: str) -> dict:
    """The complete top-level members of a document cut short, and the complete messages of
    its ``messages`` array before the cut."""
    decoder = json.JSONDecoder(strict=False, parse_int=_parse_int)
    out: dict = {}
    at = _skip(text, 0)
    if text[at:at + 1] != "{":
        return out
    at += 1
    try:
        while True:
            at = _skip(text, at)
            if text[at:at + 1] in ("}", ""):
                return out
            key, at = decoder.raw_decode(text, at)
            at = _skip(text, at)
            if not isinstance(key, str) or text[at:at + 1] != ":":
                return out
            at = _skip(text, at + 1)
            if key == "messages" and text[at:at + 1] == "[":
                items: list = []
                out["messages"] = items
                at += 1
                while True:
                    at = _skip(text, at)
                    if text[at:at + 1] in ("]", ""):
                        at += 1
                        break
                    item, at = decoder.raw_decode(text, at)
                    items.append(item)
                    at = _skip(text, at)
                    if text[at:at + 1] == ",":
                        at += 1
            else:
                out[key], at = decoder.raw_decode(text, at)
            at = _skip(text, at)
            if text[at:at + 1] == ",":
                at += 1
    except (ValueError, RecursionError, IndexError):
        return out


def _skip(text: str, at: int) -> int:
    while at < len(text) and text[at] in " \t\r\n":
        at += 1
    return at


def _looks_like_lines(data: bytes) -> bool:
    """Is this ``.json`` file JSON lines (one record a line) rather than one document?"""
    lines = [line for line in data.split(b"\n", 3)[:3] if line.strip()]
    if len(lines) < 2:
        return False
    try:
        return isinstance(orjson.loads(lines[0]), dict)
    except orjson.JSONDecodeError:
        return False


@dataclass
class _Transcript:
    """What one file says, in the order it says it."""

    session_id: str = ""
    kind: str = ""
    started: datetime | None = None
    updated: datetime | None = None
    records: list[tuple[int, dict]] = field(default_factory=list)  # (line, message record)
    by_id: dict[str, int] = field(default_factory=dict)

    def meta(self, obj: dict) -> None:
        if not self.session_id and text_of(obj.get("sessionId")):
            self.session_id = text_of(obj.get("sessionId"))
        self.kind = text_of(obj.get("kind")) or self.kind
        self.started = self.started or parse_timestamp(obj.get("startTime"))
        self.bump(obj.get("lastUpdated"))

    def bump(self, value: object) -> None:
        ts = parse_timestamp(value)
        if ts is not None and (self.updated is None or ts > self.updated):
            self.updated = ts

    def message(self, line: int, obj: dict) -> None:
        """A later record with the same id replaces the earlier one, in its place."""
        message_id = text_of(obj.get("id"))
        if message_id and message_id in self.by_id:
            self.records[self.by_id[message_id]] = (line, obj)
            return
        if message_id:
            self.by_id[message_id] = len(self.records)
        self.records.append((line, obj))

    def messages(self, line: int, items: object) -> None:
        for item in items if isinstance(items, list) else ():
            if isinstance(item, dict):
                self.message(line, item)

    def feed(self, line: int, obj: dict) -> None:
        """One JSON-lines record (or a whole document, as line 0)."""
        update = obj.get("$set")
        if isinstance(update, dict):
            self.bump(update.get("lastUpdated"))
            if isinstance(update.get("messages"), list):  # a checkpoint: the whole list again
                self.records, self.by_id = [], {}
                self.messages(line, update["messages"])
            return
        if "$rewindTo" in obj:
            return  # the rewound messages stay in the archive, as AgentsView keeps them
        if "sessionId" in obj or "projectHash" in obj:
            self.meta(obj)
            self.messages(line, obj.get("messages"))
        elif isinstance(obj.get("type"), str):
            self.message(line, obj)


def _read_document(path: Path, options: ParseOptions, result: ParseResult,
                   transcript: _Transcript) -> bool:
    """Read a one-document file into *transcript*; False when it turns out to be JSON lines."""
    limit = options.max_line_bytes
    try:
        with open_session_file(path) as fh:
            data = read_at_most(fh, limit + 1)
    except OSError as exc:
        raise FileReadError(exc.strerror or str(exc)) from None
    if len(data) > limit:
        shown = f"{limit // (1024 * 1024)} MiB" if limit >= 1024 * 1024 else f"{limit} bytes"
        raise FileReadError(f"JSON document larger than {shown}, not read")
    result.sha256 = hashlib.sha256(data).hexdigest()
    result.size = len(data)
    if not data.strip():
        return True
    note = _Issues(result.issues)
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError:
        if _looks_like_lines(data):
            return False
        text = data.decode("utf-8", "replace")
        if "\ufffd" in text and b"\xef\xbf\xbd" not in data:
            note("document: invalid UTF-8 replaced with U+FFFD")
        document = _lenient(text, note)
        if document is None:
            document = clean_json(_salvage(text), note, "document:")
            result.is_truncated = True
            result.malformed_lines = 1
            kept = document.get("messages") if isinstance(document, dict) else None
            count = len(kept) if isinstance(kept, list) else 0
            note(f"document cut short (incomplete JSON); read up to the cut: {count}"
                 " complete messages")
    if not isinstance(document, dict) or not document:
        if document is not None and not isinstance(document, dict):
            note(f"document: not a JSON object ({type(document).__name__}), skipped")
        return True
    result.records = 1
    transcript.meta(document)
    transcript.messages(0, document.get("messages"))
    return True


# --- messages ---------------------------------------------------------------------------------


@dataclass
class _Tokens:
    has_context: bool
    has_output: bool
    input: int
    cached: int
    output: int  # output + thoughts


class _Builder:
    def __init__(self, options: ParseOptions, issue: Callable[[int, str], None]) -> None:
        self.options = options
        self.issue = issue
        self.messages: list[ParsedMessage] = []
        self.tokens: list[_Tokens | None] = []
        self.pending = False  # the last message has a call that never finished

    def add(self, line: int, rec: dict) -> None:
        kind = rec.get("type")
        if kind not in ("user", "gemini"):
            return  # info, error, warning: the CLI's own notices
        note = partial(self.issue, line)
        ts = parse_timestamp(rec.get("timestamp"))
        if kind == "user":
            shown = part_texts(rec.get("displayContent"))
            text = "\n\n".join(shown or part_texts(rec.get("content")))
            if text.strip():
                self.messages.append(ParsedMessage(role="user", content=text, timestamp=ts,
                                                   source_type="user"))
                self.tokens.append(None)
                self.pending = False
            return
        message = ParsedMessage(role="assistant", timestamp=ts, source_type="assistant",
                                model=text_of(rec.get("model")))
        parts: list[str] = []
        thinking: list[str] = []
        thoughts = rec.get("thoughts")
        for thought in thoughts if isinstance(thoughts, list) else ():
            if isinstance(thought, dict) and text_of(thought.get("description")):
                subject = text_of(thought.get("subject"))
                body = text_of(thought.get("description"))
                text = f"{subject}\n{body}" if subject else body
                thinking.append(text)
                parts.append(thinking_block(text))
        parts.extend(part_texts(rec.get("content")))
        pending = False
        calls = rec.get("toolCalls")
        for raw in calls if isinstance(calls, list) else ():
            if not isinstance(raw, dict) or not text_of(raw.get("name")):
                continue
            name = text_of(raw.get("name"))
            call = tool_call(name, text_of(raw.get("id")), raw.get("args"),
                             len(message.tool_calls), note)
            message.tool_calls.append(call)
            parts.append(tool_label(name, raw.get("args"), text_of(raw.get("displayName"))))
            status = text_of(raw.get("status"))
            if not self._results(call, raw, status, parse_timestamp(raw.get("timestamp")) or ts,
                                 note) and status not in FINISHED:
                pending = True
        message.content = "\n\n".join(parts)
        if not message.content.strip():
            return
        message.thinking_text = "\n\n".join(thinking)
        message.has_thinking = bool(thinking)
        message.has_tool_use = bool(message.tool_calls)
        self.messages.append(message)
        self.tokens.append(self._tokens(rec.get("tokens"), note))
        self.pending = pending

    def _results(self, call, raw: dict, status: str, ts, note: Note) -> bool:
        """Attach a call's inline results; True when it has any."""
        result = raw.get("result")
        items = result if isinstance(result, list) else [result] if result is not None else []
        texts: list[str] = []
        failed = False
        for item in items:
            response = function_response(item, note)
            if response is not None:
                texts.append(response[1])
                failed = failed or response[2]
            else:
                texts.extend(part_texts(item))
        event_status = "errored" if failed else RESULT_STATUS.get(status, "")
        if not texts and not event_status:
            return False
        text = "\n".join(texts) or text_of(raw.get("resultDisplay"))
        assign_results({call.tool_use_id: call}, call.tool_use_id, text, source="tool_result",
                       status=event_status, timestamp=ts,
                       blocked=self.options.blocked_result_categories)
        return True

    @staticmethod
    def _tokens(tokens: object, note: Note) -> _Tokens | None:
        if not isinstance(tokens, dict):
            return None
        count = {key: as_int(tokens.get(key), note, f"tokens.{key}")
                 for key in ("input", "output", "cached", "thoughts")}
        return _Tokens(
            has_context="input" in tokens or "cached" in tokens,
            has_output="output" in tokens or "thoughts" in tokens,
            input=count["input"],
            cached=count["cached"],
            output=clamp_int(count["output"] + count["thoughts"]),
        )

    def finish(self) -> list[ParsedMessage]:
        """Cumulative input and cache counts become deltas (a count that drops restarts)."""
        previous_input = previous_cached = 0
        for message, tokens in zip(self.messages, self.tokens, strict=True):
            if tokens is None:
                continue
            message.output_tokens = tokens.output
            message.has_output_tokens = tokens.has_output
            usage = {"input_tokens": tokens.input, "output_tokens": tokens.output,
                     "cache_read_input_tokens": tokens.cached}
            if tokens.has_context:
                delta_input = tokens.input - previous_input
                delta_cached = tokens.cached - previous_cached
                usage["input_tokens"] = delta_input if delta_input >= 0 else tokens.input
                usage["cache_read_input_tokens"] = (delta_cached if delta_cached >= 0
                                                    else tokens.cached)
                message.context_tokens = clamp_int(usage["input_tokens"]
                                                   + usage["cache_read_input_tokens"])
                message.has_context_tokens = True
                previous_input, previous_cached = tokens.input, tokens.cached
            message.token_usage = compact_json(usage)
        for ordinal, message in enumerate(self.messages):
            message.ordinal = ordinal
        return self.messages


# --- the session ------------------------------------------------------------------------------


def _records(path: Path, options: ParseOptions, result: ParseResult,
             transcript: _Transcript) -> Callable[[int, str], None]:
    """Fill *transcript* from the file; returns how to note an issue of a record."""
    if path.suffix != ".jsonl" and _read_document(path, options, result, transcript):
        doc_issue = _Issues(result.issues)

        def document_issue(_line: int, message: str) -> None:
            doc_issue(f"document: {message}")

        return document_issue
    reader = JsonlReader(path, options.max_line_bytes)
    for lineno, obj in reader:
        transcript.feed(lineno, obj)
    result.malformed_lines = reader.malformed
    result.records = reader.records
    result.is_truncated = reader.truncated
    result.issues = reader.issues
    result.sha256 = reader.sha256
    result.size = reader.size
    return reader.issue


def _layout(path: Path, root: Path) -> tuple[str, str]:
    """``(project directory name, parent session id)`` from where the file lies."""
    try:
        rel = path.relative_to(root).parts
    except ValueError:
        rel = ()
    if len(rel) >= 4 and rel[0] == "tmp" and rel[2] == "chats":
        return rel[1], rel[3] if len(rel) == 5 else ""
    if path.parent.name == "chats":
        return path.parent.parent.name, ""
    if path.parent.parent.name == "chats":
        return path.parent.parent.parent.name, path.parent.name
    return "", ""


def _parse(path: Path, root: Path, options: ParseOptions) -> ParseResult:
    result = ParseResult(path=path)
    transcript = _Transcript()
    issue = _records(path, options, result, transcript)
    builder = _Builder(options, issue)
    for line, record in transcript.records:
        builder.add(line, record)
    messages = builder.finish()
    if not messages:
        return result
    raw_id = transcript.session_id
    if not raw_id:
        raw_id = path.stem
        result.issues.append(f"no sessionId; id taken from the file name ({raw_id})")
    project_dir, parent = _layout(path, root)
    project, cwd = resolve_project(project_dir, root) if project_dir else ("unknown", "")
    session = ParsedSession(
        id=ID_PREFIX + raw_id,
        agent=AGENT,
        project=project,
        cwd=cwd,
        started_at=transcript.started,
        ended_at=transcript.updated,
        parent_session_id=ID_PREFIX + parent if parent else None,
        relationship_type="subagent" if parent else "",
        messages=messages,
    )
    stamps = [m.timestamp for m in messages if m.timestamp is not None]
    if stamps and session.ended_at is not None and max(stamps) > session.ended_at:
        session.ended_at = max(stamps)
    session.fill_bounds_from_messages()
    if session.started_at is None:
        session.started_at = session.ended_at = file_clock(path)
    session.termination_status = termination_status(messages, result.is_truncated,
                                                    builder.pending)
    result.sessions = [session]
    return result


class GeminiParser:
    version = 1
    tool_categories = family_categories({
        "Read": ("get_internal_docs",),
        "Task": ("invoke_agent", "delegate_to_agent", "codebase_investigator"),
        "Tool": (
            "google_web_search", "write_todos", "activate_skill", "ask_user",
            "enter_plan_mode", "complete_task", "update_topic", "read_mcp_resource",
            "list_mcp_resources",
        ),
    })
    label_heads = LABEL_HEADS

    def matches(self, rel_parts: tuple[str, ...]) -> bool:
        """``tmp/<project>/chats/<session>.json[l]`` (Gemini names them ``session-*``), or a
        subagent's ``tmp/<project>/chats/<parent id>/<id>.jsonl``."""
        if len(rel_parts) not in (4, 5) or rel_parts[0] != "tmp" or rel_parts[2] != "chats":
            return False
        if len(rel_parts) == 5:
            return rel_parts[4].endswith(".jsonl")
        return rel_parts[3].endswith((".json", ".jsonl"))

    def sniff(self, path: Path) -> bool:
        """A ``projectHash``, or a ``messages`` list with a ``sessionId`` or a ``gemini``
        message, near the top (a document written with sorted keys, or indented, has its
        ``sessionId`` after the messages)."""
        with path.open("rb") as fh:
            head = fh.read(64 * 1024).replace(b'": "', b'":"')
        return b'"projectHash"' in head or (b'"messages"' in head and (
            b'"sessionId"' in head or b'"type":"gemini"' in head))

    def root_of(self, path: Path) -> Path:
        """The directory holding ``tmp/``: three above ``chats/``."""
        for depth, parent in enumerate(path.parents[:2]):
            if parent.name == "chats" and len(path.parents) > depth + 3:
                return path.parents[depth + 3]
        return path.parent

    def parse(self, path: Path, root: Path, options: ParseOptions | None = None) -> ParseResult:
        return _parse(path, root, options or ParseOptions())


parser: AgentParser = GeminiParser()
