"""``pg push``: copy the local archive, one way, into the shared PostgreSQL.

Per run: pick the sessions modified since the watermark (with an overlap, so a sync that
committed late is not missed), skip those whose fingerprint matches the last successful push,
and write the rest in batches of 50 sessions per transaction: the session row (only when this
archive owns it there), then its messages, tool calls and result events deleted and re-loaded
with ``COPY``. A failed batch is retried one session per transaction. The watermark and the
marker row move only when nothing failed and nothing was left out (a ``stop`` callback ends
a run between two batches).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import orjson
from django.db import DatabaseError, connections, transaction
from psycopg.types.json import Jsonb

from agentsview.config import PgConfig
from sessions_app.models import Message, Session, ToolCall, ToolResultEvent
from sessions_app.rows import EVENT_COLUMNS, MESSAGE_COLUMNS, TOOL_CALL_COLUMNS, canonical
from sessions_app.sanitize import pg_row, pg_text
from sync_app.models import PushedSession, PushMarker, PushTarget
from sync_app.pg_connection import (
    NO_WRITE_STATES,
    PgError,
    Target,
    describe,
    lost_connection,
    sqlstate,
)

log = logging.getLogger(__name__)

BATCH_SIZE = 50
ANALYZE_AFTER_MESSAGES = 5000
# A sync stamps local_modified_at before its transaction commits; re-examining this much
# before the watermark (cheap: unchanged fingerprints are skipped) closes that window.
WATERMARK_OVERLAP = timedelta(minutes=10)
LOCAL_ONLY_COLUMNS = frozenset({"local_modified_at", "push_owner", "pushed_at"})
SESSION_PUSH_COLUMNS: tuple[str, ...] = tuple(
    f.column for f in Session._meta.concrete_fields if f.column not in LOCAL_ONLY_COLUMNS
)
BOOL_COLUMNS = frozenset(
    f.column for f in Session._meta.concrete_fields if f.get_internal_type() == "BooleanField"
)
JSON_COLUMNS = frozenset(
    f.column for f in Session._meta.concrete_fields if f.get_internal_type() == "JSONField"
)

Progress = Callable[[int, int, int], None]  # (sessions done, sessions to push, messages)


@dataclass(frozen=True)
class Scope:
    projects: tuple[str, ...] = ()
    exclude_projects: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        if self.projects:
            return "projects:" + ",".join(sorted(self.projects))
        if self.exclude_projects:
            return "exclude:" + ",".join(sorted(self.exclude_projects))
        return "all"


@dataclass
class PushReport:
    sessions: int = 0
    messages: int = 0
    candidates: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)  # (session id, reason)
    conflicts: list[str] = field(default_factory=list)
    full_reason: str = ""
    elapsed: float = 0.0
    watermark: datetime | None = None
    stopped: bool = False  # asked to stop: the sessions after the last batch were not sent

    def summary_line(self) -> str:
        text = f"Pushed {self.sessions} sessions, {self.messages} messages in {self.elapsed:.1f}s"
        if self.errors:
            text += f", {len(self.errors)} error(s)"
        if self.conflicts:
            text += f", {len(self.conflicts)} ownership conflict(s)"
        if self.stopped:
            text += "; stopped early, the next push sends the rest"
        return text


def session_fingerprint(row: Sequence[object], machine: str) -> str:
    """SHA-256 over every pushed column of a session row (its content digest covers its
    messages, tool calls and result events) and the machine name it is pushed under."""
    payload = [canonical(v) for v in row] + [machine]
    return hashlib.sha256(orjson.dumps(payload)).hexdigest()


class Pusher:
    def __init__(self, pg: PgConfig, target: Target, scope: Scope, *, local: str = "default",
                 remote: str = "pg", progress: Progress | None = None,
                 stop: Callable[[], bool] | None = None) -> None:
        self.pg = pg
        self.target = target
        self.scope = scope
        self.local = local
        self.remote = remote
        self.progress = progress or (lambda done, total, messages: None)
        self.stop = stop or (lambda: False)
        self.report = PushReport()

    # --- state -------------------------------------------------------------------------
    def _state(self) -> PushTarget:
        state = PushTarget.objects.using(self.local).filter(
            target=self.target.key, scope=self.scope.key
        ).first()
        if state is not None:
            return state
        sibling = PushTarget.objects.using(self.local).filter(target=self.target.key).first()
        return PushTarget.objects.using(self.local).create(
            target=self.target.key,
            scope=self.scope.key,
            description=self.target.description,
            marker_id=sibling.marker_id if sibling else secrets.token_hex(16),
        )

    def _full_reason(self, state: PushTarget, full: bool) -> str:
        if full:
            return "--full"
        if state.last_push_at is None:
            return "first push to this database"
        if not PushMarker.objects.using(self.remote).filter(marker_id=state.marker_id).exists():
            return "PG push marker missing"
        return ""

    # --- selection -----------------------------------------------------------------------
    def _candidates(self, state: PushTarget, full: bool) -> list[tuple]:
        sessions = Session.objects.using(self.local).all()
        if self.scope.projects:
            sessions = sessions.filter(project__in=self.scope.projects)
        elif self.scope.exclude_projects:
            sessions = sessions.exclude(project__in=self.scope.exclude_projects)
        if not full and state.last_push_at is not None:
            since = state.last_push_at - WATERMARK_OVERLAP
            sessions = sessions.filter(local_modified_at__gte=since)
        rows = list(sessions.order_by("id").values_list(*SESSION_PUSH_COLUMNS))
        self.report.candidates = len(rows)
        if full:
            return rows
        known = dict(
            PushedSession.objects.using(self.local)
            .filter(target=self.target.key)
            .values_list("session_id", "fingerprint")
        )
        machine = self.pg.machine_name
        return [r for r in rows if known.get(r[0]) != session_fingerprint(r, machine)]

    # --- writing -------------------------------------------------------------------------
    def _session_params(self, row: Sequence[object], marker: str, now: datetime) -> list:
        values: dict[str, object] = dict(zip(SESSION_PUSH_COLUMNS, row, strict=True))
        values["machine"] = self.pg.machine_name
        params = []
        for column in SESSION_PUSH_COLUMNS:
            value = values[column]
            if column in JSON_COLUMNS:
                value = Jsonb(value)
            elif column in BOOL_COLUMNS and value is not None:
                value = bool(value)
            elif isinstance(value, str):
                value = pg_text(value)
            params.append(value)
        return [*params, marker, now]

    def _upsert_sessions(self, cursor, rows: list[tuple], marker: str, now: datetime) -> set[str]:
        columns = [*SESSION_PUSH_COLUMNS, "push_owner", "pushed_at"]
        quoted = ", ".join(f'"{c}"' for c in columns)
        one = "(" + ", ".join(["%s"] * len(columns)) + ")"
        updates = ", ".join(f'"{c}" = EXCLUDED."{c}"' for c in columns if c != "id")
        sql = (
            f"INSERT INTO sessions ({quoted}) VALUES {', '.join([one] * len(rows))} "
            f"ON CONFLICT (id) DO UPDATE SET {updates} "
            "WHERE sessions.push_owner IN (EXCLUDED.push_owner, '') "
            "OR sessions.machine = EXCLUDED.machine RETURNING id"
        )
        params = [p for row in rows for p in self._session_params(row, marker, now)]
        cursor.execute(sql, params)
        return {r[0] for r in cursor.fetchall()}

    def _local_rows(self, table: str, columns: Sequence[str], ids: list[str],
                    order: str) -> list[tuple]:
        connection = connections[self.local]
        quote = connection.ops.quote_name
        placeholders = ", ".join(["%s"] * len(ids))
        sql = (
            f"SELECT {', '.join(quote(c) for c in columns)} FROM {quote(table)} "
            f"WHERE session_id IN ({placeholders}) ORDER BY {order}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, ids)
            return cursor.fetchall()

    def _copy(self, cursor, table: str, columns: Sequence[str], rows: Iterable[tuple]) -> None:
        quoted = ", ".join(f'"{c}"' for c in columns)
        # psycopg's COPY bypasses Django's cursor: wrap it so its errors are Django's too.
        with connections[self.remote].wrap_database_errors, \
                cursor.cursor.copy(f'COPY "{table}" ({quoted}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(pg_row(row))

    def _push_batch(self, rows: list[tuple], marker: str) -> tuple[list[str], int]:
        """One transaction: returns (ids written, messages written). Raises on failure."""
        now = datetime.now(UTC)
        with transaction.atomic(using=self.remote), connections[self.remote].cursor() as cursor:
            ours = self._upsert_sessions(cursor, rows, marker, now)
            written = [r[0] for r in rows if r[0] in ours]
            if not written:
                return [], 0
            for model in (ToolResultEvent, ToolCall, Message):
                cursor.execute(
                    f'DELETE FROM "{model._meta.db_table}" WHERE session_id = ANY(%s)', [written]
                )
            messages = self._local_rows(
                Message._meta.db_table, MESSAGE_COLUMNS, written, "session_id, ordinal"
            )
            self._copy(cursor, Message._meta.db_table, MESSAGE_COLUMNS, messages)
            self._copy(
                cursor, ToolCall._meta.db_table, TOOL_CALL_COLUMNS,
                self._local_rows(ToolCall._meta.db_table, TOOL_CALL_COLUMNS, written,
                                 "session_id, message_ordinal, call_index"),
            )
            self._copy(
                cursor, ToolResultEvent._meta.db_table, EVENT_COLUMNS,
                self._local_rows(ToolResultEvent._meta.db_table, EVENT_COLUMNS, written,
                                 "session_id, tool_call_message_ordinal, call_index, event_index"),
            )
        return written, len(messages)

    def _fail_fast(self, exc: DatabaseError, done: int, total: int) -> None:
        """Errors no retry can fix: a lost connection, a role that may not write."""
        reason = describe(exc, self.pg)
        if sqlstate(exc) in NO_WRITE_STATES:
            raise PgError(
                f"pg push: the PostgreSQL role may not write to schema {self.pg.schema}"
                f" ({reason}); pg push needs INSERT, UPDATE and DELETE there"
            ) from None
        if lost_connection(exc):
            raise PgError(
                f"pg push: lost the connection to PostgreSQL after {done}/{total} sessions"
                f" ({reason}); nothing half-written, run pg push again"
            ) from None

    def _record(self, ids: list[str], rows_by_id: dict[str, tuple]) -> None:
        if not ids:
            return
        now = datetime.now(UTC)
        machine = self.pg.machine_name
        PushedSession.objects.using(self.local).bulk_create(
            [
                PushedSession(target=self.target.key, session_id=sid,
                              fingerprint=session_fingerprint(rows_by_id[sid], machine),
                              pushed_at=now)
                for sid in ids
            ],
            update_conflicts=True,
            unique_fields=["target", "session_id"],
            update_fields=["fingerprint", "pushed_at"],
        )

    def _apply(self, batch: list[tuple], marker: str) -> None:
        rows_by_id = {r[0]: r for r in batch}
        written, messages = self._push_batch(batch, marker)
        self.report.sessions += len(written)
        self.report.messages += messages
        self.report.conflicts.extend(sid for sid in rows_by_id if sid not in set(written))
        self._record(written, rows_by_id)

    def _analyze(self) -> None:
        """Refresh the planner's statistics after a large push: on a freshly filled table
        PostgreSQL otherwise guesses one row and picks plans thousands of times slower
        (search went from 16 ms to 400 ms). Skipped quietly when the role may not."""
        try:
            with connections[self.remote].cursor() as cursor:
                for model in (Session, Message, ToolCall, ToolResultEvent):
                    cursor.execute(f'ANALYZE "{model._meta.db_table}"')
        except DatabaseError as exc:
            log.info("ANALYZE after push skipped: %s", describe(exc, self.pg))

    def run(self, *, full: bool = False) -> PushReport:
        started = time.monotonic()
        state = self._state()
        reason = self._full_reason(state, full)
        self.report.full_reason = reason
        if reason and reason != "first push to this database":
            full = True
            PushedSession.objects.using(self.local).filter(target=self.target.key).delete()
        cutoff = datetime.now(UTC)
        todo = self._candidates(state, full)
        total = len(todo)
        done = 0
        self.progress(0, total, 0)
        for start in range(0, total, BATCH_SIZE):
            if self.stop():
                self.report.stopped = True
                break
            batch = todo[start:start + BATCH_SIZE]
            try:
                self._apply(batch, state.marker_id)
            except DatabaseError as exc:
                self._fail_fast(exc, done, total)
                log.info("batch failed (%s); retrying its sessions one by one", exc)
                for row in batch:
                    try:
                        self._apply([row], state.marker_id)
                    except DatabaseError as one_exc:
                        self._fail_fast(one_exc, done, total)
                        self.report.errors.append((row[0], describe(one_exc, self.pg)))
            done += len(batch)
            self.progress(done, total, self.report.messages)

        if self.report.messages >= ANALYZE_AFTER_MESSAGES:
            self._analyze()
        if not self.report.errors and not self.report.stopped:
            state.last_push_at = cutoff
            state.save(using=self.local, update_fields=["last_push_at"])
            owned = Session.objects.using(self.remote).filter(push_owner=state.marker_id).count()
            PushMarker.objects.using(self.remote).update_or_create(
                marker_id=state.marker_id,
                defaults={"machine_name": self.pg.machine_name, "last_push_at": cutoff,
                          "sessions": owned},
            )
        self.report.watermark = state.last_push_at
        self.report.elapsed = time.monotonic() - started
        return self.report
