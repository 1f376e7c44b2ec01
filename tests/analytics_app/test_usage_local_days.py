"""Where the usage summary places each quarter-hour: the local day of the zone asked for, over
sessions that span local midnights (under one UTC offset, or across a daylight-saving
change), that start before the window, or that mix models within one day. The expected
figures are summed here record by record, each at its own local day (zoneinfo), and both
databases must give the same bytes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import orjson
import pytest

from analytics_app.endpoints import usage
from sessions_app.models import Session
from sessions_app.usage.pricing import Tokens, builtin_table
from sessions_app.usage.records import MESSAGE, Record, session_columns
from tests.sessions_app.api_fixtures import available_backends

pytestmark = pytest.mark.django_db(databases=["default", "pg"])

PRICED, UNPRICED = "claude-sonnet-4-5-20250929", "mystery-model"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# session id -> its records: (UTC time, model, input, output, cost or None when unpriced)
SESSIONS = {
    "over-midnight": [("2026-03-02T22:50", PRICED, 100, 10, 7),
                      ("2026-03-02T23:40", PRICED, 50, 5, 3),
                      ("2026-03-03T01:10", PRICED, 200, 20, 11)],
    # 1 Nov 23:30 EDT, then 2 Nov 01:30 EST after New York's clocks went back
    "dst-change": [("2025-11-02T03:30", PRICED, 300, 30, 13),
                   ("2025-11-02T06:30", PRICED, 40, 4, 2),
                   ("2025-11-02T07:00", UNPRICED, 60, 6, None)],
    "before-window": [("2025-10-31T23:45", PRICED, 1000, 100, 50),
                      ("2025-11-01T00:30", PRICED, 70, 7, 5)],
    "two-models": [("2026-03-05T23:00", PRICED, 10, 1, 1),
                   ("2026-03-05T23:15", UNPRICED, 20, 2, None),
                   ("2026-03-05T23:30", PRICED, 30, 3, 2),
                   ("2026-03-06T00:15", PRICED, 40, 4, 3)],
    "one-day": [("2026-03-04T12:00", PRICED, 5, 5, 1), ("2026-03-04T13:00", PRICED, 5, 5, 1)],
}
WINDOWS = [
    ("2025-11-01", "2026-03-31", "UTC"),
    ("2025-11-01", "2026-03-31", "America/New_York"),
    ("2025-11-01", "2026-03-31", "Asia/Kolkata"),
    ("2025-11-01", "2025-11-02", "America/New_York"),
    ("2026-03-03", "2026-03-06", "Pacific/Honolulu"),
    ("2026-03-03", "2026-03-05", "Australia/Lord_Howe"),
]


@pytest.fixture
def archive():
    for alias in available_backends():
        for sid, rows in SESSIONS.items():
            found = [Record(n, MESSAGE, at(t), model, Tokens(i, o), cost)
                     for n, (t, model, i, o, cost) in enumerate(rows)]
            start = at(rows[0][0])
            Session.objects.using(alias).create(
                id=sid, project="p", machine="m", agent="claude", created_at=start,
                started_at=start, ended_at=at(rows[-1][0]), message_count=len(rows),
                rollup_models=orjson.dumps(sorted({r[1] for r in rows})).decode(),
                **session_columns(found, builtin_table(), start))
    return available_backends()


def expected_days(first: str, last: str, zone: str) -> dict[str, tuple[int, int, int]]:
    """Local day -> (tokens, cost of the priced, unpriced tokens), record by record."""
    days: dict[str, list[int]] = {}
    lo, hi = date.fromisoformat(first), date.fromisoformat(last)
    for rows in SESSIONS.values():
        for t, _model, i, o, cost in rows:
            day = at(t).astimezone(ZoneInfo(zone)).date()
            if lo <= day <= hi:
                entry = days.setdefault(day.isoformat(), [0, 0, 0])
                entry[0] += i + o
                entry[1] += cost or 0
                entry[2] += i + o if cost is None else 0
    return {day: tuple(v) for day, v in sorted(days.items())}


@pytest.mark.parametrize(("first", "last", "zone"), WINDOWS)
def test_each_quarter_counts_on_its_local_day(archive, first, last, zone):
    bodies = []
    for alias in archive:
        data = usage.summary({"from": first, "to": last, "timezone": zone}, alias)
        got = {d["date"]: (d["totalTokens"], d["totalCost"]["microdollars"],
                           d["unpricedTokens"]) for d in data["daily"]}
        assert got == expected_days(first, last, zone), alias
        bodies.append(orjson.dumps(data))
    assert len(set(bodies)) == 1  # SQLite and PostgreSQL: the same bytes


def test_a_session_counts_once_whatever_days_it_spans(archive):
    data = usage.summary({"from": "2025-11-01", "to": "2026-03-31", "timezone": "UTC"},
                         "default")
    assert data["sessionCounts"]["total"] == len(SESSIONS)
    # before-window's first record (31 Oct 23:45 UTC) is left out, its second counts
    late = usage.summary({"from": "2025-11-01", "to": "2025-11-01", "timezone": "UTC"},
                         "default")
    assert late["totals"]["totalTokens"] == 77 and late["sessionCounts"]["total"] == 1
    # in New York both its records fall on 31 October: the session does not count
    york = usage.summary({"from": "2025-11-01", "to": "2026-03-31",
                          "timezone": "America/New_York"}, "default")
    assert york["sessionCounts"]["total"] == len(SESSIONS) - 1


def test_the_model_filter_keeps_only_its_cells(archive):
    data = usage.summary({"from": "2026-03-05", "to": "2026-03-06", "timezone": "UTC",
                          "model": UNPRICED}, "default")
    assert [(d["date"], d["unpricedTokens"], d["totalCost"]) for d in data["daily"]] == [
        ("2026-03-05", 22, None)]


@pytest.mark.parametrize("zone", ["UTC", "America/New_York", "Australia/Lord_Howe",
                                  "Asia/Kathmandu", "Pacific/Chatham", "Europe/Dublin"])
def test_offset_segments_give_every_quarter_its_zoneinfo_day(zone):
    tz = ZoneInfo(zone)
    first = datetime(2025, 9, 28, tzinfo=tz).astimezone(UTC)
    end = datetime(2025, 11, 12, tzinfo=tz).astimezone(UTC)
    start_s, end_s = int(first.timestamp()), int(end.timestamp())
    segments = usage.offset_segments(tz, start_s, end_s)
    day_of = usage.local_days(tz)
    epoch = date(1970, 1, 1)
    for quarter in range(start_s, end_s, usage.QUARTER_S):
        offset = [o for s, o in segments if s <= quarter][-1]
        expected = datetime.fromtimestamp(quarter, UTC).astimezone(tz).date()
        assert epoch + timedelta(days=(quarter + offset) // usage.DAY_S) == expected, quarter
        assert epoch + timedelta(days=day_of(quarter)) == expected, quarter
    # the zones with daylight saving change their offset in that span, the others never
    assert len(segments) == (1 if zone in ("UTC", "Asia/Kathmandu") else 2)


def test_the_collector_is_paused_during_a_summary_and_left_as_it_was(archive, monkeypatch):
    import gc

    seen = []
    slices = usage._slices
    monkeypatch.setattr(usage, "_slices", lambda *a: (seen.append(gc.isenabled()), slices(*a))[1])
    params = {"from": "2026-03-01", "to": "2026-03-31", "timezone": "UTC"}
    assert gc.isenabled()
    usage.summary(params, "default")
    assert gc.isenabled() and seen == [False]
    gc.disable()
    try:
        usage.summary(params, "default")
        assert not gc.isenabled()
    finally:
        gc.enable()
