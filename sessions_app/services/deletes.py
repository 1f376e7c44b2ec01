"""Deletes, always made by a person: the trash (``deleted_at``), deleting for good (the rows go,
a ``Tombstone`` stays), and redacting a text.

The same functions serve the local archive (``session delete``, ``trash``, ``prune``) and the
shared database (the admin, ``pg prune``); what a tombstone means depends on the database it
is in (see ``Tombstone``). A session takes its descendants (subagents, forks, continuations)
along, except a descendant that a surviving session still calls as its subagent (and what
descends from it).
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path

import orjson
from django.db import connections, transaction
from django.db.models import Q, QuerySet

from agentsview.config import Config
from agentsview.db_router import is_shared_database
from sessions_app.choices import TombstoneKind
from sessions_app.models import (
    LAST_ACTIVE,
    Message,
    Session,
    Tombstone,
    ToolCall,
    ToolResultEvent,
)
from sessions_app.parsers.base import text_length

CHUNK = 500  # ids per IN list (SQLite allows 32766 parameters; PostgreSQL many more)
PURGE_BATCH = 200  # sessions deleted per transaction: each one whole, none half
REDACTED = "[REDACTED]"
# Every text a redaction rewrites: (model, its text fields, the length field to refresh)
REDACTED_TEXTS: tuple[tuple[type, tuple[str, ...]], ...] = (
    (Session, ("first_message", "display_name")),
    (Message, ("content", "thinking_text")),
    (ToolCall, ("input_json", "result_content")),
    (ToolResultEvent, ("content",)),
)
LENGTHS = {(Message, "content"): "content_length",
           (ToolCall, "result_content"): "result_content_length",
           (ToolResultEvent, "content"): "content_length"}
JSON_TEXTS = {(ToolCall, "input_json")}  # stored as JSON: the text may appear escaped


def chunks(items: Sequence[str], size: int = CHUNK) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def current_user() -> str:
    """Who runs a local command, for the tombstones it writes."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""


# --- what goes along ----------------------------------------------------------------------


def deletion_set(ids: Iterable[str], *, using: str) -> dict[str, str]:
    """``{session id: the topmost session of the set it descends from, or ''}``: the existing
    sessions among *ids* and their descendants, except a descendant that a session outside
    the set calls as its subagent (with what descends from it). Ordered: the asked-for
    sessions first, then each generation of descendants."""
    wanted = list(dict.fromkeys(ids))
    sessions = Session.objects.using(using)
    parent_of: dict[str, str | None] = {}
    for chunk in chunks(wanted):
        parent_of.update(sessions.filter(pk__in=chunk).values_list("id", "parent_session_id"))
    asked = [sid for sid in wanted if sid in parent_of]  # the caller's order
    found_below: list[str] = []
    frontier = list(asked)
    while frontier:
        found = []
        for chunk in chunks(frontier):
            for child, parent in (sessions.filter(parent_session_id__in=chunk)
                                  .order_by("id").values_list("id", "parent_session_id")):
                if child not in parent_of:
                    parent_of[child] = parent
                    found.append(child)
        found_below.extend(found)
        frontier = found
    below = set(found_below)
    while below:
        kept = set()
        for chunk in chunks(sorted(below)):
            for sub, caller in (ToolCall.objects.using(using)
                                .filter(subagent_session_id__in=chunk)
                                .values_list("subagent_session_id", "session_id")):
                if caller not in parent_of:
                    kept.add(sub)
        if not kept:
            break
        grew = True
        while grew:  # what descends from a kept session stays too
            more = {sid for sid in below if parent_of[sid] in kept} - kept
            grew = bool(more)
            kept |= more
        for sid in kept:
            below.discard(sid)
            parent_of.pop(sid, None)

    def top(sid: str) -> str:
        seen = {sid}
        while parent_of.get(sid) in parent_of and parent_of[sid] not in seen:
            sid = parent_of[sid]
            seen.add(sid)
        return sid

    order = [*asked, *(sid for sid in found_below if sid in below)]
    return {sid: "" if top(sid) == sid else top(sid) for sid in order}


# --- the trash ----------------------------------------------------------------------------


def _tombstones(using: str, kind: str, rows: Iterable[dict], *, now: datetime, by: str,
                reason: str, taken_with: dict[str, str]) -> None:
    Tombstone.objects.using(using).bulk_create(
        [
            Tombstone(
                session_id=row["id"], kind=kind, machine=row["machine"],
                push_owner=row["push_owner"], project=row["project"],
                first_message=row["first_message"][:500],
                message_count=row["message_count"], file_path=row["file_path"] or "",
                taken_with=taken_with.get(row["id"], ""),
                content_digest=row["content_digest"], created_at=now, created_by=by[:150],
                reason=reason[:255],
            )
            for row in rows
        ],
        ignore_conflicts=True,
    )


TOMBSTONE_SOURCE = ("id", "machine", "push_owner", "project", "first_message",
                    "message_count", "file_path", "content_digest")


def trash(ids: Iterable[str], *, using: str, by: str = "", now: datetime | None = None
          ) -> list[str]:
    """Move the sessions, and their descendants, to the trash; returns the ids trashed now
    (a session already there keeps its time). On the shared database a tombstone keeps it
    there whatever its machine pushes later."""
    now = now or datetime.now(UTC)
    chosen = deletion_set(ids, using=using)
    shared = is_shared_database(using)
    sessions = Session.objects.using(using)
    done: list[str] = []
    with transaction.atomic(using=using):
        for chunk in chunks(list(chosen)):
            todo = sessions.filter(pk__in=chunk, deleted_at__isnull=True)
            rows = list(todo.values(*TOMBSTONE_SOURCE))
            if not rows:
                continue
            ids_now = [row["id"] for row in rows]
            changes = {"deleted_at": now} if shared else {"deleted_at": now,
                                                          "local_modified_at": now}
            sessions.filter(pk__in=ids_now).update(**changes)
            if shared:
                _tombstones(using, TombstoneKind.TRASHED, rows, now=now, by=by,
                            reason="moved to the trash", taken_with=chosen)
            done.extend(ids_now)
    return done


def restore(ids: Iterable[str], *, using: str, now: datetime | None = None) -> list[str]:
    """Take the sessions out of the trash, with the descendants trashed at the same moment;
    returns the ids restored."""
    now = now or datetime.now(UTC)
    sessions = Session.objects.using(using)
    wanted = list(dict.fromkeys(ids))
    when: dict[str, datetime] = {}
    for chunk in chunks(wanted):
        when.update(sessions.filter(pk__in=chunk, deleted_at__isnull=False)
                    .values_list("id", "deleted_at"))
    chosen = deletion_set([sid for sid in wanted if sid in when], using=using)
    stamps: dict[str, datetime | None] = {}
    for chunk in chunks(list(chosen)):
        stamps.update(sessions.filter(pk__in=chunk).values_list("id", "deleted_at"))
    todo = [sid for sid, root in chosen.items()
            if stamps.get(sid) is not None and stamps[sid] == when[root or sid]]
    shared = is_shared_database(using)
    with transaction.atomic(using=using):
        for chunk in chunks(todo):
            changes = {"deleted_at": None} if shared else {"deleted_at": None,
                                                           "local_modified_at": now}
            sessions.filter(pk__in=chunk).update(**changes)
            Tombstone.objects.using(using).filter(
                session_id__in=chunk, kind=TombstoneKind.TRASHED).delete()
    return todo


def trashed_sessions(*, using: str) -> QuerySet:
    return Session.objects.using(using).filter(deleted_at__isnull=False).order_by(
        "-deleted_at", "id")


# --- deleting for good --------------------------------------------------------------------


@dataclass
class Purged:
    sessions: list[str] = field(default_factory=list)
    messages: int = 0
    children: int = 0  # of the sessions, those that went along with a parent


def purge(ids: Iterable[str], *, using: str, by: str, reason: str,
          now: datetime | None = None, chosen: dict[str, str] | None = None) -> Purged:
    """Delete the sessions (and their descendants, unless *chosen* already says which) with
    their messages, tool calls and result events, leaving a tombstone for each. Each session
    goes whole, in batches of ``PURGE_BATCH`` per transaction."""
    now = now or datetime.now(UTC)
    chosen = deletion_set(ids, using=using) if chosen is None else chosen
    report = Purged()
    connection = connections[using]
    table = connection.ops.quote_name(Session._meta.db_table)
    for batch in chunks(list(chosen), PURGE_BATCH):
        with transaction.atomic(using=using):
            rows = list(Session.objects.using(using).filter(pk__in=batch)
                        .values(*TOMBSTONE_SOURCE))
            gone = [row["id"] for row in rows]
            if not gone:
                continue
            for model in (ToolResultEvent, ToolCall, Message):
                model.objects.using(using).filter(session_id__in=gone).delete()
            with connection.cursor() as cursor:
                cursor.execute(f"DELETE FROM {table} WHERE id IN ({', '.join(['%s'] * len(gone))})",
                               gone)
            Tombstone.objects.using(using).filter(session_id__in=gone).delete()
            _tombstones(using, TombstoneKind.DELETED, rows, now=now, by=by, reason=reason,
                        taken_with=chosen)
        report.sessions.extend(gone)
        report.messages += sum(row["message_count"] for row in rows)
        report.children += sum(1 for sid in gone if chosen.get(sid))
    return report


def deleted_tombstones(*, using: str) -> QuerySet:
    return Tombstone.objects.using(using).filter(kind=TombstoneKind.DELETED)


def is_deleted(session_id: str, *, using: str) -> bool:
    """Whether the session was deleted for good here (sync must not bring it back)."""
    return deleted_tombstones(using=using).filter(session_id=session_id).exists()


class RestoreError(Exception):
    """``session restore`` cannot do what was asked; ``str()`` says why in one line."""


def restore_deleted(config: Config, session_id: str, *, using: str = "default") -> list[str]:
    """Bring back a session deleted for good in the local archive, with the descendants
    deleted along with it: their tombstones go and their transcripts are archived again.
    Returns the ids archived again."""
    from sessions_app.services.sync import run_sync

    tombstones = list(deleted_tombstones(using=using).filter(
        Q(session_id=session_id) | Q(taken_with=session_id)))
    if not any(t.session_id == session_id for t in tombstones):
        raise RestoreError(f"session not in the trash nor deleted: {session_id}")
    root = next(t for t in tombstones if t.session_id == session_id)
    if not root.file_path or not Path(root.file_path).is_file():
        raise RestoreError(f"cannot restore {session_id}: its transcript"
                           f" {root.file_path or '(none recorded)'} is gone")
    paths = sorted({Path(t.file_path) for t in tombstones
                    if t.file_path and Path(t.file_path).is_file()})
    deleted_tombstones(using=using).filter(pk__in=[t.pk for t in tombstones]).delete()
    report = run_sync(config, full=True, paths=paths, using=using)
    ids = {t.session_id for t in tombstones}
    restored = list(Session.objects.using(using).filter(pk__in=list(ids))
                    .values_list("id", flat=True))
    if session_id not in restored:
        reason = report.errors[0] if report.errors else "its transcript no longer holds it"
        raise RestoreError(f"cannot restore {session_id}: {reason}")
    return restored


# --- which sessions a prune or a retention takes ------------------------------------------------


def day_start_utc(day: date) -> datetime:
    return datetime.combine(day, time.min, UTC)


@dataclass(frozen=True)
class PruneFilter:
    """AgentsView's prune filters, all of which a session must match."""

    agent: str = ""  # this agent
    project: str = ""  # project names containing this (any case)
    before: date | None = None  # last active before this day (UTC)
    first_message: str = ""  # first message starting with this (any case)
    max_messages: int | None = None  # at most this many user messages

    def __bool__(self) -> bool:
        return bool(self.agent or self.project or self.before or self.first_message
                    or self.max_messages is not None)

    def sessions(self, *, using: str) -> QuerySet:
        """The matching sessions that are not in the trash (``trash empty`` takes those)."""
        qs = Session.objects.using(using).filter(deleted_at__isnull=True)
        if self.agent:
            qs = qs.filter(agent=self.agent)
        if self.project:
            qs = qs.filter(project__icontains=self.project)
        if self.before is not None:
            qs = qs.alias(last_active=LAST_ACTIVE).filter(
                last_active__lt=day_start_utc(self.before))
        if self.first_message:
            qs = qs.filter(first_message__istartswith=self.first_message)
        if self.max_messages is not None:
            qs = qs.filter(user_message_count__lte=self.max_messages)
        return qs.order_by("id")


def inactive_since(cutoff: datetime, *, using: str, machines: Sequence[str] = ()) -> QuerySet:
    """Sessions (in the trash or not) last active before *cutoff*, of *machines* if given."""
    qs = Session.objects.using(using).alias(last_active=LAST_ACTIVE).filter(
        last_active__lt=cutoff)
    if machines:
        qs = qs.filter(machine__in=list(machines))
    return qs.order_by("id")


def describe(chosen: dict[str, str], *, using: str) -> list[dict]:
    """What goes, for a listing: each session's id, machine, project, last activity,
    messages, first message and the session it goes with."""
    rows: dict[str, dict] = {}
    for chunk in chunks(list(chosen)):
        for row in (Session.objects.using(using).filter(pk__in=chunk)
                    .annotate(last_active=LAST_ACTIVE)
                    .values("id", "machine", "agent", "project", "last_active",
                            "message_count", "first_message", "display_name", "deleted_at")):
            row["taken_with"] = chosen[row["id"]]
            rows[row["id"]] = row
    return [rows[sid] for sid in chosen if sid in rows]


# --- redacting a text ---------------------------------------------------------------------


@dataclass
class Redacted:
    replacements: int = 0
    sessions: list[str] = field(default_factory=list)  # those where the text was found


def _needles(model: type, name: str, text: str, replacement: str) -> list[tuple[str, str]]:
    """``(what to find, what to put)``: in a JSON text the text may also be stored escaped
    (quotes, backslashes, controls; non-ASCII as ``\\u`` escapes by some writers)."""
    if (model, name) not in JSON_TEXTS:
        return [(text, replacement)]
    new = orjson.dumps(replacement).decode()[1:-1]  # keeps the JSON valid
    pairs: list[tuple[str, str]] = []
    for found in (text, orjson.dumps(text).decode()[1:-1], json.dumps(text)[1:-1]):
        if all(found != needle for needle, _ in pairs):
            pairs.append((found, new))
    return pairs


def redact(ids: Iterable[str], text: str, *, using: str, replacement: str = REDACTED,
           by: str = "", now: datetime | None = None) -> Redacted:
    """Replace *text* with *replacement* in the first message and name, every message and
    thinking text, tool input and result of the sessions *ids*; returns how many
    replacements were made, and in which sessions. On the shared database the session then
    keeps a tombstone: a push does not overwrite the redacted copy (see the README)."""
    if not text:
        raise ValueError("nothing to redact: the text is empty")
    if text in replacement:
        raise ValueError("the replacement contains the text: it would still be found")
    now = now or datetime.now(UTC)
    wanted = list(dict.fromkeys(ids))
    report = Redacted()
    found: dict[str, int] = {}
    with transaction.atomic(using=using):
        for model, names in REDACTED_TEXTS:
            key = "pk" if model is Session else "session_id"
            for chunk in chunks(wanted):
                match = Q()
                for name in names:
                    for needle, _ in _needles(model, name, text, replacement):
                        match |= Q(**{f"{name}__contains": needle})
                changed = []
                updated: set[str] = set()
                rows = (model.objects.using(using).filter(**{f"{key}__in": chunk})
                        .filter(match).order_by("pk"))
                for obj in rows.iterator(chunk_size=200):
                    count = 0
                    for name in names:
                        value, hits = getattr(obj, name), 0
                        for needle, new in _needles(model, name, text, replacement):
                            if value and needle in value:
                                hits += value.count(needle)
                                value = value.replace(needle, new)
                        if not hits:
                            continue
                        count += hits
                        setattr(obj, name, value)
                        updated.add(name)
                        length_field = LENGTHS.get((model, name))
                        if length_field and getattr(obj, length_field) is not None:
                            setattr(obj, length_field, text_length(value))
                            updated.add(length_field)
                    if count:
                        changed.append(obj)
                        sid = obj.pk if model is Session else obj.session_id
                        found[sid] = found.get(sid, 0) + count
                if changed:
                    model.objects.using(using).bulk_update(changed, sorted(updated),
                                                           batch_size=200)
        if found and is_shared_database(using):
            rows = Session.objects.using(using).filter(pk__in=list(found)).values(
                *TOMBSTONE_SOURCE)
            for row in rows:
                Tombstone.objects.using(using).update_or_create(
                    session_id=row["id"], kind=TombstoneKind.REDACTED,
                    defaults={"machine": row["machine"], "push_owner": row["push_owner"],
                              "project": row["project"],
                              "first_message": row["first_message"][:500],
                              "message_count": row["message_count"],
                              "content_digest": row["content_digest"], "created_at": now,
                              "created_by": by[:150],
                              "reason": f"redacted a text of {len(text)} characters"},
                )
    report.replacements = sum(found.values())
    report.sessions = [sid for sid in wanted if sid in found]
    return report
