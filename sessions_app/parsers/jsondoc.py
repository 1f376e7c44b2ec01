"""Whole JSON documents (a session kept in one JSON file, a sidecar such as a metadata file),
read forgivingly: a document cut short is read up to its last complete value, a bad byte or a
raw control character does not lose it, and what went wrong is one line in the issues."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from sessions_app.parsers.base import Note, clean_json
from sessions_app.parsers.jsonl import FileReadError, _parse_int, open_session_file, read_at_most

_CLOSERS = {"[": "]", "{": "}"}


@dataclass
class JsonDocument:
    value: object = None  # the decoded document; None when empty or unreadable
    sha256: str = ""
    size: int = 0
    truncated: bool = False  # cut short: only its complete part was read
    issues: list[str] = field(default_factory=list)

    @property
    def object(self) -> dict | None:
        return self.value if isinstance(self.value, dict) else None


def read_document(path: Path, max_bytes: int = 64 * 1024 * 1024, *, name: str = "") -> JsonDocument:
    """*path* as a JSON document. Raises ``FileReadError`` when the file cannot be read at all;
    every other problem is an issue (prefixed with *name* when given, for a sidecar)."""
    doc = JsonDocument()
    prefix = f"{name}: " if name else ""
    with open_session_file(path) as fh:
        try:
            raw = read_at_most(fh, max_bytes + 1)
        except OSError as exc:
            raise FileReadError(exc.strerror or str(exc)) from None
    doc.size = len(raw)
    doc.sha256 = hashlib.sha256(raw).hexdigest()
    if len(raw) > max_bytes:
        limit = max_bytes // (1024 * 1024) or max_bytes
        unit = "MiB" if max_bytes >= 1024 * 1024 else "bytes"
        doc.issues.append(f"{prefix}document longer than {limit} {unit}, not read")
        return doc
    if not raw.strip():
        return doc
    try:
        doc.value = orjson.loads(raw)
        return doc
    except orjson.JSONDecodeError:
        pass
    text = raw.decode("utf-8", "replace")
    if "\ufffd" in text and b"\xef\xbf\xbd" not in raw:
        doc.issues.append(f"{prefix}invalid UTF-8 replaced with U+FFFD")
    value, problem = _lenient(text, lambda what: doc.issues.append(prefix + what))
    if problem is None:
        doc.value = value
        return doc
    prefix_text = _complete_prefix(text)
    if prefix_text is not None:
        value, _ = _lenient(prefix_text, lambda what: doc.issues.append(prefix + what))
        if value is not None:
            doc.value = value
            doc.truncated = True
            doc.issues.append(f"{prefix}document cut short or corrupt ({problem});"
                              " its complete part was read")
            return doc
    doc.issues.append(f"{prefix}invalid JSON ({problem}), not read")
    return doc


def _lenient(text: str, note: Note) -> tuple[object, str | None]:
    """Python's decoder, which takes raw control characters and NaN; lone surrogates, numbers
    beyond 64 bits and non-finite ones are then made storable (*note* hears what changed).
    ``(value, None)`` or ``(None, why)``."""
    try:
        value = json.loads(text, strict=False, parse_int=_parse_int)
    except RecursionError:
        return None, "nested too deeply to read"
    except ValueError as exc:
        return None, str(exc).split(":", 1)[0]
    return clean_json(value, note, "document:"), None


def _complete_prefix(text: str) -> str | None:
    """*text* cut after its last complete value inside a container, with the containers still
    open closed: what a writer cut off mid-document had finished writing. None if nothing."""
    stack: list[str] = []
    safe_at, safe_stack = -1, ""
    in_string = escaped = False
    for index, char in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            stack.append(char)
            safe_at, safe_stack = index + 1, "".join(stack)
        elif char in "]}":
            if stack:
                stack.pop()
            safe_at, safe_stack = index + 1, "".join(stack)
        elif char == ",":
            safe_at, safe_stack = index, "".join(stack)
    if safe_at <= 0 or not safe_stack:
        return None
    return text[:safe_at] + "".join(_CLOSERS[c] for c in reversed(safe_stack))
