"""The content digest is the same bytes however it is computed: the sync compares it with
the digest stored by earlier versions, and a different one would rewrite (and push again)
every re-parsed session."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta, timezone

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from sessions_app.rows import (
    EVENT_COLUMNS,
    PARSED_MESSAGE_COLUMNS,
    SESSION_PARSED_COLUMNS,
    TOOL_CALL_COLUMNS,
    canonical,
    content_digest,
)


def reference_digest(values, messages, calls, events) -> str:
    """The digest as first written: every value through ``canonical``, one by one."""
    digest = hashlib.sha256()

    def feed(rows):
        for row in rows:
            digest.update(orjson.dumps([canonical(v) for v in row]))
            digest.update(b"\n")

    feed([[values[c] for c in SESSION_PARSED_COLUMNS]])
    for label, rows in ((b"M", messages), (b"T", calls), (b"E", events)):
        digest.update(label)
        feed(rows)
    return digest.hexdigest()


times = st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2100, 1, 1),
                     timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30))]))
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=20), times,
    st.dates(min_value=date(1970, 1, 1)),
)
values = st.one_of(scalars, st.lists(st.one_of(st.integers(-(2**63), 2**63 - 1), times),
                                      max_size=3))


def rows_of(columns):
    return st.lists(st.lists(values, min_size=len(columns), max_size=len(columns)), max_size=4)


@settings(max_examples=300, deadline=None)
@given(session=st.lists(values, min_size=len(SESSION_PARSED_COLUMNS),
                        max_size=len(SESSION_PARSED_COLUMNS)),
       messages=rows_of(PARSED_MESSAGE_COLUMNS), calls=rows_of(TOOL_CALL_COLUMNS),
       events=rows_of(EVENT_COLUMNS))
def test_the_digest_is_the_reference_digest_for_any_values(session, messages, calls, events):
    values = dict(zip(SESSION_PARSED_COLUMNS, session, strict=True))
    assert content_digest(values, messages, calls, events) == reference_digest(
        values, messages, calls, events)


def test_booleans_and_times_hash_as_stored_values_do():
    """A row read back from a database (0/1, UTC) hashes as the parsed row (booleans, any
    zone), in the columns that hold them."""
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2)))
    parsed = {c: None for c in SESSION_PARSED_COLUMNS}
    stored = dict(parsed)
    bool_at = next(i for i, c in enumerate(PARSED_MESSAGE_COLUMNS) if c == "is_system")
    time_at = PARSED_MESSAGE_COLUMNS.index("timestamp")
    row = [None] * len(PARSED_MESSAGE_COLUMNS)
    back = list(row)
    row[bool_at], row[time_at] = True, when
    back[bool_at], back[time_at] = 1, when.astimezone(UTC)
    assert content_digest(parsed, [row], [], []) == content_digest(stored, [back], [], [])
    row[bool_at] = False
    assert content_digest(parsed, [row], [], []) != content_digest(stored, [back], [], [])
