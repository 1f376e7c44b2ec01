"""Crush (Charm): a SQLite database ``crush.db`` in each project's data directory
(``<project>/.crush/crush.db``), and the list of those projects Crush keeps in its global
data directory (``projects.json``: ``path`` and ``data_dir`` of each).

A root may be a data directory (``<root>/crush.db``), a tree of projects (``.../.crush/
crush.db`` at any depth) or Crush's global data directory, whose ``projects.json`` makes every
listed project's database a companion of that file. Tables ``sessions`` (title, parent, the
latest request's tokens) and ``messages`` (``parts``: a JSON list of ``{"type", "data"}``:
text, reasoning, tool_call, tool_result, finish, ...). Tool results come back in ``tool``
messages and are paired with their calls. A task session (the ``agent`` tool) is
``<message id>$$<tool call id>`` with ``parent_session_id``; title-generation sessions are
not conversations and are left out.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from collections.abc import Mapping
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
    wal_companions,
)
from sessions_app.parsers.jsonl import FileReadError, head_lines
from sessions_app.parsers.project import project_from_cwd
from sessions_app.parsers.registry import AGENTS, category_of
from sessions_app.parsers.stores import LABEL_HEADS, Issues, finish, stamp, text, tool_label
from sessions_app.parsers.tools import by_category

AGENT = "crush"
ID_PREFIX = AGENTS[AGENT].id_prefix
DB_NAME = "crush.db"
DATA_DIR = ".crush"
PROJECTS = "projects.json"
SQLITE_HEADER = b"SQLite format 3\x00"
_EXIT_RE = re.compile(r"^Exit code ([1-9]\d*)$", re.MULTILINE)
_SESSION_COLUMNS = ("id", "parent_session_id", "title", "message_count", "prompt_tokens",
                    "completion_tokens", "cost", "updated_at", "created_at",
                    "summary_message_id")
_MESSAGE_COLUMNS = ("id", "role", "parts", "model", "created_at", "finished_at",
                    "is_summary_message")
_STOPS = {"error": "errored", "canceled": "interrupted", "max_tokens": "max_tokens"}


def _str(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""



class _Conversation:
    def __init__(self, session_id: str, issues: Issues) -> None:
        self.session_id = session_id
        self.issues = issues
        self.messages: list[ParsedMessage] = []
        self.calls: dict[str, ParsedToolCall] = {}
        self.results: list[tuple] = []
        self.stop = ""

    def add(self, row: Mapping) -> None:
        role = _str(row["role"])
        where = f"session {self.session_id}, message {_str(row['id'])}"
        parts = json_list(row["parts"])
        if parts is None:
            self.issues.add(f"{where}: parts is not a JSON list; skipped")
            return
        note = self.issues.at(where)
        when = stamp(row["created_at"])
        if role == "tool":
            for part in parts:
                data = part.get("data") if isinstance(part, dict) else None
                if isinstance(part, dict) and part.get("type") == "tool_result" \
                        and isinstance(data, dict):
                    self._result(data, when, note)
            return
        if role not in ("user", "assistant"):
            return
        message = ParsedMessage(role=role, timestamp=when, source_type=role,
                                model=_str(row["model"]) if role == "assistant" else "")
        texts: list[str] = []
        thinking: list[str] = []
        labels: list[str] = []
        for part in parts:
            if not isinstance(part, dict) or not isinstance(part.get("data"), dict):
                continue
            kind, data = part.get("type"), part["data"]
            if kind == "text" and text(data.get("text")).strip():
                texts.append(text(data.get("text")))
            elif kind == "reasoning":
                message.has_thinking = True
                body = text(data.get("thinking"))
                if body.strip():
                    thinking.append(body)
                    texts.append(f"[Thinking]\n{body}\n[/Thinking]")
            elif kind == "tool_call" and role == "assistant":
                labels.append(self._call(data, message, _str(row["id"]), note))
            elif kind in ("binary", "image_url"):
                name = text(data.get("Path")) or text(data.get("url"))
                texts.append(f"[Attachment: {name.rsplit('/', 1)[-1]}]" if name
                             else "[Attachment]")
            elif kind == "finish" and role == "assistant":
                self.stop = _STOPS.get(text(data.get("reason")), "")
        message.content = "\n".join(texts + labels)
        message.thinking_text = "\n\n".join(thinking)
        if _str(row["is_summary_message"]) not in ("", "0"):
            message.is_system = message.is_compact_boundary = True
            message.source_type, message.source_subtype = "system", "compact_boundary"
        if message.content.strip() or message.tool_calls:
            self.messages.append(message)

    def _call(self, data: dict, message: ParsedMessage, message_id: str, note: Note) -> str:
        name = text(data.get("name")) or "unknown"
        raw = data.get("input")
        try:
            inp = orjson.loads(raw) if isinstance(raw, str) and raw.strip() else raw
        except orjson.JSONDecodeError:
            inp = raw  # streamed and cut short: kept as the text it is
        args = inp if isinstance(inp, dict) else {}
        category = category_of(name)
        if isinstance(inp, dict | list):
            input_json = compact_json(inp, note, "tool input")
        elif isinstance(raw, str):
            input_json = raw
        else:
            input_json = compact_json(raw, note, "tool input") if raw is not None else ""
        call = ParsedToolCall(
            tool_use_id=text(data.get("id")),
            tool_name=name,
            category=category,
            input_json=input_json,
            file_path=text(args.get("file_path")) if category in ("Read", "Edit", "Write")
            else "",
        )
        if name == "agent" and call.tool_use_id:
            call.subagent_session_id = f"{ID_PREFIX}{message_id}$${call.tool_use_id}"
        message.tool_calls.append(call)
        message.has_tool_use = True
        if call.tool_use_id:
            self.calls.setdefault(call.tool_use_id, call)
        prompt = text(args.get("prompt")).split("\n", 1)[0]
        return tool_label(category, name, args, path_keys=("file_path", "path"),
                          description=prompt[:80] if category == "Task" else "")

    def _result(self, data: dict, when, note: Note) -> None:
        body = data.get("content")
        body = body if isinstance(body, str) else compact_json(body, note, "tool result") \
            if body is not None else ""
        failed = data.get("is_error") is True
        if text(data.get("name")) == "bash" and _EXIT_RE.search(body):
            failed = True  # Crush reports a command's non-zero exit in its output
        self.results.append((text(data.get("tool_call_id")), body, failed, when))

    def finish(self, options: ParseOptions) -> list[ParsedMessage]:
        for tool_use_id, body, failed, when in self.results:
            assign_results(self.calls, tool_use_id, body, source="tool_result",
                           status="errored" if failed else "completed", timestamp=when,
                           blocked=options.blocked_result_categories)
        return self.messages


def _session(connection: sqlite3.Connection, row: Mapping, cwd: str, options: ParseOptions,
             issues: Issues) -> ParsedSession | None:
    sid = _str(row["id"])
    columns = table_columns(connection, "messages")
    picked = [c if c in columns else f"NULL AS {c}" for c in _MESSAGE_COLUMNS]
    conversation = _Conversation(sid, issues)
    for values in connection.execute(
            f"SELECT {', '.join(picked)} FROM messages WHERE session_id = ?"
            " ORDER BY created_at, rowid", (sid,)):
        conversation.add(dict(zip(_MESSAGE_COLUMNS, values, strict=True)))
    messages = conversation.finish(options)
    if not messages:
        return None
    note = issues.at(f"session {sid}")
    replies = [m for m in messages if m.role == "assistant"]
    prompt, output = row["prompt_tokens"], row["completion_tokens"]
    if replies and (prompt or output):  # Crush keeps the latest request's counts only
        last = replies[-1]
        last.context_tokens = as_int(prompt, note, "prompt_tokens")
        last.output_tokens = as_int(output, note, "completion_tokens")
        last.has_context_tokens = last.has_output_tokens = True
        last.token_usage = compact_json({"input_tokens": last.context_tokens,
                                         "output_tokens": last.output_tokens})
    parent = _str(row["parent_session_id"]).strip()
    title = _str(row["title"]).strip()
    session = ParsedSession(
        id=ID_PREFIX + sid,
        agent=AGENT,
        project=project_from_cwd(cwd) if cwd else "unknown",
        cwd=cwd,
        display_name=title or None,
        started_at=stamp(row["created_at"]),
        ended_at=stamp(row["updated_at"]),
        parent_session_id=ID_PREFIX + parent if parent else None,
        relationship_type="subagent" if parent else "",
        source_session_id=sid,
        messages=messages,
    )
    stamps = [m.timestamp for m in messages if m.timestamp is not None]
    if stamps and (session.ended_at is None or max(stamps) > session.ended_at):
        session.ended_at = max(stamps)
    if messages[-1].role == "assistant" and conversation.stop:
        session.termination_status = conversation.stop
    return finish(session)


def _database_key(database: Path) -> str:
    return hashlib.sha256(str(database).encode("utf-8", "surrogatepass")).hexdigest()[:8]


def _read_database(database: Path, cwd: str, known: Mapping[str, str], options: ParseOptions,
                   result: ParseResult, issues: Issues) -> None:
    """The sessions of one database into *result*; markers carry the database's key, so a
    database that cannot be read now keeps its sessions' markers (see ``_parse_projects``)."""
    key = _database_key(database)
    with read_only(database) as connection:
        session_columns = table_columns(connection, "sessions")
        if "id" not in session_columns or not {"session_id", "role", "parts"} <= \
                table_columns(connection, "messages"):
            raise DatabaseReadError("no Crush sessions and messages tables; not read")
        counts = {_str(r[0]): r[1:] for r in connection.execute(
            "SELECT session_id, count(*), max(updated_at), max(created_at) FROM messages"
            " GROUP BY session_id")}
        picked = [c if c in session_columns else f"NULL AS {c}" for c in _SESSION_COLUMNS]
        rows = [dict(zip(_SESSION_COLUMNS, r, strict=True)) for r in connection.execute(
            f"SELECT {', '.join(picked)} FROM sessions ORDER BY created_at, id")]
        result.records += len(rows)
        for row in rows:
            sid = _str(row["id"])
            if not sid or sid.startswith("title-"):
                continue  # the title generator's own call: not a conversation
            full_id = ID_PREFIX + sid
            current = f"{key}:" + marker(*(row[c] for c in _SESSION_COLUMNS),
                                         *counts.get(sid, ()))
            result.markers[full_id] = current
            if known.get(full_id) == current:
                continue
            try:
                session = _session(connection, row, cwd, options, issues)
            except sqlite3.Error as exc:
                issues.add(f"{database}: session {sid}: {describe(exc)}")
                continue
            if session is not None:
                result.sessions.append(session)


def _project_of(database: Path) -> str:
    """The working directory of a database in a ``.crush`` data directory."""
    return str(database.absolute().parent.parent) if database.parent.name == DATA_DIR else ""


def _listed(projects_file: Path, root: Path | None = None) -> list[tuple[Path, str]]:
    """``(database, working directory)`` of each project ``projects.json`` lists, but those
    under *root* (found there directly) and missing ones."""
    try:
        doc = json_object(projects_file.read_bytes())
    except OSError:
        return []
    projects = doc.get("projects") if isinstance(doc, dict) else None
    out = []
    for project in projects if isinstance(projects, list) else []:
        if not isinstance(project, dict):
            continue
        data_dir, path = text(project.get("data_dir")), text(project.get("path"))
        if not data_dir and path:
            data_dir = str(Path(path) / DATA_DIR)
        if not data_dir or not Path(data_dir).is_absolute():
            continue
        database = Path(data_dir) / DB_NAME
        if root is not None and database.is_relative_to(root):
            continue
        out.append((database, path))
    return out


def _parse_projects(path: Path, root: Path, known: Mapping[str, str],
                    options: ParseOptions) -> ParseResult:
    result = ParseResult(path=path, markers={})
    issues = Issues()
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise FileReadError(exc.strerror or str(exc)) from None
    result.size = len(raw)
    if not isinstance(json_object(raw), dict):
        raise DatabaseReadError("projects.json is not a JSON object; not read")
    result.records = 1
    for database, cwd in _listed(path, root):
        if not database.is_file():
            continue
        try:
            _read_database(database, cwd, known, options, result, issues)
        except DatabaseReadError as exc:
            issues.add(f"{database}: {exc}")
            key = f"{_database_key(database)}:"
            result.markers.update({sid: m for sid, m in known.items() if m.startswith(key)})
    result.issues = issues
    return result


def _parse_database(path: Path, known: Mapping[str, str], options: ParseOptions) -> ParseResult:
    result = ParseResult(path=path, markers={}, records=1)
    try:
        result.size = path.stat().st_size
    except OSError as exc:
        raise FileReadError(exc.strerror or str(exc)) from None
    issues = Issues()
    _read_database(path, _project_of(path), known, options, result, issues)
    result.issues = issues
    return result


class CrushParser(DatabaseSourceParser):
    version = 1
    tool_categories = by_category({
        "Edit": ("multiedit",),
        "Task": ("agent", "agentic_fetch"),
        "Bash": ("job_output", "job_kill"),
        "Tool": ("todos", "download", "sourcegraph", "diagnostics"),
    })
    label_heads = LABEL_HEADS

    def matches(self, rel_parts: tuple[str, ...]) -> bool:
        """``crush.db`` at the root or in a ``.crush`` directory below it, and the root's
        ``projects.json``."""
        if rel_parts in ((DB_NAME,), (PROJECTS,)):
            return True
        return len(rel_parts) >= 2 and rel_parts[-2:] == (DATA_DIR, DB_NAME)

    def sniff(self, path: Path) -> bool:
        """A SQLite database whose ``messages`` table has Crush's ``parts``."""
        if not b"".join(head_lines(path, 1, 16)).startswith(SQLITE_HEADER):
            return False
        try:
            with read_only(path) as connection:
                return "parts" in table_columns(connection, "messages")
        except DatabaseReadError:
            return False

    def root_of(self, path: Path) -> Path:
        return path.parent.parent if path.parent.name == DATA_DIR else path.parent

    def companion_paths(self, path: Path) -> tuple[Path, ...]:
        """A database's ``-wal``; for ``projects.json``, every listed project's database and
        its ``-wal`` (a change to any is a change of this source)."""
        if path.name != PROJECTS:
            return wal_companions(path)
        return tuple(p for database, _ in _listed(path, path.parent)
                     for p in (database, *wal_companions(database)))

    def parse_changed(self, path: Path, root: Path, known: Mapping[str, str],
                      options: ParseOptions | None = None) -> ParseResult:
        options = options or ParseOptions()
        if path.name == PROJECTS:
            return _parse_projects(path, root, known, options)
        return _parse_database(path, known, options)


parser: AgentParser = CrushParser()
