"""The outcome figures of ``/api/v1/analytics/tools`` ``by_tool`` (``analytics_app.tool_outcomes``):
each call's outcome and repeat, how failure sequences end, the rates, and the endpoint's rows
over factory-made sessions on SQLite and PostgreSQL, every figure worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connections
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext

from analytics_app import tool_outcomes as to
from analytics_app.endpoints.tools import tools
from analytics_app.scoring import rollups
from sessions_app.models import Session, ToolCall, ToolResultEvent
from sessions_app.services.rescore import stored_rollups
from tests.factories import SessionFactory
from tests.sessions_app.api_fixtures import BACKENDS


def call(ordinal: int = 1, name: str = "Bash", category: str = "", input_json: str = "",
         content: str | None = None, length: int | None = None, status: str = "") -> to.Call:
    return to.Call(ordinal, name, category or name, input_json, content,
                   len(content) if length is None and content is not None else length, status)


# --- one call ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("c", "expected"), [
    (call(status="errored", content="boom"), "errored"),
    (call(status="cancelled"), "errored"),
    (call(status="denied"), "errored"),
    (call(status="running", content="half"), "unknown"),  # not finished
    (call(content="bash: nope: command not found"), "errored"),  # tool health's heuristics
    (call(name="Edit", content="Edit FAILED: no match"), "errored"),
    (call(name="Grep", status="completed", content="", length=0), "empty"),
    (call(name="search", category="Tool", status="completed", length=0), "empty"),
    (call(name="Bash", status="completed", length=0), "unknown"),  # not a search or read
    (call(name="Grep", content="No matches found\n"), "empty"),
    (call(name="Glob", content="No files found"), "empty"),
    (call(name="Read", length=90), "unknown"),  # a category whose results are not kept
    (call(content="staged:12"), "unknown"),
    (call(content="[image]\n[image]"), "unknown"),
    (call(content='[{"type": "image", "source": {}}, {"type": "text", "text": " "}]'),
     "unknown"),
    (call(content="![Image: shot](asset://abc.png)"), "unknown"),
    (call(content='[{"type": "text", "text": "hi"}]'), "content"),
    (call(content='[{"type": {"k": 1}, "text": ["x"]}]'), "content"),  # not a known block
    (call(content="PASS 4 tests"), "content"),
    (call(status="completed", content="done"), "content"),
    (call(), "unknown"),  # no result
])
def test_the_outcome_of_a_call(c, expected):
    assert to.outcome(c) == expected


def test_a_repeat_is_the_same_tool_with_the_same_input_or_the_same_json():
    first = call(1, input_json='{"a": 1, "b": [2, 3]}')
    assert to.repeat(first, call(2, input_json='{"a": 1, "b": [2, 3]}')) == "identical"
    assert to.repeat(first, call(2, input_json='{"b":[2,3],"a":1}')) == "near_identical"
    assert to.repeat(first, call(2, input_json='{"a": 1, "b": [3, 2]}')) == "none"
    assert to.repeat(first, call(2, name="Read", input_json=first.input_json)) == "none"
    assert to.repeat(call(1), call(2)) == "none"  # no input: nothing to compare
    assert to.repeat(call(1, input_json="not json"), call(2, input_json="not  json")) == "none"


# --- sequences and the counts of a session ----------------------------------------------------

def counted(calls: list[to.Call], termination: str = "clean") -> dict[str, to.ToolOutcomes]:
    totals: dict = {}
    to.add_session(totals, calls, termination)
    return {name: counts for (_, name), counts in totals.items()}


def test_content_in_a_later_message_recovers_the_sequence_of_the_tool_that_opened_it():
    got = counted([
        call(1, "Grep", input_json='{"q": "x"}', status="completed", length=0),  # empty: opens
        call(2, "Grep", input_json='{"q": "x"}', content="No matches found"),  # empty, repeat
        call(3, "Read", content="the file"),  # content, later message: recovered
        call(4, "Bash", status="errored"),  # opens a second sequence...
        call(5, "Bash", content="ok"),  # ...recovered by the same tool
    ])
    assert got["Grep"] == to.ToolOutcomes(analyzed=2, known=2, empty=2, repeated=1,
                                          recovered=1)
    assert got["Read"] == to.ToolOutcomes(analyzed=1, known=1)
    assert got["Bash"] == to.ToolOutcomes(analyzed=2, known=2, recovered=1)


def test_content_in_the_same_message_does_not_recover():
    same = [call(1, "Bash", status="errored"), call(1, "Read", content="text")]
    assert counted(same, "awaiting_user")["Bash"].unknown == 1  # ended, but last call fine
    assert counted(same, "awaiting_user")["Read"].repeated == 0


def test_a_sequence_at_the_end_is_abandoned_open_or_unknown():
    failing = [call(1, "Edit", content="FAILED"), call(2, "Edit", content="FAILED again")]
    assert counted(failing, "clean")["Edit"].abandoned == 1
    assert counted(failing, "awaiting_user")["Edit"].abandoned == 1
    for unfinished in ("tool_call_pending", "truncated", "awaiting_assistant", ""):
        assert counted(failing, unfinished)["Edit"] == to.ToolOutcomes(analyzed=2, known=2,
                                                                        open=1)
    unknown_last = [*failing, call(3, "Read", length=10)]
    assert counted(unknown_last, "clean")["Edit"].unknown == 1
    assert counted([call(1, "Read", length=5)], "clean")["Read"] == to.ToolOutcomes(analyzed=1)


def test_repeats_compare_with_the_call_just_before_in_an_earlier_message():
    got = counted([
        call(1, "Read", input_json='{"p": 1}', length=3),
        call(1, "Read", input_json='{"p": 1}', length=3),  # same message: not a repeat
        call(2, "Read", input_json='{"p": 1}', length=3),  # identical to the one before
        call(3, "Grep", input_json='{"p": 1}', content="hit"),
        call(4, "Read", input_json='{"p": 1}', length=3),  # the call before is a Grep
    ])
    assert got["Read"].repeated == 1 and got["Grep"].repeated == 0


def test_a_session_summary_keeps_what_does_not_depend_on_how_the_session_ended():
    calls = [call(1, "Grep", input_json='{"q": 1}', content="No files found"),
             call(2, "Grep", input_json='{"q":1}', status="errored"),
             call(3, "Bash", content="ok"),  # recovers Grep's sequence
             call(4, "Edit", content="FAILED")]  # opens the trailing one
    summary = to.summarize(calls)
    assert summary.tools == {("Grep", "Grep"): [2, 2, 1, 1, 1], ("Bash", "Bash"): [1, 1, 0, 0, 0],
                             ("Edit", "Edit"): [1, 1, 0, 0, 0]}
    assert summary.tail == ("Edit", "Edit", True)
    # kept in the rollups: per tool [calls, known, empty, repeated, recovered, tail]
    text = rollups.compute([], [(c.category, c.tool_name, "") for c in calls],
                           summary)["rollup_tools"]
    assert text == ('[["Bash","Bash",1,1,0,0,0,0],["Edit","Edit",1,1,0,0,0,2],'
                    '["Grep","Grep",2,2,1,1,1,0]]')
    for termination in ("clean", "tool_call_pending"):  # the tail abandoned, then open
        direct: dict = {}
        to.add_session(direct, calls, termination)
        stored: dict = {}
        to.add_rollup(stored, rollups.loads(text), termination)
        assert to.totals_of(stored) == direct
    last_fine = to.summarize([*calls, call(5, "Edit", content="FAILED"), call(6, "Read",
                                                                            length=3)])
    assert last_fine.tail == ("Edit", "Edit", False)
    stored = {}
    to.add_rollup(stored, rollups.loads(rollups.compute(
        [], [("Edit", "Edit", ""), ("Read", "Read", "")], last_fine)["rollup_tools"]), "clean")
    assert to.totals_of(stored)[("Edit", "Edit")].unknown == 1  # its last call returned
    assert to.totals_of(stored)[("Edit", "Edit")].abandoned == 0
    for nothing in ([], [["Bash", "Bash", 2]]):  # no tools; rolled up before the outcomes
        stored = {}
        to.add_rollup(stored, nothing, "clean")
        assert stored == {}


def test_the_row_fields_and_their_rates():
    counts = to.ToolOutcomes(analyzed=3, known=3, empty=1, repeated=2, recovered=2,
                             abandoned=1, open=4, unknown=5)
    assert list(to.fields(counts, 3).items()) == [
        ("analyzed_calls", 3), ("known_outcome_calls", 3), ("empty_calls", 1),
        ("repeated_calls", 2), ("recovered_sequences", 2), ("abandoned_sequences", 1),
        ("open_sequences", 4), ("unknown_sequences", 5), ("missing_calls", 0),
        ("empty_rate", 0.333), ("repeat_rate", 0.667), ("recovery_rate", 0.667)]
    nothing = to.fields(to.ToolOutcomes(analyzed=1), 1)
    assert (nothing["empty_rate"], nothing["repeat_rate"], nothing["recovery_rate"]) == (
        None, 0, None)
    unseen = to.fields(None, 2)  # counted by the rollups, not analysed
    assert (unseen["analyzed_calls"], unseen["missing_calls"], unseen["repeat_rate"]) == (
        0, 2, None)


# --- the endpoint ------------------------------------------------------------------------------

pytestmark_db = pytest.mark.django_db(databases=["default", "pg"])
IN_WINDOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
QUERY = ("from=2026-03-01&to=2026-03-31&timezone=UTC&include_one_shot=true"
         "&include_automated=true")


def session(alias: str, sid: str, termination: str, calls: list[dict],
            started: datetime = IN_WINDOW) -> None:
    """A session with *calls* (dicts of ToolCall fields plus ``status``, the status of its one
    result event), its tool rollups computed from the stored rows (as the backfill does; that
    sync stores the same is ``test_rollups``' business)."""
    s = SessionFactory.build(id=sid, termination_status=termination, started_at=started,
                             created_at=started)
    s.save(using=alias)
    for index, c in enumerate(calls):
        status = c.pop("status", None)
        c.setdefault("category", c["tool_name"])
        c.setdefault("call_index", index)
        if c.get("result_content") is not None:
            c.setdefault("result_content_length", len(c["result_content"]))
        ToolCall.objects.using(alias).create(session_id=sid, **c)
        if status is not None:
            ToolResultEvent.objects.using(alias).create(
                session_id=sid, tool_call_message_ordinal=c["message_ordinal"],
                call_index=c["call_index"], source="tool_result", status=status)
    Session.objects.using(alias).filter(pk=sid).update(**{
        k: v for k, v in stored_rollups(sid, alias).items()
        if k in ("rollup_version", "rollup_tools", "rollup_tool_calls", "rollup_skills")})


@pytest.fixture(params=BACKENDS)
def alias(request):
    return request.param


@pytestmark_db
def test_by_tool_rows_from_the_sessions_calls(alias):
    session(alias, "a", "awaiting_user", [
        {"message_ordinal": 1, "tool_name": "Grep", "input_json": '{"q": "x"}',
         "result_content_length": 0, "status": "completed"},  # empty, opens
        {"message_ordinal": 2, "tool_name": "Grep", "input_json": '{"q": "x"}',
         "result_content": "No matches found"},  # empty, identical repeat
        {"message_ordinal": 3, "tool_name": "Read", "result_content": "text"},  # recovers
    ])
    session(alias, "b", "clean", [
        {"message_ordinal": 1, "tool_name": "Bash", "status": "errored"},  # opens
        {"message_ordinal": 1, "tool_name": "Bash", "result_content": "ok"},  # same message
    ])  # ended with content last: unknown ending
    session(alias, "c", "clean", [
        {"message_ordinal": 1, "tool_name": "Edit", "input_json": '{"a": 1, "b": 2}',
         "result_content": "FAILED"},  # opens
        {"message_ordinal": 2, "tool_name": "Edit", "input_json": '{"b": 2, "a": 1}',
         "result_content": "FAILED again"},  # near-identical repeat
    ])  # ended failing: abandoned
    session(alias, "d", "tool_call_pending", [
        {"message_ordinal": 1, "tool_name": "Bash", "status": "cancelled"},  # opens
        {"message_ordinal": 2, "tool_name": "fetch", "category": "Tool", "status": "running"},
    ])  # may go on: open
    session(alias, "e", "clean", [
        {"message_ordinal": 1, "tool_name": "Read", "result_content_length": 90},  # not kept
    ])
    session(alias, "before", "clean", [{"message_ordinal": 1, "tool_name": "Bash",
                                        "status": "errored"}],
            started=datetime(2025, 1, 1, tzinfo=UTC))  # out of the window

    rows = tools(QueryDict(QUERY), alias)["by_tool"]
    zero = dict.fromkeys(("empty_calls", "repeated_calls", "recovered_sequences",
                          "abandoned_sequences", "open_sequences", "unknown_sequences",
                          "missing_calls"), 0)

    def row(name, category, calls, sessions, pct, **figures):
        return {**zero, "analyzed_calls": calls, **figures, "tool_name": name,
                "category": category, "call_count": calls, "session_count": sessions,
                "pct": pct}

    assert [list(r) for r in rows[:1]] == [[
        "analyzed_calls", "known_outcome_calls", "empty_calls", "repeated_calls",
        "recovered_sequences", "abandoned_sequences", "open_sequences", "unknown_sequences",
        "missing_calls", "empty_rate", "repeat_rate", "recovery_rate", "tool_name",
        "category", "call_count", "session_count", "pct"]]
    assert rows == [
        row("Bash", "Bash", 3, 2, 30, known_outcome_calls=3, unknown_sequences=1,
            open_sequences=1, empty_rate=0, repeat_rate=0, recovery_rate=None),
        row("Edit", "Edit", 2, 1, 20, known_outcome_calls=2, repeated_calls=1,
            abandoned_sequences=1, empty_rate=0, repeat_rate=0.5, recovery_rate=0),
        row("Grep", "Grep", 2, 1, 20, known_outcome_calls=2, empty_calls=2,
            repeated_calls=1, recovered_sequences=1, empty_rate=1, repeat_rate=0.5,
            recovery_rate=1),
        row("Read", "Read", 2, 2, 20, known_outcome_calls=1, empty_rate=0, repeat_rate=0,
            recovery_rate=None),
        row("fetch", "Tool", 1, 1, 10, known_outcome_calls=0, empty_rate=None,
            repeat_rate=0, recovery_rate=None),
    ]


@pytestmark_db
def test_no_sessions_no_rows(alias):
    assert tools(QueryDict(QUERY), alias)["by_tool"] == []


@pytestmark_db
def test_the_figures_are_read_from_the_rollups_alone(alias):
    session(alias, "kept", "clean", [{"message_ordinal": 1, "tool_name": "Bash",
                                      "status": "errored"}])
    with CaptureQueriesContext(connections[alias]) as queries:
        (bash,) = tools(QueryDict(QUERY), alias)["by_tool"]
    assert (bash["analyzed_calls"], bash["abandoned_sequences"]) == (1, 1)
    assert len(queries.captured_queries) == 1
    assert not any(table in q["sql"] for q in queries.captured_queries
                   for table in ('"tool_calls"', '"tool_result_events"'))
    # the trailing sequence is settled by the session's termination status when read
    Session.objects.using(alias).filter(pk="kept").update(termination_status="truncated")
    (bash,) = tools(QueryDict(QUERY), alias)["by_tool"]
    assert (bash["abandoned_sequences"], bash["open_sequences"]) == (0, 1)


@pytestmark_db
def test_a_session_rolled_up_before_the_outcomes_counts_as_missing_calls(alias):
    session(alias, "new", "clean", [{"message_ordinal": 1, "tool_name": "Bash",
                                     "status": "errored"}])
    session(alias, "old", "clean", [{"message_ordinal": 1, "tool_name": "Bash",
                                     "status": "errored"}])
    Session.objects.using(alias).filter(pk="old").update(
        rollup_version=2, rollup_tools='[["Bash","Bash",1]]')
    (bash,) = tools(QueryDict(QUERY), alias)["by_tool"]
    assert {k: bash[k] for k in ("call_count", "session_count", "analyzed_calls",
                                 "missing_calls", "abandoned_sequences")} == {
        "call_count": 2, "session_count": 2, "analyzed_calls": 1, "missing_calls": 1,
        "abandoned_sequences": 1}


@pytestmark_db
def test_callers_that_show_no_outcome_can_skip_the_analysis(alias):
    session(alias, "skip", "clean", [{"message_ordinal": 1, "tool_name": "Bash",
                                      "status": "errored"}])
    with CaptureQueriesContext(connections[alias]) as queries:
        data = tools(QueryDict(QUERY), alias, outcomes=False)
    assert not any('"tool_calls"' in q["sql"] for q in queries.captured_queries)
    (bash,) = data["by_tool"]
    assert (bash["call_count"], bash["analyzed_calls"], bash["missing_calls"],
            bash["abandoned_sequences"], bash["repeat_rate"]) == (1, 0, 1, 0, None)
    assert data["by_category"] == [{"category": "Bash", "count": 1, "pct": 100}]
