"""The sync's side of database sources (one SQLite file holding many sessions, see
``parsers.base.AgentParser``): the markers stored with each session, the virtual path it is
stored under, and what became of the sessions a changed database no longer re-read."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from django.db import transaction

from sessions_app.models import Session, SourceFile
from sessions_app.parsers.base import (
    ParsedSession,
    ParseOptions,
    ParseResult,
    is_database_source,
)
from sessions_app.parsers.registry import AGENTS, parser_for

if TYPE_CHECKING:
    from sessions_app.services.discovery import FoundFile
    from sessions_app.services.ingest import SourceInfo
    from sessions_app.services.sync import SyncReport

SEPARATOR = "#"  # <database path>#<session id without the agent's prefix>, as AgentsView


def virtual_path(path: str, agent: str, session_id: str) -> str:
    return f"{path}{SEPARATOR}{session_id.removeprefix(AGENTS[agent].id_prefix)}"


def real_path(file_path: str) -> str:
    """The file a stored ``file_path`` names: the database of a virtual path, else itself."""
    if SEPARATOR in file_path and not os.path.exists(file_path):
        database = file_path.rpartition(SEPARATOR)[0]
        if os.path.isfile(database):
            return database
    return file_path


def stored_markers(found: FoundFile, *, using: str) -> dict[str, str]:
    """Session id -> the change marker stored with it, for the sessions archived from the
    database *found*; nothing when its parser changed since (every session is re-read)."""
    version = (SourceFile.objects.using(using).filter(path=str(found.path))
               .values_list("parser_version", flat=True).first())
    if version is None or version < parser_for(found.agent).version:
        return {}
    prefix = f"{found.path}{SEPARATOR}"
    # a range on the indexed file_path ('$' follows '#'), rather than LIKE, which SQLite's
    # case-insensitive default keeps off the index
    rows = (Session.objects.using(using)
            .filter(file_path__gte=prefix, file_path__lt=f"{found.path}$", agent=found.agent)
            .values_list("id", "file_hash"))
    return {session_id: marker for session_id, marker in rows if marker}


def parse_source(found: FoundFile, options: ParseOptions, *, force: bool,
                 using: str | None) -> tuple[ParseResult, dict[str, str]]:
    """Parse *found* with its parser: a database source only for its changed sessions
    (everything under *force*). Returns the result and the markers it was compared with.
    A file source needs no database (*using* None, in a parser process)."""
    parser = parser_for(found.agent)
    if not is_database_source(parser):
        return parser.parse(found.path, found.root, options), {}
    assert using is not None, "a database source is compared with the archive's markers"
    known = {} if force else stored_markers(found, using=using)
    return parser.parse_changed(found.path, found.root, known, options), known


def is_database(found: FoundFile) -> bool:
    """A database source, whose parse reads the archive's stored markers."""
    return is_database_source(parser_for(found.agent))


def session_source(source: SourceInfo, parsed: ParsedSession, result: ParseResult) -> SourceInfo:
    """Where *parsed* is stored from: a database session under its virtual path, with its
    marker as its hash; a file's session under the file."""
    if result.markers is None:
        return source
    return replace(source, path=virtual_path(source.path, parsed.agent, parsed.id),
                   sha256=result.markers.get(parsed.id, ""))


def keep_marker(session_id: str, result: ParseResult, *, using: str) -> None:
    """A session whose archived copy was kept (it shrank): remember its new marker, so it is
    not re-read until it changes again."""
    if result.markers is not None and session_id in result.markers:
        Session.objects.using(using).filter(pk=session_id).update(
            file_hash=result.markers[session_id])


def settle(found: FoundFile, result: ParseResult, parsed: set[str], known: dict[str, str],
           written: list[str], report: SyncReport, *, using: str) -> list[str]:
    """After a database's changed sessions are written: count the ones not re-read as
    unchanged, mark the archived ones the database no longer holds as gone from their source
    (kept, as a deleted file's), and return the ids the database's ``SourceFile`` lists.
    *parsed*: the ids of the sessions it re-read."""
    markers = result.markers or {}
    unchanged = [sid for sid, marker in markers.items()
                 if sid not in parsed and known.get(sid) == marker]
    report.sessions_unchanged += len(unchanged)
    gone = [sid for sid in known if sid not in markers]
    if gone:
        now = datetime.now(UTC)
        with transaction.atomic(using=using):
            report.sessions_marked_missing += (
                Session.objects.using(using)
                .filter(pk__in=gone, source_missing_at__isnull=True)
                .update(source_missing_at=now, local_modified_at=now)
            )
    return sorted({*written, *unchanged})
