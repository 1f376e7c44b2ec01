"""Cursor IDE (the editor, not the agent CLI of ``cursor.py``): its chats ("composers") in
``globalStorage/state.vscdb``, VS Code's key-value SQLite store.

The ``cursorDiskKV`` table holds one JSON value per key: ``composerData:<composer id>`` is a
chat (``name``, ``createdAt``/``lastUpdatedAt`` in ms, ``fullConversationHeadersOnly`` the
ordered ``{bubbleId, type}`` of its turns, the workspace, the model; older composers keep
their turns inline in ``conversation``), ``bubbleId:<composer id>:<bubble id>`` one turn
(``type`` 1 user, 2 assistant; ``text``, ``createdAt`` ISO, ``thinking``, ``tokenCount``,
``toolFormerData`` with a tool call's name, arguments, result and status). ``ItemTable`` holds
the editor's state, Cursor's sign-in tokens among it: it is never read. A database source
(``parse_changed``): a composer's change marker comes from the key index alone (its row's and
its bubbles' rowids, which every write replaces), so only changed chats are read again.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import unquote, urlparse

import orjson

from sessions_app.parsers.base import (
    AgentParser,
    DatabaseReadError,
    Note,
    ParsedMessage,
    ParsedSession,
    ParseOptions,
    ParseResult,
    as_int,
    compact_json,
)
from sessions_app.parsers.chatlog import LABEL_HEADS, Builder, Issues, attach, s
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
from sessions_app.parsers.stores import stamp, termination_status
from sessions_app.parsers.tools import by_category

AGENT = "cursor-ide"
ID_PREFIX = AGENTS[AGENT].id_prefix
DB_NAME = "state.vscdb"
SQLITE_HEADER = b"SQLite format 3\x00"
COMPOSER = "composerData:"
BUBBLE = "bubbleId:"
USER, ASSISTANT = 1, 2
# toolFormerData.status of a call that did not do its job, and what it became
_FAILED = {"error": "errored", "cancelled": "cancelled", "aborted": "cancelled"}
_PATH_KEYS = ("targetFile", "target_file", "relativeWorkspacePath", "filePath", "path")
_RESULT_KEYS = ("output", "contents", "content", "text", "result", "message", "error")


def _after(prefix: str) -> str:
    """The first key past every key starting with *prefix* (``:`` -> ``;``)."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def _dict(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list:
    return value if isinstance(value, list) else []


def _path_of(uri: str) -> str:
    parsed = urlparse(uri)
    return unquote(parsed.path) if parsed.scheme == "file" else ""


# --- the database -------------------------------------------------------------------------------


def _markers(connection: sqlite3.Connection) -> dict[str, str]:
    """Composer id -> change marker, from the key index alone (no value is read): the
    composer row's rowid and its bubbles' count and rowids (a write replaces the row)."""
    composers = {
        key[len(COMPOSER):]: rowid for key, rowid in connection.execute(
            "SELECT key, rowid FROM cursorDiskKV WHERE key >= ? AND key < ?",
            (COMPOSER, _after(COMPOSER)))
        if isinstance(key, str) and len(key) > len(COMPOSER)
    }
    bubbles: dict[str, tuple[int, int, int]] = {}
    for key, rowid in connection.execute(
            "SELECT key, rowid FROM cursorDiskKV WHERE key >= ? AND key < ?",
            (BUBBLE, _after(BUBBLE))):
        composer = key[len(BUBBLE):].split(":", 1)[0] if isinstance(key, str) else ""
        count, top, total = bubbles.get(composer, (0, 0, 0))
        bubbles[composer] = (count + 1, max(top, rowid), total + rowid)
    return {cid: marker(rowid, *bubbles.get(cid, ())) for cid, rowid in composers.items()}


def _value(connection: sqlite3.Connection, key: str) -> object:
    row = connection.execute("SELECT value FROM cursorDiskKV WHERE key = ?", (key,)).fetchone()
    return None if row is None else row[0]


def _bubbles(connection: sqlite3.Connection, composer: str) -> dict[str, object]:
    prefix = f"{BUBBLE}{composer}:"
    return {key[len(prefix):]: value for key, value in connection.execute(
        "SELECT key, value FROM cursorDiskKV WHERE key >= ? AND key < ?",
        (prefix, _after(prefix))) if isinstance(key, str)}


def _workspaces(global_dir: Path) -> dict[str, str]:
    """Composer id -> workspace folder, from each ``workspaceStorage/<hash>/``'s
    ``workspace.json`` and the composer list in its ``state.vscdb`` (older composers do not
    name their workspace themselves). Whatever cannot be read is passed over."""
    found: dict[str, str] = {}
    storage = global_dir.parent / "workspaceStorage"
    try:
        folders = [p for p in storage.iterdir() if p.is_dir()]
    except OSError:
        return found
    for folder in folders:
        try:
            manifest = orjson.loads((folder / "workspace.json").read_bytes()[:1024 * 1024])
            cwd = _path_of(s(_dict(manifest).get("folder")))
            if not cwd or not (folder / DB_NAME).is_file():
                continue
            with read_only(folder / DB_NAME) as connection:
                row = connection.execute("SELECT value FROM ItemTable WHERE key ="
                                         " 'composer.composerData'").fetchone()
        except (OSError, orjson.JSONDecodeError, DatabaseReadError, sqlite3.Error):
            continue
        for entry in _list(_dict(json_object(row[0] if row else None)).get("allComposers")):
            if s(_dict(entry).get("composerId")):
                found.setdefault(entry["composerId"], cwd)
    return found


# --- one composer -------------------------------------------------------------------------------


def _result_text(raw: object, note: Note) -> tuple[str, bool]:
    """A tool's ``result`` (JSON text, usually) as text, and whether it reports a failure
    (a non-zero exit code, a rejection)."""
    value = raw
    if isinstance(raw, str):
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return raw, False
    if isinstance(value, str):
        return value, False
    if not isinstance(value, dict):
        return ("" if value is None else compact_json(value, note, "tool result")), False
    code = value.get("exitCode", value.get("exit_code"))
    failed = (isinstance(code, int) and not isinstance(code, bool) and code != 0) or \
        value.get("rejected") is True
    for key in _RESULT_KEYS:
        if isinstance(value.get(key), str) and value[key]:
            return value[key], failed
    return compact_json(value, note, "tool result"), failed


def _bubble(bubble: dict, builder: Builder, model: str, note: Note) -> None:
    kind = bubble.get("type")
    created = stamp(bubble.get("createdAt"))
    text = s(bubble.get("text")).strip()
    if kind == USER:
        builder.add("user", text, created)
        return
    if kind != ASSISTANT:
        return
    message = builder.add("assistant", "", created,
                          model=s(_dict(bubble.get("modelInfo")).get("modelName")) or model)
    thinking = s(_dict(bubble.get("thinking")).get("text")).strip()
    if thinking:
        builder.thinking(message, thinking)
    if text:
        message.content = f"{message.content}\n{text}" if message.content else text
    tool = bubble.get("toolFormerData")
    if isinstance(tool, dict):
        _tool(tool, message, builder, created, note)
    _usage(message, _dict(bubble.get("tokenCount")), note)


def _tool(tool: dict, message: ParsedMessage, builder: Builder, created, note: Note) -> None:
    arguments = tool.get("rawArgs")
    if not (isinstance(arguments, str) and arguments.strip()):
        arguments = tool.get("params")
    if isinstance(arguments, str) and not arguments.strip():
        arguments = None
    call = builder.call(message, s(tool.get("name")) or "unknown", arguments,
                        s(tool.get("toolCallId")), note)
    if call is None:
        return
    data = json_object(arguments) if isinstance(arguments, str) else _dict(arguments)
    target = next((s(data.get(k)) for k in _PATH_KEYS if s(data.get(k))), "") if data else ""
    if target and not call.file_path and call.category in ("Read", "Edit", "Write"):
        call.file_path = target
        head = f"[{call.category}]"
        if message.content.endswith(head):  # the label, with the file it names
            message.content = f"{message.content[:-len(head)]}[{call.category}: {target}]"
    status = s(tool.get("status"))
    raw = tool.get("result")
    text, failed = _result_text(raw, note) if raw is not None else ("", False)
    if tool.get("userDecision") == "rejected" or _FAILED.get(status) == "cancelled":
        outcome = "cancelled"
    elif status == "error" or failed:
        outcome = "errored"
    elif status == "completed" or raw is not None:
        outcome = "completed"
    else:
        return  # still running ("loading"): the call stays pending
    attach(call, text, status=outcome, timestamp=created,
           blocked=builder.options.blocked_result_categories)


def _usage(message: ParsedMessage, counts: Mapping, note: Note) -> None:
    inp = as_int(counts.get("inputTokens"), note, "tokenCount.inputTokens")
    out = as_int(counts.get("outputTokens"), note, "tokenCount.outputTokens")
    if inp <= 0 and out <= 0:
        return  # Cursor writes zeros where it counted nothing
    message.token_usage = compact_json({"input_tokens": inp, "output_tokens": out})
    message.context_tokens, message.has_context_tokens = inp, inp > 0
    message.output_tokens, message.has_output_tokens = out, True


def _cwd(doc: Mapping, bubbles: list[dict], workspaces: Mapping[str, str], cid: str) -> str:
    uri = _dict(_dict(doc.get("workspaceIdentifier")).get("uri"))
    cwd = s(uri.get("fsPath")) or _path_of(s(uri.get("external")))
    repos = _list(doc.get("trackedGitRepos"))
    if not cwd and repos:
        cwd = s(_dict(repos[0]).get("repoPath"))
    for bubble in bubbles:
        if cwd:
            break
        for workspace in _list(bubble.get("workspaceUris")):
            cwd = cwd or _path_of(s(workspace))
    return cwd or workspaces.get(cid, "")


def _branch(doc: Mapping) -> str:
    """The branch most recently worked on in the composer's repositories."""
    best, latest = s(doc.get("createdOnBranch")), None
    for repo in _list(doc.get("trackedGitRepos")):
        for branch in _list(_dict(repo).get("branches")):
            name, when = s(_dict(branch).get("branchName")), _dict(branch).get(
                "lastInteractionAt")
            when = when if isinstance(when, int | float) and not isinstance(when, bool) else 0
            if name and (latest is None or when > latest):
                best, latest = name, when
    return best


def _composer(connection: sqlite3.Connection, cid: str, workspaces: Mapping[str, str],
              options: ParseOptions, issues: Issues) -> ParsedSession | None:
    raw = _value(connection, COMPOSER + cid)
    doc = json_object(raw)
    if doc is None:
        if raw:
            issues.add(f"composer {cid}: not a JSON object; skipped")
        return None
    note = issues.note(f"composer {cid}")
    inline = [b for b in _list(doc.get("conversation")) if isinstance(b, dict)]
    headers = [h for h in _list(doc.get("fullConversationHeadersOnly")) if isinstance(h, dict)]
    turns: list[dict] = []
    if headers:
        stored = _bubbles(connection, cid)
        missing = 0
        for header in headers:
            bubble = json_object(stored.get(s(header.get("bubbleId"))))
            if bubble is None:
                missing += 1
                continue
            if not isinstance(bubble.get("type"), int):  # a row cut short keeps its role
                bubble["type"] = header.get("type")
            turns.append(bubble)
        if missing:
            note(f"{missing} of {len(headers)} turns missing or unreadable")
    else:
        turns = inline
    model = s(_dict(doc.get("modelConfig")).get("modelName"))
    model = "" if model == "default" else model
    builder = Builder(options)
    for bubble in turns:
        _bubble(bubble, builder, model, note)
    messages = builder.finish()
    if not messages:
        return None  # an empty draft
    cwd = _cwd(doc, turns, workspaces, cid)
    stamps = [m.timestamp for m in messages if m.timestamp is not None]
    created, updated = stamp(doc.get("createdAt")), stamp(doc.get("lastUpdatedAt"))
    session = ParsedSession(
        id=ID_PREFIX + cid,
        agent=AGENT,
        project=project_from_cwd(cwd) if cwd else "unknown",
        cwd=cwd,
        git_branch=_branch(doc),
        display_name=s(doc.get("name")).strip() or None,
        # bubbles carry their own times; the composer's may be far from them
        started_at=min(stamps) if stamps else created,
        ended_at=max([t for t in (updated, *stamps) if t is not None], default=created),
        source_session_id=cid,
        source_version=str(doc["_v"]) if isinstance(doc.get("_v"), int) else "",
        messages=messages,
    )
    session.termination_status = "errored" if doc.get("status") == "error" else \
        termination_status(messages)
    return session


def _parse_database(path: Path, known: Mapping[str, str], options: ParseOptions) -> ParseResult:
    result = ParseResult(path=path, markers={})
    issues = Issues()
    try:
        result.size = path.stat().st_size
    except OSError as exc:
        raise FileReadError(exc.strerror or str(exc)) from None
    with read_only(path) as connection:
        if not {"key", "value"} <= table_columns(connection, "cursorDiskKV"):
            raise DatabaseReadError("no cursorDiskKV table (not Cursor's store); not read")
        markers = _markers(connection)
        result.records = len(markers)
        workspaces: dict[str, str] | None = None
        for cid, current in markers.items():
            result.markers[ID_PREFIX + cid] = current
            if known.get(ID_PREFIX + cid) == current:
                continue
            if workspaces is None:
                workspaces = _workspaces(path.parent)
            try:
                session = _composer(connection, cid, workspaces, options, issues)
            except sqlite3.Error as exc:
                issues.add(f"composer {cid}: {describe(exc)}")
                continue
            if session is not None:
                result.sessions.append(session)
    result.issues = list(issues.lines)
    return result


class CursorIDEParser(DatabaseSourceParser):
    version = 1
    tool_categories = by_category({
        "Read": ("read_file_v2", "list_dir_v2", "read_lints_v2"),
        "Edit": ("edit_file_v2", "search_replace_v2", "reapply"),
        "Bash": ("run_terminal_command_v2",),
        "Glob": ("glob_file_search",),
        "Grep": ("codebase_search_v2", "grep_v2"),
        "Tool": ("create_plan", "ask_question", "todo_read"),
    })
    label_heads = LABEL_HEADS

    def matches(self, rel_parts: tuple[str, ...]) -> bool:
        """``state.vscdb`` in Cursor's ``globalStorage`` (the root)."""
        return rel_parts == (DB_NAME,)

    def sniff(self, path: Path) -> bool:
        """A SQLite database with a ``cursorDiskKV`` table holding composers."""
        if not b"".join(head_lines(path, 1, 16)).startswith(SQLITE_HEADER):
            return False
        try:
            with read_only(path) as connection:
                if "key" not in table_columns(connection, "cursorDiskKV"):
                    return False
                return connection.execute(
                    "SELECT 1 FROM cursorDiskKV WHERE key >= ? AND key < ? LIMIT 1",
                    (COMPOSER, _after(COMPOSER))).fetchone() is not None
        except DatabaseReadError:
            return False

    def root_of(self, path: Path) -> Path:
        return path.parent

    def parse_changed(self, path: Path, root: Path, known: Mapping[str, str],
                      options: ParseOptions | None = None) -> ParseResult:
        return _parse_database(path, known, options or ParseOptions())


parser: AgentParser = CursorIDEParser()
