"""Declared JSON shapes (agentsview/api/shapes.py): what each kind writes, when each omit
policy leaves a field out, MAP fields, and the compiled dump against a plain reading of the
declaration."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import orjson
import pytest
from rest_framework import serializers as drf

from agentsview.api.shapes import (
    ALWAYS,
    BOOL,
    DICT,
    EMPTY,
    FALSY,
    FLOAT,
    INT,
    JSON_TEXT,
    LIST,
    MAP,
    NONE,
    OBJECT,
    OBJECTS,
    STR,
    TIME,
    Field,
    Shape,
    constant,
)
from agentsview.timefmt import rfc3339
from analytics_app import serializers as analytics_shapes
from analytics_app.endpoints.health import SignalContext
from sessions_app import serializers as session_shapes
from sessions_app.models import Session

T0 = datetime(2026, 3, 2, 9, 0, 0, 500000, tzinfo=UTC)

COUNTS = Shape("Counts", "Two counts.", (Field("sessions", INT), Field("messages", INT)),
               mapping=True)


def _double(obj, ctx):
    return obj["n"] * 2


EVERY_KIND = Shape("EveryKind", "One field of each kind.", (
    Field("name", STR),
    Field("n", INT),
    Field("flag", BOOL),
    Field("ratio", FLOAT),
    Field("at", TIME),
    Field("usage", JSON_TEXT),
    Field("tags", LIST, item=STR),
    Field("extra", DICT),
    Field("totals", OBJECT, shape=COUNTS),
    Field("rows", OBJECTS, shape=COUNTS),
    Field("by_agent", MAP, shape=COUNTS),
    Field("by_day", MAP, item=INT),
    Field("double", INT, source=_double),
    Field("renamed", STR, source="name"),
    Field("first", STR, source=0),  # an int source: the key 0 (a tuple's index, a dict's key)
    constant("fixed", LIST, [], "Always empty."),
    Field("optional", STR, omit=EMPTY),
    Field("only_when", INT, source="n", when=lambda o: o["flag"]),
), mapping=True)


def every_kind(**changes) -> dict:
    obj = {"name": "x", "n": 2, "flag": True, "ratio": 0.5, "at": T0, "usage": '{"a": 1}',
           "tags": ("a", "b"), "extra": {"k": [1]}, "totals": {"sessions": 1, "messages": 3},
           "rows": [{"sessions": 1, "messages": 2, "ignored": 0}],
           "by_agent": {"codex": {"sessions": 2, "messages": 5, "agent": "codex"},
                        "claude": {"sessions": 1, "messages": 1}},
           "by_day": {"2026-03-02": 4}, 0: "zero", "optional": ""}
    obj.update(changes)
    return obj


def test_each_kind_writes_its_value_in_declaration_order():
    dumped = EVERY_KIND.dump(every_kind())
    assert list(dumped.items()) == [
        ("name", "x"), ("n", 2), ("flag", True), ("ratio", 0.5),
        ("at", "2026-03-02T09:00:00.5Z"), ("usage", {"a": 1}), ("tags", ["a", "b"]),
        ("extra", {"k": [1]}), ("totals", {"sessions": 1, "messages": 3}),
        ("rows", [{"sessions": 1, "messages": 2}]),
        ("by_agent", {"codex": {"sessions": 2, "messages": 5},
                      "claude": {"sessions": 1, "messages": 1}}),
        ("by_day", {"2026-03-02": 4}), ("double", 4), ("renamed", "x"), ("first", "zero"),
        ("fixed", []), ("only_when", 2),
    ]
    # keys keep their order; optional left out when empty; only_when when its test fails
    assert list(dumped["by_agent"]) == ["codex", "claude"]
    assert "only_when" not in EVERY_KIND.dump(every_kind(flag=False))


def test_map_values_and_maps_are_fresh_copies_and_none_is_empty():
    source = every_kind()
    dumped = EVERY_KIND.dump(source)
    assert dumped["by_day"] == source["by_day"] and dumped["by_day"] is not source["by_day"]
    assert dumped["fixed"] is not EVERY_KIND.dump(source)["fixed"]
    empty = EVERY_KIND.dump(every_kind(by_agent=None, by_day=None))
    assert (empty["by_agent"], empty["by_day"]) == ({}, {})


def test_map_values_get_the_context():
    item = Shape("Item", "An item.", (Field("v", INT, source=lambda o, ctx: o * ctx),))
    shape = Shape("Holder", "A map of items.", (Field("items", MAP, shape=item),),
                  mapping=True)
    assert shape.dump({"items": {"a": 1, "b": 2}}, 10) == {"items": {"a": {"v": 10},
                                                                     "b": {"v": 20}}}


@pytest.mark.parametrize(("value", "present"), [
    (None, {ALWAYS}),
    ("", {ALWAYS, NONE}),
    (0, {ALWAYS, NONE, EMPTY}),
    (False, {ALWAYS, NONE, EMPTY}),
    ([], {ALWAYS, NONE, EMPTY}),
    ({}, {ALWAYS, NONE, EMPTY}),
    ("x", {ALWAYS, NONE, EMPTY, FALSY}),
    (1, {ALWAYS, NONE, EMPTY, FALSY}),
])
def test_omit_policies(value, present):
    for omit in (ALWAYS, EMPTY, NONE, FALSY):
        shape = Shape("One", "One field.", (Field("v", STR, omit=omit),), mapping=True)
        assert ("v" in shape.dump({"v": value})) == (omit in present), omit


def test_omit_applies_to_the_written_value():
    # a MAP or LIST written from None is {} or [], which FALSY leaves out
    shape = Shape("Maybe", "Optional collections.", (
        Field("by_day", MAP, item=INT, omit=FALSY), Field("tags", LIST, omit=FALSY),
        Field("at", TIME, omit=EMPTY)), mapping=True)
    assert shape.dump({"by_day": None, "tags": None, "at": None}) == {}
    assert shape.dump({"by_day": {"d": 1}, "tags": ["t"], "at": T0}) == {
        "by_day": {"d": 1}, "tags": ["t"], "at": "2026-03-02T09:00:00.5Z"}


def test_attribute_shapes_read_attributes_and_refuse_an_index():
    shape = Shape("Attrs", "By attribute.", (Field("id", STR), Field("n", INT, source="count")))
    assert shape.dump(SimpleNamespace(id="s", count=3)) == {"id": "s", "n": 3}
    broken = Shape("Broken", "An index on attributes.", (Field("a", STR, source=0),))
    with pytest.raises(AssertionError, match="an index needs mapping"):
        broken.dump(SimpleNamespace())


def test_map_is_documented_as_a_dict_of_the_nested_serializer():
    fields = EVERY_KIND.serializer_class().fields
    by_agent, by_day = fields["by_agent"], fields["by_day"]
    assert isinstance(by_agent, drf.DictField) and isinstance(by_day, drf.DictField)
    assert isinstance(by_agent.child, COUNTS.serializer_class)
    assert isinstance(by_day.child, drf.IntegerField)
    assert isinstance(fields["tags"].child, drf.CharField)
    assert isinstance(fields["extra"].child, drf.JSONField)
    shapeless = Shape("Loose", "Any values.", (Field("m", MAP),)).serializer_class()
    assert isinstance(shapeless.fields["m"].child, drf.JSONField)
    assert fields["by_agent"].required and not fields["optional"].required
    assert not fields["only_when"].required


# --- the compiled dump against a plain reading of the declaration ------------------------------


def declared(shape: Shape, obj, ctx=None) -> dict:
    """What the declaration says ``shape.dump(obj, ctx)`` is, read field by field."""
    out = {}
    for f in shape.fields:
        if f.when is not None and not f.when(obj):
            continue
        if f.constant:
            out[f.name] = f.const
            continue
        source = f.name if f.source is None else f.source
        if callable(source):
            value = source(obj, ctx)
        else:
            value = obj[source] if shape.mapping else getattr(obj, source)
        if f.kind == TIME:
            value = rfc3339(value)
        elif f.kind == JSON_TEXT:
            value = _json(value)
        elif f.kind in (LIST, DICT):
            value = list(value or ()) if f.kind == LIST else dict(value or {})
        elif f.kind == OBJECT:
            value = declared(f.shape, value, ctx)
        elif f.kind == OBJECTS:
            value = [declared(f.shape, item, ctx) for item in value]
        elif f.kind == MAP:
            value = {k: declared(f.shape, v, ctx) if f.shape else v
                     for k, v in (value or {}).items()}
        if f.omit == EMPTY and (value is None or value == ""):
            continue
        if f.omit == NONE and value is None:
            continue
        if f.omit == FALSY and not value:
            continue
        out[f.name] = value
    return out


def _json(text):
    try:
        return orjson.loads(text) if text else None
    except orjson.JSONDecodeError:
        return None


@pytest.mark.parametrize("obj", [
    every_kind(),
    every_kind(flag=False, optional="set", usage="not json", tags=None, extra=None, rows=[]),
    every_kind(at=None, usage="", by_agent={}, by_day={"a": 0, "b": None}),
])
def test_compiled_dump_equals_the_declaration(obj):
    assert list(EVERY_KIND.dump(obj).items()) == list(declared(EVERY_KIND, obj).items())


def test_analytics_shapes_dump_as_declared():
    summary = {field.name: 0 for field in analytics_shapes.SUMMARY.fields}
    summary.update(models=["m"], agents={"claude": {"sessions": 1, "messages": 2}},
                   total_cost={"microdollars": 5})
    heatmap = {"metric": "messages", "entries": [("2026-03-02", 3, 1)],
               "levels": {"l1": 1, "l2": 2, "l3": 3, "l4": 4}, "entries_from": "2026-03-02"}
    session = SimpleNamespace(id="s", project="p", agent="a", machine="m", first_message="hi",
                              display_name="", started_at=T0, ended_at=None, message_count=2,
                              outcome="completed", health_score=None, health_grade=None,
                              unstructured_start=True, created_at=T0, is_automated=False,
                              tool_failure_signal_count=0, tool_retry_count=0,
                              edit_churn_count=0)
    signal_sessions = {"signal": "unstructured_start", "total": 1, "sessions": [session]}
    signal = SignalContext("unstructured_start", "unstructured_start", ZoneInfo("UTC"))
    for shape, obj, ctx in ((analytics_shapes.SUMMARY, summary, None),
                            (analytics_shapes.HEATMAP, heatmap, None),
                            (analytics_shapes.SIGNAL_SESSIONS, signal_sessions, signal)):
        dumped = shape.dump(obj, ctx)
        assert list(dumped.items()) == list(declared(shape, obj, ctx).items()), shape.name
    dumped = analytics_shapes.SIGNAL_SESSIONS.dump(signal_sessions, signal)
    assert dumped["sessions"][0]["value"] == 1  # a flag counts as 1
    assert dumped["sessions"][0]["signal_total"] == 1
    assert dumped["sessions"][0]["date"] == T0.date().isoformat()


@pytest.mark.parametrize("scored", [True, False])
def test_session_shapes_dump_as_declared(scored):
    session = Session(id="s", project="p", machine="m", agent="a", created_at=T0,
                      display_name="Named", started_at=T0, git_branch="main",
                      health_score=80 if scored else None, health_grade="B" if scored else None,
                      health_score_basis=["tool_failures"], health_penalties={"x": 20},
                      is_truncated=True)
    shape = session_shapes.SESSION_DETAIL
    assert list(shape.dump(session).items()) == list(declared(shape, session).items())
