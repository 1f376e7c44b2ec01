"""Retention of the session store: stored sessions not written to for a while are deleted
(every transcript of the session, its subagents' too, and the change log's old rows). The
archive sessions parsed from them stay: ``pg prune`` or ``prune`` decide about those."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import connections, transaction
from django.db.models import Count, Max

from sync_app.models import SessionChange, StoreEntry, StoreTranscript
from sync_app.store.entries import TranscriptKey


@dataclass(frozen=True)
class StaleSession:
    project_key: str
    session_id: str
    transcripts: int
    last_write: datetime


def stale_sessions(cutoff: datetime, *, using: str, project_keys: list[str] | None = None
                   ) -> list[StaleSession]:
    """The stored sessions whose last write (of any of their transcripts) is before
    *cutoff*, oldest first."""
    rows = StoreTranscript.objects.using(using)
    if project_keys:
        rows = rows.filter(project_key__in=project_keys)
    rows = (rows.values("project_key", "session_id")
            .annotate(last=Max("updated_at"), transcripts=Count("id"))
            .filter(last__lt=cutoff).order_by("last", "project_key", "session_id"))
    return [StaleSession(r["project_key"], r["session_id"], r["transcripts"], r["last"])
            for r in rows]


def count_entries(sessions: list[StaleSession], *, using: str) -> int:
    total = 0
    for s in sessions:
        ids = StoreTranscript.objects.using(using).filter(
            project_key=s.project_key, session_id=s.session_id).values("id")
        total += StoreEntry.objects.using(using).filter(transcript_id__in=ids).count()
    return total


def prune(sessions: list[StaleSession], cutoff: datetime, *, using: str) -> int:
    """Delete *sessions* from the store, each in its own transaction under its append lock,
    and only if still not written to since *cutoff* (an append may have come meanwhile);
    returns the number of entries deleted."""
    deleted = 0
    is_pg = connections[using].vendor == "postgresql"
    for s in sessions:
        with transaction.atomic(using=using):
            if is_pg:
                with connections[using].cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_xact_lock(%s)",
                                   [TranscriptKey(s.project_key, s.session_id).lock_key])
            transcripts = StoreTranscript.objects.using(using).filter(
                project_key=s.project_key, session_id=s.session_id)
            if transcripts.filter(updated_at__gte=cutoff).exists():
                continue
            ids = list(transcripts.values_list("id", flat=True))
            deleted += StoreEntry.objects.using(using).filter(transcript_id__in=ids)._raw_delete(
                using)
            transcripts._raw_delete(using)
    SessionChange.objects.using(using).filter(changed_at__lt=cutoff)._raw_delete(using)
    return deleted
