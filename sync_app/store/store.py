"""``ArchiveSessionStore``: the Claude Agent SDK's ``SessionStore`` on our database.

Every optional method of the protocol is implemented. Entries are kept append-only in call
order, keyed by (project key, session, subpath, seq), idempotent on ``uuid``; ``load`` returns
them deep-equal. After each append the transcript is handed to an ``archiver`` (when given),
which parses it into archive sessions in the background, so appends stay fast.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from claude_agent_sdk import fold_session_summary
from claude_agent_sdk.types import SessionStore

from sync_app.store.backends import (
    ENTRIES,
    TRANSCRIPTS,
    PgBackend,
    SqliteBackend,
    sqlite_now,
)
from sync_app.store.entries import (
    TranscriptKey,
    decode_entry,
    encode_entries,
    transcript_key,
)


def _fold(key: TranscriptKey) -> Callable[[str, list[str]], str]:
    """The SDK's own summary fold over the new entries (main transcripts only), kept as the
    JSON of its opaque ``data``."""
    def fold(previous: str, texts: list[str]) -> str:
        prev = ({"session_id": key.session_id, "mtime": 0, "data": orjson.loads(previous)}
                if previous else None)
        sdk_key = {"project_key": key.project_key, "session_id": key.session_id}
        summary = fold_session_summary(prev, sdk_key, [decode_entry(t) for t in texts])
        return orjson.dumps(summary["data"]).decode()
    return fold


class ArchiveSessionStore(SessionStore):
    """A ``SessionStore`` on PostgreSQL (``connect_pg``) or the local SQLite archive
    (``open_sqlite``). ``host`` names the machine in the archive (default: the hostname)."""

    def __init__(self, backend: PgBackend | SqliteBackend, *, host: str | None = None,
                 archive_into: str | None = None) -> None:
        self.backend = backend
        self.host = host or socket.gethostname()
        # the Django database alias whose sessions the stored ones become (None: not parsed)
        self.archiver = None
        if archive_into is not None:
            from sync_app.store.archive import Archiver  # needs Django set up; the store not

            self.archiver = Archiver(using=archive_into)
            self.archiver.store = self

    # --- opening ------------------------------------------------------------------------
    @classmethod
    async def connect_pg(cls, url: str, *, schema: str = "agentsview", host: str | None = None,
                         min_size: int = 1, max_size: int = 10, timeout: float = 10.0,
                         archive_into: str | None = None) -> ArchiveSessionStore:
        """Open a pool on the shared PostgreSQL (its store tables must exist: ``agentsview pg
        push`` creates the schema). Raises ``StoreUnavailable`` within *timeout* seconds when
        it cannot be reached, ``StoreSchemaError`` for a schema of another release."""
        backend = PgBackend(url, schema=schema, min_size=min_size, max_size=max_size,
                            timeout=timeout, application_name=f"agentsview store {host or ''}")
        await backend.open()
        return cls(backend, host=host, archive_into=archive_into)

    @classmethod
    async def open_sqlite(cls, path: str | Path, *, host: str | None = None,
                          timeout: float = 30.0, archive_into: str | None = None
                          ) -> ArchiveSessionStore:
        """Open the store in a SQLite archive file (migrated by any ``agentsview`` command)."""
        backend = SqliteBackend(path, timeout=timeout)
        await backend.open()
        return cls(backend, host=host, archive_into=archive_into)

    async def close(self, key: Any = None) -> None:
        """``close(key)`` (agent-webkit-server's protocol): the session is over, see
        ``end_session``. ``close()``: finish the archiving under way, then close the pool."""
        if key is not None:
            await self.end_session(key)
            return
        if self.archiver is not None:
            await self.archiver.flush()
        await self.backend.close()

    async def __aenter__(self) -> ArchiveSessionStore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- the protocol ---------------------------------------------------------------------
    async def append(self, key: Any, entries: list[Any]) -> None:
        tkey = transcript_key(key)
        rows = encode_entries(entries)  # refuses the whole batch before anything is written
        if not rows:
            return
        fold = None if tkey.subpath else _fold(tkey)
        # the SDK's result entry ends the session (its outcome is final from then on)
        ended = not tkey.subpath and any(e.get("type") == "result" for e in entries)
        plan = await self.backend.append(tkey, rows, self.host, fold, ended)
        if plan.rows and self.archiver is not None:
            self.archiver.changed(tkey)

    async def load(self, key: Any) -> list[Any] | None:
        return await self.backend.load_entries(transcript_key(key))

    async def list_sessions(self, project_key: str) -> list[Any]:
        rows = await self.backend.query(
            f"SELECT session_id, mtime FROM {TRANSCRIPTS}"
            " WHERE project_key = %s AND subpath = ''", [_project(project_key)])
        return [{"session_id": sid, "mtime": mtime} for sid, mtime in rows]

    async def list_session_summaries(self, project_key: str) -> list[Any]:
        rows = await self.backend.query(
            f"SELECT session_id, mtime, summary FROM {TRANSCRIPTS}"
            " WHERE project_key = %s AND subpath = '' AND summary <> ''",
            [_project(project_key)])
        return [{"session_id": sid, "mtime": mtime, "data": orjson.loads(summary)}
                for sid, mtime, summary in rows]

    async def delete(self, key: Any) -> None:
        tkey = transcript_key(key)
        gone = await self.backend.delete(tkey)
        if gone and self.archiver is not None:
            self.archiver.changed(tkey)

    async def list_subkeys(self, key: Any) -> list[str]:
        tkey = transcript_key(key, subpath_allowed=False)
        rows = await self.backend.query(
            f"SELECT subpath FROM {TRANSCRIPTS} WHERE project_key = %s AND session_id = %s"
            " AND subpath <> '' ORDER BY subpath", [tkey.project_key, tkey.session_id])
        return [r[0] for r in rows]

    # --- beyond the protocol ------------------------------------------------------------
    async def end_session(self, key: Any) -> bool:
        """Mark a session over: its archive session gets its final outcome now instead of
        waiting for the recency window. False when the session was never written."""
        tkey = transcript_key(key)
        if self.backend.vendor == "postgresql":
            stamp, now = "now()", []
        else:
            stamp, now = "%s", [sqlite_now()]
        rows = await self.backend.query(
            f"UPDATE {TRANSCRIPTS} SET ended_at = COALESCE(ended_at, {stamp})"
            " WHERE project_key = %s AND session_id = %s AND subpath = '' RETURNING id",
            [*now, tkey.project_key, tkey.session_id])
        if rows and self.archiver is not None:
            self.archiver.changed(tkey)
        return bool(rows)

    async def session_ended(self, project_key: str, session_id: str) -> bool:
        rows = await self.backend.query(
            f"SELECT ended_at IS NOT NULL FROM {TRANSCRIPTS} WHERE project_key = %s"
            " AND session_id = %s AND subpath = ''", [project_key, session_id])
        return bool(rows and rows[0][0])

    async def load_session(self, project_key: str, session_id: str
                           ) -> dict[str, list[str]]:
        """Every transcript of a session as JSON texts: subpath ('' main) -> entries."""
        rows = await self.backend.query(
            f"SELECT t.subpath, e.data FROM {TRANSCRIPTS} t JOIN {ENTRIES} e"
            " ON e.transcript_id = t.id WHERE t.project_key = %s AND t.session_id = %s"
            " ORDER BY t.subpath, e.seq", [project_key, session_id])
        out: dict[str, list[str]] = {}
        for subpath, data in rows:
            out.setdefault(subpath, []).append(data)
        return out


def _project(project_key: object) -> str:
    return transcript_key({"project_key": project_key, "session_id": "x"}).project_key
