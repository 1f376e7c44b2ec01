"""Cursor agent transcripts: ``<root>/<project>/agent-transcripts/<id>.txt`` or ``.jsonl``,
also nested as ``<id>/<id>.{txt,jsonl}``, with a subagent's under ``<id>/subagents/``.

The plain-text form is blocks opened by a line ``user:`` or ``assistant:``; a user's prompt is
inside ``<user_query>``; an assistant block holds prose, ``[Thinking]`` blocks, ``[Tool call]
<Name>`` with indented arguments and ``[Tool result] <Name>`` with the indented output. The
JSON-lines form is one ``{"role", "message": {"content"}}`` per line, Anthropic blocks. Neither
records a time: the file's mtime is the session's start and end. The project comes from the
folder name Cursor encodes the workspace path into (``home-dev-projects-webapp``).
"""

from __future__ import annotations

import functools
import hashlib
import re
from datetime import UTC, datetime
from pathlib import Path

import orjson

from sessions_app.parsers.base import (
    AgentParser,
    ParsedMessage,
    ParsedSession,
    ParseOptions,
    ParseResult,
    text_length,
)
from sessions_app.parsers.chatlog import LABEL_HEADS, Builder, Issues, attach, s
from sessions_app.parsers.jsonl import (
    FileReadError,
    JsonlReader,
    head_lines,
    open_session_file,
    read_at_most,
)
from sessions_app.parsers.project import normalize_name
from sessions_app.parsers.registry import AGENTS
from sessions_app.parsers.stores import termination_status
from sessions_app.parsers.tools import by_category

AGENT = "cursor"
ID_PREFIX = AGENTS[AGENT].id_prefix
TRANSCRIPTS = "agent-transcripts"
SUBAGENTS = "subagents"
EXTENSIONS = (".txt", ".jsonl")
# AgentsView skips transcripts above this size (they are typically well under 1 MB).
MAX_TRANSCRIPT_BYTES = 10 * 1024 * 1024
# Folder names a workspace path passes through before the project: unlikely in a user name
# first, then the short ones that could be part of one.
_HIGH_MARKERS = frozenset({"Documents", "Code", "projects", "repos"})
_LOW_MARKERS = frozenset({"code", "src", "work", "dev"})
_LINE_END_CR_RE = re.compile(r"\r+$", re.MULTILINE)
# The lines that shape a transcript, each matched from the newline before it: a marker line
# (group 1, the line from its marker on), that is ``[Thinking]``, ``[Tool result]`` or
# ``[Tool call] <name>`` after optional whitespace (strip() would not leave the space after
# "call]" when no name follows); a line that is only ``user:`` or ``assistant:`` (group 2,
# the role) with optional whitespace around it; or a line holding more than whitespace whose
# first character is not a space or tab. The body of a marker (indented or blank lines) runs
# to the next such line. Last, group 3 (empty) marks a line of a body that is not empty and
# does not start with two spaces: with none, a body whose first line has just two is
# dedented by those (see ``_indent_in``), with no search of its lines. (The lookahead for
# "[", "u" or "a" and the test for two spaces first turn most body lines down sooner.)
_LINE_RE = re.compile(
    r"\n(?:(?=[^\S\n]*+[\[ua])[^\S\n]*+"
    r"(?:(\[(?:Thinking\]|Tool result\]|Tool call\] [^\S\n]*\S)[^\n]*)"
    r"|(user|assistant):[^\S\n]*+$)"
    r"|(?!  |\n|\Z)(?:(?![ \t])[^\S\n]*+\S|()))", re.MULTILINE)
_TWO_SPACES = "  "
# The indentation of each line holding more than whitespace.
_INDENT_RE = re.compile(r"\n([ \t]*)(?=[^\S\n]*\S)")
_NON_SPACE_RE = re.compile(r"\S")
_QUERY_RE = re.compile(r"<user_query>(.*?)</user_query>", re.DOTALL)
# A ``key: value`` (or ``key=value``) line at the margin.
_ARG_RE = re.compile(r"\n([A-Za-z_][\w.-]*)[^\S\n]*[:=][^\S\n]?([^\n]*)")


def project_from_dir(name: str) -> str:
    """The project of a Cursor folder name (the workspace path, ``/`` and ``.`` as ``-``):
    what follows the first checkout folder after the home directory, else the last two
    components."""
    if not name:
        return "unknown"
    parts = name.split("-")
    start = -1
    if len(parts) >= 3 and parts[0] in ("Users", "home"):
        start = 2
    elif len(parts) >= 4 and len(parts[0]) == 1 and parts[1] == "Users":  # C-Users-...
        start = 3
    if start >= 0:
        for markers in (_HIGH_MARKERS, _LOW_MARKERS):
            for index in range(start, len(parts) - 1):
                if parts[index] in markers and "-".join(parts[index + 1:]):
                    return normalize_name("-".join(parts[index + 1:]))
    return normalize_name("-".join(parts[-2:]) if len(parts) >= 2 else name)


# --- the plain-text form ------------------------------------------------------------------------


@functools.cache
def _cut_re(cut: int) -> re.Pattern[str]:
    """Removes *cut* characters from each line, or the spaces and tabs of a shorter one."""
    return re.compile(rf"\n(?:[^\n]{{{cut}}}|[ \t]*)")


@functools.cache
def _other_re(indent: str) -> re.Pattern[str]:
    """A line neither empty nor starting with *indent*."""
    return re.compile(rf"\n(?!{re.escape(indent)}|\n|\Z)")


def _dedent(body: str) -> str:
    """*body* (lines each after a newline) less the indentation its non-blank lines share;
    '' when it holds only whitespace."""
    found = _INDENT_RE.search(body)
    if found is None:
        return ""
    indent, pos = found.group(1), 0
    # The usual body: each line empty or starting with one indentation, the least; found
    # from the first line's, shortened at each line whose own is a shorter part of it.
    while (other := _other_re(indent).search(body, pos)) is not None:
        found = _INDENT_RE.match(body, other.start())
        if found is None or not indent.startswith(found.group(1)):
            return _cut_re(len(min(_INDENT_RE.findall(body), key=len))).sub("\n", body)
        indent, pos = found.group(1), other.start()
    return body.replace("\n" + indent, "\n")


def _indent_in(text: str, start: int, end: int) -> str | None:
    """The indentation ``_dedent`` takes off the lines of *text* from *start* (a newline) to
    *end* on its usual path; None off that path, or when they hold only whitespace. (When
    ``_LINE_RE`` found each line empty or starting with two spaces, and the first holding
    anything starts with just two, those are the indentation: the callers look first.)"""
    found = _INDENT_RE.search(text, start, end)
    if found is None:
        return None
    indent, pos = found.group(1), start
    while (other := _other_re(indent).search(text, pos, end)) is not None:  # as _dedent
        found = _INDENT_RE.match(text, other.start(), end)
        if found is None or not indent.startswith(found.group(1)):
            return None
        indent, pos = found.group(1), other.start()
    return indent


def _output(text: str, start: int, end: int, aligned: bool, length_only: bool) -> str | int:
    """``_dedent(text[start:end]).strip()``, copying the body once (twice when it is
    indented) rather than three times: the stripped lines are cut from *text*, then lose
    the indentation (which is whitespace, so stripping first leaves the same text). With
    *length_only*, the UTF-8 length of that text instead, not making it: the stripped lines'
    less the indentation taken off each (spaces and tabs, a byte each)."""
    found = _INDENT_RE.search(text, start, end)
    if found is None:  # only whitespace
        return 0 if length_only else ""
    indent = found.group(1)
    if not (aligned and indent == _TWO_SPACES):
        indent = _indent_in(text, start, end)
        if indent is None:
            output = _dedent(text[start:end]).strip()
            return text_length(output) if length_only else output
    first, last = _NON_SPACE_RE.search(text, start, end).start(), end
    while text[last - 1].isspace():  # stops at the first non-space char, at the latest
        last -= 1
    if length_only:
        return text_length(text[first:last]) - text.count("\n" + indent, first, last) * len(
            indent)
    return text[first:last].replace("\n" + indent, "\n") if indent else text[first:last]


@functools.cache
def _key_re(indent: str) -> re.Pattern[str]:
    """``_ARG_RE`` for lines that start with *indent*: a key at the margin once dedented."""
    return re.compile(r"\n" + re.escape(indent) + _ARG_RE.pattern[2:])


def _arguments(text: str, start: int, end: int, aligned: bool) -> object:
    """A call's indented arguments (the lines of *text* from *start*, a newline, to *end*;
    *aligned*: each empty or starting with two spaces): a JSON value, ``key: value`` (or
    ``key=value``) lines, more-indented lines continuing the value above; else the text
    itself.

    When the lines share an indentation, the body is split at its key lines without being
    dedented, as ``_ARG_RE`` would split the dedented body (each line loses the same
    indentation; a value's lines are stripped anyway)."""
    found = _INDENT_RE.search(text, start, end)
    if aligned and found is not None and found.group(1) == _TWO_SPACES:
        indent: str | None = _TWO_SPACES  # as _indent_in would find, without its search
    else:
        indent = _indent_in(text, start, end)
    if indent is None:  # lines indented unlike each other, or only whitespace
        return _body_arguments(_dedent(text[start:end]))
    body = text[start:end]
    return _key_arguments(body, _key_re(indent).split(body), indent)


def _body_arguments(text: str) -> object:
    """``_arguments`` of a body already dedented."""
    if not text:
        return None
    return _key_arguments(text, _ARG_RE.split(text), "")


def _key_arguments(body: str, parts: list[str], indent: str) -> object:
    """The arguments of a *body* split at its key lines into the text before the first,
    then each key, the rest of its line and the lines up to the next: its ``key: value``
    lines, else (no key, or something else first) JSON or the text."""
    if len(parts) == 1 or parts[0] and not parts[0].isspace():
        return _raw_arguments(body.replace("\n" + indent, "\n") if indent else body)
    args: dict[str, str] = {}
    keys = iter(parts)
    next(keys)
    for key, value, rest in zip(keys, keys, keys, strict=True):
        if rest and not rest.isspace():  # lines continuing the value, blank ones skipped
            args[key] = "\n".join([value.strip(),
                                    *filter(None, map(str.strip, rest.split("\n")))])
        else:
            args[key] = value.strip()
    return args


def _raw_arguments(text: str) -> object:
    """Arguments whose first line holding anything is not a key's: JSON, else the text."""
    raw = text.strip()
    if raw[:1] in ("{", "["):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
    return raw


def _text_session(text: str, builder: Builder, has_cr: bool = True) -> int:
    """The messages of a plain-text transcript; returns how many blocks it held.

    The text is read in one pass of ``_LINE_RE``, not line by line: the pattern starts with
    the newline before the line it matches, a literal prefix the regex engine skips to in C,
    and most lines (a body's) match nothing. The first line, with no newline before it, is
    matched apart (a copy of the whole text with one in front would cost more than the
    pass). A block is the lines after a ``user:`` or ``assistant:`` line up to the next one
    (what precedes the first is dropped)."""
    if has_cr and "\r" in text:  # CRLF (or stray CR) line ends: read as if they ended before it
        text = _LINE_END_CR_RE.sub("", text)
    blocked = builder.options.blocked_result_categories
    blocks = 0
    role = ""  # the block being read: "user", "assistant", or "" before the first
    start = 0  # where the block's lines start (the newline ending its role line)
    message = None  # an assistant block's message
    pieces: list[str] = []  # its content's lines: joined once, at the end of the block
    prose_start = 0  # where the prose before the next marker starts
    head, body_start = "", -1  # the marker whose body is being read, and where it starts
    aligned = True  # whether each line of that body so far is empty or starts with two spaces
    first_end = text.find("\n")
    if first_end < 0:
        first_end = len(text)
    first = _LINE_RE.match("\n" + text[:first_end])
    if first is not None and first.group(2) is not None:  # only a role counts before a block
        blocks, role, start = 1, first.group(2), first.end() - 1
        if role == "assistant":
            message = builder.add("assistant", "", None)
            prose_start = start
    for line in _LINE_RE.finditer(text, first_end):
        kind = line.lastindex  # 1 a marker, 2 a role, None prose at the margin, 3 neither
        if kind == 3:  # a line of a body, not aligned
            aligned = False
            continue
        if kind == 2:
            at = line.start()
            _end_block(text, role, start, at, message, pieces, prose_start, head, body_start,
                       aligned, builder)
            blocks += 1
            role, start = line.group(2), line.end()
            head, body_start = "", -1
            if role == "assistant":
                message = builder.add("assistant", "", None)
                pieces = []
                prose_start = start
            continue
        if role != "assistant":
            continue
        if body_start >= 0:  # a marker's body ends at this line
            at = line.start()
            _marker(message, pieces, head, text, body_start, at, aligned, builder, blocked)
            body_start = -1
            prose_start = at
        if kind is None:
            continue
        at = line.start()
        if at > prose_start:
            prose = text[prose_start:at].strip()
            if prose:  # prose goes into the text where it stood among the calls
                pieces.append(prose)
        head, body_start, aligned = line.group(1).strip(), line.end(), True
    _end_block(text, role, start, len(text), message, pieces, prose_start, head, body_start,
               aligned, builder)
    return blocks


def _end_block(text: str, role: str, start: int, end: int, message: ParsedMessage | None,
               pieces: list[str], prose_start: int, head: str, body_start: int,
               aligned: bool, builder: Builder) -> None:
    """What the block ending at *end* holds after its last marker, or a user's prompt; an
    assistant's content is its *pieces*, a line each (as ``Builder`` would add them)."""
    if role == "user":
        query = _QUERY_RE.search(text, start, end)
        builder.add("user", (query.group(1) if query else text[start:end]).strip(), None)
    elif role == "assistant" and message is not None:
        if body_start >= 0:
            _marker(message, pieces, head, text, body_start, end, aligned, builder,
                    builder.options.blocked_result_categories)
        else:
            prose = text[prose_start:end].strip()
            if prose:
                pieces.append(prose)
        message.content = "\n".join(pieces)


def _marker(message: ParsedMessage, pieces: list[str], head: str, text: str, start: int,
            end: int, aligned: bool, builder: Builder, blocked: tuple[str, ...]) -> None:
    """One ``[Thinking]``, ``[Tool call]`` or ``[Tool result]`` and its body, the lines of
    *text* from *start* (a newline) to *end* (*aligned*: each empty or starting with two
    spaces). What the builder writes into the message's content (empty while the block is
    read) goes to *pieces*."""
    if head.startswith("[Tool call] "):
        name = head[len("[Tool call] "):].strip() or "unknown"
        args = _arguments(text, start, end, aligned)
        builder.call(message, name, args if not isinstance(args, str) else {"input": args})
        if message.content:
            pieces.append(message.content)
            message.content = ""
    elif head.startswith("[Tool result]"):  # the output of the latest call of that name
        name = head[len("[Tool result]"):].strip()
        for call in reversed(message.tool_calls):
            if call.result_events:
                continue
            if not name or call.tool_name == name:
                if call.category in blocked:  # only the length is kept
                    attach(call, "", timestamp=None, blocked=blocked,
                           length=_output(text, start, end, aligned, True))
                else:
                    attach(call, _output(text, start, end, aligned, False), timestamp=None,
                           blocked=blocked)
                break
    else:  # [Thinking]
        first = head[len("[Thinking]"):].strip()
        builder.thinking(message, (first + _dedent(text[start:end])).strip())
        if message.content:
            pieces.append(message.content)
            message.content = ""


# --- the JSON-lines form ----------------------------------------------------------------------


def _user_text(content: object) -> str:
    if isinstance(content, str):
        joined = content
    elif isinstance(content, list):
        joined = "\n".join(s(b.get("text")) for b in content
                           if isinstance(b, dict) and b.get("type") == "text" and s(b.get("text")))
    else:
        return ""
    query = _QUERY_RE.search(joined)
    return (query.group(1) if query else joined).strip()


def _result_text(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(s(b.get("text")) for b in content
                         if isinstance(b, dict) and s(b.get("text")))
    return ""


def _jsonl_session(reader: JsonlReader, builder: Builder) -> None:
    for lineno, obj in reader:
        role = obj.get("role")
        message_obj = obj.get("message")
        if role not in ("user", "assistant") or not isinstance(message_obj, dict):
            continue
        content = message_obj.get("content")
        note = lambda text, n=lineno: reader.issue(n, text)  # noqa: E731
        if role == "user":
            if isinstance(content, list):
                for block in content:
                    if isinstance(block, dict) and block.get("type") == "tool_result":
                        status = "errored" if block.get("is_error") is True else "completed"
                        builder.result(s(block.get("tool_use_id")),
                                       _result_text(block.get("content")), status=status)
            builder.add("user", _user_text(content), None)
            continue
        message = builder.add("assistant", "", None)
        blocks = content if isinstance(content, list) else []
        if isinstance(content, str):
            blocks = [{"type": "text", "text": content}]
        for block in blocks:
            if not isinstance(block, dict):
                continue
            kind = block.get("type")
            if kind == "text" and s(block.get("text")).strip():
                text = s(block.get("text")).strip()
                message.content = f"{message.content}\n{text}" if message.content else text
            elif kind in ("thinking", "redacted_thinking"):
                builder.thinking(message, s(block.get("thinking")).strip())
            elif kind == "tool_use":
                inp = block.get("input")
                builder.call(message, s(block.get("name")), inp if inp is not None else None,
                             s(block.get("id")), note)
        if isinstance(message_obj.get("model"), str):
            message.model = message_obj["model"]


# --- files --------------------------------------------------------------------------------------


def _layout(rel: tuple[str, ...]) -> tuple[str, str | None] | None:
    """(session stem, parent stem or None) of a transcript's path under the root."""
    if len(rel) < 3 or rel[1] != TRANSCRIPTS:
        return None
    name = rel[-1]
    stem, dot, ext = name.rpartition(".")
    if not dot or f".{ext}" not in EXTENSIONS or not stem:
        return None
    if len(rel) == 3:
        return stem, None
    if len(rel) == 4 and rel[2] == stem:
        return stem, None
    if len(rel) == 5 and rel[3] == SUBAGENTS:
        return stem, rel[2]
    return None


def _candidates(path: Path) -> list[Path]:
    """Every file that may hold the transcript of *path*'s session, in the order one owns
    it when several exist (text before JSON lines, which Cursor writes later; flat before
    nested): the owner is the first that exists."""
    stem, parent = path.stem, path.parent
    if parent.name == SUBAGENTS:
        return [parent / f"{stem}.txt", parent / f"{stem}.jsonl"]
    transcripts = parent.parent if parent.name == stem else parent
    nested = transcripts / stem
    return [transcripts / f"{stem}.txt", nested / f"{stem}.txt",
            transcripts / f"{stem}.jsonl", nested / f"{stem}.jsonl"]


def _mtime(path: Path) -> datetime | None:
    try:
        return datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
    except (OSError, OverflowError, ValueError):
        return None


def _relative(path: Path, root: Path) -> tuple[str, ...] | None:
    try:
        return path.relative_to(root).parts
    except ValueError:
        return None


def _root_of(path: Path) -> Path:
    """The folder holding the project folder of a transcript (its ``agent-transcripts``'
    grandparent)."""
    parts = path.parts
    if TRANSCRIPTS in parts[:-1]:
        index = len(parts) - 2 - parts[-2::-1].index(TRANSCRIPTS)
        if index >= 2:
            return Path(*parts[:index - 1])
    return path.parent


def _parse(path: Path, root: Path, options: ParseOptions) -> ParseResult:
    result = ParseResult(path=path)
    issues = Issues()
    rel = _relative(path, root)
    if rel is None or _layout(rel) is None:
        root = _root_of(path)
        rel = _relative(path, root) or (path.parent.name, TRANSCRIPTS, path.name)
    stem, parent_stem = _layout(rel) or (path.stem, None)
    if any(root.joinpath(*rel[:i]).is_symlink() for i in range(1, len(rel))):
        with open_session_file(path) as fh:
            result.size = len(read_at_most(fh, MAX_TRANSCRIPT_BYTES + 1))
        result.records = 1
        result.issues = ["a symlinked folder under the Cursor root; skipped"]
        return result
    existing = [p for p in _candidates(path) if p.is_file()]
    owner = existing[0] if existing else path
    source = next((p for p in existing if p.suffix == ".jsonl"), owner)
    if owner != path and path in existing:
        # another file of the same session archives it (the .jsonl is read whichever it is)
        with open_session_file(path) as fh:
            result.size = len(read_at_most(fh, MAX_TRANSCRIPT_BYTES + 1))
        result.records = 1
        return result
    with open_session_file(path) as fh:
        try:
            own = read_at_most(fh, MAX_TRANSCRIPT_BYTES + 1)
        except OSError as exc:
            raise FileReadError(exc.strerror or str(exc)) from None
    result.size = len(own)
    result.sha256 = hashlib.sha256(own).hexdigest()
    if source != path:
        issues.add(f"the session is read from {source.name}, which Cursor wrote after this file")
    if len(own) > MAX_TRANSCRIPT_BYTES:
        issues.add(f"larger than {MAX_TRANSCRIPT_BYTES // (1024 * 1024)} MiB, not read")
        result.records = 1
        result.issues = list(issues.lines)
        return result
    builder = Builder(options)
    if source.suffix == ".jsonl":
        reader = JsonlReader(source, options.max_line_bytes)
        try:
            _jsonl_session(reader, builder)
        except FileReadError:
            if source == path:
                raise
            issues.add(f"{source.name}: cannot be read; nothing archived this time")
            result.records = 1
            result.issues = list(issues.lines)
            return result
        result.records = reader.records
        result.malformed_lines = reader.malformed
        result.is_truncated = reader.truncated
        for issue in reader.issues:
            issues.add(issue if source == path else f"{source.name}: {issue}")
    else:
        # the checks look at the bytes (memchr), not the text: a NUL or CR byte is one in the
        # text too, and a U+FFFD not in the file comes only from a failed strict decoding
        try:
            text = own.decode("utf-8")
        except UnicodeDecodeError:
            text = own.decode("utf-8", "replace")
            if b"\xef\xbf\xbd" not in own:
                issues.add("invalid UTF-8 replaced with U+FFFD")
        if b"\x00" in own:
            text = text.replace("\x00", "")
            issues.add("NUL characters removed")
        result.records = _text_session(text, builder, b"\r" in own)
        if not result.records and own.strip():
            issues.add("no user: or assistant: block; not a transcript")
    result.issues = list(issues.lines)
    messages = builder.finish()
    if not messages:
        return result
    clock = _mtime(source)
    session = ParsedSession(
        id=ID_PREFIX + stem,
        agent=AGENT,
        project=project_from_dir(rel[0]),
        started_at=clock,
        ended_at=clock,
        parent_session_id=ID_PREFIX + parent_stem if parent_stem else None,
        relationship_type="subagent" if parent_stem else "",
        source_session_id=stem,
        source_version="jsonl" if source.suffix == ".jsonl" else "txt",
        messages=messages,
    )
    session.termination_status = "truncated" if result.is_truncated else termination_status(
        messages)
    result.sessions = [session]
    return result


class CursorParser:
    version = 1
    tool_categories = by_category({
        "Read": ("ReadLints", "list_dir", "read_lints"),
        "Write": ("Delete", "delete_file"),
        "Edit": ("EditNotebook", "edit_notebook", "search_replace"),
        "Grep": ("SemanticSearch",),
    })
    label_heads = LABEL_HEADS

    def matches(self, rel_parts: tuple[str, ...]) -> bool:
        """``<project>/agent-transcripts/<id>.{txt,jsonl}``, ``.../<id>/<id>.*`` or
        ``.../<id>/subagents/<child>.*``."""
        return _layout(rel_parts) is not None

    def sniff(self, path: Path) -> bool:
        """A file in an ``agent-transcripts`` layout whose first line is ``user:`` or a JSON
        ``{"role", "message"}`` line with no other agent's keys."""
        if TRANSCRIPTS not in path.parts[-4:-1]:
            return False
        for line in head_lines(path, 20):
            stripped = line.strip()
            if not stripped:
                continue
            if stripped in (b"user:", b"assistant:"):
                return True
            try:
                obj = orjson.loads(stripped)
            except orjson.JSONDecodeError:
                return False
            return (isinstance(obj, dict) and obj.get("role") in ("user", "assistant")
                    and isinstance(obj.get("message"), dict)
                    and not {"type", "sessionId", "uuid"} & obj.keys())
        return False

    def root_of(self, path: Path) -> Path:
        return _root_of(path)

    def companion_paths(self, path: Path) -> tuple[Path, ...]:
        """The other files of the same session: which one owns it depends on which exist."""
        return tuple(p for p in _candidates(path) if p != path)

    def parse(self, path: Path, root: Path, options: ParseOptions | None = None) -> ParseResult:
        return _parse(path, root, options or ParseOptions())


parser: AgentParser = CursorParser()

