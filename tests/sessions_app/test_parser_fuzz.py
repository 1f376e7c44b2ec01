"""A mutation fuzzer over every parser and the write path after it: no transcript, however
odd, raises out of a parser or out of the rows, digest, signals and rollups built from what
it returns, and every value built fits the column it is stored in.

It mutates the real fixture transcripts (tests/fixtures/agents/**): a value swapped for one of
another type, numbers beyond 64 bits or not finite, nesting up to past the decoders' limits,
lone surrogates, invalid UTF-8, NUL and control characters, odd timestamps, and lines cut,
dropped, repeated, swapped or replaced by noise. No database: the checks mirror what SQLite
and PostgreSQL would refuse, from the models' own fields. Runs are reproducible
(``derandomize``, no example database); ``AGENTSVIEW_FUZZ_EXAMPLES=N`` runs N random examples
instead, to look further locally.
"""

from __future__ import annotations

import math
import os
import sys
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from django.db.backends.base.operations import BaseDatabaseOperations
from django.db.models import CharField
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sessions_app.models import Message, Session, ToolCall, ToolResultEvent
from sessions_app.parsers.base import ParseOptions
from sessions_app.parsers.registry import AGENTS, parsed_agents, parser_for
from sessions_app.rows import EVENT_COLUMNS, MESSAGE_COLUMNS, TOOL_CALL_COLUMNS, fit_to_columns
from sessions_app.sanitize import pg_row
from sessions_app.services.ingest import SourceInfo, build_rows
from tests.layouts import AGENT_FIXTURES

NOW = datetime(2026, 6, 1, tzinfo=UTC)
OPTIONS = ParseOptions(max_line_bytes=1024 * 1024)
# A flat fixture file (repo/) of an agent whose layout nests its files goes under this prefix
# of the agent's root; the synthetic/ trees are laid out as the agent writes them.
FLAT_PREFIX = {"claude": ("-home-dev-projects-fuzz",), "gemini": ("tmp", "fuzz", "chats"),
               "iflow": ("-home-dev-projects-fuzz",)}


def location(fixture: Path) -> tuple[str, tuple[str, ...]] | None:
    """(agent, path under the agent's root) where the agent's parser claims *fixture*, or
    None when no parser reads it (a sidecar, a README)."""
    agent, _set, *rel = fixture.relative_to(AGENT_FIXTURES).parts
    if agent not in AGENTS or not AGENTS[agent].parser_path:
        return None
    parser = parser_for(agent)
    nested = [tuple(rel[i:]) for i in range(len(rel))]
    for parts in (*nested, (*FLAT_PREFIX.get(agent, ()), fixture.name)):
        if parser.matches(parts):
            return agent, parts
    return None


FIXTURES = sorted(f for f in AGENT_FIXTURES.rglob("*") if f.is_file() and location(f))
PLACEHOLDER = "@@fuzz-mutant@@"
_EXAMPLES = int(os.environ.get("AGENTSVIEW_FUZZ_EXAMPLES", "0"))


def _profile(examples: int) -> settings:
    """Reproducible and bounded in CI; ``AGENTSVIEW_FUZZ_EXAMPLES`` explores at random."""
    return settings(
        max_examples=_EXAMPLES or examples,
        derandomize=not _EXAMPLES,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


def test_every_agent_parser_has_fixtures_to_mutate():
    agents = {path.relative_to(AGENT_FIXTURES).parts[0] for path in FIXTURES}
    assert agents == {spec.key for spec in parsed_agents()}


# --- mutants ---------------------------------------------------------------------------------

NUMBERS = [
    b"9223372036854775807", b"9223372036854775808", b"-9223372036854775808",
    b"-9223372036854775809", b"18446744073709551615", b"18446744073709551616",
    b"1" + b"0" * 30, b"1" + b"0" * 5000, b"-" + b"9" * 4400, b"1e400", b"-1e400", b"1e308",
    b"NaN", b"Infinity", b"-Infinity", b"1.5", b"-1", b"0", b"1e-400", b"2147483648",
]
STRINGS = [
    b'""', b'"\\u0000"', b'"a\\u0000b"', b'"\\ud800"', b'"x\\udfff y"', b'"\\ud83d\\ude00"',
    b'"\xff\xfe"', b'"\xed\xa0\x80"', b'"raw \x01\x1f controls"', b'"\xe2\x80\xa8"',
    b'"\\u0085\\u009f"', b'"/clear"', b'"<command-name>/x</command-name>"',
    b'"<system-reminder>x</system-reminder>"', b'"' + b"x" * 70_000 + b'"',
]
TIMES = [
    b'"0001-01-01T00:00:00+05:00"', b'"9999-12-31T23:59:59-05:00"', b'"2026-13-45T99:99:99Z"',
    b'"2026-01-01 10:00:00"', b'"not a time"', b"1e20", b"-1", b"1700000000000", b"1e400",
]
SHAPES = [
    b"null", b"true", b"false", b"[]", b"{}", b"0", b'"text"', b'[1,"a",null,{}]',
    b'{"type":"text","text":"hi"}', b'{"type":"tool_use","id":"t","name":"Bash","input":{}}',
    b'{"type":"tool_result","tool_use_id":"t","content":[{"type":"text","text":"x"}]}',
    b'[{"type":"thinking"},{"type":"tool_use"},{"type":"tool_result","is_error":true}]',
]
# Around orjson's 254 levels for writing and 1,024 for reading, the ~1,000 of Python's json
# (less the stack already in use) and MAX_JSON_DEPTH (200).
DEPTHS = [1000, 201, 255, 1024, 960, 500, 980, 254, 990, 1010, 1020, 200, 1025]
LEAVES = [b'"x"', b'"\\ud800"', b'"\xff"', b"1e400", b"NaN", b"18446744073709551616", b"null"]
# The values a parser converts (counts, times) or writes back as JSON (tool inputs and
# outputs, usage): three value mutations in four aim at them.
HOT_KEYS = frozenset({
    "usage", "input_tokens", "output_tokens", "cache_read_input_tokens",
    "cache_creation_input_tokens", "cached_input_tokens", "last_token_usage", "info",
    "input", "arguments", "output", "content", "timestamp", "cmd", "command", "toolUseResult",
})


@st.composite
def deep_values(draw) -> bytes:
    depth = draw(st.sampled_from(DEPTHS) if draw(st.integers(0, 3)) else st.integers(1, 1100))
    leaf = draw(st.sampled_from(LEAVES))
    if draw(st.booleans()):
        return b"[" * depth + leaf + b"]" * depth
    return b'{"k":' * depth + leaf + b"}" * depth


def raw_values(donors: list[object]) -> st.SearchStrategy[bytes]:
    """Raw JSON text to put in place of a value (bytes: what orjson cannot write)."""
    return st.one_of(
        deep_values(), st.sampled_from(NUMBERS), deep_values(), st.sampled_from(STRINGS),
        st.sampled_from(TIMES), st.sampled_from(SHAPES),
        st.sampled_from(donors).map(orjson.dumps),  # a value from elsewhere in the file
    )


def _nodes(obj: object) -> list[tuple]:
    """The path (keys and indexes) of every value inside *obj*, the root excluded."""
    paths, stack = [], [((), obj)]
    while stack:
        path, value = stack.pop()
        children = (value.items() if isinstance(value, dict)
                    else enumerate(value) if isinstance(value, list) else ())
        for key, child in children:
            paths.append((*path, key))
            stack.append(((*path, key), child))
    return paths


def _parent(obj: object, path: tuple) -> object:
    for key in path[:-1]:
        obj = obj[key]
    return obj


def _decoded(line: bytes) -> object | None:
    """The JSON document of *line*, if orjson reads and writes it (a line mutated already
    past that is not mutated again)."""
    try:
        obj = orjson.loads(line)
        orjson.dumps(obj)
    except (orjson.JSONDecodeError, TypeError):
        return None
    return obj if isinstance(obj, dict | list) else None


def _targets(docs: dict[int, object]) -> dict[str, list[tuple[int, tuple]]]:
    """Every value of every document, ``(document, path)``, by the key that holds it."""
    by_name: dict[str, list[tuple[int, tuple]]] = {}
    for index, obj in docs.items():
        for path in _nodes(obj):
            name = path[-1] if isinstance(path[-1], str) else "[]"
            by_name.setdefault(name, []).append((index, path))
    return by_name


@st.composite
def a_target(draw, by_name: dict[str, list[tuple[int, tuple]]]) -> tuple[int, tuple]:
    # every key name is as likely as any other, so a rare one (usage, arguments) is hit as
    # often as a common one (type, text)
    hot = sorted(HOT_KEYS.intersection(by_name))
    name = draw(st.sampled_from(hot if hot and draw(st.integers(0, 3)) else sorted(by_name)))
    return draw(st.sampled_from(by_name[name]))


@st.composite
def mutate_at(draw, obj: object, path: tuple, donors: list[object]) -> bytes:
    """*obj* as JSON text, its value at *path* replaced or left out."""
    parent = _parent(obj, path)
    value = parent[path[-1]]
    inner = _decoded(value.encode()) if isinstance(value, str) and value[:1] in ("{", "[") \
        else None
    targets = _targets({0: inner}) if inner is not None else {}
    if targets and draw(st.booleans()):
        # a JSON document inside a string (Codex's arguments): mutate inside it
        _, inner_path = draw(a_target(targets))
        parent[path[-1]] = draw(mutate_at(inner, inner_path, donors)).decode("utf-8", "replace")
        return orjson.dumps(obj)
    if isinstance(parent, dict) and draw(st.integers(0, 5)) == 0:
        del parent[path[-1]]  # a key left out
        return orjson.dumps(obj)
    parent[path[-1]] = PLACEHOLDER
    raw = draw(raw_values(donors))
    return orjson.dumps(obj).replace(orjson.dumps(PLACEHOLDER), raw, 1)


def _values(line: bytes) -> list[object]:
    obj = _decoded(line)  # None for the truncated line the fixtures hold
    return list(obj.values()) if isinstance(obj, dict) else []


@st.composite
def mutated_file(draw) -> tuple[Path, bytes]:
    fixture = draw(st.sampled_from(FIXTURES))
    lines = fixture.read_bytes().splitlines(keepends=True)
    donors = [value for raw in lines for value in _values(raw)] or [None]
    for _ in range(draw(st.integers(1, 4))):
        if not lines:
            lines = [b"\n"]
        i = draw(st.integers(0, len(lines) - 1))
        kind = draw(st.sampled_from(
            ["value"] * 8 + ["cut", "drop", "repeat", "swap", "noise", "bytes", "no-newline",
                             "reverse"]))
        if kind == "value":
            docs = {n: _decoded(raw) for n, raw in enumerate(lines)}
            targets = _targets({n: doc for n, doc in docs.items() if doc is not None})
            if targets:
                n, path = draw(a_target(targets))
                lines[n] = draw(mutate_at(docs[n], path, donors)) + b"\n"
        elif kind == "cut":
            lines[i] = lines[i][: draw(st.integers(0, max(len(lines[i]) - 1, 0)))]
        elif kind == "drop":
            del lines[i]
        elif kind == "repeat":
            lines.insert(i, lines[i])
        elif kind == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif kind == "noise":
            lines[i] = draw(st.binary(max_size=200)) + b"\n"
        elif kind == "bytes":
            at = draw(st.integers(0, len(lines[i])))
            junk = draw(st.sampled_from([b"\x00", b"\xff", b"\r", b"\n", b"\x1b", b"\\", b'"']))
            lines[i] = lines[i][:at] + junk + lines[i][at:]
        elif kind == "no-newline":
            lines[i] = lines[i].rstrip(b"\n")
        else:
            lines.reverse()
    return fixture, b"".join(lines)


# --- what a database would refuse ---------------------------------------------------------------

# PostgreSQL's ranges (SQLite's INTEGER holds 64 bits whatever the field)
INT_RANGES = BaseDatabaseOperations.integer_field_ranges


def assert_storable(model, columns, row) -> None:
    for name, value in zip(columns, row, strict=True):
        field = model._meta.get_field("session" if name == "session_id" else name)
        where = f"{model.__name__}.{name} = {value!r:.80}"
        if value is None:
            assert field.null, where
        elif isinstance(value, bool):
            assert field.get_internal_type() == "BooleanField", where
        elif isinstance(value, int):
            low, high = INT_RANGES[field.get_internal_type()]
            assert low <= value <= high, where
        elif isinstance(value, float):
            assert math.isfinite(value), where
        elif isinstance(value, str):
            value.encode("utf-8")  # SQLite refuses lone surrogates
            if isinstance(field, CharField) and field.max_length:  # PostgreSQL refuses more
                assert len(value) <= field.max_length, where
        elif isinstance(value, datetime):
            assert value.tzinfo is not None, where
        else:
            orjson.dumps(value)  # a JSON column


def assert_unique(rows, width: int, what: str) -> None:
    keys = [row[:width] for row in rows]
    assert len(keys) == len(set(keys)), f"duplicate {what} keys"


@contextmanager
def python_recursion_limit():
    """Hypothesis raises the recursion limit while it runs a test; a sync runs under Python's
    default, where a JSON value nested ~1,000 deep is what makes the recursive code fail."""
    raised = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    try:
        yield
    finally:
        sys.setrecursionlimit(raised)


def check(agent: str, path: Path, root: Path) -> None:
    """Parse *path* and build everything a sync would store: nothing may raise."""
    with python_recursion_limit():
        _check(agent, path, root)


def _check(agent: str, path: Path, root: Path) -> None:
    result = parser_for(agent).parse(path, root, OPTIONS)
    fit_to_columns(result)  # what the sync does next
    for issue in result.issues:
        assert "\n" not in issue, issue
    source = SourceInfo(path=str(path), size=result.size, mtime_ns=0, sha256=result.sha256,
                        malformed_lines=result.malformed_lines, truncated=result.is_truncated)
    for parsed in result.sessions:
        rows = build_rows(parsed, source, now=NOW)
        session = {**rows.values, **rows.signals, **rows.rollup, "id": parsed.id}
        assert_storable(Session, list(session), list(session.values()))
        for model, columns, table in (
            (Message, MESSAGE_COLUMNS, rows.messages),
            (ToolCall, TOOL_CALL_COLUMNS, rows.tool_calls),
            (ToolResultEvent, EVENT_COLUMNS, rows.events),
        ):
            for row in table:
                assert_storable(model, columns, row)
                pg_row(row)
        assert_unique(rows.messages, 2, "message")
        assert_unique(rows.tool_calls, 3, "tool call")
        assert_unique([(r[0], r[1], r[2], r[9]) for r in rows.events], 4, "result event")


def _place(tmp: Path, fixture: Path, data: bytes) -> tuple[str, Path, Path]:
    """Write *data* where the fixture's agent keeps such a file: (agent, path, root)."""
    agent, parts = location(fixture)
    root = tmp / agent
    path = root.joinpath(*parts)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return agent, path, root


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def test_every_fixture_passes_the_checks_unmutated(workdir):
    for fixture in FIXTURES:
        check(*_place(workdir, fixture, fixture.read_bytes()))


@_profile(examples=300)
@given(case=mutated_file())
def test_mutated_transcripts_quick(workdir, case):
    """The fast loop's share of the fuzzer (a few seconds)."""
    check(*_place(workdir, *case))


@pytest.mark.slow
@_profile(examples=10000)
@given(case=mutated_file())
def test_mutated_transcripts(workdir, case):
    """The long run (about a minute): zero escaping exceptions."""
    check(*_place(workdir, *case))
