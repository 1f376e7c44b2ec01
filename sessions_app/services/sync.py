"""Local sync: discover agent files, parse the changed ones, write their sessions.

Unchanged files (same size and mtime, parsed by their parser's current version) are skipped
without being opened. Each session is written in its own transaction. A file that
disappeared leaves its sessions in the archive, marked ``source_missing_at``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from django.db import DatabaseError, OperationalError, connections, transaction

from agentsview.config import Config
from analytics_app.scoring.outcome import RECENCY_WINDOW
from sessions_app.models import Session, SourceFile
from sessions_app.parsers.base import (
    DatabaseReadError,
    ParseOptions,
    ParseResult,
    companion_paths,
)
from sessions_app.parsers.jsonl import FileReadError
from sessions_app.parsers.registry import parsed_agents, parser_for
from sessions_app.rows import fit_to_columns
from sessions_app.services import database_sources, parallel, search_index, sync_shortcut
from sessions_app.services.discovery import Discovery, FoundFile, discover, stamped
from sessions_app.services.ingest import (
    SessionRows,
    SourceInfo,
    WriteResult,
    build_rows,
    prepare_times,
    store_rows,
    upsert,
)
from sessions_app.services.reprice import reprice_outdated
from sessions_app.services.rescore import (
    apply_rule_changes,
    backfill_rollups,
    recompute_pending,
    rescore_outdated,
    rules_of,
)
from sessions_app.services.sync_report import SyncReport
from sessions_app.usage.pricing import price_table

log = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]  # (files done, files to parse, current path)
REBUILDING = "rebuilding the search index"  # the progress detail while that runs


def _changed(found: FoundFile, known: tuple | None) -> bool:
    if known is None:
        return True
    size, mtime_ns, parser_version, _ = known
    return (size != found.size or mtime_ns != found.mtime_ns
            or parser_version < parser_for(found.agent).version)


def run_sync(
    config: Config,
    *,
    full: bool = False,
    using: str = "default",
    progress: Progress | None = None,
    paths: list[Path] | None = None,
    workers: int | None = None,
) -> SyncReport:
    """Bring the archive up to date with the agent files on this machine.

    *paths* restricts the sync to those files (already known to discovery); *full* re-parses
    and rewrites every file whatever its size and mtime. *workers*: parser processes for a
    large sync (None: one per usable core; 0 or 1: parse here), see ``parallel``.
    """
    started = time.monotonic()
    report = SyncReport()
    stamps = paths is None and _archive_of(config, using)
    if stamps and not full:
        quick = sync_shortcut.nothing_to_do(config)  # nothing changed since the last sync
        if quick is not None:
            return quick
    if stamps:
        sync_shortcut.forget(config)
        tree = sync_shortcut.tree_digest(config)  # before discovery: a change from now on
        # makes the next sync a full one
    found = discover(config.agent_dirs)
    report.missing_roots = found.missing_roots
    for issue in found.issues:
        path, _, message = issue.partition(": ")
        report.warning(path, message)
    files = found.files
    if paths is not None:
        wanted = {str(p) for p in paths}
        files = [f for f in files if str(f.path) in wanted]
    report.files_found = len(files)

    known = {
        row[0]: row[1:]
        for row in SourceFile.objects.using(using).values_list(
            "path", "size", "mtime_ns", "parser_version", "session_ids"
        )
    }
    todo: list[FoundFile] = []
    for found_file in files:
        record = known.get(str(found_file.path))
        if full or _changed(found_file, record):
            todo.append(found_file)
        else:
            report.files_unchanged += 1
            report.sessions_unchanged += len(record[3] or ())

    options = ParseOptions(
        blocked_result_categories=config.blocked_result_categories,
        max_line_bytes=config.max_line_bytes,
    )
    search_index.repair(using)  # an earlier sync stopped with the index suspended
    pending = sum(f.size for f in todo)
    todo_paths = {str(f.path) for f in todo}
    archived = sum(record[0] or 0 for path, record in known.items() if path not in todo_paths)
    suspended = (search_index.worth_suspending(len(todo), pending, archived)
                 and search_index.suspend(using))
    pool_size = parallel.pool_size(workers, len(todo), pending)
    try:
        prepared_files = parallel.in_order(
            todo, pool_size,
            here=partial(prepare_file, options=options, config=config, force=full, using=using),
            task=partial(prepare_file, options=options, config=config, force=full, using=None,
                         times_for=using),
            in_pool=lambda found_file: not database_sources.is_database(found_file),
            weight=lambda found_file: found_file.size)
        for index, (found_file, prepared) in enumerate(prepared_files):
            if progress:
                progress(index, len(todo), str(found_file.path))
            try:
                store_file(prepared, config, report, using=using, force=full)
            except OperationalError:
                raise  # the database itself is unusable (locked, full, gone): stop, lose nothing
            except Exception as exc:  # whatever one file does, the others are archived
                log.debug("sync failed on %s", found_file.path, exc_info=True)
                report.error(found_file.path, f"not archived: {_reason(exc)}")
    except BaseException:
        if suspended:
            try:
                search_index.rebuild(using)
            except DatabaseError:  # the next sync rebuilds it (search_index.repair)
                log.warning("search index left for the next sync to rebuild", exc_info=True)
        raise
    if suspended:
        if progress:
            progress(len(todo), len(todo), REBUILDING)
        search_index.rebuild(using)
    if progress:
        progress(len(todo), len(todo), "")

    if paths is None:
        _mark_missing(found, using, report)
    now, rules = datetime.now(UTC), rules_of(config)
    report.signals_recomputed = apply_rule_changes(
        rules, config.data_dir / "automated-rules.sha256", now, using=using
    ) + recompute_pending(rules, now, using=using)
    # after the two above, which already re-score what they touch with this version
    report.signals_recomputed += rescore_outdated(rules, now, using=using)
    report.rollups_backfilled = backfill_rollups(now, using=using)
    report.sessions_repriced = reprice_outdated(price_table(config), now, using=using)
    if stamps and report.ok and not report.warnings and not any(
            agent in config.explicit_agent_dirs for agent, _ in report.missing_roots):
        _leave_stamp(config, found, tree, using)
    report.elapsed = time.monotonic() - started
    return report


def _leave_stamp(config: Config, found: Discovery, tree: str, using: str) -> None:
    """What the next sync compares with to know, before Django starts, that it has nothing
    to do (``sync_shortcut``)."""
    roots = tuple(str(root).rstrip("/") + "/" for root in found.scanned_roots)
    outside = sorted({str(p) for f in found.files
                      for p in companion_paths(parser_for(f.agent), f.path)
                      if not str(p).startswith(roots)})
    present = {str(f.path) for f in found.files}
    unchanged = sum(len(ids or ()) for path, ids in SourceFile.objects.using(using).filter(
        missing_at__isnull=True).values_list("path", "session_ids") if path in present)
    with connections[using].cursor() as cursor:
        records = sync_shortcut.records_state(cursor)
    sync_shortcut.remember(config, tree=tree, outside=outside, records=records,
                           unchanged=unchanged, recency=RECENCY_WINDOW)


def _archive_of(config: Config, using: str) -> bool:
    """*using* is the data dir's SQLite archive, the one ``sync_shortcut`` reads."""
    settings = connections[using].settings_dict
    return (sync_shortcut.applies(config) and connections[using].vendor == "sqlite"
            and settings["NAME"] == str(config.db_path))


@dataclass
class PreparedSession:
    """One parsed session ready to store: its rows, or why they could not be made."""

    id: str
    agent: str
    message_count: int
    source: SourceInfo
    rows: SessionRows | None
    error: str = ""


@dataclass
class PreparedFile:
    """What parsing one file gave, before the database is touched. ``result`` keeps the
    file's counts and issues; its sessions travel as ``sessions`` (rows, not messages), so
    a parser process sends the store only what it writes."""

    found: FoundFile
    result: ParseResult | None = None
    known: dict[str, str] = field(default_factory=dict)  # a database source's stored markers
    sessions: list[PreparedSession] = field(default_factory=list)
    failure: tuple[str, str] | None = None  # ("error" | "warning", message): nothing parsed


def prepare_file(found: FoundFile, options: ParseOptions, config: Config, *, force: bool,
                 using: str | None, times_for: str | None = None) -> PreparedFile:
    """Parse *found* and build its sessions' rows. Pure for a file source (a parser process
    runs it with *using* None); a database source reads its stored markers from *using*.
    *times_for*: the database whose time format the rows' times are given in already."""
    prepared = PreparedFile(found)
    try:  # a database source: only its changed sessions, compared with the stored markers
        result, prepared.known = database_sources.parse_source(
            found, options, force=force, using=using)
    except DatabaseReadError as exc:  # locked or corrupt for now: the next sync tries again
        prepared.failure = ("warning", str(exc))
        return prepared
    except FileReadError as exc:
        prepared.failure = ("error", str(exc))
        return prepared
    except Exception as exc:  # a parser bug must not stop the sync of other files
        log.debug("parser failed on %s", found.path, exc_info=True)
        prepared.failure = ("error", f"internal parser error ({_reason(exc)})")
        return prepared
    try:
        fit_to_columns(result)
    except Exception as exc:  # as a parser bug: this file only
        log.debug("fitting %s failed", found.path, exc_info=True)
        prepared.failure = ("error", f"not archived: {_reason(exc)}")
        return prepared
    source = SourceInfo(
        path=str(found.path),
        size=found.size,
        mtime_ns=found.mtime_ns,
        sha256=result.sha256,
        malformed_lines=result.malformed_lines,
        truncated=result.is_truncated,
    )
    rules, prices, now = rules_of(config), price_table(config), datetime.now(UTC)
    for parsed in result.sessions:
        where = database_sources.session_source(source, parsed, result)
        try:
            rows = build_rows(parsed, where, now=now, rules=rules, prices=prices)
            if times_for is not None:
                rows = prepare_times(rows, times_for)
            error = ""
        except Exception as exc:  # a value no check foresaw: this session only is not stored
            log.debug("building session %s failed", parsed.id, exc_info=True)
            rows, error = None, _reason(exc)
        prepared.sessions.append(PreparedSession(
            parsed.id, parsed.agent, parsed.message_count, where, rows, error))
    result.sessions = []  # their rows are made: the messages need not travel or stay
    prepared.result = result
    return prepared


def _sync_file(found: FoundFile, options: ParseOptions, config: Config, report: SyncReport,
               *, using: str, force: bool) -> list[str]:
    """Parse one file and store its sessions; returns the ids it holds in the archive."""
    prepared = prepare_file(found, options, config, force=force, using=using)
    return store_file(prepared, config, report, using=using, force=force)


def store_file(prepared: PreparedFile, config: Config, report: SyncReport, *, using: str,
               force: bool) -> list[str]:
    """Store the sessions of one prepared file; returns the ids it holds in the archive."""
    found, result = prepared.found, prepared.result
    if prepared.failure is not None:
        kind, message = prepared.failure
        (report.warning if kind == "warning" else report.error)(found.path, message)
        return []
    assert result is not None
    parser = parser_for(found.agent)
    report.files_parsed += 1
    for issue in result.issues:
        report.warning(found.path, issue)

    written: list[str] = []
    for session in prepared.sessions:
        if session.rows is None:
            report.error(found.path, f"session {session.id} not stored: {session.error}")
            continue
        try:
            stored = store_rows(
                session.id, session.agent, session.message_count, session.rows,
                session.source, machine=config.machine_name, using=using, force=force)
        except OperationalError:
            raise  # the database itself is unusable (locked, full, gone): stop, lose nothing
        except Exception as exc:  # a value no check foresaw: this session only is not stored
            log.debug("writing session %s failed", session.id, exc_info=True)
            report.error(found.path, f"session {session.id} not stored: {_reason(exc)}")
            continue
        if stored is WriteResult.TOMBSTONED:
            report.sessions_tombstoned += 1
            continue
        if stored is WriteResult.CONFLICT:
            report.conflicts += 1
            report.warning(found.path, f"session id {session.id} already archived from another"
                                       " file that still exists; kept that one")
            continue
        if stored is WriteResult.SHRUNK:
            report.warning(found.path, f"session {session.id} now has {session.message_count}"
                                       " messages, fewer than archived; kept the archived copy"
                                       " (sync --full replaces it)")
            database_sources.keep_marker(session.id, result, using=using)
        written.append(session.id)
        if stored in (WriteResult.UNCHANGED, WriteResult.SHRUNK):
            report.sessions_unchanged += 1
        else:
            report.sessions_written += 1
            report.messages_written += session.message_count

    if result.markers is not None:  # a database: its sessions not re-read, and gone ones
        parsed_ids = {s.id for s in prepared.sessions}
        written = database_sources.settle(found, result, parsed_ids, prepared.known, written,
                                          report, using=using)
    error = ""
    if not prepared.sessions and not result.markers:
        if result.size == 0:
            error = "empty file, no session"
            report.files_without_sessions += 1
            report.warning(found.path, error)
        elif result.records == 0:
            error = "no valid JSON lines: not a session file"
            report.error(found.path, error)
        else:
            error = "no messages, no session"
            report.files_without_sessions += 1

    upsert(using, SourceFile, {
        "path": str(found.path),
        "agent": found.agent,
        "size": found.size,
        "mtime_ns": found.mtime_ns,
        "sha256": result.sha256,
        "parser_version": parser.version,
        "session_ids": written,
        "malformed_lines": result.malformed_lines,
        "error": error,
        "synced_at": datetime.now(UTC),
        "missing_at": None,
    }, conflict="path")
    return written


def _reason(exc: BaseException) -> str:
    """An exception as one line of a report: its type and the first line of its message."""
    message = str(exc).strip().split("\n", 1)[0]
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def _mark_missing(found: Discovery, using: str, report: SyncReport) -> None:
    """Files under a scanned root that are gone: keep their sessions, note when they vanished."""
    present = {str(f.path) for f in found.files}
    roots = [str(r).rstrip("/") + "/" for r in found.scanned_roots]
    now = datetime.now(UTC)
    gone: list[tuple[str, list[str]]] = [
        (path, ids or [])
        for path, ids in SourceFile.objects.using(using)
        .filter(missing_at__isnull=True)
        .values_list("path", "session_ids")
        if path not in present and any(path.startswith(r) for r in roots)
    ]
    if not gone:
        return
    with transaction.atomic(using=using):
        SourceFile.objects.using(using).filter(path__in=[p for p, _ in gone]).update(
            missing_at=now
        )
        ids = [sid for _, session_ids in gone for sid in session_ids]
        report.sessions_marked_missing += (
            Session.objects.using(using)
            .filter(pk__in=ids, source_missing_at__isnull=True)
            .update(source_missing_at=now, local_modified_at=now)
        )


# --- one file or one session (`session sync`) --------------------------------------------------

class SyncTargetError(Exception):
    """``session sync`` cannot do what was asked; ``str()`` says why in one line."""


class AmbiguousSyncTarget(SyncTargetError):
    """The file holds several sessions (all now stored); the caller must name one."""


def agent_of(config: Config, path: Path, known: str | None = None) -> tuple[str, Path]:
    """``(agent, root)`` of a transcript: from the agent directory holding it, else (*known*,
    or the first parser that recognises its lines) with the root its parser places it under."""
    for spec in parsed_agents():
        for root in config.agent_dirs.get(spec.key, ()):
            try:
                rel = path.resolve().relative_to(root.resolve())
            except (ValueError, OSError):
                continue
            if parser_for(spec.key).matches(rel.parts):
                return spec.key, root
    if known is not None:
        return known, parser_for(known).root_of(path)
    for spec in parsed_agents():
        parser = parser_for(spec.key)
        try:
            recognised = parser.sniff(path)
        except OSError as exc:
            raise SyncTargetError(f"cannot read {path}: {exc.strerror}") from None
        if recognised:
            return spec.key, parser.root_of(path)
    raise SyncTargetError(f"session sync: {path} is not a transcript of any agent this"
                          " archive reads")


def inside_agent_dirs(config: Config, path: Path) -> bool:
    resolved = path.resolve()
    return any(resolved.is_relative_to(root.resolve())
               for roots in config.agent_dirs.values() for root in roots)


def _sync_path(config: Config, agent: str, root: Path, path: Path, using: str) -> list[str]:
    stat = path.stat()
    found = stamped(FoundFile(agent, root, path, stat.st_size, stat.st_mtime_ns))
    options = ParseOptions(blocked_result_categories=config.blocked_result_categories,
                           max_line_bytes=config.max_line_bytes)
    report = SyncReport()
    try:
        ids = _sync_file(found, options, config, report, using=using, force=True)
    except OperationalError:
        raise
    except Exception as exc:  # as in run_sync: one line, no traceback
        log.debug("sync failed on %s", path, exc_info=True)
        raise SyncTargetError(f"{path}: not archived: {_reason(exc)}") from None
    if report.errors:
        raise SyncTargetError(report.errors[0])
    return ids


def sync_one(config: Config, target: str, *, using: str = "default") -> str:
    """Re-parse one transcript (a path) or the transcript of one session (an id) and store
    it; returns the session id. A file holding several sessions is stored, then refused
    with every candidate id, so nothing is picked arbitrarily."""
    path = Path(target).expanduser()
    if path.exists():
        if not path.is_file():
            raise SyncTargetError(f"session sync: {path} is not a file")
        agent, root = agent_of(config, path)
        ids = _sync_path(config, agent, root, path, using)
        if not ids:
            raise SyncTargetError(f"session sync: {path} holds no session")
        if len(ids) > 1:
            raise AmbiguousSyncTarget(
                f"session sync: {path} holds {len(ids)} sessions; run session sync <id> with"
                f" one of: {', '.join(sorted(ids))}"
            )
        return ids[0]
    row = Session.objects.using(using).filter(pk=target).values_list("file_path", "agent").first()
    if row is None:
        raise SyncTargetError(f"session not in local archive: {target}")
    file_path, agent = row
    if not file_path:
        raise SyncTargetError(f"no file_path recorded for session {target}")
    source = Path(database_sources.real_path(file_path))  # a database's session: the db
    if not source.is_file():
        raise SyncTargetError(f"source file not found: {file_path}")
    agent, root = agent_of(config, source, agent)
    if target not in _sync_path(config, agent, root, source, using):
        raise SyncTargetError(f"session sync: {file_path} no longer holds session {target}")
    return target
