"""``pg status --verify``: prove the shared copy of each local session is the local session.

Both sides are read back row by row and hashed the same way (text sanitised as the push
sanitises it), so the comparison covers every pushed field of every row, not counts.

Deletes are accounted for: a session deleted for good here must be gone from PostgreSQL
(unless another machine owns the id there), and a session a person deleted, trashed or
redacted on the server is counted as such, not compared (it differs on purpose).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import orjson

from agentsview.config import PgConfig
from sessions_app.choices import TombstoneKind
from sessions_app.models import Message, Session, Tombstone, ToolCall, ToolResultEvent
from sessions_app.rows import EVENT_COLUMNS, MESSAGE_COLUMNS, TOOL_CALL_COLUMNS, canonical
from sessions_app.sanitize import pg_text
from sync_app.services.push import BATCH_SIZE, SESSION_PUSH_COLUMNS, Scope

PARTS = (
    ("messages", Message, MESSAGE_COLUMNS, ("session_id", "ordinal")),
    ("tool calls", ToolCall, TOOL_CALL_COLUMNS, ("session_id", "message_ordinal", "call_index")),
    ("result events", ToolResultEvent, EVENT_COLUMNS,
     ("session_id", "tool_call_message_ordinal", "call_index", "event_index")),
)


# What a person did on the server, the strongest first: the one a session is counted under.
SERVER_KINDS = (TombstoneKind.DELETED, TombstoneKind.REDACTED, TombstoneKind.TRASHED)


@dataclass
class VerifyReport:
    checked: int = 0
    differences: list[tuple[str, str]] = field(default_factory=list)  # (session id, what)
    deleted_here: int = 0  # sessions deleted for good here, gone from PostgreSQL too
    on_server: dict[str, int] = field(default_factory=dict)  # kind: local sessions changed there

    def on_server_line(self) -> str:
        """``2 deleted, 1 redacted`` (what a person did there), '' when nothing."""
        return ", ".join(f"{self.on_server[k]} {k}" for k in SERVER_KINDS if self.on_server.get(k))


def _clean(value: object) -> object:
    return pg_text(value) if isinstance(value, str) else value


def _hash(rows: Iterable[Sequence[object]], sanitize: bool) -> str:
    digest = hashlib.sha256()
    for row in rows:
        values = [canonical(_clean(v) if sanitize else v) for v in row]
        digest.update(orjson.dumps(values, option=orjson.OPT_SORT_KEYS))  # jsonb reorders keys
    return digest.hexdigest()


def _session_digests(using: str, ids: list[str], machine: str | None,
                     sanitize: bool) -> dict[str, dict[str, str]]:
    """``{session id: {part: digest}}`` for the sessions of *ids* found in *using*."""
    result: dict[str, dict[str, str]] = {}
    session_columns = [c for c in SESSION_PUSH_COLUMNS if c != "machine"]
    for row in Session.objects.using(using).filter(pk__in=ids).values_list(*session_columns):
        values = list(row)
        result[row[0]] = {"session fields": _hash([values], sanitize)}
    if machine is not None:  # the local copy is pushed under the configured machine name
        for parts in result.values():
            parts["machine"] = machine
    else:
        for sid, name in Session.objects.using(using).filter(pk__in=ids).values_list(
                "id", "machine"):
            result[sid]["machine"] = name
    for part, model, columns, order in PARTS:
        grouped: dict[str, list[tuple]] = defaultdict(list)
        rows = model.objects.using(using).filter(session_id__in=ids).order_by(*order)
        for row in rows.values_list(*columns):
            grouped[row[0]].append(row)
        for sid, parts in result.items():
            parts[part] = _hash(grouped.get(sid, ()), sanitize)
    return result


def verify(pg: PgConfig, scope: Scope, *, local: str = "default",
           remote: str = "pg") -> VerifyReport:
    report = VerifyReport()
    sessions = Session.objects.using(local).all()
    if scope.projects:
        sessions = sessions.filter(project__in=scope.projects)
    elif scope.exclude_projects:
        sessions = sessions.exclude(project__in=scope.exclude_projects)
    ids = list(sessions.order_by("id").values_list("id", flat=True))
    for start in range(0, len(ids), BATCH_SIZE):
        chunk = ids[start:start + BATCH_SIZE]
        mine = _session_digests(local, chunk, pg.machine_name, sanitize=True)
        theirs = _session_digests(remote, chunk, None, sanitize=False)
        server: dict[str, set[str]] = defaultdict(set)
        for sid, kind in Tombstone.objects.using(remote).filter(
                session_id__in=chunk).values_list("session_id", "kind"):
            server[sid].add(kind)
        for sid in chunk:
            report.checked += 1
            if server.get(sid):
                kind = next(k for k in SERVER_KINDS if k in server[sid])
                report.on_server[kind] = report.on_server.get(kind, 0) + 1
                continue
            if sid not in theirs:
                report.differences.append((sid, "missing in PostgreSQL"))
                continue
            if theirs[sid]["machine"] != mine[sid]["machine"]:
                report.differences.append(
                    (sid, f"owned by machine {theirs[sid]['machine']!r} in PostgreSQL")
                )
                continue
            differing = [part for part in mine[sid] if mine[sid][part] != theirs[sid][part]]
            if differing:
                report.differences.append((sid, "differs: " + ", ".join(differing)))
    _check_deleted(pg, report, local=local, remote=remote)
    return report


def _check_deleted(pg: PgConfig, report: VerifyReport, *, local: str, remote: str) -> None:
    """Each session deleted for good here is gone from PostgreSQL, or another machine's."""
    gone = list(Tombstone.objects.using(local).filter(kind=TombstoneKind.DELETED)
                .order_by("session_id").values_list("session_id", flat=True).distinct())
    for start in range(0, len(gone), 500):
        chunk = gone[start:start + 500]
        present = dict(Session.objects.using(remote).filter(pk__in=chunk)
                       .values_list("id", "machine"))
        for sid in chunk:
            if sid not in present:
                report.deleted_here += 1
            elif present[sid] == pg.machine_name:
                report.differences.append(
                    (sid, "deleted here, still in PostgreSQL (pg push deletes it)"))
