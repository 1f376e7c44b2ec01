"""Zed's agent threads: the SQLite database ``<root>/threads/threads.db`` (root: Zed's data
directory), one row per thread in its ``threads`` table (``id``, ``summary``, ``updated_at``,
``data_type``, ``data``; current Zed adds ``parent_id``, ``folder_paths`` and ``created_at``).

``data`` is the thread as JSON, zstd-compressed when ``data_type`` is ``zstd``. Two shapes are
read: the current one (``version`` 0.3.0: ``User``/``Agent`` messages, tool results inside the
agent's message, token usage per user message) and the legacy one of Zed's first agent panel
(versions 0.1.0/0.2.0 or none: ``role`` with text ``segments``, ``tool_uses`` and
``tool_results``, token usage per message). Messages carry no time: the first is stamped with
the thread's creation and the last with its last update.

A database source: each thread's change marker comes from its row without its data (update
time, size, title, parent, folders), so a sync re-reads only the threads that changed. The
database is opened read-only; a locked or unreadable one is one warning, retried next sync.
"""

from __future__ import annotations

import io
import sqlite3
from collections.abc import Mapping
from contextlib import suppress
from datetime import datetime
from pathlib import Path

import orjson

from sessions_app.parsers.base import (
    AgentParser,
    DatabaseReadError,
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
from sessions_app.parsers.database import (
    DatabaseSourceParser,
    describe,
    json_object,
    marker,
    read_only,
    table_columns,
)
from sessions_app.parsers.finish import termination_status, tool_label
from sessions_app.parsers.jsonl import FileReadError, head_lines
from sessions_app.parsers.project import project_from_cwd
from sessions_app.parsers.registry import AGENTS, category_of
from sessions_app.parsers.tools import by_category

AGENT = "zed"
ID_PREFIX = AGENTS[AGENT].id_prefix
DB_PARTS = ("threads", "threads.db")
SQLITE_HEADER = b"SQLite format 3\x00"
REQUIRED = frozenset({"id", "summary", "updated_at", "data_type", "data"})
OPTIONAL = ("parent_id", "folder_paths", "created_at")
MAX_ISSUES = 20


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


def _dict(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list:
    return value if isinstance(value, list) else []


def decode_data(data_type: object, data: object, max_bytes: int) -> bytes:
    """A row's ``data`` as JSON bytes; ``ValueError`` saying why when it cannot be."""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    if not isinstance(data, bytes):
        raise ValueError("data is not a blob")
    kind = _str(data_type).lower()
    if kind in ("json", ""):
        return data
    if kind != "zstd":
        raise ValueError(f"unknown data_type {_str(data_type)[:40]!r}")
    import zstandard  # only Zed needs it

    try:
        with zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data)) as reader:
            out = reader.read(max_bytes + 1)
    except zstandard.ZstdError as exc:
        raise ValueError(f"not zstd data ({str(exc)[:80]})") from None
    if len(out) > max_bytes:
        raise ValueError(f"thread larger than {max_bytes} bytes uncompressed")
    return out


# --- the thread documents ------------------------------------------------------------------------


def _result_text(content: object) -> str:
    """A tool result's content: text (plain, ``{"Text": ...}``, ``{"type": "text", ...}``), a
    list of such, or an image."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(t for t in (_result_text(c) for c in content) if t)
    if isinstance(content, dict):
        lowered = {k.lower(): v for k, v in content.items() if isinstance(k, str)}
        if isinstance(lowered.get("text"), str):
            return lowered["text"]
        if "image" in lowered or "source" in lowered:
            return "[image]"
    return ""


class _Thread:
    """One thread's messages, from either shape."""

    def __init__(self, options: ParseOptions, note: Note, model: str) -> None:
        self.options = options
        self.note = note
        self.model = model
        self.messages: list[ParsedMessage] = []
        self.results: list[tuple[str, str, bool]] = []

    def user(self, text: str, *, hidden: bool = False) -> ParsedMessage | None:
        if not text.strip():
            return None
        message = ParsedMessage(role="user", content=text, is_system=hidden,
                                source_type="system" if hidden else "user")
        self.messages.append(message)
        return message

    def agent(self, texts: list[str], thinking: list[str], redacted: bool,
              tool_uses: list[dict]) -> ParsedMessage | None:
        message = ParsedMessage(role="assistant", source_type="assistant", model=self.model,
                                has_thinking=bool(thinking) or redacted)
        parts = [f"[Thinking]\n{t}\n[/Thinking]" for t in thinking]
        parts += [t for t in texts if t]
        for use in tool_uses:
            parts.append(self._call(message, use))
        message.content = "\n".join(parts)
        message.thinking_text = "\n\n".join(thinking)
        if not message.content.strip() and not message.tool_calls and not message.has_thinking:
            return None
        self.messages.append(message)
        return message

    def _call(self, message: ParsedMessage, use: dict) -> str:
        name = _str(use.get("name")) or "unknown"
        args = use.get("input")
        raw = _str(use.get("raw_input"))
        if args is None and raw:
            try:
                args = orjson.loads(raw)
            except orjson.JSONDecodeError:
                args = None
        data = _dict(args)
        category = category_of(name)
        message.has_tool_use = True
        message.tool_calls.append(ParsedToolCall(
            tool_use_id=_str(use.get("id")),
            tool_name=name,
            category=category,
            input_json=compact_json(args, self.note, "tool input") if args is not None else raw,
            file_path=_str(data.get("path")) or _str(data.get("file_path"))
            if category in ("Read", "Edit", "Write") else "",
            call_index=len(message.tool_calls),
        ))
        return tool_label(name, data)

    def result(self, value: object, tool_use_id: str = "") -> None:
        data = _dict(value)
        text = _result_text(data.get("content"))
        if not text and isinstance(data.get("output"), str):
            text = data["output"]
        self.results.append((_str(data.get("tool_use_id")) or tool_use_id, text,
                             data.get("is_error") is True))

    def usage(self, message: ParsedMessage | None, usage: object) -> None:
        if message is None or not isinstance(usage, dict):
            return
        keys = ("input_tokens", "output_tokens", "cache_creation_input_tokens",
                "cache_read_input_tokens")
        present = {k: as_int(usage.get(k), self.note, f"token usage {k}") for k in keys
                   if k in usage}
        if not present:
            return
        message.token_usage = compact_json(present)
        if "output_tokens" in present:
            message.output_tokens, message.has_output_tokens = present["output_tokens"], True
        context = [k for k in keys if k != "output_tokens" and k in present]
        if context:
            message.context_tokens = clamp_int(sum(present[k] for k in context))
            message.has_context_tokens = True

    def finish(self, started: datetime | None, ended: datetime | None) -> list[ParsedMessage]:
        calls = {c.tool_use_id: c for m in self.messages for c in m.tool_calls if c.tool_use_id}
        blocked = self.options.blocked_result_categories
        for tool_use_id, text, is_error in self.results:
            assign_results(calls, tool_use_id, text, source="tool_result",
                           status="errored" if is_error else "", timestamp=None,
                           blocked=blocked)
        for ordinal, message in enumerate(self.messages):
            message.ordinal = ordinal
        if self.messages:
            self.messages[0].timestamp = started or ended
            self.messages[-1].timestamp = ended or started
        return self.messages


def _is_current(doc: dict) -> bool:
    messages = _list(doc.get("messages"))
    return any(isinstance(m, dict) and ("User" in m or "Agent" in m) for m in messages) or (
        not messages and doc.get("version") == "0.3.0")


def _read_current(thread: _Thread, doc: dict) -> None:
    """``{"User": {id, content}}``, ``{"Agent": {content, tool_results}}``, ``"Resume"``."""
    usage = _dict(doc.get("request_token_usage"))
    turn_id = ""
    last_agent: ParsedMessage | None = None
    for item in _list(doc.get("messages")):
        if not isinstance(item, dict):
            continue  # "Resume" and anything else
        if "User" in item:
            thread.usage(last_agent, usage.get(turn_id))
            user = _dict(item["User"])
            turn_id, last_agent = _str(user.get("id")), None
            thread.user("\n".join(_str(_dict(c).get("Text")) for c in _list(user.get("content"))
                                  if _str(_dict(c).get("Text"))))
        elif "Agent" in item:
            agent = _dict(item["Agent"])
            texts: list[str] = []
            thinking: list[str] = []
            redacted = False
            uses: list[dict] = []
            for block in _list(agent.get("content")):
                block = _dict(block)
                if isinstance(block.get("Text"), str):
                    texts.append(block["Text"])
                elif isinstance(block.get("Thinking"), dict):
                    text = _str(block["Thinking"].get("text"))
                    thinking += [text] if text else []
                    redacted = redacted or not text
                elif "RedactedThinking" in block:
                    redacted = True
                elif isinstance(block.get("ToolUse"), dict):
                    uses.append(block["ToolUse"])
            last_agent = thread.agent(texts, thinking, redacted, uses) or last_agent
            for key, value in _dict(agent.get("tool_results")).items():
                thread.result(value, key)
    thread.usage(last_agent, usage.get(turn_id))


def _read_legacy(thread: _Thread, doc: dict) -> None:
    """``{id, role, segments | text, tool_uses, tool_results, is_hidden}`` per message, token
    usage per message index."""
    usage = _list(doc.get("request_token_usage"))
    for index, item in enumerate(_list(doc.get("messages"))):
        item = _dict(item)
        texts: list[str] = []
        thinking: list[str] = []
        redacted = False
        segments = _list(item.get("segments"))
        if not segments and isinstance(item.get("text"), str):
            texts.append(item["text"])
        for segment in segments:
            segment = _dict(segment)
            kind = _str(segment.get("type"))
            if kind == "text":
                texts.append(_str(segment.get("text")))
            elif kind == "thinking":
                text = _str(segment.get("text"))
                thinking += [text] if text else []
            elif kind == "RedactedThinking":
                redacted = True
        for result in _list(item.get("tool_results")):
            thread.result(result)
        role = item.get("role")
        if role == "user":
            text = "\n".join(t for t in texts if t) or _str(item.get("context"))
            thread.user(text, hidden=item.get("is_hidden") is True)
        elif role == "assistant":
            uses = [u for u in _list(item.get("tool_uses")) if isinstance(u, dict)]
            message = thread.agent(texts, thinking, redacted, uses)
            thread.usage(message, usage[index] if index < len(usage) else None)


def _folders(folder_paths: object) -> str:
    """The first folder of a thread (``folder_paths`` holds one path a line)."""
    text = _str(folder_paths).strip()
    return text.replace("\x00", "\n").split("\n", 1)[0].strip() if text else ""


def _session(row: dict, doc: dict, options: ParseOptions, note: Note) -> ParsedSession | None:
    model = _dict(doc.get("model"))
    thread = _Thread(options, note, _str(model.get("model")))
    if _is_current(doc):
        _read_current(thread, doc)
    else:
        _read_legacy(thread, doc)
    updated = parse_timestamp(row["updated_at"]) or parse_timestamp(doc.get("updated_at"))
    created = parse_timestamp(row["created_at"]) or updated
    messages = thread.finish(created, updated)
    if not messages:
        return None
    cwd = _folders(row["folder_paths"])
    if not cwd:
        snapshot = _dict(doc.get("initial_project_snapshot"))
        trees = _list(snapshot.get("worktree_snapshots"))
        cwd = _str(_dict(trees[0]).get("worktree_path")) if trees else ""
    parent = _str(row["parent_id"]) or _str(
        _dict(doc.get("subagent_context")).get("parent_thread_id"))
    raw_id = _str(row["id"])
    title = _str(row["summary"]) or _str(doc.get("title")) or _str(doc.get("summary"))
    session = ParsedSession(
        id=ID_PREFIX + raw_id,
        agent=AGENT,
        project=project_from_cwd(cwd) if cwd else "unknown",
        cwd=cwd,
        display_name=title or None,
        started_at=created,
        ended_at=updated,
        parent_session_id=ID_PREFIX + parent if parent and parent != raw_id else None,
        relationship_type="subagent" if parent and parent != raw_id else "",
        source_session_id=raw_id,
        source_version=_str(doc.get("version")),
        messages=messages,
    )
    session.fill_bounds_from_messages()
    session.termination_status = termination_status(messages, False)
    return session


# --- the database --------------------------------------------------------------------------------


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


class _Issues(list):
    def add(self, text: str) -> None:
        if len(self) < MAX_ISSUES:
            self.append(text)
        elif len(self) == MAX_ISSUES:
            self.append("more issues not shown")


def _parse_database(path: Path, known: Mapping[str, str], options: ParseOptions) -> ParseResult:
    result = ParseResult(path=path, markers={})
    issues = _Issues()
    try:
        result.size = path.stat().st_size
    except OSError as exc:
        raise FileReadError(exc.strerror or str(exc)) from None
    try:
        _read_database(path, known, options, result, issues)
    except (UnicodeError, ValueError, OverflowError) as exc:  # a damaged schema or page
        raise DatabaseReadError(f"unreadable database ({type(exc).__name__}); not read this"
                                " time") from None
    result.issues = list(issues)
    return result


def _read_database(path: Path, known: Mapping[str, str], options: ParseOptions,
                   result: ParseResult, issues: _Issues) -> None:
    with read_only(path) as connection:
        connection.text_factory = _text  # a damaged page must not fail the decoding
        columns = table_columns(connection, "threads")
        if not columns >= REQUIRED:
            raise DatabaseReadError("no Zed threads table (id, summary, updated_at, data_type,"
                                    " data); not read")
        optional = [c if c in columns else f"NULL AS {c}" for c in OPTIONAL]
        rows = connection.execute(
            "SELECT id, summary, updated_at, data_type, length(data), "
            f"{', '.join(optional)} FROM threads ORDER BY updated_at, id").fetchall()
        result.records = 1 + len(rows)  # the schema read counts: an empty database is no error
        for values in rows:
            row = dict(zip(("id", "summary", "updated_at", "data_type", "size", *OPTIONAL),
                           values, strict=True))
            raw_id = _str(row["id"]) or (str(row["id"]) if isinstance(row["id"], int) else "")
            if not raw_id:
                issues.add("a thread without an id; skipped")
                continue
            row["id"] = raw_id
            full_id = ID_PREFIX + raw_id
            current = marker(row["updated_at"], row["size"], row["data_type"], row["summary"],
                             row["parent_id"], row["folder_paths"], row["created_at"])
            result.markers[full_id] = current
            if known.get(full_id) == current:
                continue
            session = _read_thread(connection, row, options, issues)
            if session is not None:
                result.sessions.append(session)


def _read_thread(connection: sqlite3.Connection, row: dict, options: ParseOptions,
                 issues: _Issues) -> ParsedSession | None:
    where = f"thread {row['id'][:80]}"
    try:
        fetched = connection.execute("SELECT data FROM threads WHERE id = ?",
                                     (row["id"],)).fetchone()
    except sqlite3.Error as exc:  # one damaged row: the others are read
        issues.add(f"{where}: {describe(exc)}")
        return None
    except (UnicodeError, ValueError, OverflowError) as exc:
        issues.add(f"{where}: unreadable row ({type(exc).__name__}); skipped")
        return None
    try:
        payload = decode_data(row["data_type"], fetched[0] if fetched else None,
                              options.max_line_bytes)
    except ValueError as exc:
        issues.add(f"{where}: {exc}; skipped")
        return None
    doc = json_object(payload)
    if doc is None:
        issues.add(f"{where}: data is not a JSON object; skipped")
        return None
    return _session(row, doc, options, lambda what: issues.add(f"{where}: {what}"))


class ZedParser(DatabaseSourceParser):
    version = 1
    tool_categories = by_category({
        "Read": ("read_file", "list_directory", "fetch"),
        "Edit": ("edit_file", "streaming_edit_file"),
        "Bash": ("terminal",),
        "Grep": ("grep",),
        "Glob": ("find_path",),
        "Task": ("spawn_agent",),
        "Tool": ("diagnostics", "web_search", "now", "thinking", "open", "copy_path",
                 "move_path", "delete_path", "create_directory"),
    })
    label_heads = frozenset({"Tool", "Read", "Write", "Edit", "Bash", "Grep", "Glob", "Task",
                             "Skill", "Todo List", "Question"})

    def matches(self, rel_parts: tuple[str, ...]) -> bool:
        """``threads/threads.db`` under Zed's data directory."""
        return rel_parts == DB_PARTS

    def sniff(self, path: Path) -> bool:
        """A SQLite database with Zed's ``threads`` table."""
        head = b"".join(head_lines(path, 1, 64))
        if not head.startswith(SQLITE_HEADER):
            return False
        try:
            with read_only(path) as connection:
                connection.text_factory = _text
                return table_columns(connection, "threads") >= REQUIRED
        except (DatabaseReadError, UnicodeError, ValueError, OverflowError):
            return False

    def root_of(self, path: Path) -> Path:
        return path.parent.parent

    def parse_changed(self, path: Path, root: Path, known: Mapping[str, str],
                      options: ParseOptions | None = None) -> ParseResult:
        return _parse_database(path, known, options or ParseOptions())

    def parse(self, path: Path, root: Path, options: ParseOptions | None = None) -> ParseResult:
        try:
            return self.parse_changed(path, root, {}, options)
        except DatabaseReadError as exc:
            result = ParseResult(path=path, issues=[str(exc)])
            with suppress(OSError):
                result.size = path.stat().st_size
            return result


parser: AgentParser = ZedParser()
