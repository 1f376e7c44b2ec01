"""What the session store accepts: its keys and entries checked, entries encoded as JSON text,
and the lock key of a transcript (the same in every process)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import orjson

# The largest entry kept: a transcript line holding a big tool result or an image is a few
# MB; 50 MB is not a transcript line.
MAX_ENTRY_BYTES = 32 * 1024 * 1024
MAX_UUID_CHARS = 256
MAX_PROJECT_KEY_CHARS = 512
MAX_SESSION_ID_CHARS = 512
MAX_SUBPATH_CHARS = 1024
KEY_FIELDS = frozenset({"project_key", "session_id", "subpath"})


class StoreInputError(ValueError):
    """A key or an entry the store refuses; nothing of the batch was written."""


@dataclass(frozen=True)
class TranscriptKey:
    project_key: str
    session_id: str
    subpath: str = ""  # '' is the main transcript

    def describe(self) -> str:
        return "/".join(filter(None, [self.project_key, self.session_id, self.subpath]))

    @property
    def lock_key(self) -> int:
        """A 64-bit advisory-lock key for appends to this transcript: derived from a hash of
        its key, so two processes (unlike Python's per-process ``hash()``) take one lock."""
        text = "\x1f".join(["agentsview:store", self.project_key, self.session_id,
                            self.subpath])
        digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest()
        return int.from_bytes(digest, "big", signed=True)


def _text(value: object, name: str, limit: int) -> str:
    if not isinstance(value, str) or not value:
        raise StoreInputError(f"session store key: {name} must be a non-empty string,"
                              f" got {type(value).__name__} {str(value)[:60]!r}")
    if "\x00" in value:
        raise StoreInputError(f"session store key: {name} contains a NUL character")
    if len(value) > limit:
        raise StoreInputError(f"session store key: {name} is longer than {limit} characters")
    return value


def transcript_key(key: object, *, subpath_allowed: bool = True) -> TranscriptKey:
    """The SDK's ``SessionKey`` (``project_key``, ``session_id``, optional ``subpath``),
    checked; anything else is a ``StoreInputError`` naming what is wrong."""
    if not isinstance(key, Mapping):
        raise StoreInputError(f"session store key must be a mapping with project_key and"
                              f" session_id, got {type(key).__name__}")
    unknown = set(key) - KEY_FIELDS
    if unknown:
        raise StoreInputError(f"session store key: unknown field(s) {sorted(map(str, unknown))}"
                              "; expected project_key, session_id and optional subpath")
    project_key = _text(key.get("project_key"), "project_key", MAX_PROJECT_KEY_CHARS)
    session_id = _text(key.get("session_id"), "session_id", MAX_SESSION_ID_CHARS)
    if "/" in session_id or "\\" in session_id or session_id in (".", ".."):
        raise StoreInputError(f"session store key: session_id {session_id[:60]!r} is not a"
                              " file name (it names the session's transcript)")
    subpath = ""
    if "subpath" in key:
        if not subpath_allowed:
            raise StoreInputError("session store key: list_subkeys takes no subpath")
        subpath = _text(key["subpath"], "subpath", MAX_SUBPATH_CHARS)
        if any(part in ("", ".", "..") for part in subpath.split("/")) or "\\" in subpath:
            raise StoreInputError(f"session store key: subpath {subpath[:60]!r} must be"
                                  " '/'-separated names (no empty, '.' or '..' parts)")
    return TranscriptKey(project_key, session_id, subpath)


def encode_entries(entries: object) -> list[tuple[str | None, str]]:
    """``(uuid or None, JSON text)`` per entry, in order; the whole batch is refused (one line
    naming the entry and why) if any entry is not a JSON object with a string ``type``, is
    larger than ``MAX_ENTRY_BYTES``, or cannot be written as JSON."""
    if not isinstance(entries, Sequence) or isinstance(entries, str | bytes):
        raise StoreInputError(f"session store append: entries must be a list, got"
                              f" {type(entries).__name__}")
    encoded: list[tuple[str | None, str]] = []
    for index, entry in enumerate(entries):
        where = f"session store append: entry {index}"
        if not isinstance(entry, dict):
            raise StoreInputError(f"{where} is not a JSON object ({type(entry).__name__})")
        kind = entry.get("type")
        if not isinstance(kind, str) or not kind:
            raise StoreInputError(f"{where} has no 'type' string")
        text = _dumps(entry, where)
        if len(text) > MAX_ENTRY_BYTES:  # characters: a lower bound of the bytes
            raise StoreInputError(f"{where} is {len(text) / 1e6:.1f} MB, over the"
                                  f" {MAX_ENTRY_BYTES // (1024 * 1024)} MiB limit")
        uuid = entry.get("uuid")
        if isinstance(uuid, str) and uuid:
            if len(uuid) > MAX_UUID_CHARS or "\x00" in uuid:
                raise StoreInputError(f"{where}: uuid is longer than {MAX_UUID_CHARS}"
                                      " characters or holds a NUL")
        else:
            uuid = None  # titles, tags, mode markers: appended without dedup
        encoded.append((uuid, text))
    return encoded


def _dumps(entry: dict, where: str) -> str:
    """orjson's text; what orjson cannot write (lone surrogates, integers beyond 64 bits)
    the standard library writes, after a leading space (valid JSON, never orjson's output)
    so that ``decode_entry`` reads it back with the standard library too: orjson would read
    a big integer as a float."""
    try:
        return orjson.dumps(entry).decode()
    except (TypeError, orjson.JSONEncodeError):
        pass
    try:
        return " " + json.dumps(entry, ensure_ascii=True, allow_nan=False,
                                separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise StoreInputError(f"{where} is not JSON-serialisable: {exc}") from None


def decode_entry(text: str) -> dict:
    return json.loads(text) if text.startswith(" ") else orjson.loads(text)
