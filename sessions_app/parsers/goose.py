"""Goose (Block): the SQLite database ``sessions.db`` in Goose's session directory
(``<root>/sessions.db``, or ``<root>/data/sessions/sessions.db`` under ``GOOSE_PATH_ROOT``).

Tables ``sessions`` (working directory, name, type, tokens; newer schemas add
``parent_session_id``) and ``messages`` (``content_json``: a list of blocks ``text``,
``thinking``, ``toolRequest``, ``toolResponse``, ...); schema v15 adds ``usage_ledger``, one
row per model request. A database source (``parse_changed``): a session's marker is its row
and the count and newest id of its messages and ledger rows.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from pathlib import Path

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
)
from sessions_app.parsers.database import (
    DatabaseSourceParser,
    describe,
    json_list,
    json_object,
    marker,
    read_only,
    table_columns,
)
from sessions_app.parsers.jsonl import FileReadError, head_lines
from sessions_app.parsers.project import project_from_cwd
from sessions_app.parsers.registry import AGENTS, category_of
from sessions_app.parsers.stores import LABEL_HEADS, Issues, finish, stamp, text, tool_label
from sessions_app.parsers.tools import by_category

AGENT = "goose"
ID_PREFIX = AGENTS[AGENT].id_prefix
DB_NAME = "sessions.db"
SQLITE_HEADER = b"SQLite format 3\x00"
# The session columns read when present (they came with Goose's schema versions).
_SESSION_COLUMNS = (
    "id", "name", "description", "session_type", "working_dir", "created_at", "updated_at",
    "model_config_json", "project_id", "parent_session_id", "input_tokens", "output_tokens",
    "cache_read_tokens", "cache_write_tokens", "accumulated_input_tokens",
    "accumulated_output_tokens",
)
_EDITOR_CATEGORY = {"view": "Read", "write": "Write", "create": "Write",
                    "str_replace": "Edit", "insert": "Edit", "undo_edit": "Edit"}
_NOTICE_BLOCKS = ("toolConfirmationRequest", "actionRequired", "systemNotification")


def _str(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""


def _category(name: str, data: Mapping) -> str:
    """Goose names a tool ``<extension>__<tool>``; its text editor does several things."""
    base = name.rsplit("__", 1)[-1]
    if base == "text_editor":
        return _EDITOR_CATEGORY.get(text(data.get("command")), "Edit")
    category = category_of(name)
    return category if category != "Other" else category_of(base)


def _content_text(value: object) -> str:
    """MCP content (``[{"type": "text", "text"}, ...]``, or a result holding ``content``)
    as text; images and resources by name."""
    if isinstance(value, dict) and "content" in value:
        value = value["content"]
    if isinstance(value, str):
        return value
    if not isinstance(value, list):
        return ""
    out = []
    for item in value:
        if not isinstance(item, dict):
            continue
        if item.get("type") == "text":
            out.append(text(item.get("text")))
        elif item.get("type") == "image":
            out.append("[Image]")
        elif item.get("type") == "resource":
            resource = item.get("resource") if isinstance(item.get("resource"), dict) else {}
            out.append(text(resource.get("text")) or f"[Resource: {text(resource.get('uri'))}]")
    return "\n".join(part for part in out if part)


class _Messages:
    def __init__(self, model: str, issues: Issues, session_id: str) -> None:
        self.model = model
        self.issues = issues
        self.session_id = session_id
        self.messages: list[ParsedMessage] = []
        self.calls: dict[str, ParsedToolCall] = {}
        self.results: list[tuple] = []

    def add(self, row_id: object, role: object, content: object, metadata: object,
            created: object, timestamp: object) -> None:
        meta = json_object(metadata) or {}
        if meta.get("userVisible") is False:
            return  # context Goose gave the model, not part of the conversation shown
        role = _str(role).strip().lower()
        if role not in ("user", "assistant"):
            return
        where = f"session {self.session_id}, message {_str(row_id)}"
        blocks = json_list(content)
        if blocks is None:
            self.issues.add(f"{where}: content_json is not a JSON list; skipped")
            return
        message = ParsedMessage(role=role, timestamp=stamp(created) or stamp(timestamp),
                                source_type=role, model=self.model if role == "assistant" else "")
        note = self.issues.at(where)
        parts: list[str] = []
        thinking: list[str] = []
        for block in blocks:
            if isinstance(block, dict):
                self._block(block, message, parts, thinking, note)
        message.content = "\n".join(parts)
        message.thinking_text = "\n\n".join(thinking)
        if message.content.strip() or message.tool_calls:
            self.messages.append(message)

    def _block(self, block: dict, message: ParsedMessage, parts: list[str],
               thinking: list[str], note: Note) -> None:
        kind = block.get("type")
        if kind == "text":
            if text(block.get("text")).strip():
                parts.append(text(block.get("text")).strip())
        elif kind in ("thinking", "redactedThinking"):
            message.has_thinking = True
            body = text(block.get("thinking")).strip()
            if body:
                thinking.append(body)
                parts.append(f"[Thinking]\n{body}\n[/Thinking]")
        elif kind in ("toolRequest", "frontendToolRequest"):
            self._call(block, message, parts, note)
        elif kind == "toolResponse":
            envelope = block.get("toolResult") if isinstance(block.get("toolResult"), dict) \
                else {}
            status = text(envelope.get("status"))
            value = envelope.get("value")
            if status == "error":
                body, failed = text(envelope.get("error")) or compact_json(
                    envelope.get("error"), note, "tool error"), True
            else:
                body = _content_text(value)
                failed = isinstance(value, dict) and value.get("isError") is True
            self.results.append((text(block.get("id")), body, failed, message.timestamp))
        elif kind == "image":
            parts.append("[Image]")
        elif kind in _NOTICE_BLOCKS:
            notice = next((text(block.get(k)) for k in ("text", "message", "prompt", "reason")
                           if text(block.get(k)).strip()), "")
            if notice:
                parts.append(notice.strip())

    def _call(self, block: dict, message: ParsedMessage, parts: list[str], note: Note) -> None:
        envelope = block.get("toolCall") if isinstance(block.get("toolCall"), dict) else {}
        value = envelope.get("value") if isinstance(envelope.get("value"), dict) else {}
        name = text(value.get("name")).strip()
        if envelope.get("status") != "success" or not name:
            name = name or "unknown"  # the model asked for a call Goose could not read
        arguments = value.get("arguments")
        data = arguments if isinstance(arguments, dict) else {}
        category = _category(name, data)
        call = ParsedToolCall(
            tool_use_id=text(block.get("id")),
            tool_name=name,
            category=category,
            input_json=compact_json(arguments, note, "tool input") if arguments is not None
            else "",
            file_path=text(data.get("path")) if category in ("Read", "Edit", "Write") else "",
        )
        message.tool_calls.append(call)
        message.has_tool_use = True
        if call.tool_use_id:
            self.calls.setdefault(call.tool_use_id, call)
        if envelope.get("status") == "error":  # the request itself was malformed
            self.results.append((call.tool_use_id, text(envelope.get("error")), True,
                                 message.timestamp))
        parts.append(tool_label(category, name, data, path_keys=("path", "file_path"),
                                description=text(data.get("title"))))

    def finish(self, options: ParseOptions) -> list[ParsedMessage]:
        for tool_use_id, body, failed, ts in self.results:
            assign_results(self.calls, tool_use_id, body, source="tool_result",
                           status="errored" if failed else "completed", timestamp=ts,
                           blocked=options.blocked_result_categories)
        return self.messages



def _apply_usage(messages: list[ParsedMessage], ledger: list[tuple], session: Mapping,
                 note: Note) -> None:
    """Tokens onto the assistant messages: each ledger row (one model request) to the last
    assistant message at or before it; without a ledger, the session's own counts (its
    latest prompt, its output so far) to its last assistant message."""
    replies = [m for m in messages if m.role == "assistant"]
    if not replies:
        return
    usage: dict[int, dict] = {}

    def add(target: ParsedMessage, inp: int, out: int, read: int, write: int,
            prompt_known: bool = True) -> None:
        entry = usage.setdefault(id(target), {"output": 0, "context": None})
        entry["output"] = clamp_int(entry["output"] + out)
        entry.update(input=inp, read=read, write=write)  # the message's latest request
        if prompt_known:
            entry["context"] = max(entry["context"] or 0, clamp_int(inp + read + write))

    for created, model, *tokens in ledger:
        when = stamp(created)
        target = replies[0]
        for reply in replies:
            if when is not None and reply.timestamp is not None and reply.timestamp <= when:
                target = reply
        add(target, *(as_int(value, note, f"usage_ledger.{name}") for value, name in zip(
            tokens, ("input_tokens", "output_tokens", "cache_read_tokens",
                     "cache_write_tokens"), strict=True)))
        target.model = _str(model).strip() or target.model
    if not ledger:
        out_key = ("accumulated_output_tokens" if session.get("accumulated_output_tokens")
                   is not None else "output_tokens")
        keys = ("input_tokens", out_key, "cache_read_tokens", "cache_write_tokens")
        if session.get("input_tokens") is not None or session.get(out_key) is not None:
            add(replies[-1], *(as_int(session.get(k), note, k) for k in keys),
                prompt_known=session.get("input_tokens") is not None)
    for reply in replies:
        entry = usage.get(id(reply))
        if entry is None:
            continue
        reply.token_usage = compact_json({
            "input_tokens": entry["input"], "output_tokens": entry["output"],
            "cache_read_input_tokens": entry["read"],
            "cache_creation_input_tokens": entry["write"]})
        reply.output_tokens, reply.has_output_tokens = entry["output"], True
        if entry["context"] is not None:
            reply.context_tokens, reply.has_context_tokens = entry["context"], True


def _session(connection: sqlite3.Connection, row: Mapping, has_ledger: bool,
             schema_version: str, options: ParseOptions, issues: Issues) -> ParsedSession | None:
    sid = _str(row["id"])
    config = json_object(row.get("model_config_json")) or {}
    model = next((text(config.get(k)) for k in ("model_name", "modelName", "model")
                  if text(config.get(k))), "")
    columns = table_columns(connection, "messages")
    picked = [c if c in columns else f"NULL AS {c}" for c in (
        "id", "role", "content_json", "metadata_json", "created_timestamp", "timestamp")]
    built = _Messages(model, issues, sid)
    for message_row in connection.execute(
            f"SELECT {', '.join(picked)} FROM messages WHERE session_id = ?"
            " ORDER BY created_timestamp, id", (sid,)):
        built.add(*message_row)
    messages = built.finish(options)
    if not messages:
        return None
    note = issues.at(f"session {sid}")
    ledger = connection.execute(
        "SELECT created_timestamp, model, input_tokens, output_tokens, cache_read_tokens,"
        " cache_write_tokens FROM usage_ledger WHERE session_id = ? ORDER BY created_timestamp,"
        " id", (sid,)).fetchall() if has_ledger else []
    _apply_usage(messages, ledger, row, note)
    cwd = _str(row.get("working_dir")).strip()
    project_id = _str(row.get("project_id")).strip()
    name = _str(row.get("name")).strip() or _str(row.get("description")).strip()
    parent = _str(row.get("parent_session_id")).strip()
    session_type = _str(row.get("session_type")).strip()
    session = ParsedSession(
        id=ID_PREFIX + sid,
        agent=AGENT,
        project=project_from_cwd(cwd) if cwd else project_id or "unknown",
        cwd=cwd,
        display_name=name or None,
        session_kind="scheduled" if session_type == "scheduled" else "",
        started_at=stamp(row.get("created_at")),
        ended_at=stamp(row.get("updated_at")),
        parent_session_id=ID_PREFIX + parent if parent else None,
        relationship_type="subagent" if parent or session_type == "sub_agent" else "",
        source_session_id=sid,
        source_version=schema_version,
        messages=messages,
    )
    stamps = [m.timestamp for m in messages if m.timestamp is not None]
    if stamps and session.ended_at is not None and max(stamps) > session.ended_at:
        session.ended_at = max(stamps)
    return finish(session)


def _counts(connection: sqlite3.Connection, table: str, order: str) -> dict[str, tuple]:
    sql = f'SELECT session_id, count(*), max(id), max({order}) FROM "{table}" GROUP BY session_id'
    return {_str(row[0]): row[1:] for row in connection.execute(sql)}


def _parse_database(path: Path, known: Mapping[str, str], options: ParseOptions) -> ParseResult:
    result = ParseResult(path=path, markers={})
    issues = Issues()
    try:
        result.size = path.stat().st_size
    except OSError as exc:
        raise FileReadError(exc.strerror or str(exc)) from None
    with read_only(path) as connection:
        session_columns = table_columns(connection, "sessions")
        message_columns = table_columns(connection, "messages")
        if "id" not in session_columns or not {"session_id", "role", "content_json"} <= \
                message_columns:
            raise DatabaseReadError("no Goose sessions and messages tables; not read")
        has_ledger = {"session_id", "created_timestamp"} <= table_columns(connection,
                                                                          "usage_ledger")
        version = ""
        if "version" in table_columns(connection, "schema_version"):
            (top,) = connection.execute("SELECT max(version) FROM schema_version").fetchone()
            version = f"goose-sqlite-v{_str(top)}" if top is not None else ""
        order = "created_timestamp" if "created_timestamp" in message_columns else "id"
        messages = _counts(connection, "messages", order)
        ledger = _counts(connection, "usage_ledger", "created_timestamp") if has_ledger else {}
        selected = [c if c in session_columns else f"NULL AS {c}" for c in _SESSION_COLUMNS]
        rows = [dict(zip(_SESSION_COLUMNS, r, strict=True)) for r in connection.execute(
            f"SELECT {', '.join(selected)} FROM sessions ORDER BY id")]
        result.records = 1 + len(rows)
        for row in rows:
            sid = _str(row["id"])
            if not sid:
                continue
            full_id = ID_PREFIX + sid
            current = marker(*(row[c] for c in _SESSION_COLUMNS), *messages.get(sid, ()),
                             *ledger.get(sid, ()))
            result.markers[full_id] = current
            if known.get(full_id) == current:
                continue
            try:
                session = _session(connection, row, has_ledger, version, options, issues)
            except sqlite3.Error as exc:
                issues.add(f"session {sid}: {describe(exc)}")
                continue
            if session is not None:
                result.sessions.append(session)
    result.issues = issues
    return result


class GooseParser(DatabaseSourceParser):
    version = 1
    tool_categories = by_category({
        "Read": ("developer__analyze", "platform__read_resource"),
        "Edit": ("developer__text_editor",),
        "Bash": ("developer__shell",),
        "Task": ("dynamic_task__create_task", "subagent__execute_task"),
        "Tool": ("todo__todo_write", "developer__screen_capture", "developer__image_processor",
                 "developer__list_windows", "platform__manage_extensions",
                 "platform__search_available_extensions"),
    })
    label_heads = LABEL_HEADS

    def matches(self, rel_parts: tuple[str, ...]) -> bool:
        """``sessions.db`` in the session directory, or under ``data/sessions`` of a path
        root."""
        return rel_parts in ((DB_NAME,), ("data", "sessions", DB_NAME))

    def sniff(self, path: Path) -> bool:
        """A SQLite database whose ``messages`` table has Goose's ``content_json``."""
        if not b"".join(head_lines(path, 1, 16)).startswith(SQLITE_HEADER):
            return False
        try:
            with read_only(path) as connection:
                return "content_json" in table_columns(connection, "messages")
        except DatabaseReadError:
            return False

    def root_of(self, path: Path) -> Path:
        parents = path.parents
        if len(parents) > 2 and parents[0].name == "sessions" and parents[1].name == "data":
            return parents[2]
        return path.parent

    def parse_changed(self, path: Path, root: Path, known: Mapping[str, str],
                      options: ParseOptions | None = None) -> ParseResult:
        return _parse_database(path, known, options or ParseOptions())


parser: AgentParser = GooseParser()
