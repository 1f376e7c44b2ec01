"""Visual Studio Copilot trace exports: ``<root>/*_VSGitHubCopilot_traces.jsonl``.

Visual Studio writes OpenTelemetry JSON, one ``{"resourceSpans": [...]}`` envelope a line,
each span carrying GenAI semantic-convention attributes: ``gen_ai.conversation.id`` (the
session), ``chat`` spans with ``gen_ai.input.messages`` / ``gen_ai.output.messages`` (the
prompt, the answer's text, reasoning and tool calls) and ``gen_ai.usage.*``,
``execute_tool`` spans with the call's name, id, arguments and result, and ``invoke_agent``
spans for each turn (mode, model). One conversation can continue in a later file (a new
Visual Studio run): the first file holding it (by name, which starts with the run's time)
archives it, read together with its sibling traces, which are its companions, so a turn
written to any of them re-reads it.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
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
    compact_json,
)
from sessions_app.parsers.chatlog import LABEL_HEADS, Builder, Issues, s
from sessions_app.parsers.jsonl import FileReadError, JsonlReader, head_lines
from sessions_app.parsers.registry import AGENTS
from sessions_app.parsers.stores import termination_status
from sessions_app.parsers.tools import by_category, patch_files

AGENT = "visualstudio-copilot"
ID_PREFIX = AGENTS[AGENT].id_prefix
SUFFIX = "_VSGitHubCopilot_traces.jsonl"
PROJECT = "visualstudio"  # a trace names no folder: AgentsView's project for them all
# Attributes never read (the tool catalogue and the system prompt, large on every chat span)
_DROPPED = frozenset({"gen_ai.tool.definitions", "gen_ai.system_instructions",
                      "gen_ai.tool.description"})
_ERROR_CODES = (2, "2", "STATUS_CODE_ERROR", "ERROR")
_CACHE_FILES = 32


@dataclass
class Span:
    trace_id: str
    span_id: str
    name: str
    parent: str
    start: datetime | None
    end: datetime | None
    attrs: dict[str, str]
    failed: bool = False
    error: str = ""
    prompt: str = ""  # the last user message of gen_ai.input.messages
    order: tuple = ()  # (file, line): where it was written

    def attr(self, key: str) -> str:
        return self.attrs.get(key, "")

    @property
    def is_chat(self) -> bool:
        return self.attr("gen_ai.operation.name") == "chat" or self.name.startswith("chat ")


@dataclass
class TraceIndex:
    """The spans of one trace file by conversation, in the order it holds them."""

    spans: dict[str, list[Span]] = field(default_factory=dict)
    version: str = ""
    records: int = 0
    malformed: int = 0
    truncated: bool = False
    issues: list[str] = field(default_factory=list)
    sha256: str = ""
    size: int = 0


_INDEXES: OrderedDict[tuple, TraceIndex] = OrderedDict()


def _value(value: object) -> str:
    """An OTLP ``AnyValue`` as text (every attribute is read as a string, as AgentsView)."""
    if not isinstance(value, dict):
        return ""
    for key in ("stringValue", "intValue", "doubleValue"):
        item = value.get(key)
        if isinstance(item, str):
            return item
        if isinstance(item, int | float) and not isinstance(item, bool):
            return str(item) if item == item and abs(item) != float("inf") else ""
    if isinstance(value.get("boolValue"), bool):
        return "true" if value["boolValue"] else "false"
    for key in ("arrayValue", "kvlistValue"):
        if isinstance(value.get(key), dict):
            return compact_json(value[key])
    return ""


def _attributes(items: object) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items if isinstance(items, list) else ():
        if isinstance(item, dict) and isinstance(item.get("key"), str) \
                and item["key"] not in _DROPPED:
            out[item["key"]] = _value(item.get("value"))
    return out


def _time(value: object, note: Note, what: str) -> datetime | None:
    """Unix nanoseconds (a string in OTLP JSON, or a number)."""
    if isinstance(value, str):
        value = int(value) if value.strip().isdigit() and len(value) < 40 else None
    nanos = as_int(value, note, what) if value is not None else 0
    if nanos <= 0:
        return None
    try:
        return datetime.fromtimestamp(nanos / 1e9, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _json(text: str) -> object:
    if not text:
        return None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return None


def _last_prompt(raw: str) -> str:
    """The last user message of ``gen_ai.input.messages`` (the turn's prompt; the ones
    before it are the history every chat span repeats)."""
    messages = _json(raw)
    for message in reversed(messages if isinstance(messages, list) else []):
        if not isinstance(message, dict) or message.get("role") != "user":
            continue
        parts = message.get("parts")
        texts = [s(p.get("content")).strip() for p in parts if isinstance(p, dict)
                 and p.get("type", "text") == "text"] if isinstance(parts, list) else []
        text = "\n".join(t for t in texts if t)
        if text:
            return text
    return ""


def _span(raw: dict, lineno: int, file_rank: str, note: Note) -> Span | None:
    attrs = _attributes(raw.get("attributes"))
    if not attrs.get("gen_ai.conversation.id", "").strip():
        return None
    status = raw.get("status") if isinstance(raw.get("status"), dict) else {}
    span = Span(
        trace_id=s(raw.get("traceId")), span_id=s(raw.get("spanId")), name=s(raw.get("name")),
        parent=s(raw.get("parentSpanId")) or attrs.get("virtual_parent.genai", ""),
        start=_time(raw.get("startTimeUnixNano"), note, "startTimeUnixNano"),
        end=_time(raw.get("endTimeUnixNano"), note, "endTimeUnixNano"),
        attrs=attrs,
        failed=status.get("code") in _ERROR_CODES or bool(attrs.get("error.type")),
        error=s(status.get("message")) or attrs.get("error.type", ""),
        order=(file_rank, lineno),
    )
    if "gen_ai.input.messages" in attrs:
        span.prompt = _last_prompt(attrs.pop("gen_ai.input.messages"))
    return span


def _index(path: Path, options: ParseOptions) -> TraceIndex:
    """The spans of *path* (read once per size and mtime, kept for the siblings' parses)."""
    try:
        st = path.stat()
    except OSError as exc:
        raise FileReadError(exc.strerror or str(exc)) from None
    key = (str(path), st.st_size, st.st_mtime_ns, options.max_line_bytes)
    cached = _INDEXES.get(key)
    if cached is not None:
        _INDEXES.move_to_end(key)
        return cached
    index = TraceIndex()
    reader = JsonlReader(path, options.max_line_bytes)
    for lineno, envelope in reader:
        note = lambda text, n=lineno: reader.issue(n, text)  # noqa: E731
        resources = envelope.get("resourceSpans")
        for resource in resources if isinstance(resources, list) else ():
            if not isinstance(resource, dict):
                continue
            about = resource.get("resource") if isinstance(resource.get("resource"), dict) \
                else {}
            index.version = _attributes(about.get("attributes")).get("service.version", "") \
                or index.version
            scopes = resource.get("scopeSpans")
            for scope in scopes if isinstance(scopes, list) else ():
                spans = scope.get("spans") if isinstance(scope, dict) else None
                for raw in spans if isinstance(spans, list) else ():
                    span = _span(raw, lineno, path.name, note) if isinstance(raw, dict) \
                        else None
                    if span is not None:
                        conversation = span.attr("gen_ai.conversation.id").strip()
                        index.spans.setdefault(conversation, []).append(span)
    index.records, index.malformed = reader.records, reader.malformed
    index.truncated, index.issues = reader.truncated, list(reader.issues)
    index.sha256, index.size = reader.sha256, reader.size
    _INDEXES[key] = index
    while len(_INDEXES) > _CACHE_FILES:
        _INDEXES.popitem(last=False)
    return index


def _siblings(path: Path) -> list[Path]:
    try:
        return sorted(p for p in path.parent.iterdir()
                      if p.name.endswith(SUFFIX) and p != path and p.is_file())
    except OSError:
        return []


# --- one conversation ---------------------------------------------------------------------------


def _usage(message: ParsedMessage, span: Span, note: Note) -> None:
    message.model = span.attr("gen_ai.response.model") or span.attr("gen_ai.request.model") \
        or message.model
    counts = {}
    for key, attr in (("input_tokens", "gen_ai.usage.input_tokens"),
                      ("output_tokens", "gen_ai.usage.output_tokens"),
                      ("cache_read_input_tokens", "gen_ai.usage.cache_read.input_tokens")):
        raw = span.attr(attr).strip()
        if raw.isdigit() and len(raw) < 40:
            counts[key] = as_int(int(raw), note, attr)
    if not counts:
        return
    message.token_usage = compact_json(counts)
    if "input_tokens" in counts:  # the whole prompt of the request (cached part included)
        message.context_tokens, message.has_context_tokens = counts["input_tokens"], True
    if "output_tokens" in counts:
        message.output_tokens, message.has_output_tokens = counts["output_tokens"], True


def _richer(candidate: Span, current: Span) -> bool:
    """Of two copies of one span (flushed to several files), the more complete."""
    def weight(span: Span) -> tuple:
        return (bool(span.attr("gen_ai.tool.call.result")), len(span.attr(
            "gen_ai.output.messages")), bool(span.attr("gen_ai.usage.output_tokens")),
            span.end or datetime.min.replace(tzinfo=UTC))
    return weight(candidate) > weight(current)


def _unique(spans: list[Span]) -> list[Span]:
    """One copy of each span (its richest), in the order of its first copy."""
    best: dict[tuple, Span] = {}
    first: dict[tuple, Span] = {}
    for span in spans:
        key = (span.trace_id, span.span_id) if span.span_id else ("", id(span))
        if key not in best or _richer(span, best[key]):
            best[key] = span
        first.setdefault(key, span)
    out = []
    for key, span in first.items():
        chosen = best[key]
        if chosen is not span:  # the richest copy, at the first copy's place
            chosen = replace(chosen, start=span.start or chosen.start)
        out.append(chosen)
    return out


def _tool_result(raw: str) -> str:
    """``gen_ai.tool.call.result``: text, or Visual Studio's ``{"Value": ...}`` wrappers."""
    value = _json(raw)
    if value is None:
        return raw.strip()

    def text(item: object, depth: int) -> str:
        if depth > 8 or item is None:
            return ""
        if isinstance(item, str):
            return item.strip()
        if isinstance(item, list):
            return "\n\n".join(t for t in (text(i, depth + 1) for i in item) if t)
        if isinstance(item, dict):
            for key in ("Content", "content", "Text", "text", "Output", "output", "Result",
                        "result", "Value", "value"):
                found = text(item.get(key), depth + 1)
                if found:
                    return found
        return ""

    return text(value, 0) or raw.strip()


def _call(builder: Builder, message: ParsedMessage, name: str, arguments: object,
          call_id: str, note: Note):
    call = builder.call(message, name or "unknown", arguments, call_id, note)
    if call is not None and not call.file_path and call.category in ("Edit", "Write"):
        data = _json(arguments) if isinstance(arguments, str) else arguments
        patch = s(data.get("patch")) if isinstance(data, dict) else ""
        files = patch_files(patch)
        if files:
            call.file_path = files[0]
            head = f"[{call.category}]"
            if message.content.endswith(head):  # the label, now with the file it names
                message.content = f"{message.content[:-len(head)]}[{call.category}: {files[0]}]"
    return call


def _conversation(conversation: str, spans: list[Span], version: str, options: ParseOptions,
                  issues: Issues) -> ParsedSession | None:
    spans = sorted(_unique(spans), key=lambda sp: (
        sp.start or datetime.max.replace(tzinfo=UTC), sp.order))
    note = issues.note(f"conversation {conversation}")
    builder = Builder(options)
    prompts: set[str] = set()
    executed: dict[str, Span] = {}
    for span in spans:
        call_id = span.attr("gen_ai.tool.call.id")
        if span.attr("gen_ai.tool.name") and call_id and (
                call_id not in executed or _richer(span, executed[call_id])):
            executed[call_id] = span
    turn_models = {sp.span_id: sp.attr("gen_ai.response.model") or sp.attr(
        "gen_ai.request.model") for sp in spans if sp.span_id and _is_turn(sp)}
    requested: set[str] = set()
    turns: list[Span] = []
    for span in spans:
        builder.bound(span.start)
        builder.bound(span.end)
        if span.is_chat:
            key = span.attr("copilot_chat.root_request_id") or span.prompt
            if span.prompt and key not in prompts:
                prompts.add(key)
                builder.add("user", span.prompt, span.start)
            _chat_output(span, builder, requested, note)
        elif span.attr("gen_ai.tool.name"):
            call_id = span.attr("gen_ai.tool.call.id")
            if call_id and (call_id in requested or executed.get(call_id) is not span):
                continue  # answered on the chat message that asked for it, or a copy
            message = builder.add("assistant", "", span.start,
                                  model=turn_models.get(span.parent, ""))
            _usage(message, span, note)
            _call(builder, message, span.attr("gen_ai.tool.name"),
                  span.attr("gen_ai.tool.call.arguments") or None, call_id, note)
        elif _is_turn(span):
            turns.append(span)
    for call_id, span in executed.items():
        result = span.attr("gen_ai.tool.call.result")
        if result or span.failed:
            text = _tool_result(result) or span.error
            builder.result(call_id, text, status="errored" if span.failed else "completed",
                           timestamp=span.end)
    messages = builder.finish()
    if not messages:  # only turn spans: each turn as AgentsView shows it
        for span in turns:
            parts = ["GitHub Copilot turn"] + [f"{label}: {span.attr(key)}" for label, key in (
                ("mode", "copilot_chat.mode"), ("model", "gen_ai.request.model"),
                ("turns", "copilot_chat.turn_count")) if span.attr(key)]
            builder.add("assistant", " | ".join(parts), span.start,
                        model=turn_models.get(span.span_id, ""))
        messages = builder.finish()
    if not messages:
        return None
    session = ParsedSession(
        id=ID_PREFIX + conversation,
        agent=AGENT,
        project=PROJECT,
        started_at=builder.started,
        ended_at=builder.ended,
        source_session_id=conversation,
        source_version=version,
        messages=messages,
    )
    if not prompts:  # no prompt recorded (a redacted trace): name it as AgentsView does
        session.display_name = _summary(spans, turns, conversation)
    session.termination_status = termination_status(messages)
    return session


def _is_turn(span: Span) -> bool:
    return span.name.startswith("invoke_agent") or \
        span.attr("gen_ai.operation.name") == "invoke_agent"


def _chat_output(span: Span, builder: Builder, requested: set[str], note: Note) -> None:
    outputs = _json(span.attr("gen_ai.output.messages"))
    message = None
    for out in outputs if isinstance(outputs, list) else []:
        if not isinstance(out, dict) or out.get("role", "assistant") != "assistant":
            continue
        parts = out.get("parts")
        for part in parts if isinstance(parts, list) else []:
            if not isinstance(part, dict):
                continue
            if message is None:
                message = builder.add("assistant", "", span.end or span.start)
                _usage(message, span, note)
            kind = part.get("type")
            if kind == "text" and s(part.get("content")).strip():
                text = s(part.get("content")).strip()
                message.content = f"{message.content}\n{text}" if message.content else text
            elif kind == "reasoning":
                builder.thinking(message, s(part.get("content")).strip())
            elif kind == "tool_call":
                arguments = part.get("arguments")
                call = _call(builder, message, s(part.get("name")), arguments,
                             s(part.get("id")), note)
                if call is not None and call.tool_use_id:
                    requested.add(call.tool_use_id)
    if message is None and (span.attr("gen_ai.usage.output_tokens")
                            or span.attr("gen_ai.usage.input_tokens")):
        message = builder.add("assistant", "", span.end or span.start)
        _usage(message, span, note)
        message.content = "[Tool: model request]"  # its answer is not recorded


def _summary(spans: list[Span], turns: list[Span], conversation: str) -> str:
    for span in spans:
        name = span.attr("gen_ai.tool.name")
        if not name:
            continue
        args = _json(span.attr("gen_ai.tool.call.arguments"))
        data = args if isinstance(args, dict) else {}
        path = next((s(data.get(k)) for k in ("filename", "file", "path", "filePath")
                     if s(data.get(k))), "")
        if name == "get_file" and path:
            return f"Read file: {path}"
        if name == "run_build":
            return "Run build"
        if name == "apply_patch":
            return f"Apply patch: {s(data.get('explanation'))}".rstrip(": ") \
                if s(data.get("explanation")) else "Apply patch"
        what = s(data.get("command")) or path or s(data.get("query")) or s(data.get("glob"))
        label = name.removeprefix("copilot_").replace("_", " ")
        label = label[:1].upper() + label[1:]
        return f"{label}: {what}" if what else label
    for span in turns:
        mode = span.attr("copilot_chat.mode") or "Copilot"
        model = span.attr("gen_ai.request.model")
        return " | ".join(p for p in (f"Visual Studio Copilot {mode}", model) if p)
    return f"Visual Studio Copilot conversation {conversation[:8]}"


# --- the file -----------------------------------------------------------------------------------


def _parse(path: Path, options: ParseOptions) -> ParseResult:
    own = _index(path, options)
    result = ParseResult(path=path, records=own.records, malformed_lines=own.malformed,
                         is_truncated=own.truncated, sha256=own.sha256, size=own.size)
    issues = Issues()
    for issue in own.issues:
        issues.add(issue)
    siblings = _siblings(path)
    earlier = [p for p in siblings if p.name < path.name]
    indexes: list[tuple[Path, TraceIndex]] = []
    for sibling in siblings:
        try:
            indexes.append((sibling, _index(sibling, options)))
        except FileReadError as exc:
            issues.add(f"{sibling.name}: cannot be read ({exc}); its spans are missing")
    owned_elsewhere = {conv for p, index in indexes if p in earlier for conv in index.spans}
    sessions = []
    for conversation, spans in own.spans.items():
        if conversation in owned_elsewhere:
            continue  # archived by the first trace file holding it
        every = list(spans)
        for _sibling, index in indexes:
            every.extend(index.spans.get(conversation, ()))
        version = own.version or next((i.version for _p, i in indexes if i.version), "")
        session = _conversation(conversation, every, version, options, issues)
        if session is not None:
            sessions.append(session)
    if own.records and not own.spans and not own.issues:
        issues.add("no span names a conversation (gen_ai.conversation.id)")
    result.sessions = sessions
    result.issues = list(issues.lines)
    return result


class VisualStudioCopilotParser:
    version = 1
    tool_categories = by_category({
        "Read": ("get_file", "get_errors", "get_web_pages", "get_projects_in_solution",
                 "get_files_in_project", "get_output_window_logs"),
        "Grep": ("code_search", "text_search"),
        "Bash": ("run_build", "run_command_in_terminal", "run_tests"),
    })
    label_heads = LABEL_HEADS

    def matches(self, rel_parts: tuple[str, ...]) -> bool:
        """``*_VSGitHubCopilot_traces.jsonl`` in the traces folder."""
        return len(rel_parts) == 1 and rel_parts[0].endswith(SUFFIX) \
            and len(rel_parts[0]) > len(SUFFIX)

    def sniff(self, path: Path) -> bool:
        """An OTLP ``resourceSpans`` line with GenAI attributes."""
        for line in head_lines(path, 5):
            if b'"resourceSpans"' in line and b"gen_ai." in line:
                return True
        return False

    def root_of(self, path: Path) -> Path:
        return path.parent

    def companion_paths(self, path: Path) -> tuple[Path, ...]:
        """The sibling traces: a conversation this file archives may continue in them."""
        return tuple(_siblings(path))

    def parse(self, path: Path, root: Path, options: ParseOptions | None = None) -> ParseResult:
        return _parse(path, options or ParseOptions())


parser: AgentParser = VisualStudioCopilotParser()

