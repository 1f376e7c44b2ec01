"""The contract every agent parser implements (``AgentParser``), what a parser returns, and
the helpers every agent parser shares.

Parsers are pure: a file goes in, ``ParseResult`` comes out. No database, no settings.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol, runtime_checkable

import orjson

FIRST_MESSAGE_MAX_BYTES = 300
DEFAULT_BLOCKED_RESULT_CATEGORIES = ("Read", "Glob")
# What an integer column of SQLite and PostgreSQL (BIGINT) holds: every count a parser
# returns is clamped into it, so no value in a transcript can fail the write.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
# Nesting kept in a JSON value a parser stores (a tool input, a usage record); deeper
# containers are dropped. Below orjson's 254 levels, far above any real tool input.
MAX_JSON_DEPTH = 200

# Hears one line about a value a parser clamped or dropped ("usage.input_tokens: ..."); the
# parser adds the line number and puts it in the file's issues.
Note = Callable[[str], None]


@dataclass(frozen=True)
class ParseOptions:
    # Tool categories whose result text is not stored (file dumps: bulky and re-readable).
    blocked_result_categories: tuple[str, ...] = DEFAULT_BLOCKED_RESULT_CATEGORIES
    max_line_bytes: int = 64 * 1024 * 1024


@dataclass
class ParsedResultEvent:
    source: str  # tool_result | function_call_output | custom_tool_call_output
    status: str  # '' | completed | errored
    content: str
    content_length: int
    timestamp: datetime | None
    tool_use_id: str = ""
    event_index: int = 0


@dataclass
class ParsedToolCall:
    tool_use_id: str
    tool_name: str
    category: str
    input_json: str = ""
    skill_name: str = ""
    file_path: str = ""
    call_index: int = 0
    subagent_session_id: str | None = None
    result_content_length: int | None = None
    result_content: str | None = None
    result_events: list[ParsedResultEvent] = field(default_factory=list)


@dataclass
class ParsedMessage:
    role: str  # user | assistant
    content: str = ""
    ordinal: int = 0
    thinking_text: str = ""
    timestamp: datetime | None = None
    has_thinking: bool = False
    has_tool_use: bool = False
    is_system: bool = False
    source_type: str = ""
    source_subtype: str = ""
    model: str = ""
    reasoning_effort: str = ""
    token_usage: str = ""
    context_tokens: int = 0
    output_tokens: int = 0
    has_context_tokens: bool = False
    has_output_tokens: bool = False
    claude_message_id: str = ""
    claude_request_id: str = ""
    source_uuid: str = ""
    source_parent_uuid: str = ""
    is_sidechain: bool = False
    is_compact_boundary: bool = False
    tool_calls: list[ParsedToolCall] = field(default_factory=list)

    @property
    def content_length(self) -> int:
        return len(self.content.encode("utf-8", "surrogatepass"))


@dataclass
class ParsedSession:
    id: str
    agent: str
    project: str = "unknown"
    cwd: str = ""
    git_branch: str = ""
    display_name: str | None = None
    session_kind: str = ""
    started_at: datetime | None = None
    ended_at: datetime | None = None
    parent_session_id: str | None = None
    relationship_type: str = ""
    source_session_id: str = ""
    source_version: str = ""
    termination_status: str = ""
    messages: list[ParsedMessage] = field(default_factory=list)
    # The parser's rule for user messages that are not prompts (Claude's slash commands):
    # they are passed over when choosing first_message.
    not_a_prompt: Callable[[str], bool] | None = field(default=None, repr=False, compare=False)

    # --- derived from the messages -------------------------------------------------------
    @property
    def message_count(self) -> int:
        return len(self.messages)

    @property
    def user_message_count(self) -> int:
        return sum(1 for m in self.messages if m.role == "user" and not m.is_system and m.content)

    @property
    def first_message(self) -> str:
        for m in self.messages:
            if m.role == "user" and not m.is_system and m.content.strip():
                if self.not_a_prompt is not None and self.not_a_prompt(m.content):
                    continue
                return truncate_first_message(m.content)
        return ""

    @property
    def total_output_tokens(self) -> int:
        return clamp_int(sum(m.output_tokens for m in self.messages))

    @property
    def peak_context_tokens(self) -> int:
        return max((m.context_tokens for m in self.messages), default=0)

    @property
    def has_total_output_tokens(self) -> bool:
        return any(m.has_output_tokens for m in self.messages)

    @property
    def has_peak_context_tokens(self) -> bool:
        return any(m.has_context_tokens for m in self.messages)

    @property
    def has_tool_calls(self) -> bool:
        return any(m.tool_calls for m in self.messages)

    def fill_bounds_from_messages(self) -> None:
        stamps = [m.timestamp for m in self.messages if m.timestamp is not None]
        if stamps:
            self.started_at = self.started_at or min(stamps)
            self.ended_at = self.ended_at or max(stamps)


@dataclass
class ParseResult:
    """Everything one file yielded. ``issues`` are one-line, human-readable, with line numbers."""

    path: Path
    sessions: list[ParsedSession] = field(default_factory=list)
    malformed_lines: int = 0
    records: int = 0  # lines that held a JSON object
    is_truncated: bool = False
    issues: list[str] = field(default_factory=list)
    sha256: str = ""
    size: int = 0
    # Database sources only (``DatabaseSource.parse_changed``): every session id the database
    # holds now -> its change marker, including those not re-read. None for a file source.
    markers: dict[str, str] | None = None


class DatabaseReadError(Exception):
    """A database source cannot be read this time (locked, corrupt, not a database): the
    sync warns once for the file and tries again at the next sync."""


@runtime_checkable
class AgentParser(Protocol):
    """What the parser of one agent provides. ``registry.AGENTS`` names each agent's parser;
    discovery, sync, ``session sync`` and the exports ask it, never the agent's name.

    Two optional members (not declared below, so a parser without them still implements the
    protocol; ``companion_paths(parser, path)`` and ``is_database_source`` below ask for them):

    ``companion_paths(path) -> tuple[Path, ...]``
        Files whose changes are changes of the source *path*, although *path* itself may
        not change: a SQLite database's ``-wal`` (in WAL mode a commit writes only that
        file). Discovery folds their sizes and mtimes into the file's (``source_stamp``), so
        the sync notices such a change. ``parsers.database.wal_companions`` is the usual one.

    ``parse_changed(path, root, known, options=None) -> ParseResult`` (``DatabaseSource``)
        For a file holding many sessions (a SQLite database), so that a change to one
        session does not re-read every other. *known* maps each session id the archive holds
        from *path* to the change marker stored with it. The result's ``markers`` holds every
        session id the file holds now with its current marker (at most 64 characters; it
        must change whenever anything of the session does, and be read cheaply, without the
        message contents: e.g. ``database.marker(time_updated, max part time, row counts)``);
        its ``sessions`` are only those whose marker differs from *known* or that *known*
        lacks. A session that cannot be read is left out of ``sessions`` (with an issue) but
        kept in ``markers``. The database is opened read-only (``database.read_only``) and
        never written. Raises ``DatabaseReadError`` when the database cannot be read now;
        ``parse`` is ``parse_changed`` with nothing known, and returns an empty result with
        that issue instead of raising.
        The sync stores each session under the virtual ``file_path`` ``<path>#<id without
        the agent's prefix>`` with its marker as ``file_hash``, writes only the sessions
        returned, and marks the ones no longer in ``markers`` as gone from their source (the
        archive keeps them). ``sync --full`` and a parser version bump pass nothing known.
    """

    # Bump when this parser's output changes: sync re-parses this agent's files, no others'
    # (stored per file in ``SourceFile.parser_version``).
    version: int
    # This agent's tool names -> category (Read, Edit, Bash, ...); the registry merges every
    # parser's into one ``category_of``, so a name means the same whoever called it.
    tool_categories: Mapping[str, str]
    # Heads of the labels this parser writes into a message's text ("[Read: path]" -> Read),
    # which the exports recognise as tool calls.
    label_heads: frozenset[str]

    def matches(self, rel_parts: tuple[str, ...]) -> bool:
        """Is this path, as its parts relative to one of the agent's roots, a session file?"""
        ...

    def sniff(self, path: Path) -> bool:
        """Does this file, lying outside the agent's directories, look like one of its
        transcripts? Reads at most a few lines; an unreadable file raises ``OSError``."""
        ...

    def root_of(self, path: Path) -> Path:
        """The root a transcript lying outside the agent's directories belongs to (the
        directory its layout hangs from), passed to ``parse``."""
        ...

    def parse(self, path: Path, root: Path, options: ParseOptions | None = None) -> ParseResult:
        """Every session one file holds (none, one or several), with what was wrong in it.
        Raises ``FileReadError`` when the file as a whole cannot be read. Counts are read with
        ``as_int`` and JSON values stored with ``compact_json``, whose ``Note`` puts what they
        clamped or dropped in the issues, so that no value can fail the write after it."""
        ...


@runtime_checkable
class DatabaseSource(Protocol):
    """The optional member of a parser whose file holds many sessions (see ``AgentParser``)."""

    def parse_changed(self, path: Path, root: Path, known: Mapping[str, str],
                      options: ParseOptions | None = None) -> ParseResult:
        """The sessions of *path* whose change marker differs from *known*, and every
        session's marker in ``markers``. Raises ``DatabaseReadError`` when unreadable now."""
        ...


def is_database_source(parser: object) -> bool:
    return callable(getattr(parser, "parse_changed", None))


def companion_paths(parser: object, path: Path) -> tuple[Path, ...]:
    """The files whose changes are changes of *path* (the parser's ``companion_paths``)."""
    companions = getattr(parser, "companion_paths", None)
    return tuple(companions(path)) if callable(companions) else ()


def source_stamp(parser: object, path: Path, size: int, mtime_ns: int) -> tuple[int, int]:
    """``(size, mtime_ns)`` of a source with its companions folded in: the sizes summed, the
    newest mtime, so that a write to any of them changes the stamp the sync compares."""
    for companion in companion_paths(parser, path):
        try:
            st = companion.stat()
        except OSError:
            continue  # absent (a checkpointed -wal is removed): only the file itself counts
        if st.st_size == 0:
            continue  # holds nothing (a reader may create an empty -wal): no change to see
        size += st.st_size
        mtime_ns = max(mtime_ns, st.st_mtime_ns)
    return size, mtime_ns


# --- shared helpers ---------------------------------------------------------------------------


def parse_timestamp(value: object) -> datetime | None:
    """RFC 3339 (any fraction length, Z or offset) or ``YYYY-MM-DD HH:MM:SS``; UTC; else None."""
    if not isinstance(value, str) or not value:
        if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
            try:
                seconds = value / 1000 if value > 1e11 else value  # epoch ms or s
                return datetime.fromtimestamp(seconds, tz=UTC)
            except (OverflowError, OSError, ValueError):
                return None
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: year 1 or 9999 moved past UTC
        return None


def truncate_first_message(text: str) -> str:
    """One line, trimmed, at most 300 UTF-8 bytes (never splitting a character) + '...'."""
    flat = " ".join(text.replace("\r", " ").replace("\n", " ").split(" ")).strip()
    encoded = flat.encode("utf-8", "surrogatepass")
    if len(encoded) <= FIRST_MESSAGE_MAX_BYTES:
        return flat
    cut = encoded[:FIRST_MESSAGE_MAX_BYTES].decode("utf-8", "ignore")
    return cut + "..."


_SLASH_COMMAND_RE = re.compile(r"^/[A-Za-z][\w:-]*(\s|$)")


def is_slash_command(text: str) -> bool:
    """``/clear``, ``/model opus``: a command typed to the agent, not a prompt (paths are not)."""
    return bool(_SLASH_COMMAND_RE.match(text.strip()))


def compact_json(value: object, note: Note | None = None, what: str = "JSON value") -> str:
    """JSON text without spaces, keys in their original order, non-ASCII kept.

    A value orjson cannot write (an integer beyond 64 bits, nesting deeper than it goes) is
    written cleaned (``clean_json``), and *note* hears what was clamped or dropped."""
    try:
        return orjson.dumps(value).decode("utf-8")
    except TypeError:  # orjson.JSONEncodeError
        return orjson.dumps(clean_json(value, note, what)).decode("utf-8")


def clean_json(value: object, note: Note | None = None, what: str = "JSON value") -> object:
    """A copy of a decoded JSON value that every store and every JSON writer takes: integers
    clamped to 64 bits, non-finite numbers and containers nested deeper than
    ``MAX_JSON_DEPTH`` replaced by null, lone surrogates by U+FFFD. Iterative, so no depth
    stops it. *note* hears one line per kind of change, naming the value *what*."""
    changes: dict[str, None] = {}  # ordered set
    holder: list[object] = [None]
    stack: list[tuple[object, list | dict, int | str, int]] = [(value, holder, 0, 1)]
    while stack:
        item, target, key, depth = stack.pop()
        if isinstance(item, dict | list | tuple):
            if depth > MAX_JSON_DEPTH:
                target[key] = None
                changes[f"nested deeper than {MAX_JSON_DEPTH} levels; the deeper part is"
                        " dropped"] = None
                continue
            if isinstance(item, dict):
                out: dict | list = {}
                for k, v in item.items():
                    k = _clean_str(k, changes) if isinstance(k, str) else k
                    out[k] = None  # holds the key's place; filled when popped
                    stack.append((v, out, k, depth + 1))
            else:
                out = [None] * len(item)
                stack.extend((v, out, i, depth + 1) for i, v in enumerate(item))
            target[key] = out
        elif isinstance(item, bool) or item is None:
            target[key] = item
        elif isinstance(item, int):
            target[key] = clamp_int(item)
            if target[key] != item:
                changes["numbers beyond 64 bits clamped"] = None
        elif isinstance(item, float):
            target[key] = item if math.isfinite(item) else None
            if target[key] is None:
                changes["non-finite numbers dropped"] = None
        elif isinstance(item, str):
            target[key] = _clean_str(item, changes)
        else:
            target[key] = item
    if note is not None:
        for change in changes:
            note(f"{what} {change}")
    return holder[0]


def _clean_str(text: str, changes: dict[str, None]) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        changes["lone surrogates replaced with U+FFFD"] = None
        return text.encode("utf-8", "replace").decode("utf-8")
    return text


def text_length(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def clamp_int(value: int) -> int:
    """*value* within the signed 64-bit range (for sums of values that each fit)."""
    return INT64_MIN if value < INT64_MIN else INT64_MAX if value > INT64_MAX else value


def as_int(value: object, note: Note | None = None, name: str = "value") -> int:
    """A count read from a transcript: an integer (a float is truncated, a bool is 0 or 1)
    clamped to the signed 64-bit range; a non-finite number (``1e400``, ``NaN``) is dropped;
    anything else is 0. *note* hears what was clamped or dropped, naming the value *name*."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        number = value
    elif isinstance(value, float):
        if not math.isfinite(value):
            if note is not None:
                note(f"{name}: not a finite number ({value}), dropped")
            return 0
        number = int(value)
    else:
        return 0
    clamped = clamp_int(number)
    if clamped != number and note is not None:
        note(f"{name}: {_shown(value)} does not fit in 64 bits, clamped to {clamped}")
    return clamped


def _shown(number: int | float) -> str:
    """A number as a warning line shows it: whole, unless it is very long."""
    if isinstance(number, float):
        return str(int(number)) if number.is_integer() and abs(number) < 1e30 else repr(number)
    return str(number) if abs(number) < 10**60 else f"a {number.bit_length()}-bit number"


def assign_results(
    calls_by_id: dict[str, ParsedToolCall],
    tool_use_id: str,
    text: str,
    *,
    source: str,
    status: str,
    timestamp: datetime | None,
    blocked: tuple[str, ...],
) -> bool:
    """Attach a tool result to its call (by id). Returns False when no call matches."""
    call = calls_by_id.get(tool_use_id)
    if call is None:
        return False
    keep = call.category not in blocked
    length = text_length(text)
    call.result_content_length = length
    call.result_content = text if keep else None
    call.result_events.append(
        ParsedResultEvent(
            source=source,
            status=status,
            content=text if keep else "",
            content_length=length,
            timestamp=timestamp,
            tool_use_id=tool_use_id,
            event_index=len(call.result_events),
        )
    )
    return True
