"""Per-session analytics rollups: their definitions, and that the stored ones are what the
stored rows give (after sync, after a backfill, and in PostgreSQL after a push)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO

import orjson
import pytest
from django.core.management import call_command
from django.http import QueryDict

from analytics_app import tool_outcomes as to
from analytics_app.endpoints.tools import tools
from analytics_app.scoring import rollups
from analytics_app.scoring.rollups import compute, epoch_ms
from sessions_app.models import Message, Session, ToolCall, ToolResultEvent

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def msg(ordinal, role, seconds, *, chars=0, system=False, thinking=False, tool_use=False,
        model="", content=""):
    when = None if seconds is None else T0 + timedelta(seconds=seconds)
    return (ordinal, role, system, when, chars, thinking, tool_use, model, content)


def test_active_time_turn_cycles_and_first_response():
    rows = [
        msg(0, "user", 0),
        msg(1, "assistant", 4, chars=10, model="m1"),       # cycle 4 s
        msg(2, "assistant", 4.5, chars=5, tool_use=True),   # not after a user message
        msg(3, "user", 1000),                                 # gap capped at 300 s
        msg(4, "assistant", None, chars=7),                   # untimed: no gap, no cycle
        msg(5, "user", 1010, system=True),
        msg(6, "assistant", 1010, model="m2"),                # 0 ms after: not a cycle
        msg(7, "user", 1020),
        msg(8, "assistant", 1020 + 1801),                     # over 30 minutes: not a cycle
    ]
    r = compute(rows, [("Bash", " Bash ", ""), ("Bash", "Bash", ""), ("Read", "", "")])
    assert r["active_ms"] == 4000 + 500 + 300_000 + 10_000 + 300_000
    assert rollups.loads(r["turn_cycles_ms"]) == [4000]
    assert r["first_response_ms"] == 4000
    assert r["rollup_assistant_chars"] == 22
    assert (r["rollup_messages"], r["rollup_user_messages"], r["rollup_assistant_messages"],
            r["rollup_tool_use_messages"], r["rollup_tool_calls"]) == (9, 3, 5, 1, 3)
    assert rollups.loads(r["rollup_models"]) == ["m1", "m2"]
    assert rollups.loads(r["rollup_tools"]) == [["Bash", "Bash", 2], ["Read", "", 1]]


def test_skills_and_frustration_markers():
    rows = [
        msg(0, "user", 0, content="Please add a login page"),
        msg(1, "assistant", 1, content="WHY IS THIS STILL FAILING"),   # not a user prompt
        msg(2, "user", 2, content="it still doesn't work!!!"),          # frustrated
        msg(3, "user", 3, system=True, content="wtf"),                  # system row: no
        msg(4, "user", 4, content="WHAT IS GOING ON HERE"),             # all caps
        msg(5, "user", 5, content=None),
    ]
    calls = [("Tool", "Skill", "pdf"), ("Tool", "Skill", "review"), ("Tool", "skill", "pdf"),
             ("Bash", "Bash", "")]
    r = compute(rows, calls)
    assert r["frustration_marker_count"] == 2
    assert rollups.loads(r["rollup_skills"]) == [["pdf", 2], ["review", 1]]
    assert rollups.loads(compute([], [])["rollup_skills"]) == []


def test_messages_per_utc_quarter_hour():
    rows = [msg(0, "user", 0), msg(1, "assistant", 899), msg(2, "user", 900),
            msg(3, "assistant", None)]
    quarters = rollups.loads(compute(rows, [])["message_quarters"])
    start = int(T0.timestamp())
    assert quarters == [[start, 2], [start + 900, 1]]


def test_no_first_response_without_a_later_timed_reply():
    rows = [msg(0, "assistant", 0), msg(1, "user", 5), msg(2, "assistant", None)]
    assert compute(rows, [])["first_response_ms"] is None
    assert compute([], [])["rollup_messages"] == 0


def test_epoch_ms_rounds_half_away_from_zero():
    assert epoch_ms(datetime(1970, 1, 1, 0, 0, 0, 1500, tzinfo=UTC)) == 2
    assert epoch_ms(datetime(1970, 1, 1, 0, 0, 0, 1499, tzinfo=UTC)) == 1


def _summary(session_id: str, using: str) -> to.SessionSummary:
    """``tool_outcomes.summarize`` over the stored calls, each with its last event's status."""
    last = {(e.tool_call_message_ordinal, e.call_index): e.status or ""
            for e in ToolResultEvent.objects.using(using).filter(session_id=session_id)
            .order_by("tool_call_message_ordinal", "call_index", "event_index")}
    return to.summarize(
        to.Call(c.message_ordinal, c.tool_name, c.category, c.input_json or "",
                c.result_content, c.result_content_length,
                last.get((c.message_ordinal, c.call_index), ""))
        for c in ToolCall.objects.using(using).filter(session_id=session_id)
        .order_by("message_ordinal", "call_index"))


def _from_rows(session_id: str, using: str) -> dict:
    return compute(
        Message.objects.using(using).filter(session_id=session_id)
        .values_list(*rollups.MESSAGE_FIELDS),
        ToolCall.objects.using(using).filter(session_id=session_id)
        .values_list(*rollups.TOOL_CALL_FIELDS),
        _summary(session_id, using),
    )


def _stored(session: Session) -> dict:
    return {name: getattr(session, name) for name in rollups.ROLLUP_COLUMNS}


@pytest.mark.django_db
def test_sync_stores_what_the_stored_rows_give(archive):
    sessions = list(Session.objects.all())
    assert sessions
    for session in sessions:
        assert _stored(session) == _from_rows(session.id, "default"), session.id
    rich = Session.objects.get(pk="7f3c1e2a-5b6d-4e8f-9a0b-1c2d3e4f5a6b")
    assert rich.rollup_tool_calls == ToolCall.objects.filter(session=rich).count() > 0
    assert rich.active_ms > 0
    # the tool outcome summary is stored with the calls' counts
    for termination in ("clean", "tool_call_pending"):
        stored: dict = {}
        to.add_rollup(stored, rollups.loads(rich.rollup_tools), termination)
        direct: dict = {}
        to.add_summary(direct, _summary(rich.id, "default"), termination)
        assert to.totals_of(stored) == direct
    assert any(row[3] for row in rollups.loads(rich.rollup_tools))  # some known outcomes
    assert ToolResultEvent.objects.exists()


@pytest.mark.django_db
def test_sessions_rolled_up_before_the_tool_outcomes_are_backfilled(archive):
    expected = {s.id: _stored(s) for s in Session.objects.all()}
    assert any(len(row) == 8 for s in expected.values()
               for row in rollups.loads(s["rollup_tools"]))
    # as stored by rollup version 2: calls per tool only
    for s in Session.objects.all():
        Session.objects.filter(pk=s.pk).update(
            rollup_version=2, local_modified_at=T0,
            rollup_tools=orjson.dumps([row[:3] for row in rollups.loads(s.rollup_tools)]).decode())
    call_command("sync", stdout=StringIO(), stderr=StringIO())
    for session in Session.objects.all():
        assert _stored(session) == expected[session.id]
        assert session.local_modified_at > T0  # so the next push carries them


@pytest.mark.django_db
def test_sessions_without_rollups_are_backfilled_at_the_next_sync(archive):
    expected = {s.id: _stored(s) for s in Session.objects.all()}
    # as stored by rollup version 1, which had no skills or frustration markers
    Session.objects.update(rollup_version=1, active_ms=0, turn_cycles_ms="", rollup_skills="",
                           frustration_marker_count=0, local_modified_at=T0)
    call_command("sync", stdout=StringIO(), stderr=StringIO())
    for session in Session.objects.all():
        assert _stored(session) == expected[session.id]
        assert session.local_modified_at > T0  # so the next push carries them


@pytest.mark.django_db(databases=["default", "pg"], transaction=True)
def test_pushed_rollups_equal_postgresql_rows(archive):
    call_command("pg_push", "--no-sync", stdout=StringIO(), stderr=StringIO())
    for session in Session.objects.using("pg").all():
        assert _stored(session) == _from_rows(session.id, "pg"), session.id
    # and the tools endpoint gives the same outcome figures from either database
    query = QueryDict("from=2000-01-01&to=2099-12-31&timezone=UTC&include_one_shot=true"
                      "&include_automated=true")
    sqlite = tools(query, "default")["by_tool"]
    assert any(row["analyzed_calls"] for row in sqlite)
    assert all(row["missing_calls"] == 0 for row in sqlite)
    assert tools(query, "pg")["by_tool"] == sqlite
