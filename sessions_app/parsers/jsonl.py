"""A forgiving JSON-lines reader: bad lines are skipped and counted, never fatal.

It streams (one line in memory at a time, up to a size cap), hashes the bytes it reads, and
records one-line issues with line numbers: invalid JSON, invalid UTF-8 (replaced, the line is
kept), oversize lines (skipped), and a truncated last line.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

import orjson

from sessions_app.parsers.base import ParseResult

MAX_ISSUES_KEPT = 20
_READ_CHUNK = 1024 * 1024
_UNDECODED = object()


class FileReadError(Exception):
    """The file as a whole cannot be read (permission, not a regular file, I/O error)."""


def open_session_file(path: Path):
    """Open *path* for binary reading, or raise ``FileReadError`` with a one-line reason."""
    try:
        if not path.is_file():
            raise FileReadError("not a regular file")
        return path.open("rb", buffering=_READ_CHUNK)
    except PermissionError:
        raise FileReadError("permission denied") from None
    except OSError as exc:
        raise FileReadError(exc.strerror or str(exc)) from None


def read_at_most(fh, limit: int) -> bytes:
    """``fh.read(limit)`` without a buffer of *limit* bytes for a smaller file (``read(n)``
    allocates n first: with a 10 MiB limit that cost more than reading most transcripts):
    up to the size the file has now, and on when it has grown since."""
    try:
        size = os.fstat(fh.fileno()).st_size
    except OSError:
        size = limit
    if size + 1 >= limit:
        return fh.read(limit)
    data = fh.read(size + 1)
    if len(data) <= size:  # the end of the file
        return data
    return data + fh.read(limit - len(data))


def head_lines(path: Path, count: int = 50, max_bytes: int = _READ_CHUNK) -> list[bytes]:
    """The first *count* lines of *path*, each cut at *max_bytes*: what a parser's ``sniff``
    looks at. Raises ``OSError`` when the file cannot be read."""
    lines = []
    with path.open("rb") as fh:
        for _ in range(count):
            line = fh.readline(max_bytes)
            if not line:
                break
            lines.append(line)
    return lines


def _fix_surrogates(value: object) -> bool:
    """Replace, in place, the lone surrogates (from ``\\ud800`` escapes) that UTF-8 cannot
    store; True if there were any. Iterative: a line nested as deep as the decoder goes is
    fixed like any other."""
    changed = False

    def fixed(text: str) -> str:
        nonlocal changed
        try:
            text.encode("utf-8")
            return text
        except UnicodeEncodeError:
            changed = True
            return text.encode("utf-8", "replace").decode("utf-8")

    stack = [value]
    while stack:
        container = stack.pop()
        if isinstance(container, list):
            for index, item in enumerate(container):
                if isinstance(item, str):
                    container[index] = fixed(item)
                elif isinstance(item, dict | list):
                    stack.append(item)
        elif isinstance(container, dict):
            items = list(container.items())
            container.clear()
            for key, item in items:
                if isinstance(item, str):
                    item = fixed(item)
                elif isinstance(item, dict | list):
                    stack.append(item)
                container[fixed(key)] = item
    return changed


def _parse_int(digits: str) -> int | float:
    """An integer literal too long for ``int()`` (over 4300 digits) is infinite, as orjson
    reads it: the parsers drop it with a warning instead of losing the line."""
    try:
        return int(digits)
    except ValueError:
        return float("-inf") if digits.startswith("-") else float("inf")


class JsonlReader:
    """Iterate ``(line_number, object)`` for every line that holds a JSON object."""

    def __init__(self, path: Path, max_line_bytes: int = 64 * 1024 * 1024) -> None:
        self.path = path
        self.max_line_bytes = max_line_bytes
        self.malformed = 0
        self.records = 0  # lines that held a JSON object
        self.truncated = False
        self.issues: list[str] = []
        self.size = 0
        self._last_bad_line: int | None = None
        self._hash = hashlib.sha256()

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    def result(self) -> ParseResult:
        """The file's result so far, once read: what was malformed, cut or warned about, its
        digest and size (the issues list is shared, so later warnings land in it)."""
        return ParseResult(path=self.path, malformed_lines=self.malformed, records=self.records,
                           is_truncated=self.truncated, issues=self.issues, sha256=self.sha256,
                           size=self.size)

    def issue(self, lineno: int, message: str) -> None:
        """Note a problem of line *lineno* (the parsers add theirs: a value clamped or
        dropped); the same line said twice is kept once, and at most MAX_ISSUES_KEPT."""
        text = f"line {lineno}: {message}"
        if text in self.issues:
            return
        if len(self.issues) < MAX_ISSUES_KEPT:
            self.issues.append(text)
        elif len(self.issues) == MAX_ISSUES_KEPT:
            self.issues.append("more issues not shown")

    def _finish(self) -> None:
        """A bad last line means the writer was cut off mid-record: the file is truncated."""
        if self._last_bad_line is None:
            return
        self.truncated = True
        bad = f"line {self._last_bad_line}: invalid JSON, skipped"
        if bad in self.issues:
            self.issues[self.issues.index(bad)] = (
                f"line {self._last_bad_line}: truncated last line (incomplete JSON), skipped"
            )

    def _skip_rest_of_line(self, fh) -> bool:
        """Consume an oversize line without holding it; True if it ended with a newline."""
        while True:
            chunk = fh.readline(_READ_CHUNK)
            if not chunk:
                return False
            self._hash.update(chunk)
            self.size += len(chunk)
            if chunk.endswith(b"\n"):
                return True

    def __iter__(self) -> Iterator[tuple[int, dict]]:
        with open_session_file(self.path) as fh:
            lineno = 0
            while True:
                try:
                    line = fh.readline(self.max_line_bytes + 1)
                except OSError as exc:
                    raise FileReadError(exc.strerror or str(exc)) from None
                if not line:
                    self._finish()
                    return
                lineno += 1
                self._hash.update(line)
                self.size += len(line)
                if len(line) > self.max_line_bytes and not line.endswith(b"\n"):
                    self._skip_rest_of_line(fh)
                    self.malformed += 1
                    limit = self.max_line_bytes // (1024 * 1024) or self.max_line_bytes
                    unit = "MiB" if self.max_line_bytes >= 1024 * 1024 else "bytes"
                    self.issue(lineno, f"line longer than {limit} {unit}, skipped")
                    continue
                stripped = line.strip()
                if not stripped:
                    continue
                obj = self._decode(stripped, lineno)
                self._last_bad_line = None if obj is not None else lineno
                if obj is not None:
                    self.records += 1
                    yield lineno, obj

    def _decode(self, raw: bytes, lineno: int) -> dict | None:
        try:
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError:
            obj = self._decode_leniently(raw, lineno)
            if obj is None:
                return None
        if not isinstance(obj, dict):
            self.malformed += 1
            self.issue(lineno, f"not a JSON object ({type(obj).__name__}), skipped")
            return None
        return obj

    def _decode_leniently(self, raw: bytes, lineno: int) -> object | None:
        """Second chance: invalid UTF-8 replaced, raw control characters, NaN and lone
        surrogate escapes allowed."""
        text = raw.decode("utf-8", "replace")
        bad_utf8 = "\ufffd" in text and b"\xef\xbf\xbd" not in raw
        try:
            # only the bytes were wrong: orjson reads it, as deep as it reads any line
            obj = orjson.loads(text) if bad_utf8 else _UNDECODED
        except orjson.JSONDecodeError:
            obj = _UNDECODED
        if obj is _UNDECODED:
            try:
                obj = json.loads(text, strict=False, parse_int=_parse_int)
            except RecursionError:
                self.malformed += 1
                self.issue(lineno, "JSON nested too deeply to read, skipped")
                return None
            except ValueError:
                self.malformed += 1
                self.issue(lineno, "invalid JSON, skipped")
                return None
            if _fix_surrogates(obj):
                self.issue(lineno, "lone surrogate escapes replaced with U+FFFD")
        if bad_utf8:
            self.issue(lineno, "invalid UTF-8 replaced with U+FFFD")
        return obj
