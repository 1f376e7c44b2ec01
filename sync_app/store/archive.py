"""Stored sessions become archive sessions: the Claude parser reads a session's stored
transcripts (laid out as Claude Code lays out its files: the main one, subagents under
``<session>/subagents/``) and the ingest writes them as a sync would, with the store's host
as machine. It runs in the background after appends (debounced), never in the append path.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import connections, transaction
from django.db.models import F, Q
from django.db.models.functions import Greatest

from sessions_app.models import Session
from sessions_app.parsers.base import ParseOptions
from sessions_app.parsers.registry import category_of, parser_for
from sessions_app.rows import fit_to_columns
from sessions_app.services.ingest import SourceInfo, write_session
from sessions_app.services.rescore import rules_of, signal_columns
from sync_app.models import StoreTranscript
from sync_app.store.entries import TranscriptKey

log = logging.getLogger(__name__)
AGENT = "claude"
STORE_OWNER = "session-store"  # push_owner of stored sessions in the shared database
SOURCE_PREFIX = "store:"  # file_path of an archived stored session: store:<project>/<session>
DEBOUNCE = 0.1  # seconds: appends arriving together are parsed once
FINAL_AFTER = timedelta(days=1)  # past any recency window of the outcome rules


def source_path(project_key: str, session_id: str, subpath: str = "") -> str:
    return SOURCE_PREFIX + "/".join(filter(None, [project_key, session_id, subpath]))


def _ours(session_id: str, using: str) -> bool:
    """Whether the store may write this session: new, or written by the store before (a
    session pushed from a machine's archive belongs to that machine)."""
    owner = (Session.objects.using(using).filter(pk=session_id)
             .values_list("push_owner", flat=True).first())
    return owner in (None, "", STORE_OWNER)


def _dir_name(project_key: str) -> str:
    """The project key as one directory name (the SDK's keys already are; a tenant's may not
    be), which the parser reads as the project when no entry names a cwd."""
    if re.fullmatch(r"[A-Za-z0-9._-]{1,200}", project_key) and project_key not in (".", ".."):
        return project_key
    return re.sub(r"[^A-Za-z0-9_-]", "-", project_key)[:180] + "-" + hashlib.sha256(
        project_key.encode("utf-8", "surrogatepass")).hexdigest()[:12]


def archive_transcripts(project_key: str, session_id: str, transcripts: dict[str, list[str]],
                        *, host: str, using: str, ended: bool = False) -> list[str]:
    """Parse one stored session (subpath -> entry JSON texts) and write what it yields into
    the archive *using*, one transaction; returns the archived session ids. A session no
    longer stored (deleted through the store) is moved to the trash. An *ended* session's
    signals are final: its outcome is not left pending for the recency window."""
    parser = parser_for(AGENT)
    rules = rules_of(settings.AGENTSVIEW)  # the automated-session rules, as a sync has them
    connection = connections[using]
    is_pg = connection.vendor == "postgresql"
    written: list[str] = []
    with transaction.atomic(using=using):
        if is_pg:  # one archiver per session at a time
            key = TranscriptKey(project_key, session_id, "\x00archive").lock_key
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])
        archived = dict(StoreTranscript.objects.using(using).filter(
            project_key=project_key, session_id=session_id).values_list("subpath",
                                                                        "archived_seq"))
        if any(archived.get(sub, 0) > len(texts) for sub, texts in transcripts.items()):
            return []  # another process archived a newer copy meanwhile: keep it
        if not transcripts.get(""):
            now = datetime.now(UTC)
            main = source_path(project_key, session_id)
            Session.objects.using(using).filter(
                Q(file_path=main) | Q(file_path__startswith=main + "/"),
                deleted_at__isnull=True).update(deleted_at=now, local_modified_at=now)
            return []
        with tempfile.TemporaryDirectory(prefix="agentsview-store-") as tmp:
            root = Path(tmp)
            project_dir = root / _dir_name(project_key)
            files: list[tuple[str, Path]] = []
            for subpath, texts in sorted(transcripts.items()):
                path = (project_dir / f"{session_id}.jsonl" if not subpath else
                        project_dir / session_id / f"{subpath}.jsonl")
                if subpath and not parser.matches(path.relative_to(root).parts):
                    continue  # not a subagent transcript: kept in the store, not parsed
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text("\n".join(texts) + "\n", encoding="utf-8",
                                errors="surrogatepass")
                files.append((subpath, path))
            for subpath, path in files:
                result = parser.parse(path, root, ParseOptions())
                fit_to_columns(result)
                stat = path.stat()
                source = SourceInfo(
                    path=source_path(project_key, session_id, subpath), size=stat.st_size,
                    mtime_ns=stat.st_mtime_ns, sha256=result.sha256,
                    malformed_lines=result.malformed_lines, truncated=result.is_truncated)
                for parsed in result.sessions:
                    if not _ours(parsed.id, using):
                        log.warning("session store: %s was pushed by a machine's archive;"
                                    " not overwritten", parsed.id)
                        continue
                    write_session(parsed, source, machine=host, using=using, rules=rules)
                    if is_pg:  # a later push of the same id is a conflict, not an overwrite
                        Session.objects.using(using).filter(pk=parsed.id).exclude(
                            push_owner=STORE_OWNER).update(push_owner=STORE_OWNER)
                    if ended and not subpath:
                        # judged as if the recency window had passed: nothing more will come
                        final = (parsed.ended_at or datetime.now(UTC)) + FINAL_AFTER
                        Session.objects.using(using).filter(pk=parsed.id).update(
                            **signal_columns(parsed, rules, final))
                    written.append(parsed.id)
        # a subagent's transcript deleted through the store: its session goes to the trash
        main = source_path(project_key, session_id)
        kept = [source_path(project_key, session_id, sub) for sub in transcripts if sub]
        gone = Session.objects.using(using).filter(
            file_path__startswith=main + "/", deleted_at__isnull=True).exclude(
            file_path__in=kept)
        if gone.exists():
            now = datetime.now(UTC)
            gone.update(deleted_at=now, local_modified_at=now)
        for subpath, texts in transcripts.items():  # what is archived now (seqs run from 0)
            StoreTranscript.objects.using(using).filter(
                project_key=project_key, session_id=session_id, subpath=subpath,
            ).update(archived_seq=Greatest(F("archived_seq"), len(texts)))
    return written


class Archiver:
    """Parses the sessions a store appends to into the archive, in the background: a session
    changed is parsed ``delay`` seconds later (once for all the appends meanwhile), again if
    it changed while being parsed. Failures are logged; the next append retries."""

    def __init__(self, *, using: str, delay: float = DEBOUNCE) -> None:
        self.using, self.delay = using, delay
        self.store = None
        self.tasks: dict[tuple[str, str], asyncio.Task] = {}
        self.again: set[tuple[str, str]] = set()
        self.failures = 0
        # SQLite has one writer: parse sessions one at a time there (PostgreSQL: in parallel)
        self.one_at_a_time = asyncio.Lock() if connections[using].vendor == "sqlite" else None

    def changed(self, key: TranscriptKey) -> None:
        session = (key.project_key, key.session_id)
        task = self.tasks.get(session)
        if task is None or task.done():
            self.tasks[session] = asyncio.get_running_loop().create_task(self._run(session))
        else:
            self.again.add(session)

    async def _run(self, session: tuple[str, str]) -> None:
        await asyncio.sleep(self.delay)
        while True:
            self.again.discard(session)
            try:
                await self.archive(*session)
            except Exception:
                self.failures += 1
                log.exception("session store: archiving %s/%s failed", *session)
            if session not in self.again:
                break
        self.tasks.pop(session, None)

    async def archive(self, project_key: str, session_id: str) -> list[str]:
        transcripts = await self.store.load_session(project_key, session_id)
        ended = await self.store.session_ended(project_key, session_id)
        args = (self._write, project_key, session_id, transcripts, ended)
        if self.one_at_a_time is None:
            return await asyncio.to_thread(*args)
        async with self.one_at_a_time:
            return await asyncio.to_thread(*args)

    def _write(self, project_key: str, session_id: str, transcripts: dict[str, list[str]],
               ended: bool) -> list[str]:
        try:
            return archive_transcripts(project_key, session_id, transcripts,
                                       host=self.store.host, using=self.using, ended=ended)
        finally:
            connections[self.using].close()  # a worker thread's connection: not kept

    async def catch_up(self) -> int:
        """Archive the sessions appended to but not archived since (their writer died before
        its archiver ran); returns how many were scheduled."""
        rows = await self.store.backend.query(
            "SELECT DISTINCT project_key, session_id FROM store_transcripts"
            " WHERE archived_seq < next_seq", [])
        for project_key, session_id in rows:
            self.changed(TranscriptKey(project_key, session_id))
        return len(rows)

    async def warm_up(self) -> None:
        """Pay the first archiving's one-off costs (imports the parser and the scoring load
        lazily, a first connection) before the first append, not after it."""
        await asyncio.to_thread(self._warm_up)

    def _warm_up(self) -> None:
        category_of("Bash")  # loads every agent's parser (their tool tables): ~0.5 s cold
        line = ('{"type":"user","uuid":"w","sessionId":"warm-up","timestamp":'
                '"2026-01-01T00:00:00Z","message":{"role":"user","content":"hi"}}')
        with tempfile.TemporaryDirectory(prefix="agentsview-store-") as tmp:
            path = Path(tmp) / "p" / "warm-up.jsonl"
            path.parent.mkdir()
            path.write_text(line + "\n")
            for parsed in parser_for(AGENT).parse(path, Path(tmp), ParseOptions()).sessions:
                signal_columns(parsed, rules_of(settings.AGENTSVIEW), datetime.now(UTC))
        try:
            with connections[self.using].cursor() as cursor:
                cursor.execute("SELECT 1")
        finally:
            connections[self.using].close()

    async def flush(self) -> None:
        """Wait until every change seen so far is archived."""
        while self.tasks:
            await asyncio.gather(*list(self.tasks.values()), return_exceptions=True)
