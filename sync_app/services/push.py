"""``pg push``: copy the local archive, one way, into the shared PostgreSQL.

Per run: pick the sessions modified since the watermark (with an overlap, so a sync that
committed late is not missed), skip those whose fingerprint matches the last successful push,
and write the rest in batches of 50 sessions per transaction: the session row (only when this
archive owns it there), then its messages, tool calls and result events deleted and re-loaded
with ``COPY``. A failed batch is retried one session per transaction. The watermark and the
marker row move only when nothing failed and nothing was left out (a ``stop`` callback ends
a run between two batches).

Deletes travel too. Before the sessions, each tombstone of this archive (a session deleted
for good here) not yet delivered to this database deletes the session and its rows there, in
batches of ``DELETE_BATCH`` per transaction, but only a session this archive owns there (the
rule that lets the push overwrite it); delivered, it is recorded as a ``PushedSession`` with
the fingerprint ``DELIVERED``, so a killed run sends it again and a finished one never does.
A trash travels as ``deleted_at``. What a person did on the server stays: a session deleted
there (its tombstone) is not sent again, one trashed there keeps its ``deleted_at``, and one
redacted there is not overwritten unless ``--full`` sends a transcript that changed since.
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
from sessions_app.choices import TombstoneKind
from sessions_app.models import Message, Session, Tombstone, ToolCall, ToolResultEvent
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
DELETE_BATCH = 500
DELIVERED = "tombstone"  # the PushedSession fingerprint of a delete this database has had
TOMBSTONES = Tombstone._meta.db_table
ANALYZE_AFTER_MESSAGES = 5000
SEARCH_INDEX = "messages_content_trgm"  # sessions_app migrations 0003, 0013, 0014
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


class ServerChanged(DatabaseError):
    """A person deleted or redacted a session on the server while this batch was writing it:
    the batch is rolled back and retried one session at a time, which then sees it."""


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
    deleted: int = 0  # sessions deleted here that this run deleted in PostgreSQL
    delete_refused: list[tuple[str, str]] = field(default_factory=list)  # (id, its machine)
    deleted_on_server: list[str] = field(default_factory=list)  # not sent again
    redacted_on_server: list[str] = field(default_factory=list)  # not overwritten
    full_reason: str = ""
    elapsed: float = 0.0
    watermark: datetime | None = None
    stopped: bool = False  # asked to stop: the sessions after the last batch were not sent

    def summary_line(self) -> str:
        text = (f"Pushed {self.sessions} sessions, deleted {self.deleted}, {self.messages}"
                f" messages in {self.elapsed:.1f}s")
        if self.errors:
            text += f", {len(self.errors)} error(s)"
        if self.conflicts:
            text += f", {len(self.conflicts)} ownership conflict(s)"
        if self.delete_refused:
            text += f", {len(self.delete_refused)} delete(s) refused (another machine's)"
        if self.deleted_on_server:
            text += f", {len(self.deleted_on_server)} deleted on the server (not sent again)"
        if self.redacted_on_server:
            text += f", {len(self.redacted_on_server)} redacted on the server (kept)"
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
        updates = ", ".join(
            # a session trashed on the server stays trashed whatever its machine sends
            f'"{c}" = CASE WHEN EXISTS (SELECT 1 FROM {TOMBSTONES} t WHERE t.session_id ='
            f" sessions.id AND t.kind = '{TombstoneKind.TRASHED}') THEN sessions.\"{c}\""
            f' ELSE EXCLUDED."{c}" END' if c == "deleted_at" else f'"{c}" = EXCLUDED."{c}"'
            for c in columns if c != "id")
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

    @staticmethod
    def _server_tombstones(cursor, ids: list[str]) -> set[tuple[str, str]]:
        """(session id, kind) of what a person did on the server that a push must respect."""
        cursor.execute(
            f"SELECT session_id, kind FROM {TOMBSTONES} WHERE session_id = ANY(%s)"
            " AND kind IN (%s, %s)", [ids, TombstoneKind.DELETED, TombstoneKind.REDACTED])
        return set(cursor.fetchall())

    def _admit(self, cursor, rows: list[tuple], full: bool
               ) -> tuple[list[tuple], dict[str, str], set[tuple[str, str]]]:
        """The rows a push may write, and ``{id: kind}`` of those it may not: deleted on the
        server, or redacted there (unless ``--full`` sends a transcript that changed since
        the redaction, which then replaces the redacted copy)."""
        stones = self._server_tombstones(cursor, [r[0] for r in rows])
        if not stones:
            return rows, {}, stones
        digests: dict[str, str] = {}
        redacted = [sid for sid, kind in stones if kind == TombstoneKind.REDACTED]
        if full and redacted:
            cursor.execute(f"SELECT session_id, content_digest FROM {TOMBSTONES}"
                           " WHERE session_id = ANY(%s) AND kind = %s",
                           [redacted, TombstoneKind.REDACTED])
            digests = dict(cursor.fetchall())
        at = SESSION_PUSH_COLUMNS.index("content_digest")
        admitted, refused = [], {}
        for row in rows:
            sid = row[0]
            if (sid, TombstoneKind.DELETED) in stones:
                refused[sid] = TombstoneKind.DELETED
            elif (sid, TombstoneKind.REDACTED) in stones and not (
                    full and digests.get(sid) not in (None, row[at])):
                refused[sid] = TombstoneKind.REDACTED
            else:
                admitted.append(row)
        return admitted, refused, stones

    @staticmethod
    def _delete_children(cursor, ids: list[str]) -> None:
        """The messages, tool calls and result events of the sessions *ids*, one statement
        per session (psycopg sends them in one pipeline): an equality on the indexed
        session_id is an index scan whatever the planner knows, where ``= ANY(list)`` on a
        table without statistics yet (a first push into a new database) was planned as a
        sequential scan of the whole table, in every batch as the table grew: a first push's
        deletes cost the square of the archive."""
        for model in (ToolResultEvent, ToolCall, Message):
            cursor.executemany(f'DELETE FROM "{model._meta.db_table}" WHERE session_id = %s',
                               [[sid] for sid in ids])

    def _push_batch(self, rows: list[tuple], marker: str, full: bool = False
                    ) -> tuple[list[str], int, dict[str, str]]:
        """One transaction: returns (ids written, messages written, {id: kind} of those a
        person's tombstone on the server kept out). Raises on failure."""
        now = datetime.now(UTC)
        with transaction.atomic(using=self.remote), connections[self.remote].cursor() as cursor:
            rows, refused, stones = self._admit(cursor, rows, full)
            ours = self._upsert_sessions(cursor, rows, marker, now) if rows else set()
            written = [r[0] for r in rows if r[0] in ours]
            if not written:
                return [], 0, refused
            # A person who deleted or redacted one of these meanwhile held its row until
            # committing; their tombstone is visible now: start again without it.
            if self._server_tombstones(cursor, written) - stones:
                raise ServerChanged("a session of the batch was deleted or redacted on the"
                                    " server while it was being pushed")
            replaced = [sid for sid in written if (sid, TombstoneKind.REDACTED) in stones]
            if replaced:  # --full with a changed transcript: the redaction is over
                cursor.execute(f"DELETE FROM {TOMBSTONES} WHERE session_id = ANY(%s)"
                               " AND kind = %s", [replaced, TombstoneKind.REDACTED])
            self._delete_children(cursor, written)
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
        return written, len(messages), refused

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

    def _apply(self, batch: list[tuple], marker: str, full: bool = False) -> None:
        rows_by_id = {r[0]: r for r in batch}
        written, messages, refused = self._push_batch(batch, marker, full)
        self.report.sessions += len(written)
        self.report.messages += messages
        done = set(written) | set(refused)
        self.report.conflicts.extend(sid for sid in rows_by_id if sid not in done)
        for sid, kind in refused.items():
            (self.report.deleted_on_server if kind == TombstoneKind.DELETED
             else self.report.redacted_on_server).append(sid)
        # a session kept out is not examined again until it changes
        self._record([*written, *refused], rows_by_id)

    # --- deletes -------------------------------------------------------------------------
    def _pending_deletes(self) -> list[str]:
        """This archive's tombstones not yet delivered to this database."""
        delivered = PushedSession.objects.using(self.local).filter(
            target=self.target.key, fingerprint=DELIVERED).values("session_id")
        return list(
            Tombstone.objects.using(self.local).filter(kind=TombstoneKind.DELETED)
            .exclude(session_id__in=delivered).order_by("session_id")
            .values_list("session_id", flat=True).distinct()
        )

    def _delete_batch(self, ids: list[str], marker: str) -> tuple[list[str], list[tuple]]:
        """One transaction: delete the sessions of *ids* this archive owns there, with their
        rows; returns (ids deleted, (id, machine) of those another machine owns)."""
        with transaction.atomic(using=self.remote), connections[self.remote].cursor() as cursor:
            cursor.execute(
                "DELETE FROM sessions WHERE id = ANY(%s) AND (push_owner IN (%s, '')"
                " OR machine = %s) RETURNING id", [ids, marker, self.pg.machine_name])
            gone = [r[0] for r in cursor.fetchall()]
            if gone:
                self._delete_children(cursor, gone)
            cursor.execute("SELECT id, machine FROM sessions WHERE id = ANY(%s) ORDER BY id",
                           [ids])
            refused = cursor.fetchall()
        return gone, refused

    def _push_deletes(self, marker: str) -> None:
        pending = self._pending_deletes()
        for start in range(0, len(pending), DELETE_BATCH):
            if self.stop():
                self.report.stopped = True
                return
            chunk = pending[start:start + DELETE_BATCH]
            try:
                gone, refused = self._delete_batch(chunk, marker)
            except DatabaseError as exc:
                self._fail_fast(exc, 0, len(pending))
                reason = describe(exc, self.pg)
                self.report.errors.extend((sid, f"delete failed: {reason}") for sid in chunk)
                continue
            now = datetime.now(UTC)
            PushedSession.objects.using(self.local).bulk_create(
                [PushedSession(target=self.target.key, session_id=sid, fingerprint=DELIVERED,
                               pushed_at=now) for sid in chunk],
                update_conflicts=True, unique_fields=["target", "session_id"],
                update_fields=["fingerprint", "pushed_at"],
            )
            self.report.deleted += len(gone)
            self.report.delete_refused.extend(refused)

    def _merge_search_list(self) -> None:
        """Merge the messages this push queued in the trigram index's pending list
        (migration 0014), so that searches after it read none. Skipped quietly where there is
        no such index (no pg_trgm) or the role may not; the list stays bounded anyway."""
        try:
            with transaction.atomic(using=self.remote), \
                    connections[self.remote].cursor() as cursor:
                cursor.execute("SELECT to_regclass(%s)", [SEARCH_INDEX])
                if cursor.fetchone()[0] is not None:
                    cursor.execute("SELECT gin_clean_pending_list(%s::regclass)",
                                   [SEARCH_INDEX])
        except DatabaseError as exc:
            log.info("search index list not merged after push: %s", describe(exc, self.pg))

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
        self._push_deletes(state.marker_id)
        todo = [] if self.report.stopped else self._candidates(state, full)
        total = len(todo)
        done = 0
        self.progress(0, total, 0)
        for start in range(0, total, BATCH_SIZE):
            if self.stop():
                self.report.stopped = True
                break
            batch = todo[start:start + BATCH_SIZE]
            try:
                self._apply(batch, state.marker_id, full)
            except DatabaseError as exc:
                self._fail_fast(exc, done, total)
                log.info("batch failed (%s); retrying its sessions one by one", exc)
                for row in batch:
                    try:
                        self._apply([row], state.marker_id, full)
                    except DatabaseError as one_exc:
                        self._fail_fast(one_exc, done, total)
                        self.report.errors.append((row[0], describe(one_exc, self.pg)))
            done += len(batch)
            self.progress(done, total, self.report.messages)

        if self.report.messages:
            self._merge_search_list()
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
