"""Query parameters → typed filters, shared by the HTTP API and the session CLI.

Every bad value raises ``BadParameter`` naming the parameter and the value, in the wording
the API returns as ``{"error": ...}`` (``invalid integer (query.limit: abc)``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

SESSION_ORDER_KEYS = (
    "recent", "started", "messages", "user-messages", "output-tokens", "peak-context",
    "failures", "health", "id",
)
OUTCOMES = ("completed", "abandoned", "errored", "unknown")
HEALTH_GRADES = ("A", "B", "C", "D", "F")
# human: automated runs left out; all: included; automated: only them
AUTOMATED_SCOPES = ("human", "all", "automated")
# AgentsView's /branches token: the project and the branch joined by U+001F
BRANCH_TOKEN_SEPARATOR = "\x1f"
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})


class BadParameter(ValueError):
    """A query parameter with an unusable value; ``str()`` is the one-line error."""

    def __init__(self, name: str, value: str, problem: str) -> None:
        self.name = name
        self.value = value
        super().__init__(f"{problem} (query.{name}: {value})")


class Params:
    """Typed reads of a query-string mapping (``request.GET`` or a plain dict)."""

    def __init__(self, data: Mapping[str, str]) -> None:
        self.data = data

    def text(self, name: str) -> str | None:
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
        raw = self.text(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise BadParameter(name, raw, "invalid integer") from None
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            low = "" if minimum is None else str(minimum)
            high = "" if maximum is None else str(maximum)
            raise BadParameter(name, raw, f"expected an integer in [{low}, {high}]")
        return value

    def boolean(self, name: str, default: bool = False) -> bool:
        raw = self.text(name)
        if raw is None:
            return default
        if raw.lower() in TRUE_WORDS:
            return True
        if raw.lower() in FALSE_WORDS:
            return False
        raise BadParameter(name, raw, "expected true or false")

    def day(self, name: str) -> date | None:
        raw = self.text(name)
        if raw is None:
            return None
        try:
            if len(raw) != 10:
                raise ValueError(raw)
            return date.fromisoformat(raw)
        except ValueError:
            raise BadParameter(name, raw, "expected a date YYYY-MM-DD") from None

    def moment(self, name: str) -> datetime | None:
        raw = self.text(name)
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
        raw = self.text(name)
        if raw is None:
            return default
        if raw not in allowed:
            raise BadParameter(name, raw, f'expected value to be one of "{", ".join(allowed)}"')
        return raw

    def items(self, name: str, allowed: tuple[str, ...] | None = None) -> tuple[str, ...]:
        """A comma list (the parameter may also repeat)."""
        getlist = getattr(self.data, "getlist", None)
        raws = getlist(name) if getlist else [self.data.get(name) or ""]
        values = tuple(v.strip() for raw in raws for v in (raw or "").split(",") if v.strip())
        if allowed is not None:
            for value in values:
                if value not in allowed:
                    raise BadParameter(name, value,
                                       f'expected values among "{", ".join(allowed)}"')
        return values

    def repeated(self, name: str) -> tuple[str, ...]:
        """Each occurrence of a parameter whose values may contain commas (branch names)."""
        getlist = getattr(self.data, "getlist", None)
        raws = getlist(name) if getlist else [self.data.get(name) or ""]
        return tuple(raw for raw in raws if raw and raw.strip())

    def zone(self, name: str = "timezone") -> ZoneInfo:
        raw = self.text(name)
        if raw is None:
            return ZoneInfo("UTC")
        try:
            return ZoneInfo(raw)
        except (ZoneInfoNotFoundError, ValueError):
            raise BadParameter(name, raw, "unknown IANA time zone") from None


@dataclass(frozen=True)
class SessionFilters:
    projects: tuple[str, ...] = ()
    exclude_projects: tuple[str, ...] = ()
    machines: tuple[str, ...] = ()
    agents: tuple[str, ...] = ()
    date_from: date | None = None
    date_to: date | None = None
    timezone: str = "UTC"
    active_since: datetime | None = None
    min_messages: int | None = None
    max_messages: int | None = None
    min_user_messages: int | None = None
    include_one_shot: bool = False
    include_automated: bool = False
    include_children: bool = False
    outcomes: tuple[str, ...] = ()
    health_grades: tuple[str, ...] = ()
    min_tool_failures: int | None = None
    git_branches: tuple[str, ...] = ()
    terminations: tuple[str, ...] = ()
    automated_scope: str = ""  # one of AUTOMATED_SCOPES; "" = by include_automated

    @property
    def scope(self) -> str:
        """Which sessions the automated rule keeps: ``automated_scope`` wins over
        ``include_automated``."""
        return self.automated_scope or ("all" if self.include_automated else "human")

    def day_bounds(self) -> tuple[datetime | None, datetime | None]:
        """[start of date_from, start of the day after date_to) in UTC."""
        tz = ZoneInfo(self.timezone)
        start = end = None
        if self.date_from:
            start = datetime.combine(self.date_from, time.min, tz).astimezone(UTC)
        if self.date_to:
            end = datetime.combine(self.date_to + timedelta(days=1), time.min, tz).astimezone(UTC)
        return start, end

    def key(self) -> str:
        """A stable text of the filters, so a cursor is only honoured for the same query."""
        return repr(sorted((k, str(v)) for k, v in self.__dict__.items()))


@dataclass(frozen=True)
class SessionOrder:
    key: str = "recent"
    descending: bool = True


@dataclass(frozen=True)
class SessionQuery:
    filters: SessionFilters = field(default_factory=SessionFilters)
    order: SessionOrder = field(default_factory=SessionOrder)
    limit: int = 200
    cursor: str | None = None


def parse_session_filters(data: Mapping[str, str]) -> SessionFilters:
    p = Params(data)
    single = p.day("date")
    date_from, date_to = p.day("date_from"), p.day("date_to")
    if single and (date_from or date_to):
        raise BadParameter("date", single.isoformat(), "date excludes date_from/date_to")
    if single:
        date_from = date_to = single
    if date_from and date_to and date_from > date_to:
        raise BadParameter("date_from", date_from.isoformat(), "date_from is after date_to")
    zone = p.zone()
    min_messages = p.integer("min_messages", minimum=0)
    max_messages = p.integer("max_messages", minimum=0)
    if min_messages is not None and max_messages is not None and min_messages > max_messages:
        raise BadParameter("min_messages", str(min_messages), "min_messages exceeds max_messages")
    return SessionFilters(
        projects=p.items("project"),
        exclude_projects=p.items("exclude_project"),
        machines=p.items("machine"),
        agents=p.items("agent"),
        date_from=date_from,
        date_to=date_to,
        timezone=zone.key,
        active_since=p.moment("active_since"),
        min_messages=min_messages,
        max_messages=max_messages,
        min_user_messages=p.integer("min_user_messages", minimum=0),
        include_one_shot=p.boolean("include_one_shot"),
        include_automated=p.boolean("include_automated"),
        include_children=p.boolean("include_children"),
        outcomes=p.items("outcome", OUTCOMES),
        health_grades=p.items("health_grade", HEALTH_GRADES),
        min_tool_failures=p.integer("min_tool_failures", minimum=0),
        git_branches=p.repeated("git_branch"),
        terminations=p.items("termination"),
        automated_scope=p.choice("automated_scope", AUTOMATED_SCOPES, "") or "",
    )


def parse_session_order(data: Mapping[str, str]) -> SessionOrder:
    raw = Params(data).text("order_by")
    if raw is None:
        return SessionOrder()
    key, _, direction = raw.partition(":")
    if key not in SESSION_ORDER_KEYS:
        raise BadParameter("order_by", raw,
                           f'expected one of "{", ".join(SESSION_ORDER_KEYS)}" (optionally'
                           " :asc or :desc)")
    if direction not in ("", "asc", "desc"):
        raise BadParameter("order_by", raw, "expected :asc or :desc after the key")
    descending = direction == "desc" if direction else key == "recent"
    return SessionOrder(key, descending)


def parse_session_query(data: Mapping[str, str], *, default_limit: int = 200,
                        max_limit: int = 500) -> SessionQuery:
    p = Params(data)
    return SessionQuery(
        filters=parse_session_filters(data),
        order=parse_session_order(data),
        limit=p.integer("limit", minimum=1, maximum=max_limit, default=default_limit),
        cursor=p.text("cursor"),
    )
