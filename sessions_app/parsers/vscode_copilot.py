"""VS Code Copilot Chat: the chat sessions VS Code keeps in its user folder,
``workspaceStorage/<hash>/chatSessions/<id>.json|.jsonl`` (the workspace's folder named in
``workspaceStorage/<hash>/workspace.json``) and ``globalStorage/emptyWindowChatSessions/``
(and ``transferredChatSessions/``) for chats outside a workspace.

A ``.json`` file is one serialized chat model (``version`` 3: ``sessionId``,
``creationDate``, ``customTitle``, ``requests[]``); a ``.jsonl`` file is the operation log
VS Code writes instead since late 2025: a first ``{"kind": 0, "v": <model>}`` line, then
``kind`` 1 (set the value at path ``k``), 2 (push ``v`` onto the array at ``k``, after cutting
it at ``i`` when given) and 3 (delete ``k``). Each request is a prompt (``message.text``) and
its response parts: markdown, ``thinking``, ``toolInvocationSerialized`` (tool id, call id,
messages, ``resultDetails``, terminal data), references; ``result.metadata`` holds the
model's tool-call rounds (the calls' arguments), their results and the token counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote, urlparse

import orjson

from sessions_app.parsers.base import (
    AgentParser,
    Note,
    ParsedMessage,
    ParsedSession,
    ParsedToolCall,
    ParseOptions,
    ParseResult,
    as_int,
    compact_json,
)
from sessions_app.parsers.chatlog import LABEL_HEADS, Builder, Issues, attach, s
from sessions_app.parsers.jsondoc import read_document
from sessions_app.parsers.jsonl import FileReadError, JsonlReader
from sessions_app.parsers.project import normalize_name, project_from_cwd
from sessions_app.parsers.registry import AGENTS
from sessions_app.parsers.stores import stamp, termination_status
from sessions_app.parsers.tools import by_category

AGENT = "vscode-copilot"
ID_PREFIX = AGENTS[AGENT].id_prefix
WORKSPACE = "workspace.json"
CHAT_DIRS = ("emptyWindowChatSessions", "transferredChatSessions")
# ToolConfirmKind values of a call the user refused or skipped (VS Code's chatService.ts)
_REFUSED = (0, 5)
_MAX_WORKSPACE_BYTES = 1024 * 1024


def _dict(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list:
    return value if isinstance(value, list) else []


def _markdown(value: object) -> str:
    """A string, or VS Code's ``IMarkdownString`` (``{"value": ...}``)."""
    if isinstance(value, str):
        return value
    return s(_dict(value).get("value"))


# --- the operation log --------------------------------------------------------------------------


def _child(node: object, key: object) -> object:
    if isinstance(node, dict) and isinstance(key, str):
        return node.get(key)
    if isinstance(node, list) and isinstance(key, int) and not isinstance(key, bool) \
            and 0 <= key < len(node):
        return node[key]
    return None


def _apply(state: object, op: Mapping, note: Note) -> object:
    """*state* after one operation of the log (an operation that names no place in it is
    skipped, as VS Code would fail on it)."""
    kind = op.get("kind")
    if kind == 0:
        return op.get("v")
    path = op.get("k")
    if state is None or not isinstance(path, list) or not path:
        note("an operation before the first state or without a path; skipped")
        return state
    parent = state
    for key in path[:-1]:
        parent = _child(parent, key)
    last = path[-1]
    if kind == 1 or kind == 3:
        value = op.get("v") if kind == 1 else None
        if isinstance(parent, dict) and isinstance(last, str):
            if kind == 3:
                parent.pop(last, None)
            else:
                parent[last] = value
        elif isinstance(parent, list) and isinstance(last, int) and not isinstance(last, bool) \
                and 0 <= last < len(parent):
            parent[last] = value
        else:
            note("an operation on a path the session does not hold; skipped")
    elif kind == 2:
        target = _child(parent, last)
        if not isinstance(target, list):
            note("a push onto something that is not a list; skipped")
            return state
        cut = op.get("i")
        if isinstance(cut, int) and not isinstance(cut, bool) and cut >= 0:
            del target[cut:]
        target.extend(_list(op.get("v")))
    else:
        note(f"unknown operation kind {str(kind)[:20]}; skipped")
    return state


def _replay(path: Path, options: ParseOptions, result: ParseResult, issues: Issues) -> object:
    reader = JsonlReader(path, options.max_line_bytes)
    state: object = None
    for lineno, op in reader:
        state = _apply(state, op, lambda text, n=lineno: reader.issue(n, text))
    result.records, result.malformed_lines = reader.records, reader.malformed
    result.is_truncated, result.sha256, result.size = reader.truncated, reader.sha256, \
        reader.size
    for issue in reader.issues:
        issues.add(issue)
    return state


# --- one session --------------------------------------------------------------------------------


def _rounds(metadata: Mapping) -> tuple[dict[str, object], dict[str, str]]:
    """The model's calls (id -> arguments) and their results (id -> text) from the
    request's ``result.metadata``."""
    arguments: dict[str, object] = {}
    for round_ in _list(metadata.get("toolCallRounds")):
        for call in _list(_dict(round_).get("toolCalls")):
            call = _dict(call)
            if s(call.get("id")):
                arguments[call["id"]] = call.get("arguments")
    results: dict[str, str] = {}
    for call_id, value in _dict(metadata.get("toolCallResults")).items():
        content = _list(_dict(value).get("content"))
        text = "\n".join(_markdown(part) or s(_dict(part).get("text")) for part in content)
        if text.strip():
            results[call_id] = text
    return arguments, results


def _result_details(part: Mapping) -> tuple[str, bool]:
    """The output VS Code kept for a call and whether it says it failed."""
    details = part.get("resultDetails")
    terminal = _dict(part.get("toolSpecificData"))
    output = ""
    failed = False
    if isinstance(details, dict):
        failed = details.get("isError") is True
        output = "\n".join(s(_dict(o).get("value")) for o in _list(details.get("output"))
                           if _dict(o).get("isText", True) is not False)
    if terminal.get("kind") == "terminal":
        output = s(_dict(terminal.get("terminalCommandOutput")).get("text")) or output
        code = _dict(terminal.get("terminalCommandState")).get("exitCode")
        failed = failed or (isinstance(code, int) and not isinstance(code, bool) and code != 0)
    elif terminal.get("kind") == "subagent":
        output = s(terminal.get("result")) or output
    if part.get("resultError"):
        failed = True
        output = output or _markdown(part.get("resultError")) or s(part.get("resultError"))
    return output, failed


def _invocation_input(part: Mapping) -> dict:
    """What VS Code kept of a call's input when the model's arguments are not recorded."""
    data: dict[str, object] = {}
    specific = _dict(part.get("toolSpecificData"))
    message = _markdown(part.get("pastTenseMessage")) or _markdown(part.get("invocationMessage"))
    if message:
        data["message"] = message
    if specific.get("kind") == "terminal":
        command = s(_dict(specific.get("commandLine")).get("original")) or s(
            specific.get("command"))
        if command:
            data["command"] = command
    elif specific.get("kind") == "input" and specific.get("rawInput") is not None:
        return {"input": specific["rawInput"]} if not isinstance(
            specific["rawInput"], dict) else dict(specific["rawInput"])
    elif specific.get("kind") == "subagent":
        data.update({k: specific[k] for k in ("description", "agentName", "prompt")
                     if isinstance(specific.get(k), str)})
    return data


def _request(request: Mapping, builder: Builder, note: Note) -> None:
    asked = stamp(request.get("timestamp"))
    text = _markdown(request.get("message")) or s(_dict(request.get("message")).get("text"))
    builder.add("user", text.strip(), asked)
    result = _dict(request.get("result"))
    metadata = _dict(result.get("metadata"))
    arguments, results = _rounds(metadata)
    state = _dict(request.get("modelState"))
    elapsed = _dict(result.get("timings")).get("totalElapsed")
    answered = stamp(state.get("completedAt"))
    if answered is None and asked is not None and isinstance(elapsed, int | float) \
            and not isinstance(elapsed, bool) and 0 <= elapsed < 1e12:
        answered = asked + timedelta(milliseconds=elapsed)
    message = builder.add("assistant", "", answered or asked)
    message.model = s(metadata.get("resolvedModel")) or s(request.get("modelId")).removeprefix(
        "copilot/")
    streaming = False  # the last part was markdown: the next piece continues its text
    for part in _list(request.get("response")):
        if isinstance(part, dict):
            streaming = _part(part, message, builder, arguments, results, note, streaming)
    error = s(_dict(result.get("errorDetails")).get("message")).strip()
    if error and not message.content.strip() and not message.tool_calls:
        message.content = error
    _usage(message, metadata, _dict(request.get("usage")), note)


def _part(part: dict, message: ParsedMessage, builder: Builder, arguments: Mapping,
          results: Mapping, note: Note, streaming: bool) -> bool:
    """Add one response part to *message*; returns whether it was a piece of its text."""
    kind = part.get("kind")
    if kind in (None, "markdownContent", "markdownVuln", "inlineReference"):
        if kind == "inlineReference":
            ref = _dict(part.get("inlineReference"))
            target = s(part.get("name")) or s(ref.get("fsPath")) or s(ref.get("path")) or s(
                _dict(ref.get("uri")).get("path")) or s(_dict(ref.get("location")).get("uri"))
            text = f"`{target}`" if target else ""
        else:
            text = _markdown(part.get("content")) if kind else _markdown(part)
        if text:  # streamed markdown comes in pieces of one text
            glue = "" if streaming or not message.content else "\n"
            message.content += glue + text
        return True
    if kind == "thinking":
        value = part.get("value")
        text = "".join(v for v in value if isinstance(v, str)) if isinstance(value, list) \
            else s(value)
        builder.thinking(message, text.strip())
        return False
    if kind in ("toolInvocationSerialized", "toolInvocation"):
        _tool(part, message, builder, arguments, results, note)
        return False
    # progress and warning lines of the panel, edits (the calls record them), undo stops
    return streaming


def _tool(part: dict, message: ParsedMessage, builder: Builder, arguments: Mapping,
          results: Mapping, note: Note) -> None:
    name = s(part.get("toolId")) or "unknown"
    call_id = s(part.get("toolCallId"))
    raw = arguments.get(call_id) if call_id in arguments else None
    if raw is None:
        raw = _invocation_input(part) or None
    message.content = message.content.rstrip()
    call = builder.call(message, name, raw, call_id, note)
    if call is None:
        return  # the same call serialized twice
    data = _json_value(raw)
    target = next((s(data.get(k)) for k in ("filePath", "path", "uri") if s(data.get(k))),
                  "") if isinstance(data, dict) else ""
    if target and not call.file_path and call.category in ("Read", "Edit", "Write"):
        call.file_path = target
        head = f"[{call.category}]"
        if message.content.endswith(head):  # the label, with the file it names
            message.content = f"{message.content[:-len(head)]}[{call.category}: {target}]"
    output, failed = _result_details(part)
    output = output or results.get(call_id, "")
    confirmed = part.get("isConfirmed")
    refused = confirmed is False or (isinstance(confirmed, dict)
                                     and confirmed.get("type") in _REFUSED)
    if refused:
        _record(call, output or "[refused by the user]", "cancelled", builder)
    elif output or failed or part.get("isComplete") is True:
        _record(call, output, "errored" if failed else "completed", builder)


def _json_value(raw: object) -> object:
    if isinstance(raw, str) and raw[:1] == "{":
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            return None
    return raw


def _record(call: ParsedToolCall, text: str, status: str, builder: Builder) -> None:
    attach(call, text, status=status, timestamp=None,
           blocked=builder.options.blocked_result_categories)


def _usage(message: ParsedMessage, metadata: Mapping, usage: Mapping, note: Note) -> None:
    prompt = metadata.get("promptTokens", usage.get("promptTokens"))
    output = metadata.get("outputTokens", usage.get("completionTokens"))
    counts = {}
    if isinstance(prompt, int | float) and not isinstance(prompt, bool):
        counts["input_tokens"] = as_int(prompt, note, "promptTokens")
    if isinstance(output, int | float) and not isinstance(output, bool):
        counts["output_tokens"] = as_int(output, note, "outputTokens")
    if not counts:
        return
    message.token_usage = compact_json(counts)
    if "input_tokens" in counts:  # the whole prompt of the turn
        message.context_tokens, message.has_context_tokens = counts["input_tokens"], True
    if "output_tokens" in counts:
        message.output_tokens, message.has_output_tokens = counts["output_tokens"], True


def _session(doc: Mapping, stem: str, cwd: str, project: str, options: ParseOptions,
             issues: Issues) -> ParsedSession | None:
    builder = Builder(options)
    for index, request in enumerate(_list(doc.get("requests"))):
        if isinstance(request, dict):
            _request(request, builder, issues.note(f"requests[{index}]"))
    for message in builder.messages:
        message.content = message.content.strip()
    messages = builder.finish()
    if not messages:
        return None
    session_id = s(doc.get("sessionId")).strip() or stem
    created = stamp(doc.get("creationDate"))
    stamps = [m.timestamp for m in messages if m.timestamp is not None]
    ended = max([t for t in (stamp(doc.get("lastMessageDate")), *stamps) if t is not None],
                default=None)
    title = s(doc.get("customTitle")).strip()
    session = ParsedSession(
        id=ID_PREFIX + session_id,
        agent=AGENT,
        project=project,
        cwd=cwd,
        display_name=title or None,
        started_at=min([t for t in (created, *stamps) if t is not None], default=None),
        ended_at=ended,
        source_session_id=session_id,
        source_version=str(doc["version"]) if isinstance(doc.get("version"), int) else "",
        messages=messages,
    )
    last = _list(doc.get("requests"))[-1] if _list(doc.get("requests")) else {}
    failed = s(_dict(_dict(_dict(last).get("result")).get("errorDetails")).get("message"))
    session.termination_status = "errored" if failed else termination_status(messages)
    return session


# --- files --------------------------------------------------------------------------------------


def _workspace(path: Path) -> tuple[str, str]:
    """(cwd, project) of a chat in ``workspaceStorage/<hash>/chatSessions/``: the folder (or
    the ``.code-workspace`` file) ``workspace.json`` names; nothing for an empty window."""
    if path.parent.name != "chatSessions":
        return "", "unknown"
    manifest = path.parent.parent / WORKSPACE
    try:
        with manifest.open("rb") as fh:
            raw = fh.read(_MAX_WORKSPACE_BYTES)
        doc = orjson.loads(raw)
    except (OSError, orjson.JSONDecodeError):
        return "", "unknown"
    uri = s(_dict(doc).get("folder")) or s(_dict(doc).get("workspace"))
    if not uri:
        return "", "unknown"
    parsed = urlparse(uri)
    folder = unquote(parsed.path) if parsed.scheme else uri
    if len(folder) > 2 and folder[0] == "/" and folder[2] == ":":  # /C:/Users/...
        folder = folder[1:]
    if folder.endswith(".code-workspace"):
        name = folder.rstrip("/").rsplit("/", 1)[-1].removesuffix(".code-workspace")
        return "", normalize_name(name)
    if parsed.scheme not in ("", "file"):  # a remote folder: its name, not this disk's
        return folder, normalize_name(folder.rstrip("/").rsplit("/", 1)[-1])
    return folder, project_from_cwd(folder)


def _candidates(path: Path) -> list[Path]:
    """The files that may hold this session, the one that archives it first: the ``.json``
    VS Code wrote before its operation logs, then the ``.jsonl``."""
    return [path.with_suffix(".json"), path.with_suffix(".jsonl")]


def _parse(path: Path, options: ParseOptions) -> ParseResult:
    result = ParseResult(path=path)
    issues = Issues()
    existing = [p for p in _candidates(path) if p.is_file()]
    if existing and existing[0] != path:  # the .json archives it, read from this .jsonl
        with path.open("rb") as fh:
            result.size = len(fh.read())
        result.records = 1
        return result
    source = existing[-1] if existing else path
    if source != path:
        issues.add(f"the session is read from {source.name}, which VS Code wrote after"
                   " this file")
    if source.suffix == ".jsonl":
        try:
            doc = _replay(source, options, result, issues)
        except FileReadError:
            if source == path:
                raise
            issues.add(f"{source.name}: cannot be read; nothing archived this time")
            result.records, result.issues = 1, list(issues.lines)
            return result
        if source != path:
            result.size = path.stat().st_size
    else:
        document = read_document(path, options.max_line_bytes)
        result.size, result.sha256 = document.size, document.sha256
        result.is_truncated = document.truncated
        result.records = 1 if document.value is not None else 0
        result.malformed_lines = 1 if document.value is None and document.size else 0
        for issue in document.issues:
            issues.add(issue)
        doc = document.value
    if doc is not None and not isinstance(doc, dict):
        issues.add("the session is not a JSON object; skipped")
    cwd, project = _workspace(path)
    session = _session(doc, path.stem, cwd, project, options, issues) \
        if isinstance(doc, dict) else None
    if session is not None:
        if result.is_truncated:
            session.termination_status = "truncated"
        result.sessions = [session]
    result.issues = list(issues.lines)
    return result


class VSCodeCopilotParser:
    version = 1
    # VS Code's tool ids (``toolId``); the model-facing names of the same tools, for a call
    # known only from the model's rounds, are mostly in the shared table already.
    tool_categories = by_category({
        "Read": ("copilot_readFile", "copilot_getNotebookSummary",
                 "copilot_readNotebookCellOutput", "copilot_getVSCodeAPI",
                 "copilot_getChangedFiles", "copilot_listCodeUsages", "copilot_getErrors",
                 "copilot_githubRepo", "copilot_fetchWebPage", "vscode_fetchWebPage_internal",
                 "copilot_openSimpleBrowser", "copilot_listDirectory", "copilot_listDir",
                 "fetch_webpage", "get_changed_files", "list_code_usages"),
        "Edit": ("copilot_replaceString", "copilot_multiReplaceString", "copilot_applyPatch",
                 "copilot_editNotebook", "vscode_editFile_internal", "copilot_insertEdit",
                 "replace_string_in_file", "multi_replace_string_in_file",
                 "insert_edit_into_file"),
        "Write": ("copilot_createFile", "copilot_createDirectory", "copilot_deleteFile"),
        "Bash": ("copilot_runInTerminal", "run_in_terminal", "copilot_runTerminalLastCommand",
                 "copilot_getTerminalOutput", "get_terminal_output", "copilot_runTests",
                 "runTests", "copilot_runNotebookCell", "copilot_runVscodeCommand",
                 "copilot_terminalCommand", "terminal_last_command"),
        "Grep": ("copilot_searchCodebase", "copilot_findTextInFiles", "copilot_searchFiles",
                 "semantic_search"),
        "Glob": ("copilot_findFiles", "copilot_findFilesByName"),
        "Task": ("runSubagent",),
        "Tool": ("manage_todo_list", "copilot_think"),
    })
    label_heads = LABEL_HEADS

    def matches(self, rel_parts: tuple[str, ...]) -> bool:
        """``workspaceStorage/<hash>/chatSessions/<id>.json[l]`` or
        ``globalStorage/emptyWindowChatSessions/<id>.json[l]`` under VS Code's user folder."""
        name = rel_parts[-1]
        if not name.endswith((".json", ".jsonl")) or name.startswith("."):
            return False
        if len(rel_parts) == 4:
            return rel_parts[0] == "workspaceStorage" and rel_parts[2] == "chatSessions"
        return len(rel_parts) == 3 and rel_parts[0] == "globalStorage" \
            and rel_parts[1] in CHAT_DIRS

    def sniff(self, path: Path) -> bool:
        """A chat session where VS Code keeps them, holding ``requests``."""
        if path.parent.name not in ("chatSessions", *CHAT_DIRS):
            return False
        with path.open("rb") as fh:
            head = fh.read(64 * 1024)
        return b'"requests"' in head and (b'"sessionId"' in head or b'"kind"' in head)

    def root_of(self, path: Path) -> Path:
        """VS Code's ``User`` folder."""
        levels = 3 if path.parent.name == "chatSessions" else 2
        return path.parents[levels] if len(path.parents) > levels else path.parent

    def companion_paths(self, path: Path) -> tuple[Path, ...]:
        """``workspace.json`` names the project; the other form of the same session decides
        which file archives it."""
        others = tuple(p for p in _candidates(path) if p != path)
        if path.parent.name == "chatSessions":
            return (*others, path.parent.parent / WORKSPACE)
        return others

    def parse(self, path: Path, root: Path, options: ParseOptions | None = None) -> ParseResult:
        return _parse(path, options or ParseOptions())


parser: AgentParser = VSCodeCopilotParser()
