"""Write one parsed session into the archive, atomically.

A session's row, messages, tool calls and result events are replaced together in one
transaction, so a crash never leaves half a session. A re-parse that yields exactly what is
stored (same content digest) rewrites nothing and does not mark the session modified.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import Enum

from django.db import connections, transaction
from django.db.models import Model

from analytics_app.scoring import NO_RULES, AutomatedRules
from sessions_app.choices import TombstoneKind
from sessions_app.models import Message, Session, Tombstone, ToolCall, ToolResultEvent
from sessions_app.parsers.base import ParsedSession
from sessions_app.parsers.registry import parser_for
from sessions_app.rows import (
    EVENT_COLUMNS,
    MESSAGE_COLUMNS,
    PARSED_MESSAGE_COLUMNS,
    TOOL_CALL_COLUMNS,
    content_digest,
    event_rows,
    message_rows,
    session_values,
    tool_call_rows,
)
from sessions_app.sanitize import pg_row, pg_text
from sessions_app.services.rescore import rollup_columns, signal_columns
from sessions_app.usage import records as usage
from sessions_app.usage.pricing import PriceTable, builtin_table


class WriteResult(Enum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    CONFLICT = "conflict"  # the id belongs to another file that still exists
    SHRUNK = "shrunk"  # the file now yields fewer messages: the archived copy is kept
    TOMBSTONED = "tombstoned"  # deleted for good by a person: never archived again


@dataclass(frozen=True)
class SourceInfo:
    """Where a parsed session came from."""

    path: str
    size: int
    mtime_ns: int
    sha256: str
    malformed_lines: int = 0
    truncated: bool = False


@dataclass(frozen=True)
class SessionRows:
    """Everything ``write_session`` stores for one parsed session, before it touches the
    database: the parsed columns, the child rows, their digest, the signals and rollups."""

    values: dict
    messages: list[tuple]
    tool_calls: list[tuple]
    events: list[tuple]
    digest: str
    signals: dict
    rollup: dict
    usage: dict
    times_prepared: bool = False  # the child rows' times already as the database takes them


TIME_COLUMNS = ("timestamp",)  # of messages and result events
_USAGE_AT = [PARSED_MESSAGE_COLUMNS.index(name) for name in usage.MESSAGE_FIELDS]


def build_rows(parsed: ParsedSession, source: SourceInfo, *, now: datetime,
               rules: AutomatedRules = NO_RULES, prices: PriceTable | None = None
               ) -> SessionRows:
    """The rows of *parsed*, computed without the database (the parser fuzz test runs this
    on every mutant transcript)."""
    prices = prices or builtin_table()
    values = session_values(parsed, source.path, source.malformed_lines, source.truncated)
    parsed_messages = message_rows(parsed)
    calls, events = tool_call_rows(parsed), event_rows(parsed)
    found = usage.records(([row[i] for i in _USAGE_AT] for row in parsed_messages), prices)
    costs = usage.message_costs(found)
    messages = [(*row, costs.get(row[1])) for row in parsed_messages]
    return SessionRows(
        values=values,
        messages=messages,
        tool_calls=calls,
        events=events,
        digest=content_digest(values, parsed_messages, calls, events),
        signals=signal_columns(parsed, rules, now),
        rollup=rollup_columns(messages, calls, events),
        usage=usage.session_columns(found, prices,
                                    parsed.started_at or parsed.ended_at or now),
    )


def prepare_times(rows: SessionRows, using: str) -> SessionRows:
    """*rows* with the child rows' times as SQLite stores them (text), by the backend's own
    adapter: a parser process does it, so the process that writes does not. Unchanged for
    another database (PostgreSQL takes datetimes)."""
    connection = connections[using]
    if connection.vendor == "postgresql" or rows.times_prepared:
        return rows
    return replace(rows, messages=_times_as_text(connection, rows.messages, MESSAGE_COLUMNS,
                                                 TIME_COLUMNS),
                   events=_times_as_text(connection, rows.events, EVENT_COLUMNS, TIME_COLUMNS),
                   times_prepared=True)


def _times_as_text(connection, rows: list[tuple], columns: Sequence[str],
                   time_columns: Sequence[str]) -> list[tuple]:
    """*rows* with their *time_columns* adapted by the SQLite backend; only those columns are
    touched (rows have dozens)."""
    adapt = connection.ops.adapt_datetimefield_value
    at = [columns.index(c) for c in time_columns]
    out = []
    for row in rows:
        values = list(row)
        for i in at:
            if values[i] is not None:
                values[i] = adapt(values[i])
        out.append(tuple(values))
    return out


def insert_rows(using: str, table: str, columns: Sequence[str], rows: list[tuple],
                time_columns: Sequence[str] = ()) -> None:
    """Bulk insert raw row tuples (one executemany), adapting times and text to the backend."""
    if not rows:
        return
    connection = connections[using]
    is_pg = connection.vendor == "postgresql"
    if time_columns and not is_pg:
        rows = _times_as_text(connection, rows, columns, time_columns)
    if is_pg:
        rows = [pg_row(row) for row in rows]
    quote = connection.ops.quote_name
    sql = "INSERT INTO {} ({}) VALUES ({})".format(
        quote(table), ", ".join(quote(c) for c in columns), ", ".join(["%s"] * len(columns))
    )
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def _found(using: str, model: type[Model], where: str, params: list) -> bool:
    """Whether a row of *model* matches *where* (one indexed lookup, no ORM compiling)."""
    connection = connections[using]
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT 1 FROM {table} WHERE {where} LIMIT 1", params)
        return cursor.fetchone() is not None


@functools.cache
def _upsert_sql(using: str, table: str, columns: tuple[str, ...], conflict: str,
                updated: tuple[str, ...]) -> str:
    quote = connections[using].ops.quote_name
    sets = ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in updated)
    return (f"INSERT INTO {quote(table)} ({', '.join(quote(c) for c in columns)})"
            f" VALUES ({', '.join(['%s'] * len(columns))})"
            f" ON CONFLICT ({quote(conflict)}) DO UPDATE SET {sets}")


def upsert(using: str, model: type[Model], row: dict, *, conflict: str,
           keep: tuple[str, ...] = ()) -> None:
    """Insert *row*, or update the row it conflicts with on *conflict*, as
    ``bulk_create(update_conflicts=True)`` does: each value prepared by its field, the fields
    not in *row* given their defaults on insert and left alone on update, and *keep* too on
    update; without compiling an ORM query for every row (a sync writes thousands)."""
    connection = connections[using]
    values = dict(row)
    for field in model._meta.concrete_fields:
        if field.name not in values and not field.primary_key:
            values[field.name] = field.get_default()
    fields = _fields(model)
    params = [fields[name].get_db_prep_save(value, connection) for name, value in values.items()]
    updated = tuple(name for name in row if name != conflict and name not in keep)
    sql = _upsert_sql(using, model._meta.db_table, tuple(values), conflict, updated)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


@functools.cache
def _fields(model: type[Model]) -> dict:
    return {field.name: field for field in model._meta.concrete_fields}


def delete_children(using: str, session_id: str) -> None:
    connection = connections[using]
    with connection.cursor() as cursor:
        for model in (ToolResultEvent, ToolCall, Message):
            table = connection.ops.quote_name(model._meta.db_table)
            cursor.execute(f"DELETE FROM {table} WHERE session_id = %s", [session_id])


def write_session(
    parsed: ParsedSession,
    source: SourceInfo,
    *,
    machine: str,
    using: str = "default",
    force: bool = False,
    now: datetime | None = None,
    rules: AutomatedRules = NO_RULES,
    prices: PriceTable | None = None,
) -> WriteResult:
    """Store *parsed* (replacing what the archive holds for its id) in one transaction,
    with its signals (health, outcome...) and costs computed from the same parse."""
    now = now or datetime.now(UTC)
    rows = build_rows(parsed, source, now=now, rules=rules, prices=prices)
    return store_rows(parsed.id, parsed.agent, parsed.message_count, rows, source,
                      machine=machine, using=using, force=force, now=now)


def store_rows(
    session_id: str,
    agent: str,
    message_count: int,
    rows: SessionRows,
    source: SourceInfo,
    *,
    machine: str,
    using: str = "default",
    force: bool = False,
    now: datetime | None = None,
) -> WriteResult:
    """Store one session's rows (``build_rows``, perhaps made in a parser process) in one
    transaction, replacing what the archive holds for its id."""
    now = now or datetime.now(UTC)
    values, signals, digest = rows.values, rows.signals, rows.digest
    messages, calls, events = rows.messages, rows.tool_calls, rows.events
    file_values = {
        "file_size": source.size,
        "file_mtime": source.mtime_ns,
        "file_hash": source.sha256,
        "source_missing_at": None,
        "machine": machine,
    }
    sessions = Session.objects.using(using)
    with transaction.atomic(using=using):
        # inside the transaction: a prune committed by another process is seen here
        if _found(using, Tombstone, "session_id = %s AND kind = %s",
                  [session_id, TombstoneKind.DELETED.value]):
            return WriteResult.TOMBSTONED
        existing = (  # the ORM's values (converted, as signals holds them) when there is one
            sessions.filter(pk=session_id)
            .values("file_path", "content_digest", "message_count", *signals)
            .first()
        ) if _found(using, Session, "id = %s", [session_id]) else None
        if existing is not None:
            old_path, old_digest = existing["file_path"], existing["content_digest"]
            old_count = existing["message_count"]
            if old_path and old_path != source.path and os.path.exists(old_path):
                return WriteResult.CONFLICT
            if old_digest == digest and not force:
                update = dict(file_values)
                if any(existing[k] != v for k, v in signals.items()
                       if k != "signals_pending_since"):
                    # same transcript, new signals (rules changed, a new signals version)
                    update.update(signals, local_modified_at=now)
                sessions.filter(pk=session_id).update(**update)
                return WriteResult.UNCHANGED
            if message_count < old_count and not force:
                # Agents append to transcripts; a shorter one was damaged or rewritten.
                return WriteResult.SHRUNK
            delete_children(using, session_id)

        row = {
            **values,
            **signals,
            **rows.rollup,
            **rows.usage,
            **file_values,
            "id": session_id,
            "created_at": now,
            "local_modified_at": now,
            "data_version": parser_for(agent).version,
            "content_digest": digest,
        }
        if connections[using].vendor == "postgresql":
            row = {k: pg_text(v) if isinstance(v, str) else v for k, v in row.items()}
        upsert(using, Session, row, conflict="id", keep=("created_at",))
        times = () if rows.times_prepared else TIME_COLUMNS
        insert_rows(using, Message._meta.db_table, MESSAGE_COLUMNS, messages, times)
        insert_rows(using, ToolCall._meta.db_table, TOOL_CALL_COLUMNS, calls)
        insert_rows(using, ToolResultEvent._meta.db_table, EVENT_COLUMNS, events, times)
    return WriteResult.UPDATED if existing is not None else WriteResult.CREATED
