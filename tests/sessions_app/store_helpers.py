"""What the tests of the store-backed parsers share (OpenCode, Amp, Crush, Goose, OpenHands):
syncing through the real command, copying fixtures, a database held locked by a writer, and
JSON values swapped for values of every wrong type."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from io import StringIO
from pathlib import Path

import orjson
import pytest
from django.core.management import call_command

from agentsview.config import load_config
from sessions_app.services.sync import SyncReport, run_sync

PLACEHOLDER = "@@wrong-type@@"
# Raw JSON put in place of a value: every type, numbers no column holds, nesting past the
# decoders' limits, a lone surrogate, a timestamp that is not one.
WRONG_VALUES = (
    b"null", b"true", b"-1", b"18446744073709551616", b"1e400", b"NaN", b"1.5", b'""',
    b'"\\ud800 text"', b'"not a time"', b"[]", b"{}", b'[1,"a",null,{}]',
    b"[" * 300 + b"1" + b"]" * 300, b'{"k":' * 1100 + b"1" + b"}" * 1100,
)

# The wrong-type tests run one wrong value per place in the fast loop, every one when slow.
EXHAUSTIVE = (pytest.param(False, id="one-value-each"),
              pytest.param(True, id="every-value", marks=pytest.mark.slow))


def sync_command(*args: str) -> tuple[str, str]:
    """``manage.py sync``: its output and its warnings."""
    out, err = StringIO(), StringIO()
    call_command("sync", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def sync_report() -> SyncReport:
    return run_sync(load_config())


def copy_tree(src: Path, dst: Path) -> Path:
    """A writable copy of a fixture tree (the fixtures are read-only in some checkouts)."""
    shutil.copytree(src, dst, dirs_exist_ok=True)
    for path in [dst, *dst.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return dst


def database_from_sql(sql: Path, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(target)
    connection.executescript(sql.read_text())
    connection.close()
    return target


@contextmanager
def locked(database: Path) -> Iterator[None]:
    """*database* (in rollback-journal mode) held under an exclusive lock by another writer,
    as an agent in the middle of a long write holds it."""
    connection = sqlite3.connect(database, isolation_level=None)
    connection.execute("PRAGMA journal_mode = DELETE")
    connection.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        connection.execute("ROLLBACK")
        connection.close()


def _paths(value: object, prefix: tuple = ()) -> Iterator[tuple]:
    children = (value.items() if isinstance(value, dict)
                else enumerate(value) if isinstance(value, list) else ())
    for key, child in children:
        yield (*prefix, key)
        yield from _paths(child, (*prefix, key))


def wrong_type_mutants(document: dict, *, exhaustive: bool = True,
                       ) -> Iterator[tuple[str, bytes]]:
    """``(where, JSON text)``: *document* with one value swapped for each of
    ``WRONG_VALUES``, for every value it holds; not *exhaustive*, one wrong value per place,
    taken in turn (the fast loop's share)."""
    for index, path in enumerate(_paths(document)):
        copy = orjson.loads(orjson.dumps(document))
        holder = copy
        for key in path[:-1]:
            holder = holder[key]
        holder[path[-1]] = PLACEHOLDER
        text = orjson.dumps(copy)
        values = WRONG_VALUES if exhaustive else (WRONG_VALUES[index % len(WRONG_VALUES)],)
        for raw in values:
            yield "/".join(map(str, path)), text.replace(orjson.dumps(PLACEHOLDER), raw, 1)
