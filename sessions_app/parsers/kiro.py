"""Kiro CLI conversations, in either of its stores:

- the current one, a SQLite database ``<root>/data.sqlite3`` (``~/.local/share/kiro-cli``):
  table ``conversations_v2(key, conversation_id, value, created_at, updated_at)``, one row per
  conversation and working directory (``key``), ``value`` the conversation as JSON (the
  format of the Amazon Q Developer CLI it derives from): ``conversation_id`` and ``history``,
  each entry ``{"user", "assistant", "request_metadata"}``. The user content is a ``Prompt``,
  ``ToolUseResults`` or ``CancelledToolUses``; the assistant a ``Response`` or a ``ToolUse``
  with ``tool_uses``; the metadata has the model and the end of the answer's stream. The same
  conversation under several keys is read from its newest row. The database is opened
  read-only; each conversation's change marker is read from the row's times and size, so a
  sync re-reads only the conversations that changed.
- the legacy one, ``<root>/<id>.jsonl`` (``~/.kiro/sessions/cli``) with a ``<id>.json``
  sidecar (session id, cwd, title, times): lines ``{"kind": "Prompt" | "AssistantMessage" |
  "ToolResults", "data": {"content": [...]}}``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

from sessions_app.parsers.base import (
    AgentParser,
    DatabaseReadError,
    ParsedSession,
    ParseOptions,
    ParseResult,
    compact_json,
    parse_timestamp,
)
from sessions_app.parsers.chatlog import (
    LABEL_HEADS,
    SQLITE_HEADER,
    Builder,
    Issues,
    decode_document,
    finish_result,
    s,
)
from sessions_app.parsers.database import (
    DatabaseSourceParser,
    describe,
    json_object,
    marker,
    read_only,
    table_columns,
    wal_companions,
)
from sessions_app.parsers.jsonl import FileReadError, JsonlReader, head_lines
from sessions_app.parsers.project import project_from_cwd
from sessions_app.parsers.registry import AGENTS
from sessions_app.parsers.tools import by_category

AGENT = "kiro"
ID_PREFIX = AGENTS[AGENT].id_prefix
DB_NAME = "data.sqlite3"
TABLE = "conversations_v2"
MAX_SIDECAR_BYTES = 4 * 1024 * 1024
_EDIT_COMMANDS = frozenset({"strReplace", "str_replace", "insert"})
_FAILED = frozenset({"error", "errored", "failed", "cancelled"})


def _is_database(path: Path) -> bool:
    return path.name == DB_NAME


def _tool_name(name: str, args: object) -> str:
    """Kiro's ``write`` (and Q's ``fs_write``) replacing text is an edit: AgentsView names
    such a call ``Edit``."""
    if name in ("write", "fs_write") and isinstance(args, dict) \
            and s(args.get("command")) in _EDIT_COMMANDS:
        return "Edit"
    return name


def _result_text(blocks: object, note) -> tuple[str, bool]:
    """The text of a result's content blocks (``{"Text": ...}``, ``{"Json": ...}``) and
    whether a shell's ``exit_status`` in it was not 0."""
    parts: list[str] = []
    failed = False
    for block in blocks if isinstance(blocks, list) else [blocks]:
        if isinstance(block, str):
            parts.append(block)
        elif isinstance(block, dict):
            if isinstance(block.get("Text"), str):
                parts.append(block["Text"])
            elif "Json" in block:
                value = block["Json"]
                if isinstance(value, dict) and s(value.get("exit_status")) not in ("", "0"):
                    failed = True
                parts.append(compact_json(value, note, "tool result"))
    return "\n".join(p for p in parts if p), failed


class _Conversation:
    """The messages of one stored conversation."""

    def __init__(self, options: ParseOptions, note) -> None:
        self.builder = Builder(options)
        self.note = note
        self.cwd = ""

    def entry(self, entry: object) -> None:
        if isinstance(entry, list) and len(entry) == 2:  # older: [user, assistant]
            entry = {"user": entry[0], "assistant": entry[1]}
        if not isinstance(entry, dict):
            return
        meta = entry.get("request_metadata")
        meta = meta if isinstance(meta, dict) else {}
        user = entry.get("user")
        if isinstance(user, dict):
            self._user(user)
        end = meta.get("stream_end_timestamp_ms")
        answered = parse_timestamp(end) if isinstance(end, int | float) else None
        assistant = entry.get("assistant")
        if isinstance(assistant, dict):
            self._assistant(assistant, answered, s(meta.get("model_id")))

    def _user(self, user: dict) -> None:
        env = user.get("env_context")
        state = env.get("env_state") if isinstance(env, dict) else None
        if isinstance(state, dict) and not self.cwd:
            self.cwd = s(state.get("current_working_directory"))
        ts = parse_timestamp(user.get("timestamp"))
        self.builder.bound(ts)
        content = user.get("content")
        content = content if isinstance(content, dict) else {}
        for kind in ("ToolUseResults", "CancelledToolUses"):
            body = content.get(kind)
            if not isinstance(body, dict):
                continue
            results = body.get("tool_use_results")
            for result in results if isinstance(results, list) else []:
                if not isinstance(result, dict):
                    continue
                text, failed = _result_text(result.get("content"), self.note)
                failed = failed or s(result.get("status")).lower() in _FAILED \
                    or kind == "CancelledToolUses"
                self.builder.result(s(result.get("tool_use_id")), text, timestamp=ts,
                                    status="errored" if failed else "completed")
        for kind in ("Prompt", "CancelledToolUses"):
            body = content.get(kind)
            prompt = s(body.get("prompt")).strip() if isinstance(body, dict) else ""
            if prompt:
                self.builder.add("user", prompt, ts)

    def _assistant(self, assistant: dict, ts: datetime | None, model: str) -> None:
        self.builder.bound(ts)
        body = assistant.get("ToolUse") or assistant.get("Response")
        if not isinstance(body, dict):
            return
        thinking = body.get("thinking")
        if isinstance(thinking, dict):
            thinking = s(thinking.get("text")) or s(thinking.get("reasoning_text"))
        message = self.builder.add("assistant", s(body.get("content")).strip(), ts,
                                   thinking=s(thinking).strip(), model=model,
                                   claude_message_id=s(body.get("message_id")))
        uses = body.get("tool_uses")
        for use in uses if isinstance(uses, list) else []:
            if not isinstance(use, dict):
                continue
            args = use.get("args", use.get("input"))
            self.builder.call(message, _tool_name(s(use.get("name")), args), args,
                              s(use.get("id")), self.note)


# --- the SQLite store ---------------------------------------------------------------------------


def _latest_rows(connection: sqlite3.Connection) -> dict[str, tuple]:
    """conversation_id -> (key, created_at, updated_at, size) of its newest row."""
    rows = connection.execute(
        f"SELECT conversation_id, key, created_at, updated_at, length(value) FROM {TABLE}"
        " ORDER BY conversation_id, updated_at DESC, created_at DESC, key DESC")
    latest: dict[str, tuple] = {}
    for conversation_id, key, created, updated, size in rows:
        if isinstance(conversation_id, str) and conversation_id \
                and conversation_id not in latest:
            latest[conversation_id] = (key, created, updated, size)
    return latest


def _parse_database(path: Path, known: Mapping[str, str], options: ParseOptions) -> ParseResult:
    result = ParseResult(path=path, markers={})
    issues = Issues()
    try:
        result.size = path.stat().st_size
    except OSError as exc:
        raise FileReadError(exc.strerror or str(exc)) from None
    with read_only(path) as connection:
        if not {"key", "conversation_id", "value"} <= table_columns(connection, TABLE):
            raise DatabaseReadError(f"no Kiro {TABLE} table; not read")
        latest = _latest_rows(connection)
        result.records = 1 + len(latest)  # the schema read counts: an empty store is no error
        for conversation_id, (key, created, updated, size) in latest.items():
            session_id = ID_PREFIX + conversation_id
            current = marker(key, created, updated, size)
            result.markers[session_id] = current
            if known.get(session_id) == current:
                continue
            try:
                row = connection.execute(
                    f"SELECT value FROM {TABLE} WHERE conversation_id = ? AND key IS ?",
                    (conversation_id, key)).fetchone()
            except sqlite3.Error as exc:  # one damaged row: the others are read
                issues.add(f"conversation {conversation_id}: {describe(exc)}")
                continue
            session = _conversation_session(conversation_id, row[0] if row else None,
                                            key, created, updated, options, issues)
            if session is not None:
                result.sessions.append(session)
    result.issues = issues.lines
    return finish_result(result, result.sessions)


def _conversation_session(conversation_id: str, raw: object, key: object, created: object,
                          updated: object, options: ParseOptions,
                          issues: Issues) -> ParsedSession | None:
    where = f"conversation {conversation_id[:80]}"
    value = json_object(raw)
    if value is None:
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else s(raw)
        decode_document(text or " ", issues, where)  # says why: cut short or invalid
        if not any(line.startswith(where) for line in issues.lines):
            issues.add(f"{where}: not a JSON object, skipped")
        return None
    conversation = _Conversation(options, issues.note(where))
    history = value.get("history")
    for entry in history if isinstance(history, list) else []:
        conversation.entry(entry)
    cwd = key if isinstance(key, str) and key else conversation.cwd
    started = parse_timestamp(created) if isinstance(created, int | float) else None
    ended = parse_timestamp(updated) if isinstance(updated, int | float) else None
    return ParsedSession(
        id=ID_PREFIX + conversation_id,
        agent=AGENT,
        project=project_from_cwd(cwd) if cwd else "unknown",
        cwd=cwd,
        started_at=min(filter(None, (started, conversation.builder.started)), default=None),
        ended_at=max(filter(None, (ended, conversation.builder.ended)), default=None),
        messages=conversation.builder.finish(),
    )


# --- the legacy JSONL store ---------------------------------------------------------------------


def _sidecar(path: Path, issues: Issues) -> dict:
    sidecar = path.with_suffix(".json")
    try:
        if not sidecar.is_file():
            return {}
        with sidecar.open("rb") as fh:
            data = fh.read(MAX_SIDECAR_BYTES)
    except OSError as exc:
        issues.add(f"{sidecar.name}: not read ({exc.strerror or exc})")
        return {}
    value = decode_document(data, issues, sidecar.name)
    return value if isinstance(value, dict) else {}


def _parse_jsonl(path: Path, options: ParseOptions) -> ParseResult:
    reader = JsonlReader(path, options.max_line_bytes)
    builder = Builder(options)
    ts: datetime | None = None
    for lineno, obj in reader:
        data = obj.get("data") if isinstance(obj.get("data"), dict) else {}
        meta = data.get("meta") if isinstance(data.get("meta"), dict) else {}
        stamp = meta.get("timestamp")
        ts = parse_timestamp(stamp) if stamp is not None else ts
        builder.bound(ts)
        blocks = [b for b in data.get("content", []) if isinstance(b, dict)] \
            if isinstance(data.get("content"), list) else []
        kind = obj.get("kind")
        note = builder_note(reader, lineno)
        if kind == "Prompt":
            text = "\n\n".join(s(b.get("data")).strip() for b in blocks
                               if b.get("kind") == "text" and s(b.get("data")).strip())
            if text:
                builder.add("user", text, ts)
        elif kind == "AssistantMessage":
            text = "\n\n".join(s(b.get("data")).strip() for b in blocks
                               if b.get("kind") == "text" and s(b.get("data")).strip())
            message = builder.add("assistant", text, ts)
            for block in blocks:
                use = block.get("data") if block.get("kind") == "toolUse" else None
                if isinstance(use, dict):
                    args = use.get("input")
                    builder.call(message, _tool_name(s(use.get("name")), args), args,
                                 s(use.get("toolUseId")), note)
        elif kind == "ToolResults":
            for block in blocks:
                result = block.get("data") if block.get("kind") == "toolResult" else None
                if isinstance(result, dict):
                    text, failed = _result_text(result.get("content"), note)
                    failed = failed or s(result.get("status")).lower() in _FAILED
                    builder.result(s(result.get("toolUseId")), text, timestamp=ts,
                                   status="errored" if failed else "completed")
    result = reader.result()
    issues = Issues()
    meta = _sidecar(path, issues)
    result.issues.extend(issues.lines)
    cwd = s(meta.get("cwd"))
    raw_id = s(meta.get("session_id")) or path.stem
    session = ParsedSession(
        id=ID_PREFIX + raw_id,
        agent=AGENT,
        project=project_from_cwd(cwd) if cwd else "unknown",
        cwd=cwd,
        started_at=parse_timestamp(meta.get("created_at")) or builder.started,
        ended_at=parse_timestamp(meta.get("updated_at")) or builder.ended,
        messages=builder.finish(),
    )
    return finish_result(result, [session])


def builder_note(reader: JsonlReader, lineno: int):
    return lambda message: reader.issue(lineno, message)


class KiroParser(DatabaseSourceParser):
    version = 1
    tool_categories = by_category({
        "Read": ("fs_read",),
        "Write": ("fs_write",),
        "Bash": ("execute_bash", "execute_cmd", "shell"),
        "Tool": ("use_aws", "todo_list", "knowledge", "introspect", "thinking", "report_issue",
                 "code"),
    })
    label_heads = LABEL_HEADS

    def matches(self, rel_parts: tuple[str, ...]) -> bool:
        """``data.sqlite3`` or a legacy ``<id>.jsonl``, at the root."""
        return len(rel_parts) == 1 and (rel_parts[0] == DB_NAME
                                        or rel_parts[0].endswith(".jsonl"))

    def sniff(self, path: Path) -> bool:
        """A SQLite database with Kiro's conversations table, or Kiro's JSONL lines."""
        head = b"".join(head_lines(path, 5))
        if head.startswith(SQLITE_HEADER):
            try:
                with read_only(path) as connection:
                    return "conversation_id" in table_columns(connection, TABLE)
            except DatabaseReadError:
                return False
        return b'"kind":"Prompt"' in head.replace(b'": "', b'":"')

    def root_of(self, path: Path) -> Path:
        return path.parent

    def companion_paths(self, path: Path) -> tuple[Path, ...]:
        """The database's ``-wal``; a legacy session's ``.json`` sidecar."""
        return wal_companions(path) if _is_database(path) else (path.with_suffix(".json"),)

    def parse_changed(self, path: Path, root: Path, known: Mapping[str, str],
                      options: ParseOptions | None = None) -> ParseResult:
        options = options or ParseOptions()
        if _is_database(path):
            return _parse_database(path, known, options)
        return _parse_jsonl(path, options)


parser: AgentParser = KiroParser()

