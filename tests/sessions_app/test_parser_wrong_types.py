"""Wrong types everywhere, deterministically: every value of every JSON and JSON-lines fixture
of every agent, and of every JSON text in a cell of the SQLite fixtures (OpenCode's parts,
Crush's, Goose's, Omnigent's, Kiro's, Cursor IDE's), replaced, one at a time, by an object, a
list, a number and null, and the file parsed and built as a sync would store it (the fuzzer's
checks). Nothing may raise.

The fuzzer (``test_parser_fuzz.py``) finds such bugs by chance; this walks every key path.
The fast loop tries each distinct key path of a fixture once (its first occurrence, the four
replacements spread over the paths); the slow run tries each with all four.
Values inside a JSON text held by a string (Codex's arguments) are key paths too.
"""

from __future__ import annotations

import shutil
import sqlite3
import traceback
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from tests.layouts import AGENT_FIXTURES
from tests.sessions_app.test_parser_fuzz import FIXTURES, _nodes, _place, check

REPLACEMENTS = ({"type": {"k": 1}, "text": ["x"]}, [{"type": "text"}, 1, None], 7, None)


def _documents(data: bytes) -> tuple[dict[int, object], bool] | None:
    """The JSON values of a file by line (``{0: doc}`` for a whole document), and whether
    it is one document; None for a file holding none (a database, Markdown, plain text)."""
    try:
        whole = orjson.loads(data)
    except orjson.JSONDecodeError:
        whole = None
    if isinstance(whole, dict | list):
        return {0: whole}, True
    docs = {}
    for index, line in enumerate(data.split(b"\n")):
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if isinstance(value, dict | list):
            docs[index] = value
    return (docs, False) if docs else None


def _shape(doc: object, path: tuple, inner: tuple | None) -> tuple:
    """A key path with its list indexes folded, under the record's type: what makes two
    values of a transcript the same place for a parser."""
    kind = doc.get("type") if isinstance(doc, dict) else None
    fold = tuple("[]" if isinstance(key, int) else key for key in path)
    if inner is not None:
        fold += ("<json>", *("[]" if isinstance(key, int) else key for key in inner))
    return (kind if isinstance(kind, str) else None, *fold)


def _json_in(value: object) -> object | None:
    """The JSON object or list a string holds (Codex's and VS Code's arguments), if any."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            inner = orjson.loads(value)
        except orjson.JSONDecodeError:
            return None
        return inner if isinstance(inner, dict | list) else None
    return None


def _places(doc: object) -> Iterator[tuple[tuple, tuple | None]]:
    """``(path, None)`` for the record itself and every value in it; ``(path, inner path)``
    for every value inside a JSON text held by a string."""
    yield (), None
    for path in _nodes(doc):
        yield path, None
        value = _at(doc, path)
        inner = _json_in(value)
        if inner is not None:
            for inner_path in _nodes(inner):
                yield path, inner_path


def _at(obj: object, path: tuple) -> object:
    for key in path:
        obj = obj[key]
    return obj


def _replaced(doc: object, path: tuple, inner_path: tuple | None, replacement: object) -> object:
    if not path:
        return replacement
    copy = orjson.loads(orjson.dumps(doc))
    parent = _at(copy, path[:-1])
    if inner_path is None:
        parent[path[-1]] = replacement
    else:
        inner = orjson.loads(parent[path[-1]])
        parent[path[-1]] = orjson.dumps(_replaced(inner, inner_path, None, replacement)).decode()
    return copy


def mutants(fixture: Path, every: bool) -> Iterator[tuple[str, bytes]]:
    """``(what, file bytes)`` with one value replaced: each key path once, with one of the
    replacements (*every*: with each)."""
    data = fixture.read_bytes()
    found = _documents(data)
    if found is None:
        return
    docs, whole = found
    lines = data.split(b"\n")
    seen: dict[tuple, int] = {}
    n = 0
    for index, doc in docs.items():
        for path, inner_path in _places(doc):
            shape = _shape(doc, path, inner_path)
            if shape in seen:
                continue
            seen[shape] = 1
            kinds = REPLACEMENTS if every else (REPLACEMENTS[n % len(REPLACEMENTS)],)
            n += 1
            for replacement in kinds:
                text = orjson.dumps(_replaced(doc, path, inner_path, replacement))
                mutated = text if whole else b"\n".join([*lines[:index], text,
                                                          *lines[index + 1:]])
                where = ".".join(map(str, path)) + (
                    "" if inner_path is None else " <json> " + ".".join(map(str, inner_path)))
                yield f"line {index + 1} {where or '(the record)'} = {replacement!r}", mutated


SQLITE_HEADER = b"SQLite format 3\x00"


def _json_cells(db: Path) -> Iterator[tuple[str, str, int, object]]:
    """``(table, column, rowid, value)`` of every text cell holding a JSON object or list."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as connection:
        tables = [r[0] for r in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
        for table in tables:
            columns = [r[1] for r in connection.execute(f'PRAGMA table_info("{table}")')]
            try:
                rows = connection.execute(f'SELECT rowid, * FROM "{table}"').fetchall()
            except sqlite3.OperationalError:  # WITHOUT ROWID: nothing of ours
                continue
            for row in rows:
                for column, value in zip(columns, row[1:], strict=True):
                    inner = _json_in(value.lstrip()) if isinstance(value, str) else None
                    if inner is not None:
                        yield table, column, row[0], inner
    connection.close()


def db_mutants(fixture: Path, every: bool) -> Iterator[tuple[str, str, str, str, int]]:
    """``(what, JSON text, table, column, rowid)``: one value of one JSON cell replaced."""
    if fixture.read_bytes()[:16] != SQLITE_HEADER:
        return
    seen: dict[tuple, int] = {}
    n = 0
    for table, column, rowid, doc in list(_json_cells(fixture)):
        for path, inner_path in _places(doc):
            shape = (table, column, *_shape(doc, path, inner_path))
            if shape in seen:
                continue
            seen[shape] = 1
            kinds = REPLACEMENTS if every else (REPLACEMENTS[n % len(REPLACEMENTS)],)
            n += 1
            for replacement in kinds:
                yield (f"{table}.{column} rowid {rowid} {'.'.join(map(str, path)) or '(all)'}"
                       f" = {replacement!r}",
                       orjson.dumps(_replaced(doc, path, inner_path, replacement)).decode(),
                       table, column, rowid)


def _mutated_db(fixture: Path, scratch: Path, text: str, table: str, column: str,
                rowid: int) -> bytes:
    """The fixture's bytes with one cell set to *text* (changed in a copy in *scratch*)."""
    work = Path(shutil.copyfile(fixture, scratch / "mutant.db"))
    try:
        with sqlite3.connect(work) as connection:
            connection.execute(f'UPDATE "{table}" SET "{column}" = ? WHERE rowid = ?',
                               (text, rowid))
        connection.close()
        return work.read_bytes()
    finally:
        work.unlink()


def _all_mutants(fixture: Path, scratch: Path, every: bool) -> Iterator[tuple[str, bytes]]:
    yield from mutants(fixture, every)
    for what, text, table, column, rowid in db_mutants(fixture, every):
        yield what, _mutated_db(fixture, scratch, text, table, column, rowid)


def _run(workdir: Path, every: bool) -> None:
    failures = []
    scratch = workdir / "scratch"
    scratch.mkdir()
    for fixture in FIXTURES:
        for what, data in _all_mutants(fixture, scratch, every):
            try:
                check(*_place(workdir, fixture, data))
            except Exception as exc:  # every failure is listed, not only the first
                where = traceback.extract_tb(exc.__traceback__)[-1]
                failures.append(f"{fixture.relative_to(AGENT_FIXTURES)}: {what}: "
                                f"{traceback.format_exc().splitlines()[-1]} "
                                f"({Path(where.filename).name}:{where.lineno})")
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures[:40])


def test_every_key_path_of_every_fixture_takes_a_wrong_type(tmp_path):
    _run(tmp_path, every=False)


@pytest.mark.slow
def test_every_key_path_of_every_fixture_takes_every_wrong_type(tmp_path):
    _run(tmp_path, every=True)
