"""Row shapes of the session tables, in one canonical column order.

Ingest writes these tuples, the push copies them, and the content digest hashes them, so a
column added here is written, pushed and fingerprinted at once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time

import orjson
from django.db import models

from sessions_app.models import Message, Session, ToolCall, ToolResultEvent
from sessions_app.parsers.base import ParsedSession, ParseResult

# Session columns that come from parsing (everything a re-parse may change).
SESSION_PARSED_COLUMNS = (
    "project", "agent", "session_kind", "first_message", "display_name", "started_at",
    "ended_at", "message_count", "user_message_count", "parent_session_id",
    "relationship_type", "cwd", "git_branch", "source_session_id", "source_version",
    "termination_status", "file_path", "parser_malformed_lines", "is_truncated",
    "total_output_tokens", "peak_context_tokens", "has_total_output_tokens",
    "has_peak_context_tokens", "has_tool_calls", "has_context_data",
)
PARSED_MESSAGE_COLUMNS = (
    "session_id", "ordinal", "role", "content", "thinking_text", "timestamp", "has_thinking",
    "has_tool_use", "content_length", "is_system", "source_type", "source_subtype", "model",
    "reasoning_effort", "token_usage", "context_tokens", "output_tokens", "has_context_tokens",
    "has_output_tokens", "claude_message_id", "claude_request_id", "source_uuid",
    "source_parent_uuid", "is_sidechain", "is_compact_boundary",
)
# The stored message row: the parsed columns, then the cost of its usage, derived from them
# and the price table (sessions_app/usage), so it stays out of the content digest.
MESSAGE_COLUMNS = (*PARSED_MESSAGE_COLUMNS, "cost_microdollars")
TOOL_CALL_COLUMNS = (
    "session_id", "message_ordinal", "call_index", "tool_name", "category", "tool_use_id",
    "input_json", "skill_name", "file_path", "result_content_length", "result_content",
    "subagent_session_id",
)
EVENT_COLUMNS = (
    "session_id", "tool_call_message_ordinal", "call_index", "tool_use_id", "source", "status",
    "content", "content_length", "timestamp", "event_index",
)

Row = tuple


def session_values(parsed: ParsedSession, file_path: str, malformed: int, truncated: bool) -> dict:
    return {
        "project": parsed.project,
        "agent": parsed.agent,
        "session_kind": parsed.session_kind,
        "first_message": parsed.first_message,
        "display_name": parsed.display_name,
        "started_at": parsed.started_at,
        "ended_at": parsed.ended_at,
        "message_count": parsed.message_count,
        "user_message_count": parsed.user_message_count,
        "parent_session_id": parsed.parent_session_id,
        "relationship_type": parsed.relationship_type,
        "cwd": parsed.cwd,
        "git_branch": parsed.git_branch,
        "source_session_id": parsed.source_session_id,
        "source_version": parsed.source_version,
        "termination_status": parsed.termination_status,
        "file_path": file_path,
        "parser_malformed_lines": malformed,
        "is_truncated": truncated,
        "total_output_tokens": parsed.total_output_tokens,
        "peak_context_tokens": parsed.peak_context_tokens,
        "has_total_output_tokens": parsed.has_total_output_tokens,
        "has_peak_context_tokens": parsed.has_peak_context_tokens,
        "has_tool_calls": parsed.has_tool_calls,
        "has_context_data": parsed.has_peak_context_tokens,
    }


def message_rows(parsed: ParsedSession) -> list[Row]:
    """The parsed columns of each message (``PARSED_MESSAGE_COLUMNS``)."""
    sid = parsed.id
    return [
        (
            sid, m.ordinal, m.role, m.content, m.thinking_text, m.timestamp, m.has_thinking,
            m.has_tool_use, m.content_length, m.is_system, m.source_type, m.source_subtype,
            m.model, m.reasoning_effort, m.token_usage, m.context_tokens, m.output_tokens,
            m.has_context_tokens, m.has_output_tokens, m.claude_message_id, m.claude_request_id,
            m.source_uuid, m.source_parent_uuid, m.is_sidechain, m.is_compact_boundary,
        )
        for m in parsed.messages
    ]


def tool_call_rows(parsed: ParsedSession) -> list[Row]:
    sid = parsed.id
    return [
        (
            sid, m.ordinal, c.call_index, c.tool_name, c.category, c.tool_use_id, c.input_json,
            c.skill_name, c.file_path, c.result_content_length, c.result_content,
            c.subagent_session_id,
        )
        for m in parsed.messages
        for c in m.tool_calls
    ]


def event_rows(parsed: ParsedSession) -> list[Row]:
    sid = parsed.id
    return [
        (
            sid, m.ordinal, c.call_index, e.tool_use_id, e.source, e.status, e.content,
            e.content_length, e.timestamp, e.event_index,
        )
        for m in parsed.messages
        for c in m.tool_calls
        for e in c.result_events
    ]


def canonical(value: object) -> object:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return value


def _default(value: object) -> object:
    """orjson's hook for the times it is told to pass through: datetimes as ``canonical``
    has them, dates and times as orjson itself writes them."""
    if isinstance(value, datetime):
        return canonical(value)
    if isinstance(value, date | time):
        return value.isoformat()
    raise TypeError(type(value).__name__)


_PER_VALUE = frozenset({bool, list, tuple, dict})


def _bool_columns(model: type[models.Model], columns: Sequence[str]) -> tuple[int, ...]:
    names = {f.column for f in model._meta.concrete_fields if isinstance(f, models.BooleanField)}
    return tuple(i for i, c in enumerate(columns) if c in names)


def _feed(digest: hashlib._Hash, rows: Iterable[Sequence[object]], bools: Sequence[int]
          ) -> None:
    """Each row as ``canonical`` values in JSON: the boolean columns made 0/1 by position
    and the times by orjson's hook, instead of a call per value (a sync hashes millions);
    a row with a boolean elsewhere or a container takes the per-value way, so the bytes are
    those of ``canonical`` on every value."""
    dumps, passthrough = orjson.dumps, orjson.OPT_PASSTHROUGH_DATETIME
    for row in rows:
        if bools:
            row = list(row)
            for i in bools:
                if type(row[i]) is bool:
                    row[i] = int(row[i])
        if _PER_VALUE.isdisjoint(map(type, row)):
            digest.update(dumps(row, default=_default, option=passthrough))
        else:  # a boolean elsewhere, or a container (whose times orjson writes its way)
            digest.update(dumps([canonical(v) for v in row]))
        digest.update(b"\n")


def content_digest(
    values: dict,
    messages: Iterable[Sequence[object]],
    tool_calls: Iterable[Sequence[object]],
    events: Iterable[Sequence[object]],
) -> str:
    """SHA-256 over every parsed field of a session and of all its rows.

    Values are normalised (booleans as 0/1, times as UTC text) so rows read back from SQLite
    or PostgreSQL hash the same as the rows that were written.
    """
    digest = hashlib.sha256()
    _feed(digest, [[values[c] for c in SESSION_PARSED_COLUMNS]], _SESSION_BOOLS)
    for label, rows, bools in ((b"M", messages, _MESSAGE_BOOLS), (b"T", tool_calls, _CALL_BOOLS),
                               (b"E", events, _EVENT_BOOLS)):
        digest.update(label)
        _feed(digest, rows, bools)
    return digest.hexdigest()


_SESSION_BOOLS = _bool_columns(Session, SESSION_PARSED_COLUMNS)
_MESSAGE_BOOLS = _bool_columns(Message, PARSED_MESSAGE_COLUMNS)
_CALL_BOOLS = _bool_columns(ToolCall, TOOL_CALL_COLUMNS)
_EVENT_BOOLS = _bool_columns(ToolResultEvent, EVENT_COLUMNS)


# --- what a column can hold -------------------------------------------------------------------


def _text_limits(model: type[models.Model]) -> dict[str, int]:
    """The bounded text columns of *model* (PostgreSQL refuses longer; SQLite would not)."""
    return {f.name: f.max_length for f in model._meta.concrete_fields
            if isinstance(f, models.CharField) and f.max_length}


SESSION_LIMITS = _text_limits(Session)
MESSAGE_LIMITS = _text_limits(Message)
TOOL_CALL_LIMITS = _text_limits(ToolCall)
EVENT_LIMITS = _text_limits(ToolResultEvent)


def _fit(obj: object, limits: dict[str, int], where: str, notes: list[str]) -> None:
    for name, limit in limits.items():
        value = getattr(obj, name, None)
        if isinstance(value, str) and len(value) > limit:
            setattr(obj, name, value[:limit])
            notes.append(f"{where}{name} is {len(value)} characters, cut to {limit}")


def fit_to_columns(result: ParseResult) -> None:
    """Cut every parsed text to what its column holds, in place, with a warning in the
    result's issues for each cut, so a value too long for PostgreSQL is archived shortened
    (the same on both databases) instead of failing that session's push forever."""
    notes: list[str] = []
    for session in result.sessions:
        head = f"session {session.id[:80]}: "
        _fit(session, SESSION_LIMITS, head, notes)
        for message in session.messages:
            _fit(message, MESSAGE_LIMITS, f"{head}message {message.ordinal}: ", notes)
            for call in message.tool_calls:
                where = f"{head}message {message.ordinal} tool call {call.call_index}: "
                _fit(call, TOOL_CALL_LIMITS, where, notes)
                for event in call.result_events:
                    _fit(event, EVENT_LIMITS, where + "result: ", notes)
    result.issues.extend(notes)
