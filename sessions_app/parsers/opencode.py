"""OpenCode: the SQLite database ``<root>/opencode.db`` (tables ``project``, ``session``,
``message`` and ``part``, the last two with a JSON ``data`` column) and the legacy JSON tree
it replaced, ``<root>/storage/session/<project>/<session>.json`` with
``storage/message/<session>/<message>.json`` and ``storage/part/<message>/<part>.json``.

A database holds every session: it is a database source (``parse_changed``), whose marker
per session is read from the session row and the counts and newest update times of its
message and part rows. A child session (``parent_id``) is a subagent of its parent.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
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

AGENT = "opencode"
ID_PREFIX = AGENTS[AGENT].id_prefix
DB_NAME = "opencode.db"
SQLITE_HEADER = b"SQLite format 3\x00"
# The title OpenCode gives a session until the model names it: not a name.
_PLACEHOLDER_TITLE_RE = re.compile(
    r"^(New session|Child session) - \d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
_TASK_ID_RE = re.compile(r"task_id: (\S+)")
_ABORTED = frozenset({"MessageAbortedError"})


@dataclass
class _Rows:
    """One session's rows, from either store: ``(id, time, data)`` per message and part."""

    id: str
    parent_id: str = ""
    title: str = ""
    directory: str = ""
    worktree: str = ""
    version: str = ""
    created: object = None
    updated: object = None
    messages: list[tuple[str, object, dict]] = field(default_factory=list)
    parts: dict[str, list[tuple[str, object, dict]]] = field(default_factory=dict)


def _str(value: object) -> str:
    """A SQLite value as text (these columns are TEXT, but SQLite stores whatever it gets)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""


def _usable_dir(path: str) -> str:
    """A working directory, not OpenCode's placeholder ``/`` of its global project."""
    path = path.strip()
    return "" if path in ("", "/", "\\") else path


# --- building a session from its rows ----------------------------------------------------------


def _tokens(message: ParsedMessage, tokens: object, note: Note) -> None:
    """``{input, output, reasoning, cache: {read, write}}`` onto the message."""
    if not isinstance(tokens, dict):
        return
    cache = tokens.get("cache") if isinstance(tokens.get("cache"), dict) else {}
    usage = {
        "input_tokens": as_int(tokens.get("input"), note, "tokens.input"),
        "output_tokens": as_int(tokens.get("output"), note, "tokens.output"),
        "cache_read_input_tokens": as_int(cache.get("read"), note, "tokens.cache.read"),
        "cache_creation_input_tokens": as_int(cache.get("write"), note, "tokens.cache.write"),
    }
    if "reasoning" in tokens:
        usage["reasoning_tokens"] = as_int(tokens.get("reasoning"), note, "tokens.reasoning")
    present_context = "input" in tokens or "read" in cache or "write" in cache
    if not present_context and "output" not in tokens:
        return
    message.token_usage = compact_json(usage)
    if present_context:
        message.context_tokens = clamp_int(usage["input_tokens"] + usage["cache_read_input_tokens"]
                                           + usage["cache_creation_input_tokens"])
        message.has_context_tokens = True
    if "output" in tokens:
        message.output_tokens = usage["output_tokens"]
        message.has_output_tokens = True


def _tool_call(part: dict, message: ParsedMessage, note: Note,
               calls: dict[str, ParsedToolCall], results: list) -> str:
    """A ``tool`` part as a call of *message*; returns its label line."""
    name = text(part.get("tool")) or "unknown"
    state = part.get("state") if isinstance(part.get("state"), dict) else {}
    inp = state.get("input")
    data = inp if isinstance(inp, dict) else {}
    category = category_of(name)
    call = ParsedToolCall(
        tool_use_id=text(part.get("callID")) or text(part.get("id")),
        tool_name=name,
        category=category,
        input_json=compact_json(inp, note, "tool input") if inp is not None else "",
        skill_name=text(data.get("name")) if name == "skill" else "",
        file_path=(text(data.get("filePath")) or text(data.get("file_path"))
                   if category in ("Read", "Edit", "Write") else ""),
    )
    metadata = state.get("metadata") if isinstance(state.get("metadata"), dict) else {}
    status = text(state.get("status"))
    output = state.get("output")
    if category == "Task":
        child = text(metadata.get("sessionId"))
        if not child and isinstance(output, str):
            match = _TASK_ID_RE.search(output)
            child = match.group(1) if match else ""
        call.subagent_session_id = ID_PREFIX + child if child else None
    message.tool_calls.append(call)
    message.has_tool_use = True
    if call.tool_use_id and call.tool_use_id not in calls:
        calls[call.tool_use_id] = call
    if status in ("completed", "error"):
        failed = status == "error" or name == "invalid"
        exit_code = metadata.get("exit")
        if name == "bash" and isinstance(exit_code, int) and not isinstance(exit_code, bool):
            failed = failed or exit_code != 0
        body = state.get("error") if status == "error" else output
        if body is None:
            body = ""
        body = body if isinstance(body, str) else compact_json(body, note, "tool output")
        timing = state.get("time") if isinstance(state.get("time"), dict) else {}
        results.append((call, body, "errored" if failed else "completed",
                        stamp(timing.get("end"))))
    return tool_label(category, name, data, description=text(state.get("title"))
                      if category == "Bash" and not text(data.get("description")) else "")


def _message(message_id: str, created: object, data: dict, parts: list, issues: Issues,
             calls: dict[str, ParsedToolCall], results: list) -> ParsedMessage | None:
    role = data.get("role")
    if role not in ("user", "assistant"):
        return None
    note = issues.at(f"message {message_id}")
    timing = data.get("time") if isinstance(data.get("time"), dict) else {}
    message = ParsedMessage(role=role, timestamp=stamp(created) or stamp(timing.get("created")),
                            source_type=role)
    if role == "assistant":
        model = data.get("model") if isinstance(data.get("model"), dict) else {}
        message.model = text(data.get("modelID")) or text(model.get("modelID"))
    texts: list[str] = []
    thinking: list[str] = []
    labels: list[str] = []
    step_tokens = None
    for part_id, _, part in parts:
        kind = part.get("type")
        if kind == "text":
            body = text(part.get("text")) or text(part.get("content"))
            if body.strip() and not (role == "user" and part.get("synthetic") is True):
                texts.append(body)
        elif kind == "reasoning":
            body = text(part.get("text")) or text(part.get("content"))
            if body.strip():
                message.has_thinking = True
                thinking.append(body)
                texts.append(f"[Thinking]\n{body}\n[/Thinking]")
        elif kind == "tool":
            labels.append(_tool_call(part, message, issues.at(f"part {part_id}"), calls,
                                     results))
        elif kind == "step-finish":
            step_tokens = part.get("tokens")
    _tokens(message, data.get("tokens") if isinstance(data.get("tokens"), dict)
            else step_tokens, note)
    if role == "assistant" and data.get("summary") is True:  # a compaction's summary
        message.is_system = message.is_compact_boundary = True
        message.source_type, message.source_subtype = "system", "compact_boundary"
    # the calls after the text, as OpenCode shows a step: what it said, then what it ran
    message.content = "\n".join(texts + labels)
    message.thinking_text = "\n\n".join(thinking)
    if not message.content.strip() and not message.tool_calls:
        return None
    return message


def _session(rows: _Rows, options: ParseOptions, issues: Issues) -> ParsedSession | None:
    calls: dict[str, ParsedToolCall] = {}
    results: list = []
    messages: list[ParsedMessage] = []
    stop = ""
    for message_id, created, data in rows.messages:
        parts = rows.parts.get(message_id, [])
        message = _message(message_id, created, data, parts, issues, calls, results)
        if message is not None:
            messages.append(message)
            error = data.get("error") if message.role == "assistant" else None
            if message.role == "assistant":
                name = text(error.get("name")) if isinstance(error, dict) else ""
                stop = ("interrupted" if name in _ABORTED else "errored") if name else ""
    if not messages:
        return None
    for call, body, status, ts in results:
        assign_results({call.tool_use_id: call}, call.tool_use_id, body, source="tool_result",
                       status=status, timestamp=ts, blocked=options.blocked_result_categories)
    cwd = _usable_dir(rows.directory) or _usable_dir(rows.worktree)
    worktree = _usable_dir(rows.worktree) or cwd
    title = rows.title.strip()
    session = ParsedSession(
        id=ID_PREFIX + rows.id,
        agent=AGENT,
        project=project_from_cwd(worktree) if worktree else "unknown",
        cwd=cwd,
        display_name=title if title and not _PLACEHOLDER_TITLE_RE.match(title) else None,
        started_at=stamp(rows.created),
        ended_at=stamp(rows.updated),
        parent_session_id=ID_PREFIX + rows.parent_id if rows.parent_id else None,
        relationship_type="subagent" if rows.parent_id else "",
        source_session_id=rows.id,
        source_version=rows.version,
        messages=messages,
    )
    session.termination_status = stop if messages[-1].role == "assistant" else ""
    return finish(session)


# --- the database ------------------------------------------------------------------------------


def _counts(connection: sqlite3.Connection, table: str) -> dict[str, tuple]:
    """session id -> (rows, newest update) of *table*: what moves when a session changes."""
    columns = table_columns(connection, table)
    if "session_id" not in columns:  # parts of an old schema: through their messages
        sql = ("SELECT m.session_id, count(*), max(p.time_updated) FROM part p"
               " JOIN message m ON m.id = p.message_id GROUP BY m.session_id")
    else:
        newest = "max(time_updated)" if "time_updated" in columns else "NULL"
        sql = f'SELECT session_id, count(*), {newest} FROM "{table}" GROUP BY session_id'
    return {_str(row[0]): row[1:] for row in connection.execute(sql)}


def _rows_of(connection: sqlite3.Connection, session: Mapping, worktrees: dict[str, str],
             issues: Issues) -> _Rows:
    sid = _str(session["id"])
    rows = _Rows(
        id=sid,
        parent_id=_str(session.get("parent_id")),
        title=_str(session.get("title")),
        directory=_str(session.get("directory")),
        worktree=worktrees.get(_str(session.get("project_id")), ""),
        version=_str(session.get("version")),
        created=session.get("time_created"),
        updated=session.get("time_updated"),
    )
    for message_id, created, raw in connection.execute(
            "SELECT id, time_created, data FROM message WHERE session_id = ?"
            " ORDER BY time_created, id", (sid,)):
        data = json_object(raw)
        if data is None:
            issues.add(f"session {sid}, message {_str(message_id)}: data is not a JSON object;"
                       " skipped")
            continue
        rows.messages.append((_str(message_id), created, data))
    part_columns = table_columns(connection, "part")
    if "session_id" in part_columns:
        query = ("SELECT id, message_id, time_created, data FROM part WHERE session_id = ?"
                 " ORDER BY time_created, id")
    else:
        query = ("SELECT p.id, p.message_id, p.time_created, p.data FROM part p"
                 " JOIN message m ON m.id = p.message_id WHERE m.session_id = ?"
                 " ORDER BY p.time_created, p.id")
    for part_id, message_id, created, raw in connection.execute(query, (sid,)):
        data = json_object(raw)
        if data is None:
            issues.add(f"session {sid}, part {_str(part_id)}: data is not a JSON object;"
                       " skipped")
            continue
        rows.parts.setdefault(_str(message_id), []).append((_str(part_id), created, data))
    return rows


_SESSION_COLUMNS = ("id", "project_id", "parent_id", "title", "directory", "version",
                    "time_created", "time_updated")


def _parse_database(path: Path, known: Mapping[str, str], options: ParseOptions) -> ParseResult:
    result = ParseResult(path=path, markers={})
    issues = Issues()
    try:
        result.size = path.stat().st_size
    except OSError as exc:
        raise FileReadError(exc.strerror or str(exc)) from None
    with read_only(path) as connection:
        session_columns = table_columns(connection, "session")
        if "id" not in session_columns or not table_columns(connection, "message") \
                or not table_columns(connection, "part"):
            raise DatabaseReadError("no OpenCode session, message and part tables; not read")
        worktrees: dict[str, str] = {}
        if {"id", "worktree"} <= table_columns(connection, "project"):
            worktrees = {_str(pid): _str(tree) for pid, tree in
                         connection.execute("SELECT id, worktree FROM project")}
        messages, parts = _counts(connection, "message"), _counts(connection, "part")
        selected = [c if c in session_columns else f"NULL AS {c}" for c in _SESSION_COLUMNS]
        order = "time_created, id" if "time_created" in session_columns else "id"
        cursor = connection.execute(f"SELECT {', '.join(selected)} FROM session ORDER BY {order}")
        sessions = [dict(zip(_SESSION_COLUMNS, row, strict=True)) for row in cursor]
        result.records = 1 + len(sessions)  # the schema read counts: an empty db is no error
        for row in sessions:
            sid = _str(row["id"])
            if not sid:
                continue
            full_id = ID_PREFIX + sid
            current = marker(row["time_updated"], row["title"], row["parent_id"],
                             row["directory"], row["project_id"], *messages.get(sid, ()),
                             *parts.get(sid, ()))
            result.markers[full_id] = current
            if known.get(full_id) == current:
                continue
            try:
                rows = _rows_of(connection, row, worktrees, issues)
            except sqlite3.Error as exc:  # one damaged session: the others are read
                issues.add(f"session {sid}: {describe(exc)}")
                continue
            session = _session(rows, options, issues)
            if session is not None:
                result.sessions.append(session)
    result.issues = issues
    return result


# --- the legacy JSON tree ----------------------------------------------------------------------


def _json_file(path: Path, issues: Issues, where: str) -> tuple[dict | None, bytes]:
    """A JSON document of the tree; None (with an issue) when unreadable or not an object."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        issues.add(f"{where}: cannot read ({exc.strerror}); skipped")
        return None, b""
    data = json_object(raw)
    if data is None:
        issues.add(f"{where}: not a JSON object (invalid or cut short); skipped")
    return data, raw


def _tree_items(directory: Path, issues: Issues, where: str,
                digest) -> list[tuple[str, object, dict]]:
    """``(id, time, data)`` of every JSON file in *directory*, by time then id."""
    try:
        names = sorted(p.name for p in directory.iterdir() if p.name.endswith(".json"))
    except FileNotFoundError:
        return []
    except OSError as exc:
        issues.add(f"{where}: cannot list ({exc.strerror}); skipped")
        return []
    items = []
    for name in names:
        data, raw = _json_file(directory / name, issues, f"{where}/{name}")
        digest.update(raw)
        if data is None:
            continue
        timing = data.get("time") if isinstance(data.get("time"), dict) else {}
        when = next((timing[k] for k in ("created", "start", "end", "updated")
                     if stamp(timing.get(k)) is not None), None)
        items.append((text(data.get("id")) or name[:-5], when, data))
    items.sort(key=lambda item: (stamp(item[1]) is None, stamp(item[1]) or 0, item[0]))
    return items


def _parse_storage(path: Path, options: ParseOptions) -> ParseResult:
    result = ParseResult(path=path)
    issues = Issues()
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise FileReadError(exc.strerror or str(exc)) from None
    digest = hashlib.sha256(raw)
    result.size = len(raw)
    doc = json_object(raw) if raw.strip() else None
    if doc is None:
        if raw.strip():
            result.malformed_lines = 1
            result.is_truncated = not raw.rstrip().endswith(b"}")
            issues.add("not a JSON object (invalid or cut short); skipped")
        result.issues, result.sha256 = issues, digest.hexdigest()
        return result
    result.records = 1
    storage = path.parents[2]  # <root>/storage/session/<project>/<session>.json
    timing = doc.get("time") if isinstance(doc.get("time"), dict) else {}
    rows = _Rows(id=text(doc.get("id")) or path.stem, parent_id=text(doc.get("parentID")),
                 title=text(doc.get("title")), directory=text(doc.get("directory")),
                 version=text(doc.get("version")), created=timing.get("created"),
                 updated=timing.get("updated"))
    project = storage / "project" / f"{text(doc.get('projectID')) or path.parent.name}.json"
    if project.is_file():
        data, _ = _json_file(project, issues, f"project/{project.name}")
        rows.worktree = text(data.get("worktree")) if data else ""
    rows.messages = _tree_items(storage / "message" / rows.id, issues,
                                f"message/{rows.id}", digest)
    for message_id, _, _ in rows.messages:
        rows.parts[message_id] = _tree_items(storage / "part" / message_id, issues,
                                             f"part/{message_id}", digest)
    session = _session(rows, options, issues)
    result.sessions = [session] if session is not None else []
    result.issues, result.sha256 = issues, digest.hexdigest()
    return result


# --- the parser ----------------------------------------------------------------------------------


def _is_database(path: Path) -> bool:
    return not path.name.endswith(".json")


class OpenCodeParser(DatabaseSourceParser):
    version = 1
    tool_categories = by_category({
        "Read": ("list", "codesearch"),
        "Edit": ("multiedit",),
        "Task": ("task",),
        "Tool": ("todowrite", "todoread", "webfetch", "websearch", "question", "lsp", "batch"),
    })
    label_heads = LABEL_HEADS

    def matches(self, rel_parts: tuple[str, ...]) -> bool:
        """``opencode.db``, or a legacy ``storage/session/<project>/<session>.json``."""
        if rel_parts == (DB_NAME,):
            return True
        return (len(rel_parts) == 4 and rel_parts[:2] == ("storage", "session")
                and rel_parts[3].endswith(".json"))

    def sniff(self, path: Path) -> bool:
        """A SQLite database with OpenCode's ``part`` table, or a legacy session document
        (``ses_`` id, ``projectID``)."""
        head = b"".join(head_lines(path, 40))
        if head.startswith(SQLITE_HEADER):
            try:
                with read_only(path) as connection:
                    return {"message_id", "data"} <= table_columns(connection, "part")
            except DatabaseReadError:
                return False
        return b'"projectID"' in head and b'"ses_' in head

    def root_of(self, path: Path) -> Path:
        """The database's directory; four levels above a legacy session document."""
        return path.parent if _is_database(path) else path.parents[3]

    def companion_paths(self, path: Path) -> tuple[Path, ...]:
        """The ``-wal`` of the database; the message directory of a legacy session (a new
        message adds a file there; the session document itself need not change)."""
        if _is_database(path):
            return wal_companions(path)
        return (path.parents[2] / "message" / path.stem,)

    def parse_changed(self, path: Path, root: Path, known: Mapping[str, str],
                      options: ParseOptions | None = None) -> ParseResult:
        options = options or ParseOptions()
        if _is_database(path):
            return _parse_database(path, known, options)
        return _parse_storage(path, options)


parser: AgentParser = OpenCodeParser()

