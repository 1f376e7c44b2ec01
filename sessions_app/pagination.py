"""Opaque, signed keyset cursors: the next page starts strictly after ``(sort value, id)``.

Unlike an offset, a keyset cursor neither skips nor repeats rows when sessions arrive
between two page loads, and unlike DRF's CursorPagination it keeps rows that tie on the sort
value (the id breaks the tie).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from django.core import signing

from agentsview.api.params import BadParameter

SALT = "agentsview.sessions.cursor"


class InvalidCursor(BadParameter):
    """A cursor that is not ours, or not for this query (the API's 400, naming it)."""

    def __init__(self, token: str) -> None:
        super().__init__("cursor", token, "invalid cursor")


@dataclass(frozen=True)
class Cursor:
    key: str  # the sort key the cursor was made for
    descending: bool
    value: object  # last row's sort values, one per key (a single value: one key)
    last_id: str
    total: int
    query: str  # hash of the filters it belongs to


def _encode_value(value: object) -> object:
    if isinstance(value, list):  # one value per sort key
        return [_encode_value(v) for v in value]
    return {"t": value.isoformat()} if isinstance(value, datetime) else value


def _decode_value(value: object) -> object:
    if isinstance(value, list):
        return [_decode_value(v) for v in value]
    if isinstance(value, dict) and set(value) == {"t"}:
        return datetime.fromisoformat(value["t"])
    return value


def query_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def encode(cursor: Cursor) -> str:
    payload = {"k": cursor.key, "d": cursor.descending, "v": _encode_value(cursor.value),
               "i": cursor.last_id, "t": cursor.total, "q": cursor.query}
    # Signer, not signing.dumps: that one stamps the time, and the same page must get the
    # same cursor whoever computes it (the CLI and the API print identical JSON)
    return signing.Signer(salt=SALT).sign_object(payload, compress=True)


def decode(token: str, *, key: str, descending: bool, query: str) -> Cursor:
    """Verify and unpack *token*; it must belong to the same sort and the same filters."""
    try:
        payload = signing.Signer(salt=SALT).unsign_object(token)
        cursor = Cursor(payload["k"], bool(payload["d"]), _decode_value(payload["v"]),
                        str(payload["i"]), int(payload["t"]), str(payload["q"]))
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise InvalidCursor(token) from None
    if (cursor.key, cursor.descending, cursor.query) != (key, descending, query):
        raise InvalidCursor(token)
    return cursor
