"""Wrong types everywhere, deterministically: every value of every JSON and JSON-lines fixture
of every agent replaced, one at a time, by an object, a list, a number and null, and the file
parsed and built as a sync would store it (the fuzzer's checks). Nothing may raise.

The fuzzer (``test_parser_fuzz.py``) finds such bugs by chance; this walks every key path.
The fast loop tries each distinct key path of a fixture once (its first occurrence, the four
replacements spread over the paths); the slow run tries two occurrences of each with all four.
Values inside a JSON text held by a string (Codex's arguments) are key paths too.
"""

from __future__ import annotations

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
    """``(what, file bytes)`` with one value replaced: each key path once (every: twice,
    with each replacement)."""
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
            if seen.get(shape, 0) >= (2 if every else 1):
                continue
            seen[shape] = seen.get(shape, 0) + 1
            kinds = REPLACEMENTS if every else (REPLACEMENTS[n % len(REPLACEMENTS)],)
            n += 1
            for replacement in kinds:
                text = orjson.dumps(_replaced(doc, path, inner_path, replacement))
                mutated = text if whole else b"\n".join([*lines[:index], text,
                                                          *lines[index + 1:]])
                where = ".".join(map(str, path)) + (
                    "" if inner_path is None else " <json> " + ".".join(map(str, inner_path)))
                yield f"line {index + 1} {where or '(the record)'} = {replacement!r}", mutated


def _run(workdir: Path, every: bool) -> None:
    failures = []
    for fixture in FIXTURES:
        for what, data in mutants(fixture, every):
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
