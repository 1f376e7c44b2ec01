"""The session store's two databases: PostgreSQL through an async psycopg pool, SQLite (the
local archive file) through one connection in a worker thread. Both run the same statements
on the tables of ``sync_app.models.StoreTranscript`` and ``StoreEntry``; Django migrations
create them (``agentsview pg push`` or ``pg serve`` on PostgreSQL, any command locally).

Each append is one transaction: the transcript's row (its next ``seq``, its storage ``mtime``
and the SDK's folded summary) and its new entries commit together, or nothing does.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import orjson
import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from agentsview.redact import redact_url, scrub
from sync_app.store.entries import TranscriptKey, decode_entry

TRANSCRIPTS, ENTRIES = "store_transcripts", "store_entries"
# The columns this release reads and writes; a database whose store tables lack one was
# made by another release (``tests/sync_app/test_store.py`` checks them against the models).
COLUMNS = {
    TRANSCRIPTS: frozenset({"id", "project_key", "session_id", "subpath", "host", "next_seq",
                            "mtime", "summary", "archived_seq", "ended_at", "created_at",
                            "updated_at"}),
    ENTRIES: frozenset({"id", "transcript_id", "seq", "uuid", "data"}),
}
CHANNEL = "agentsview_store"  # NOTIFY payload: the session id of each committed append


class StoreUnavailable(ConnectionError):
    """The store's database cannot be reached or failed mid-call (nothing half-written: the
    transaction is rolled back). The SDK retries a failed append."""


class StoreSchemaError(RuntimeError):
    """The database has no store tables, or tables of another release."""


@dataclass(frozen=True)
class AppendPlan:
    """What one append writes, decided under the transcript's lock."""

    transcript_id: int
    first_seq: int
    rows: list[tuple[str | None, str]]  # (uuid, JSON text), duplicates removed


def fresh_rows(rows: list[tuple[str | None, str]], known: set[str]) -> list[tuple[str | None, str]]:
    """*rows* without those whose uuid is stored already or came earlier in the batch."""
    seen = set(known)
    out = []
    for uuid, text in rows:
        if uuid is not None:
            if uuid in seen:
                continue
            seen.add(uuid)
        out.append((uuid, text))
    return out


def now_ms() -> int:
    return int(time.time() * 1000)


Fold = Callable[[str, list[str]], str]  # (previous summary JSON, new entries' JSON) -> summary


class PgBackend:
    """PostgreSQL: a psycopg ``AsyncConnectionPool``; appends to one transcript serialise on
    ``pg_advisory_xact_lock(key.lock_key)``, a key every process computes alike."""

    vendor = "postgresql"

    def __init__(self, url: str, *, schema: str = "agentsview", min_size: int = 1,
                 max_size: int = 10, timeout: float = 10.0, statement_timeout_ms: int = 30000,
                 application_name: str = "agentsview store") -> None:
        self.url, self.schema, self.timeout = url, schema, timeout
        self.description = f"{redact_url(url)} (schema {schema})"
        self.pool = AsyncConnectionPool(
            url, min_size=min_size, max_size=max_size, open=False, timeout=timeout,
            check=AsyncConnectionPool.check_connection, reconnect_timeout=timeout,
            kwargs={"options": f"-c search_path={schema} -c TimeZone=UTC"
                               f" -c statement_timeout={int(statement_timeout_ms)}",
                    "connect_timeout": max(1, int(timeout)),
                    "application_name": application_name[:63], "autocommit": True},
        )

    def _unavailable(self, exc: BaseException) -> StoreUnavailable:
        reason = scrub(str(exc).strip().splitlines()[0] if str(exc).strip() else
                       type(exc).__name__, self.url)
        return StoreUnavailable(f"session store: PostgreSQL {self.description}: {reason}")

    async def open(self) -> None:
        try:
            await self.pool.open(wait=True, timeout=self.timeout)
        except (PoolTimeout, psycopg.Error) as exc:
            await self.pool.close(timeout=0)
            raise self._unavailable(exc) from None
        try:
            await self.check_schema()
        except BaseException:
            await self.pool.close()
            raise

    async def close(self) -> None:
        await self.pool.close()

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[psycopg.AsyncConnection]:
        try:
            async with self.pool.connection(timeout=self.timeout) as conn:
                yield conn
        except (PoolTimeout, psycopg.OperationalError) as exc:
            raise self._unavailable(exc) from None

    async def check_schema(self) -> None:
        async with self.connection() as conn:
            cur = await conn.execute(
                "SELECT table_name, column_name FROM information_schema.columns"
                " WHERE table_schema = current_schema() AND table_name = ANY(%s)",
                [list(COLUMNS)])
            found: dict[str, set[str]] = {}
            for table, column in await cur.fetchall():
                found.setdefault(table, set()).add(column)
        check_columns(found, f"schema {self.schema}")

    async def append(self, key: TranscriptKey, rows: list[tuple[str | None, str]], host: str,
                     fold: Fold | None, ended: bool = False) -> AppendPlan:
        async with self.connection() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", [key.lock_key])
            cur = await conn.execute(
                f"INSERT INTO {TRANSCRIPTS} (project_key, session_id, subpath, host, next_seq,"
                " mtime, summary, archived_seq, created_at, updated_at)"
                " VALUES (%s, %s, %s, %s, 0, 0, '', 0, now(), now())"
                " ON CONFLICT (project_key, session_id, subpath)"
                " DO UPDATE SET host = EXCLUDED.host RETURNING id, next_seq, summary",
                [key.project_key, key.session_id, key.subpath, host])
            transcript_id, next_seq, summary = await cur.fetchone()
            uuids = [u for u, _ in rows if u is not None]
            known: set[str] = set()
            if uuids:
                cur = await conn.execute(
                    f"SELECT uuid FROM {ENTRIES} WHERE transcript_id = %s AND uuid = ANY(%s)",
                    [transcript_id, uuids])
                known = {r[0] for r in await cur.fetchall()}
            fresh = fresh_rows(rows, known)
            if fresh:
                async with conn.cursor() as cur, cur.copy(
                        f"COPY {ENTRIES} (transcript_id, seq, uuid, data) FROM STDIN") as copy:
                    for offset, (uuid, text) in enumerate(fresh):
                        await copy.write_row((transcript_id, next_seq + offset, uuid, text))
            if fold is not None and fresh:
                summary = fold(summary, [text for _, text in fresh])
            await conn.execute(
                f"UPDATE {TRANSCRIPTS} SET next_seq = %s, summary = %s, updated_at = now(),"
                " mtime = GREATEST(mtime + 1,"
                " (extract(epoch FROM clock_timestamp()) * 1000)::bigint),"
                " ended_at = CASE WHEN %s THEN COALESCE(ended_at, now()) ELSE ended_at END"
                " WHERE id = %s", [next_seq + len(fresh), summary, ended, transcript_id])
            if fresh:  # delivered to every listener when (and only if) this commits
                await conn.execute("SELECT pg_notify(%s, %s)", [CHANNEL, notice(key)])
        return AppendPlan(transcript_id, next_seq, fresh)

    async def load(self, key: TranscriptKey) -> list[str] | None:
        async with self.connection() as conn:
            cur = await conn.execute(
                f"SELECT id FROM {TRANSCRIPTS} WHERE project_key = %s AND session_id = %s"
                " AND subpath = %s", [key.project_key, key.session_id, key.subpath])
            row = await cur.fetchone()
            if row is None:
                return None
            cur = await conn.execute(
                f"SELECT data FROM {ENTRIES} WHERE transcript_id = %s ORDER BY seq", [row[0]])
            return [r[0] for r in await cur.fetchall()]

    async def load_entries(self, key: TranscriptKey) -> list[dict] | None:
        """The entries decoded: PostgreSQL joins them into one JSON array, which one orjson
        call reads (~15% less than 10,000 rows decoded one by one), unless some were written
        by the standard library (see ``entries._dumps``)."""
        async with self.connection() as conn:
            cur = await conn.execute(
                f"SELECT id FROM {TRANSCRIPTS} WHERE project_key = %s AND session_id = %s"
                " AND subpath = %s", [key.project_key, key.session_id, key.subpath])
            row = await cur.fetchone()
            if row is None:
                return None
            cur = await conn.execute(
                "SELECT '[' || coalesce(string_agg(data, ',' ORDER BY seq), '') || ']',"
                f" coalesce(bool_or(starts_with(data, ' ')), false) FROM {ENTRIES}"
                " WHERE transcript_id = %s", [row[0]])
            joined, by_stdlib = await cur.fetchone()
            if not by_stdlib:
                return orjson.loads(joined)
        texts = await self.load(key)
        return None if texts is None else [decode_entry(t) for t in texts]

    async def query(self, sql: str, params: list) -> list[tuple]:
        async with self.connection() as conn:
            cur = await conn.execute(sql, params)
            return await cur.fetchall()

    async def delete(self, key: TranscriptKey) -> list[str]:
        where, params = delete_filter(key)
        async with self.connection() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", [key.lock_key])
            cur = await conn.execute(f"SELECT subpath FROM {TRANSCRIPTS} WHERE {where}", params)
            gone = [r[0] for r in await cur.fetchall()]
            await conn.execute(f"DELETE FROM {ENTRIES} WHERE transcript_id IN"
                               f" (SELECT id FROM {TRANSCRIPTS} WHERE {where})", params)
            await conn.execute(f"DELETE FROM {TRANSCRIPTS} WHERE {where}", params)
            if gone:
                await conn.execute("SELECT pg_notify(%s, %s)", [CHANNEL, notice(key)])
        return gone


def notice(key: TranscriptKey) -> str:
    return orjson.dumps({"project_key": key.project_key, "session_id": key.session_id,
                         "subpath": key.subpath}).decode()


def delete_filter(key: TranscriptKey) -> tuple[str, list]:
    """Deleting the main transcript takes its subagents' along (the SDK's contract)."""
    if key.subpath:
        return ("project_key = %s AND session_id = %s AND subpath = %s",
                [key.project_key, key.session_id, key.subpath])
    return "project_key = %s AND session_id = %s", [key.project_key, key.session_id]


def check_columns(found: dict[str, set[str]], where: str) -> None:
    for table, wanted in COLUMNS.items():
        if table not in found:
            raise StoreSchemaError(
                f"session store: {where} has no table {table}; create it with this release"
                " (agentsview pg push, or agentsview migrate for the local archive)")
        missing = sorted(wanted - found[table])
        if missing:
            raise StoreSchemaError(
                f"session store: {where} holds a {table} of another release (it lacks"
                f" {', '.join(missing)}); migrate it with this release first")


class SqliteBackend:
    """The local archive (a SQLite file): one connection, used by one worker thread at a time;
    ``BEGIN IMMEDIATE`` takes the file's write lock, which serialises writers of every process
    (SQLite has one writer at a time, so no per-transcript lock is needed)."""

    vendor = "sqlite"

    def __init__(self, path: str | Path, *, timeout: float = 30.0) -> None:
        self.path = Path(path)
        self.description = str(self.path)
        self.timeout = timeout
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            if not self.path.parent.is_dir():
                raise StoreUnavailable(f"session store: no directory {self.path.parent}")
            deadline = time.monotonic() + self.timeout
            while True:
                try:
                    conn = sqlite3.connect(self.path, timeout=self.timeout,
                                           isolation_level=None, check_same_thread=False)
                except sqlite3.Error as exc:
                    raise StoreUnavailable(f"session store: SQLite {self.path}: {exc}") from None
                try:
                    conn.execute("PRAGMA journal_mode=WAL")
                    conn.execute("PRAGMA synchronous=NORMAL")
                    break
                except sqlite3.OperationalError as exc:
                    # Setting the journal mode can answer "locked" at once, without waiting
                    # for the busy timeout, while another process opens or checkpoints the
                    # file: try again until the timeout, as a busy write would.
                    conn.close()
                    if "locked" not in str(exc) or time.monotonic() > deadline:
                        raise StoreUnavailable(
                            f"session store: SQLite {self.path}: {exc}") from None
                    time.sleep(0.05)
                except sqlite3.Error as exc:
                    conn.close()
                    raise StoreUnavailable(f"session store: SQLite {self.path}: {exc}") from None
            self._conn = conn
        return self._conn

    async def _run(self, work: Callable[[sqlite3.Connection], object]):
        def call():
            with self._lock:
                conn = self._connect()
                try:
                    return work(conn)
                except sqlite3.OperationalError as exc:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise StoreUnavailable(f"session store: SQLite {self.path}: {exc}") from None
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
        return await asyncio.to_thread(call)

    async def open(self) -> None:
        await self.check_schema()

    async def close(self) -> None:
        def shut():
            with self._lock:
                if self._conn is not None:
                    self._conn.close()
                    self._conn = None
        await asyncio.to_thread(shut)

    async def check_schema(self) -> None:
        def read(conn: sqlite3.Connection) -> dict[str, set[str]]:
            return {table: {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
                    for table in COLUMNS
                    if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table'"
                                    " AND name = ?", [table]).fetchone()}
        check_columns(await self._run(read), str(self.path))

    async def append(self, key: TranscriptKey, rows: list[tuple[str | None, str]], host: str,
                     fold: Fold | None, ended: bool = False) -> AppendPlan:
        def write(conn: sqlite3.Connection) -> AppendPlan:
            conn.execute("BEGIN IMMEDIATE")
            stamp = sqlite_now()
            row = conn.execute(
                f"INSERT INTO {TRANSCRIPTS} (project_key, session_id, subpath, host, next_seq,"
                " mtime, summary, archived_seq, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, 0, 0, '', 0, ?, ?)"
                " ON CONFLICT (project_key, session_id, subpath)"
                " DO UPDATE SET host = excluded.host RETURNING id, next_seq, summary, mtime",
                [key.project_key, key.session_id, key.subpath, host, stamp, stamp]).fetchone()
            transcript_id, next_seq, summary, mtime = row
            known: set[str] = set()
            uuids = [u for u, _ in rows if u is not None]
            for start in range(0, len(uuids), 500):
                chunk = uuids[start:start + 500]
                known.update(r[0] for r in conn.execute(
                    f"SELECT uuid FROM {ENTRIES} WHERE transcript_id = ? AND uuid IN"
                    f" ({', '.join('?' * len(chunk))})", [transcript_id, *chunk]))
            fresh = fresh_rows(rows, known)
            conn.executemany(
                f"INSERT INTO {ENTRIES} (transcript_id, seq, uuid, data) VALUES (?, ?, ?, ?)",
                [(transcript_id, next_seq + i, u, t) for i, (u, t) in enumerate(fresh)])
            if fold is not None and fresh:
                summary = fold(summary, [text for _, text in fresh])
            conn.execute(
                f"UPDATE {TRANSCRIPTS} SET next_seq = ?, summary = ?, mtime = ?,"
                " updated_at = ?, ended_at = CASE WHEN ? THEN COALESCE(ended_at, ?)"
                " ELSE ended_at END WHERE id = ?",
                [next_seq + len(fresh), summary, max(now_ms(), mtime + 1), stamp, ended, stamp,
                 transcript_id])
            conn.execute("COMMIT")
            return AppendPlan(transcript_id, next_seq, fresh)
        return await self._run(write)

    async def load(self, key: TranscriptKey) -> list[str] | None:
        def read(conn: sqlite3.Connection) -> list[str] | None:
            conn.execute("BEGIN")
            row = conn.execute(
                f"SELECT id FROM {TRANSCRIPTS} WHERE project_key = ? AND session_id = ?"
                " AND subpath = ?", [key.project_key, key.session_id, key.subpath]).fetchone()
            result = None if row is None else [r[0] for r in conn.execute(
                f"SELECT data FROM {ENTRIES} WHERE transcript_id = ? ORDER BY seq", [row[0]])]
            conn.execute("COMMIT")
            return result
        return await self._run(read)

    async def load_entries(self, key: TranscriptKey) -> list[dict] | None:
        texts = await self.load(key)
        return None if texts is None else [decode_entry(t) for t in texts]

    async def query(self, sql: str, params: list) -> list[tuple]:
        sql = sql.replace("%s", "?")
        return await self._run(lambda conn: conn.execute(sql, params).fetchall())

    async def delete(self, key: TranscriptKey) -> list[str]:
        where, params = delete_filter(key)
        where = where.replace("%s", "?")

        def remove(conn: sqlite3.Connection) -> list[str]:
            conn.execute("BEGIN IMMEDIATE")
            gone = [r[0] for r in conn.execute(
                f"SELECT subpath FROM {TRANSCRIPTS} WHERE {where}", params)]
            conn.execute(f"DELETE FROM {ENTRIES} WHERE transcript_id IN"
                         f" (SELECT id FROM {TRANSCRIPTS} WHERE {where})", params)
            conn.execute(f"DELETE FROM {TRANSCRIPTS} WHERE {where}", params)
            conn.execute("COMMIT")
            return gone
        return await self._run(remove)


def sqlite_now() -> str:
    """A time as Django stores a DateTimeField in SQLite (UTC, no offset)."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()) + f".{int(time.time() % 1 * 1e6):06d}"
