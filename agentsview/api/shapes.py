"""JSON shapes declared once: the fields of a response object, from which come both the JSON
(``Shape.dump``) and its OpenAPI component (``Shape.serializer``).

A field says where its value comes from (an attribute or key of the object, or a function of
the object and a context), how it is written (a time as RFC 3339, a JSON text parsed, a nested
shape) and when it is left out (``omit``: never, when empty, when falsy, or when a condition
on the object fails). ``dump`` is compiled once per shape into a plain function, as fast as a
hand-written dict builder: the session list dumps 200 sessions of 50 fields per request.

A MAP field is an object whose keys are data (agent names, days, grades): each value is dumped
with the field's shape, or written as it is (a count, a name) when the field has none.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import orjson
from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from agentsview.timefmt import rfc3339

# How a value is written.
STR, INT, BOOL, FLOAT, TIME, JSON_TEXT, LIST, DICT, OBJECT, OBJECTS = (
    "str", "int", "bool", "float", "time", "json_text", "list", "dict", "object", "objects"
)
MAP = "map"  # {key: value}, keys being data: values dumped with the field's shape, if any
# When a field is left out: never, when None or '', when None, when falsy (0, False, [], {}).
ALWAYS, EMPTY, NONE, FALSY = "", "empty", "none", "falsy"
TIME_HELP = "RFC 3339 UTC (trailing fraction zeros trimmed)."

Source = Callable[[Any, Any], Any]  # (object, context) -> value


@dataclass(frozen=True)
class Field:
    name: str
    kind: str
    help: str = ""
    # attribute (or key, or a tuple's index) name; default: the field's name
    source: str | int | Source | None = None
    omit: str = ALWAYS
    null: bool = False  # always present, may be null
    shape: Shape | None = None  # the nested shape of an OBJECT, OBJECTS or MAP field
    item: str = ""  # the kind of a LIST's items or of a shapeless MAP's values (documentation)
    when: Callable[[Any], bool] | None = None  # present only when this holds for the object
    const: Any = None  # the fixed value of a field that has no source (compatibility fields)
    constant: bool = False

    @property
    def required(self) -> bool:
        return self.omit == ALWAYS and self.when is None


def constant(name: str, kind: str, value: Any, help: str) -> Field:
    """A field whose value never changes (kept for AgentsView compatibility)."""
    return Field(name, kind, help, const=value, constant=True)


@dataclass(frozen=True, eq=False)
class Shape:
    """One JSON object: its component name, a one-line description and its fields in order.
    ``mapping`` shapes read their values by key (an int source: by index, for tuples), others
    by attribute."""

    name: str
    doc: str
    fields: tuple[Field, ...]
    mapping: bool = False

    def extend(self, name: str, doc: str, *more: Field) -> Shape:
        return Shape(name, doc, (*self.fields, *more), self.mapping)

    def dump(self, obj: Any, ctx: Any = None) -> dict:
        return self._dumper(obj, ctx)

    def dump_all(self, objs: Iterable[Any], ctx: Any = None) -> list[dict]:
        dump = self._dumper
        return [dump(obj, ctx) for obj in objs]

    @cached_property
    def _dumper(self) -> Callable[[Any, Any], dict]:
        return _compile(self)

    def serializer(self, *, many: bool = False) -> serializers.Serializer:
        """The documentation serializer of this shape (an instance, for drf-spectacular)."""
        return self.serializer_class(many=many)

    @cached_property
    def serializer_class(self) -> type[serializers.Serializer]:
        attrs: dict[str, Any] = {"__doc__": self.doc, "__module__": __name__}
        for f in self.fields:
            attrs[f.name] = _doc_field(f)
        cls = type(f"{self.name}Serializer", (serializers.Serializer,), attrs)
        # APIView paths look like lists to drf-spectacular: a shape is one object
        return extend_schema_serializer(many=False)(cls)


def _doc_field(f: Field) -> serializers.Field:
    text = f.help or None
    common: dict[str, Any] = {"required": f.required}
    if f.kind == STR:
        return serializers.CharField(help_text=text, allow_blank=True, allow_null=f.null,
                                     **common)
    if f.kind == INT:
        return serializers.IntegerField(help_text=text, allow_null=f.null, **common)
    if f.kind == BOOL:
        return serializers.BooleanField(help_text=text, **common)
    if f.kind == FLOAT:
        return serializers.FloatField(help_text=text, allow_null=f.null, **common)
    if f.kind == TIME:
        help_text = TIME_HELP + (f" {f.help}" if f.help else "")
        return serializers.DateTimeField(help_text=help_text, allow_null=f.null, **common)
    if f.kind == JSON_TEXT:
        return serializers.JSONField(help_text=text, **common)
    if f.kind == LIST:
        return serializers.ListField(child=_item_doc(f), help_text=text, **common)
    if f.kind == DICT:
        return serializers.DictField(child=serializers.JSONField(), help_text=text, **common)
    if f.kind in (OBJECT, OBJECTS):
        assert f.shape is not None, f.name
        return f.shape.serializer_class(many=f.kind == OBJECTS, help_text=text,
                                        allow_null=f.null, **common)
    if f.kind == MAP:
        child = f.shape.serializer_class() if f.shape is not None else _item_doc(f)
        return serializers.DictField(child=child, help_text=text, **common)
    raise ValueError(f"unknown kind {f.kind!r} of field {f.name}")


def _item_doc(f: Field) -> serializers.Field:
    """The documentation of a LIST's items or a shapeless MAP's values: any JSON by default."""
    if not f.item:
        return serializers.JSONField()
    assert f.item in (STR, INT, BOOL, FLOAT), (f.name, f.item)
    return _doc_field(Field(f.name, f.item))


def _map_dumper(shape: Shape) -> Callable[[Any, Any], dict]:
    """``{key: shape.dump(value)}`` of a MAP field's dict (None: ``{}``)."""
    dump = shape._dumper

    def dump_map(values: Any, ctx: Any) -> dict:
        return {key: dump(value, ctx) for key, value in (values or {}).items()}

    return dump_map


def _parse_json_text(text: str | None) -> Any:
    if not text:
        return None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return None


_CONVERT: dict[str, Callable[[Any], Any] | None] = {
    TIME: rfc3339, JSON_TEXT: _parse_json_text, LIST: lambda v: list(v or ()),
    DICT: lambda v: dict(v or {}), MAP: lambda v: dict(v or {}),
}
_OMIT_TEST = {
    EMPTY: "v is not None and v != ''",
    NONE: "v is not None",
    FALSY: "v",
}


def _compile(shape: Shape) -> Callable[[Any, Any], dict]:
    """Generate ``dump(o, ctx)`` from the fields (names are our identifiers, never input)."""
    env: dict[str, Any] = {}
    lines = ["def dump(o, ctx):", "    d = {}"]
    for i, f in enumerate(shape.fields):
        key = repr(f.name)
        indent = "    "
        if f.when is not None:
            env[f"when{i}"] = f.when
            lines.append(f"    if when{i}(o):")
            indent = "        "
        if f.constant:  # a literal (0, False, []): a fresh list or dict for every dump
            lines.append(f"{indent}d[{key}] = {f.const!r}")
            continue
        source = f.name if f.source is None else f.source
        if callable(source):
            env[f"src{i}"] = source
            value = f"src{i}(o, ctx)"
        elif shape.mapping:
            value = f"o[{source!r}]"
        else:
            assert isinstance(source, str), f"{shape.name}.{f.name}: an index needs mapping"
            value = f"o.{source}"
        if f.kind == OBJECT:
            env[f"dump{i}"] = f.shape.dump
            value = (f"(None if (n := {value}) is None else dump{i}(n, ctx))" if f.null
                     else f"dump{i}({value}, ctx)")
        elif f.kind == OBJECTS:
            env[f"dump{i}"] = f.shape.dump_all
            value = f"dump{i}({value}, ctx)"
        elif f.kind == MAP and f.shape is not None:
            env[f"dump{i}"] = _map_dumper(f.shape)
            value = f"dump{i}({value}, ctx)"
        elif _CONVERT.get(f.kind) is not None:
            env[f"conv{i}"] = _CONVERT[f.kind]
            value = f"conv{i}({value})"
        if f.omit == ALWAYS:
            lines.append(f"{indent}d[{key}] = {value}")
        else:
            lines.append(f"{indent}v = {value}")
            lines.append(f"{indent}if {_OMIT_TEST[f.omit]}:")
            lines.append(f"{indent}    d[{key}] = v")
    lines.append("    return d")
    exec("\n".join(lines), env)  # noqa: S102 - code built from our own declarations
    return env["dump"]

