"""Typed reads of query parameters, with the one wording of a bad value.

Every bad value raises ``BadParameter`` naming the parameter and the value, in the wording the
API returns as ``{"error": ...}`` (``invalid integer (query.limit: abc)``).

A typed parameter (integer, boolean, day, time, choice, time zone) that is present must hold a
valid value, exactly: an empty one (``?to=``) is refused like any other bad value, not read as
absent. Free text and comma lists ignore blanks. ``agentsview.api.openapi`` documents exactly
these rules, so the schema and the parsing say the same thing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from agentsview.api.errors import ApiError

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})
# The largest value of an integer parameter without a smaller maximum: the range of the
# integer columns it is compared with (PostgreSQL ``integer``), so no value (nor an ordinal
# plus a window) overflows a query on either database.
INT_MAX = 2**31 - 1
INTEGER = re.compile(r"-?[0-9]+")  # ASCII digits only: int() also reads " 7", "1_0" and "٣"
DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
NUL = "\x00"


class BadParameter(ApiError, ValueError):
    """A query parameter with an unusable value; ``str()`` is the one-line error."""

    def __init__(self, name: str, value: str, problem: str) -> None:
        self.name = name
        self.value = value
        self.problem = problem
        super().__init__(f"{problem} (query.{name}: {value})")


def refuse_nul(query: Mapping[str, str]) -> None:
    """The one rule for NUL bytes: a query parameter whose name or value holds one is a 400
    naming it, whatever the route and the database (PostgreSQL text cannot hold a NUL, so
    reading it there would fail where SQLite answers)."""
    getlist = getattr(query, "getlist", None)
    for name in query:
        for value in getlist(name) if getlist else [query[name]]:
            if NUL in name or NUL in value:
                shown = name.replace(NUL, "\\x00"), value.replace(NUL, "\\x00")
                raise BadParameter(*shown, "NUL byte not allowed")


SECRET_PARAMETERS = frozenset({"token"})  # never echoed in an error


def refuse_unknown(query: Mapping[str, str], accepted: frozenset[str] | None,
                   repeatable: frozenset[str] = frozenset()) -> None:
    """The one rule for parameters a route does not take: the first one (in the order
    sent) is a 400 naming it, so an unsupported filter never answers unfiltered data; so is
    a single-valued parameter given twice (only one of its values would be read)."""
    if accepted is None:
        return
    getlist = getattr(query, "getlist", None)
    for name in query:
        value = "…" if name in SECRET_PARAMETERS else query.get(name, "")
        if name not in accepted:
            raise BadParameter(name, value, "unsupported query parameter")
        if getlist is not None and name not in repeatable and len(getlist(name)) > 1:
            raise BadParameter(name, value, "given more than once")


@cache
def time_zones() -> frozenset[str]:
    """The IANA time zone names ``timezone`` accepts (and the OpenAPI document lists)."""
    return frozenset(available_timezones())


class Params:
    """Typed reads of a query-string mapping (``request.GET`` or a plain dict)."""

    def __init__(self, data: Mapping[str, str]) -> None:
        self.data = data

    def raw(self, name: str) -> str | None:
        """The value as sent (None when the parameter is absent)."""
        return self.data.get(name)

    def text(self, name: str) -> str | None:
        """Free text: surrounding blanks removed; a blank value is no value."""
        value = self.data.get(name)
        if value is None:
            return None
        value = value.strip()
        return value or None

    def required(self, name: str) -> str:
        value = self.text(name)
        if value is None:
            raise BadParameter(name, "", "required query parameter is missing")
        return value

    def integer(self, name: str, *, minimum: int | None = None, maximum: int | None = None,
                default: int | None = None) -> int | None:
        raw = self.raw(name)
        if raw is None:
            return default
        if not INTEGER.fullmatch(raw):
            raise BadParameter(name, raw, "invalid integer")
        value = int(raw)
        high = INT_MAX if maximum is None else maximum
        if (minimum is not None and value < minimum) or value > high:
            low = "" if minimum is None else str(minimum)
            raise BadParameter(name, raw, f"expected an integer in [{low}, {high}]")
        return value

    def boolean(self, name: str, default: bool = False) -> bool:
        raw = self.raw(name)
        if raw is None:
            return default
        if raw.lower() in TRUE_WORDS:
            return True
        if raw.lower() in FALSE_WORDS:
            return False
        raise BadParameter(name, raw, "expected true or false")

    def day(self, name: str) -> date | None:
        raw = self.raw(name)
        if raw is None:
            return None
        try:
            if not DAY.fullmatch(raw):
                raise ValueError(raw)
            return date.fromisoformat(raw)
        except ValueError:
            raise BadParameter(name, raw, "expected a date YYYY-MM-DD") from None

    def moment(self, name: str) -> datetime | None:
        raw = self.raw(name)
        if raw is None:
            return None
        try:
            value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            raise BadParameter(name, raw, "expected an RFC 3339 time") from None
        if value.tzinfo is None:
            raise BadParameter(name, raw, "expected an RFC 3339 time with a time zone")
        return value.astimezone(UTC)

    def choice(self, name: str, allowed: tuple[str, ...], default: str | None = None
               ) -> str | None:
        raw = self.raw(name)
        if raw is None:
            return default
        if raw not in allowed:
            raise BadParameter(name, raw, f'expected value to be one of "{", ".join(allowed)}"')
        return raw

    def items(self, name: str, allowed: tuple[str, ...] | None = None) -> tuple[str, ...]:
        """A comma list (the parameter may also repeat)."""
        values = tuple(v.strip() for raw in self.all(name) for v in raw.split(",") if v.strip())
        if allowed is not None:
            for value in values:
                if value not in allowed:
                    raise BadParameter(name, value,
                                       f'expected values among "{", ".join(allowed)}"')
        return values

    def repeated(self, name: str) -> tuple[str, ...]:
        """Each occurrence of a parameter whose values may contain commas (branch names)."""
        return tuple(raw for raw in self.all(name) if raw.strip())

    def all(self, name: str) -> list[str]:
        """Every occurrence of *name* (a plain dict has at most one)."""
        getlist = getattr(self.data, "getlist", None)
        raws = getlist(name) if getlist else [self.data.get(name) or ""]
        return [raw for raw in raws if raw]

    def zone(self, name: str = "timezone") -> ZoneInfo:
        raw = self.raw(name)
        if raw is None:
            return ZoneInfo("UTC")
        if raw not in time_zones():
            raise BadParameter(name, raw, "unknown IANA time zone")
        return ZoneInfo(raw)
