"""Omnigent conversations: the SQLite database ``<root>/chat.db`` (``~/.omnigent``).

``conversations`` holds one row per session (id, created_at and updated_at in epoch
seconds, title, parent and root conversation, ``session_overrides`` JSON with a
``model_override``); ``omnigent_conversation_metadata`` its kind (1 default, 2 sub-agent),
sub-agent name, workspace, git branch and ``session_usage``; ``conversation_items`` its
transcript, one row per item in ``position`` order: ``type`` (a name, or its code in newer
databases: 1 message, 2 function_call, 3 function_call_output, 4 reasoning, 5 error,
6 compaction, 7 native_tool, 8 resource_event, 9 routing_decision, 10 slash_command,
11 terminal_command), ``data`` (the item as JSON), ``status`` (4 = failed) and
``created_at``. Ids are text, or 16-byte uuids in newer databases (read as hex, as Omnigent
shows them). Columns and tables are read only where present, so every generation is read.

A session's id is ``omnigent:<workspace_id>:<conversation id>`` (AgentsView's); a sub-agent
conversation names its parent. The database is opened read-only; each conversation's
change marker comes from its row, its items' count and last position, and its metadata, so
a sync re-reads only the conversations that changed.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

from sessions_app.parsers.base import (
    AgentParser,
    DatabaseReadError,
    ParsedMessage,
    ParsedSession,
    ParseOptions,
    ParseResult,
    as_int,
    compact_json,
    is_slash_command,
    parse_timestamp,
)
from sessions_app.parsers.chatlog import (
    LABEL_HEADS,
    SQLITE_HEADER,
    Builder,
    Issues,
    s,
    termination_status,
)
from sessions_app.parsers.database import (
    DatabaseSourceParser,
    describe,
    json_object,
    marker,
    read_only,
    table_columns,
)
from sessions_app.parsers.jsonl import FileReadError, head_lines
from sessions_app.parsers.project import project_from_cwd
from sessions_app.parsers.registry import AGENTS
from sessions_app.parsers.tools import by_category

AGENT = "omnigent"
ID_PREFIX = AGENTS[AGENT].id_prefix
DB_NAME = "chat.db"
ITEM_TYPES = {
    1: "message", 2: "function_call", 3: "function_call_output", 4: "reasoning", 5: "error",
    6: "compaction", 7: "native_tool", 8: "resource_event", 9: "routing_decision",
    10: "slash_command", 11: "terminal_command",
}
FAILED_STATUSES = (4, "4", "failed")
SUB_AGENT_KINDS = (2, "2", "sub_agent")
_TEXT_BLOCKS = ("input_text", "output_text", "text")


def _id(value: object) -> str:
    """An id column as Omnigent shows it: text as it is, a 16-byte uuid as bare hex."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    return value if isinstance(value, str) else "" if value is None else str(value)


def _usage(raw: object, note) -> dict | None:
    """``session_usage``: plain JSON, or framed (``\\x00`` + codec + payload; codec 0 raw)."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogatepass")
    if not isinstance(raw, bytes | bytearray | memoryview) or not raw:
        return None
    raw = bytes(raw)
    if raw[:1] == b"\x00":
        if raw[1:2] != b"\x00":
            note("session usage is compressed (zstd), not read")
            return None
        raw = raw[2:]
    return json_object(raw)


class _Transcript:
    """The messages of one conversation, item by item."""

    def __init__(self, options: ParseOptions, note, model: str, start: datetime | None) -> None:
        self.builder = Builder(options)
        self.note = note
        self.model = model
        self.ts = start
        self.thinking: list[str] = []
        self.orphans: list[tuple[str, str, datetime | None]] = []

    def item(self, kind: str, data: dict, status: object, ts: datetime | None) -> None:
        self.ts = ts or self.ts
        self.builder.bound(ts)
        handler = getattr(self, "_" + kind, None)
        if handler is not None:
            handler(data, status)

    def _assistant(self, text: str = "", **fields) -> ParsedMessage:
        thinking = "\n\n".join(self.thinking)
        self.thinking = []
        return self.builder.add("assistant", text, self.ts, thinking=thinking, model=self.model,
                                **fields)

    def _message(self, data: dict, status: object) -> None:
        if data.get("is_meta") is True:
            return  # context replayed to agents, hidden from people
        content = data.get("content")
        blocks = content if isinstance(content, list) else [content]
        text = "\n".join(
            b if isinstance(b, str) else s(b.get("text")) for b in blocks
            if isinstance(b, str) or (isinstance(b, dict) and b.get("type") in _TEXT_BLOCKS)
        ).strip()
        if data.get("role") == "user":
            if text:
                self.builder.add("user", text, self.ts)
        elif text or self.thinking:
            self._assistant(text)

    def _function_call(self, data: dict, status: object) -> None:
        message = self._assistant()
        self.builder.call(message, s(data.get("name")), data.get("arguments"),
                          s(data.get("call_id")), self.note)

    def _function_call_output(self, data: dict, status: object) -> None:
        output = data.get("output")
        text = output if isinstance(output, str) else "" if output is None \
            else compact_json(output, self.note, "output")
        call_id = s(data.get("call_id"))
        failed = status in FAILED_STATUSES
        if not self.builder.result(call_id, text, timestamp=self.ts,
                                   status="errored" if failed else "completed") and text.strip():
            self.builder.add("user", text.strip(), self.ts, is_system=True, source_type="system",
                             source_subtype="tool_output")

    def _reasoning(self, data: dict, status: object) -> None:
        parts = [s(p.get("text")).strip() for key in ("summary", "content")
                 for p in (data.get(key) if isinstance(data.get(key), list) else [])
                 if isinstance(p, dict) and s(p.get("text")).strip()]
        if parts:
            self.thinking.append("\n".join(parts))

    def _error(self, data: dict, status: object) -> None:
        text = s(data.get("message")).strip()
        if text:
            code = s(data.get("code"))
            self.builder.add("assistant", f"[error] {code}: {text}" if code else f"[error] {text}",
                             self.ts, is_system=True, source_type="system",
                             source_subtype="error")

    def _compaction(self, data: dict, status: object) -> None:
        self.builder.add("assistant", s(data.get("summary")).strip() or "Context compacted.",
                         self.ts, is_system=True, source_type="system",
                         source_subtype="compact_boundary", is_compact_boundary=True,
                         model=s(data.get("model")) or self.model)

    def _native_tool(self, data: dict, status: object) -> None:
        item = data.get("item") if isinstance(data.get("item"), dict) else {}
        name = {"web_search_call": "web_search", "code_interpreter_call": "code_interpreter",
                "file_search_call": "file_search"}.get(s(item.get("type")), s(item.get("type")))
        if not name:
            return
        action = item.get("action")
        message = self._assistant()
        call = self.builder.call(message, name, action if action is not None else item,
                                 s(item.get("id")), self.note)
        if call is not None and s(item.get("status")) in ("completed", "failed"):
            self.builder.result(call.tool_use_id, "", timestamp=self.ts, source="tool_execution",
                                status="errored" if item.get("status") == "failed"
                                else "completed")

    def _routing_decision(self, data: dict, status: object) -> None:
        if data.get("applied") is True and s(data.get("model")):
            self.model = s(data["model"])

    def _slash_command(self, data: dict, status: object) -> None:
        name = s(data.get("name")).strip()
        if name:
            arguments = s(data.get("arguments")).strip()
            text = f"/{name.lstrip('/')} {arguments}".rstrip()
            self.builder.add("user", text, self.ts, source_subtype=s(data.get("kind")))

    def _terminal_command(self, data: dict, status: object) -> None:
        if data.get("kind") == "input":
            text = f"$ {s(data.get('input')).strip()}"
        else:
            text = "\n".join(t for t in (s(data.get("stdout")), s(data.get("stderr"))) if t)
        if text.strip() and text != "$ ":
            self.builder.add("user", text.strip(), self.ts, is_system=True,
                             source_type="system", source_subtype="terminal_command")


class _Schema:
    def __init__(self, connection: sqlite3.Connection) -> None:
        self.conversations = table_columns(connection, "conversations")
        self.items = table_columns(connection, "conversation_items")
        if not {"id"} <= self.conversations or not {"conversation_id", "data"} <= self.items:
            raise DatabaseReadError("no Omnigent conversations and conversation_items tables;"
                                    " not read")
        self.metadata = table_columns(connection, "omnigent_conversation_metadata")
        self.agent_config = table_columns(connection, "agent_configuration")

    def column(self, table: set[str], alias: str, name: str, default: str = "NULL") -> str:
        return f"{alias}.{name}" if name in table else default


def _conversations(connection: sqlite3.Connection, schema: _Schema) -> list[dict]:
    c, m = schema.conversations, schema.metadata
    ws = schema.column(c, "c", "workspace_id", "0")
    fields = {
        "workspace_id": ws, "id": "c.id",
        "created_at": schema.column(c, "c", "created_at"),
        "updated_at": schema.column(c, "c", "updated_at"),
        "title": schema.column(c, "c", "title"),
        "parent": schema.column(c, "c", "parent_conversation_id"),
        "root": schema.column(c, "c", "root_conversation_id"),
        "overrides": schema.column(c, "c", "session_overrides"),
    }
    joins = ""
    if {"id", "kind"} <= m or {"id", "workspace"} <= m:
        on_ws = " AND m.workspace_id = c.workspace_id" if "workspace_id" in m and \
            "workspace_id" in c else ""
        joins += f" LEFT JOIN omnigent_conversation_metadata m ON m.id = c.id{on_ws}"
        for name in ("kind", "sub_agent_name", "workspace", "git_branch", "session_usage"):
            fields[name] = schema.column(m, "m", name)
    else:  # the single-table generation kept these on conversations
        for name in ("kind", "sub_agent_name", "workspace", "git_branch", "session_usage"):
            fields[name] = schema.column(c, "c", name)
    if {"conversation_id", "model_override"} <= schema.agent_config:
        joins += " LEFT JOIN agent_configuration a ON a.conversation_id = c.id"
        fields["model_override"] = "a.model_override"
    else:
        fields["model_override"] = "NULL"
    count = "(SELECT COUNT(*) FROM conversation_items i WHERE i.conversation_id = c.id)"
    last = ("(SELECT MAX(i.position) FROM conversation_items i WHERE i.conversation_id = c.id)"
            if "position" in schema.items else "NULL")
    fields["items"], fields["last_position"] = count, last
    sql = (f"SELECT {', '.join(fields.values())} FROM conversations c{joins}"
           " ORDER BY " + ("c.created_at, c.id" if "created_at" in c else "c.id"))
    return [dict(zip(fields, row, strict=True)) for row in connection.execute(sql)]


def _items(connection: sqlite3.Connection, schema: _Schema, conversation: dict):
    cols = schema.items
    order = "position, rowid" if "position" in cols else "rowid"
    select = ", ".join(name if name in cols else "NULL" for name in (
        "type", "data", "status", "created_at"))
    where = "conversation_id = ?"
    args: list[object] = [conversation["id"]]
    if "workspace_id" in cols and "workspace_id" in schema.conversations:
        where += " AND workspace_id = ?"
        args.append(conversation["workspace_id"])
    return connection.execute(
        f"SELECT {select} FROM conversation_items WHERE {where} ORDER BY {order}", args)


def _item_type(raw: object) -> str:
    if isinstance(raw, int) and not isinstance(raw, bool):
        return ITEM_TYPES.get(raw, "")
    text = s(raw).strip()
    return ITEM_TYPES.get(int(text), "") if text.isdigit() else text


def _seconds(value: object) -> datetime | None:
    return parse_timestamp(value) if isinstance(value, int | float) else None


def _session(connection: sqlite3.Connection, schema: _Schema, row: dict, rows: dict[str, dict],
             options: ParseOptions, issues: Issues) -> ParsedSession | None:
    raw_id = _id(row["id"])
    workspace_id = as_int(row["workspace_id"])
    where = f"conversation {raw_id[:80]}"
    note = issues.note(where)
    overrides = json_object(row["overrides"]) or {}
    model = s(overrides.get("model_override")) or s(row["model_override"])
    started = _seconds(row["created_at"])
    transcript = _Transcript(options, note, model, started)
    bad = 0
    for kind, data, status, created in _items(connection, schema, row):
        value = json_object(data)
        if value is None:
            bad += 1
            continue
        transcript.item(_item_type(kind), value, status, _seconds(created))
    if bad:
        issues.add(f"{where}: {bad} item(s) whose data is not a JSON object, skipped")
    if transcript.thinking:
        transcript._assistant()
    messages = transcript.builder.finish()
    root = rows.get(_id(row["root"]), {}) if _id(row["root"]) != raw_id else {}
    cwd = s(row["workspace"]) or s(root.get("workspace"))
    parent = _id(row["parent"])
    session = ParsedSession(
        id=f"{ID_PREFIX}{workspace_id}:{raw_id}",
        agent=AGENT,
        project=project_from_cwd(cwd, s(row["git_branch"]) or s(root.get("git_branch")))
        if cwd else "unknown",
        cwd=cwd,
        git_branch=s(row["git_branch"]) or s(root.get("git_branch")),
        source_session_id=raw_id,
        messages=messages,
        not_a_prompt=is_slash_command,
    )
    if parent:
        session.parent_session_id = f"{ID_PREFIX}{workspace_id}:{parent}"
        session.relationship_type = "subagent" if row["kind"] in SUB_AGENT_KINDS \
            else "continuation"
    stamps = [t for t in (started, _seconds(row["updated_at"]), transcript.builder.started,
                          transcript.builder.ended) if t is not None]
    if stamps:
        session.started_at, session.ended_at = min(stamps), max(stamps)
    for message in messages:
        message.timestamp = message.timestamp or session.started_at
    usage = _usage(row["session_usage"], note)
    last = next((m for m in reversed(messages) if m.role == "assistant" and not m.is_system),
                None)
    if usage and last is not None and not last.token_usage:
        counts = {k: as_int(usage.get(k), note, f"session_usage.{k}")
                  for k in ("input_tokens", "output_tokens") if usage.get(k) is not None}
        if counts:
            last.token_usage = compact_json(counts)
            if "output_tokens" in counts:
                last.output_tokens, last.has_output_tokens = counts["output_tokens"], True
    session.termination_status = termination_status(messages)
    return session if messages else None


def _parse_database(path: Path, known: Mapping[str, str], options: ParseOptions) -> ParseResult:
    result = ParseResult(path=path, markers={})
    issues = Issues()
    try:
        result.size = path.stat().st_size
    except OSError as exc:
        raise FileReadError(exc.strerror or str(exc)) from None
    with read_only(path) as connection:
        schema = _Schema(connection)
        rows = _conversations(connection, schema)
        result.records = 1 + len(rows)  # the schema read counts: an empty db is no error
        by_id = {_id(row["id"]): row for row in rows}
        for row in rows:
            raw_id = _id(row["id"])
            if not raw_id:
                continue
            session_id = f"{ID_PREFIX}{as_int(row['workspace_id'])}:{raw_id}"
            usage = row["session_usage"]
            current = marker(row["updated_at"], row["created_at"], row["title"], raw_id,
                             _id(row["parent"]), row["overrides"], row["model_override"],
                             row["kind"], row["workspace"], row["git_branch"],
                             len(usage) if isinstance(usage, str | bytes) else usage,
                             row["items"], row["last_position"])
            result.markers[session_id] = current
            if known.get(session_id) == current:
                continue
            try:
                session = _session(connection, schema, row, by_id, options, issues)
            except sqlite3.Error as exc:  # one damaged conversation: the others are read
                issues.add(f"conversation {raw_id[:80]}: {describe(exc)}")
                continue
            if session is not None:
                result.sessions.append(session)
    result.issues = issues.lines
    return result


class OmnigentParser(DatabaseSourceParser):
    version = 1
    tool_categories = by_category({
        "Bash": ("sys_os_shell", "sys_shell", "sys_terminal_send"),
        "Read": ("sys_os_read", "sys_terminal_read"),
        "Write": ("sys_os_write",),
        "Edit": ("sys_os_edit",),
        "Task": ("sys_session_create", "sys_session_send", "sys_agent_start"),
        "Tool": ("sys_session_list", "sys_session_get_history", "sys_session_get_info",
                 "sys_agent_list", "sys_terminal_launch", "sys_list_models", "file_search"),
    })
    label_heads = LABEL_HEADS

    def matches(self, rel_parts: tuple[str, ...]) -> bool:
        """``chat.db`` at the root."""
        return rel_parts == (DB_NAME,)

    def sniff(self, path: Path) -> bool:
        """A SQLite database with Omnigent's ``conversation_items`` table."""
        if not b"".join(head_lines(path, 2)).startswith(SQLITE_HEADER):
            return False
        try:
            with read_only(path) as connection:
                return {"conversation_id", "data"} <= table_columns(connection,
                                                                    "conversation_items")
        except DatabaseReadError:
            return False

    def root_of(self, path: Path) -> Path:
        return path.parent

    def parse_changed(self, path: Path, root: Path, known: Mapping[str, str],
                      options: ParseOptions | None = None) -> ParseResult:
        return _parse_database(path, known, options or ParseOptions())


parser: AgentParser = OmnigentParser()

