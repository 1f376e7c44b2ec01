"""What the parsers of database sources (an agent keeping its sessions in one SQLite file)
share: opening it read-only, its ``-wal`` companion, change markers, JSON columns."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from urllib.parse import quote

import orjson

from sessions_app.parsers.base import DatabaseReadError, ParseOptions, ParseResult, clean_json

# How long a read waits for a writer's lock before the file is skipped until the next sync.
BUSY_TIMEOUT_S = 2.0


def wal_companions(path: Path) -> tuple[Path, ...]:
    """A SQLite database's write-ahead log: in WAL mode a commit writes only this file."""
    return (path.with_name(path.name + "-wal"),)


class DatabaseSourceParser:
    """What a parser of a database source inherits: the ``-wal`` as the companion, and a
    whole parse as ``parse_changed`` with nothing known, where a database that cannot be
    read is one issue of its file (the sync reads it again next time)."""

    def companion_paths(self, path: Path) -> tuple[Path, ...]:
        return wal_companions(path)

    def parse(self, path: Path, root: Path, options: ParseOptions | None = None) -> ParseResult:
        try:
            return self.parse_changed(path, root, {}, options)  # type: ignore[attr-defined]
        except DatabaseReadError as exc:
            return ParseResult(path=path, issues=[str(exc)])


@contextmanager
def read_only(path: Path) -> Iterator[sqlite3.Connection]:
    """A read-only connection to the SQLite database *path* (``mode=ro``: nothing is ever
    written to it, not even a checkpoint), inside one read transaction, so every query sees
    the same snapshot. Any SQLite error while it is open becomes ``DatabaseReadError`` with
    a one-line reason."""
    uri = f"file:{quote(str(path.absolute()))}?mode=ro"
    connection = None
    try:
        connection = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S,
                                     isolation_level=None, check_same_thread=False)
        connection.execute("PRAGMA query_only = ON")
        connection.execute("BEGIN")  # deferred: the first read takes the snapshot
        yield connection
    except sqlite3.Error as exc:
        raise DatabaseReadError(describe(exc)) from None
    finally:
        if connection is not None:
            with suppress(sqlite3.Error):
                connection.close()


def describe(exc: sqlite3.Error) -> str:
    """A SQLite error as a warning says it."""
    text = str(exc).strip().split("\n", 1)[0] or type(exc).__name__
    if "locked" in text or "busy" in text:
        return f"database is locked ({text}); not read this time"
    if isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError):
        return f"unreadable database ({text}); not read this time"
    return f"cannot read the database ({text}); not read this time"


def table_columns(connection: sqlite3.Connection, table: str) -> set[str]:
    """The columns of *table* (empty when there is no such table): agents add columns across
    versions, so queries name only those present."""
    rows = connection.execute(f'PRAGMA table_info("{table}")').fetchall()
    return {row[1] for row in rows}


def marker(*parts: object) -> str:
    """A session's change marker from the cheap values that move with it (update times, row
    counts): 32 hex characters, within the 64 the archive stores."""
    text = "\x1f".join("" if p is None else str(p) for p in parts)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def json_object(raw: object) -> dict | None:
    """A JSON column holding an object (TEXT or BLOB); None for anything else or bad JSON."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogatepass")
    if not isinstance(raw, bytes | bytearray | memoryview):
        return None
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return lenient_json(bytes(raw))
    return value if isinstance(value, dict) else None


def json_list(raw: object) -> list | None:
    """A JSON column holding an array (TEXT or BLOB); None for anything else or bad JSON."""
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    if not isinstance(raw, str):
        return None
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        value = lenient_value(raw.encode("utf-8", "surrogatepass"))
    return value if isinstance(value, list) else None


def lenient_value(raw: bytes) -> object | None:
    """Second chance for a JSON column orjson refuses (invalid UTF-8, raw control characters,
    NaN, lone surrogate escapes): Python's decoder, bad bytes replaced; None if that fails."""
    try:
        value = json.loads(raw.decode("utf-8", "replace"), strict=False)
    except (ValueError, RecursionError):
        return None
    return clean_json(value)  # lone surrogates, numbers beyond 64 bits: as the store takes them


def lenient_json(raw: bytes) -> dict | None:
    """``lenient_value`` of a column that should hold an object."""
    value = lenient_value(raw)
    return value if isinstance(value, dict) else None
