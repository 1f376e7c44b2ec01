"""THE declaration of the session filters: each filter is written once, below, and everything
else is derived from that one line:

- the API's parameter parsing and its 400 messages (``FilterSet.parse``),
- the queryset (``FilterSet.apply``, used by ``selectors.filtered_sessions``),
- the OpenAPI parameters (``FilterSet.openapi_parameters``),
- the CLI flags and their help (``FilterSet.add_arguments`` / ``FilterSet.params_of``),
- the dashboard's filter form (``FilterSet.form``).

The analytics filters extend this set (``analytics_app.endpoints.filters``) instead of
re-declaring it. A filter's value lives on the values object ``FilterSet.parse`` returns,
under the filter's ``attr``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, make_dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Q, QuerySet
from django.db.models.lookups import GreaterThanOrEqual, LessThan
from django.http import QueryDict
from drf_spectacular.utils import OpenApiParameter

from agentsview.api import openapi
from agentsview.api.params import INT_MAX, BadParameter, Params
from sessions_app.choices import AutomatedScope, HealthGrade, Outcome
from sessions_app.models import ACTIVE_FROM, LAST_ACTIVE
from sessions_app.parsers.registry import AGENTS

# How a parameter is read (and documented, and offered as a flag).
LIST, REPEATED, INT, BOOL, DAY, MOMENT, CHOICE, ZONE, TEXT = (
    "list", "repeated", "int", "bool", "day", "moment", "choice", "zone", "text"
)
# Dashboard widgets.
SELECT, MULTI, DATE, CHECK = "select", "multi", "date", "check"
WIDGET_ORDER = (DATE, SELECT, MULTI, CHECK)  # the form's order: days, choices, flags

# AgentsView's /branches token: the project and the branch joined by U+001F
BRANCH_TOKEN_SEPARATOR = "\x1f"
OUTCOMES = tuple(Outcome.values)
HEALTH_GRADES = tuple(HealthGrade.values)
AUTOMATED_SCOPES = tuple(AutomatedScope.values)

Apply = Callable[[QuerySet, Any, Any], QuerySet]  # (queryset, value, all values)


@dataclass(frozen=True)
class Filter:
    """One query parameter that narrows the sessions."""

    name: str  # the query parameter
    kind: str
    help: str  # one sentence: what it keeps (OpenAPI, --help)
    attr: str = ""  # where the value lives on the values object; default: the name
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    default: Any = None
    apply: Apply | None = None  # None: it only feeds other filters (see the checks)
    label: str = ""  # the dashboard form's label; "" = not on the form
    widget: str = ""
    flag_help: str = ""  # the CLI's wording, when it differs from help
    aliases: tuple[str, ...] = ()  # extra CLI spellings (--grade)
    option_labels: Mapping[str, str] = field(default_factory=dict)  # the form's option text

    @property
    def key(self) -> str:
        return self.attr or self.name

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def read(self, p: Params) -> Any:
        if self.kind == LIST:
            return p.items(self.name, self.choices or None)
        if self.kind == REPEATED:
            return p.repeated(self.name)
        if self.kind == INT:
            return p.integer(self.name, minimum=self.minimum, maximum=self.maximum,
                             default=self.default)
        if self.kind == BOOL:
            return p.boolean(self.name, bool(self.default))
        if self.kind == DAY:
            return p.day(self.name)
        if self.kind == MOMENT:
            return p.moment(self.name)
        if self.kind == CHOICE:
            return p.choice(self.name, self.choices, self.default)
        if self.kind == ZONE:
            return p.zone(self.name)
        return p.text(self.name) or self.default

    @property
    def empty(self) -> Any:
        """The value when the parameter is absent."""
        if self.kind in (LIST, REPEATED):
            return ()
        if self.kind == BOOL:
            return bool(self.default)
        if self.kind == ZONE:
            return ZoneInfo("UTC")
        return self.default

    def openapi(self) -> OpenApiParameter:
        text = self.help
        if self.kind == LIST:
            return openapi.list_query(self.name, text, enum=self.choices or None)
        if self.kind == REPEATED:
            return openapi.repeated_query(self.name, text)
        if self.kind == INT:
            return openapi.int_query(self.name, text, minimum=self.minimum,
                                     maximum=self.maximum, default=self.default)
        if self.kind == BOOL:
            which = "included" if self.default else "excluded"
            return openapi.bool_query(self.name, text.replace("{default}", which),
                                      default=bool(self.default))
        if self.kind == DAY:
            return openapi.query(self.name, {"type": "string", "format": "date"}, text)
        if self.kind == MOMENT:
            return openapi.query(self.name, {"type": "string", "format": "date-time"}, text)
        if self.kind == CHOICE:
            return openapi.choice_query(self.name, self.choices, self.default, text)
        if self.kind == ZONE:
            return openapi.zone_query(self.name, text)
        return openapi.text_query(self.name, text)

    def add_argument(self, parser: argparse.ArgumentParser) -> None:
        text = (self.flag_help or self.help).replace("{default}", "excluded")
        names = [self.flag, *self.aliases]
        if self.kind == BOOL:
            parser.add_argument(*names, dest=self.name, action="store_true", help=text)
        elif self.kind == INT:
            parser.add_argument(*names, dest=self.name, type=int, metavar="N", help=text)
        else:  # checked by the same parser as the API's, so the errors read the same
            metavar = {LIST: "A,B", DAY: "YYYY-MM-DD", MOMENT: "TIME", ZONE: "ZONE",
                       CHOICE: "WORD"}.get(self.kind, "TEXT")
            if self.choices:
                text = f"{text.rstrip('.')} ({', '.join(self.choices)})."
            parser.add_argument(*names, dest=self.name, metavar=metavar, help=text)


Check = Callable[[dict, Params], None]  # adjusts or refuses the parsed values


@dataclass(frozen=True)
class FilterSet:
    """Filters in the order they are read, checks that relate them, and the filters that
    exist on the values but are not accepted as parameters (``fixed``: always their
    default)."""

    name: str
    filters: tuple[Filter, ...]
    checks: tuple[Check, ...] = ()
    fixed: frozenset[str] = frozenset()
    base: type = object  # methods of the values object
    values_class: type = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        spec = [(f.key, Any, field(default=f.empty)) for f in self.filters]
        cls = make_dataclass(self.name, spec, bases=(self.base,), frozen=True)
        object.__setattr__(self, "values_class", cls)

    # --- deriving other sets ------------------------------------------------------------
    def extend(self, name: str, *more: Filter, checks: Sequence[Check] = (),
               without: Iterable[str] = (), base: type | None = None) -> FilterSet:
        """This set plus *more* filters and *checks*; the filters named in *without* are no
        longer parameters (they keep their default)."""
        return FilterSet(name, (*self.filters, *more), (*self.checks, *checks),
                         self.fixed | frozenset(without), base or self.base)

    def with_defaults(self, name: str, **defaults: Any) -> FilterSet:
        """The same filters, some with another default (search includes every session)."""
        filters = tuple(replace(f, default=defaults[f.name]) if f.name in defaults else f
                        for f in self.filters)
        return FilterSet(name, filters, self.checks, self.fixed, self.base)

    @property
    def parameters(self) -> tuple[Filter, ...]:
        return tuple(f for f in self.filters if f.name not in self.fixed)

    def __getitem__(self, name: str) -> Filter:
        return next(f for f in self.filters if f.name == name)

    # --- parsing and querying -----------------------------------------------------------
    def parse(self, params: Mapping[str, str]) -> Any:
        """The values of *params*; raises ``BadParameter`` on the first unusable one."""
        p = Params(params)
        values = {f.key: f.read(p) if f.name not in self.fixed else f.empty
                  for f in self.filters}
        for check in self.checks:
            check(values, p)
        return self.values_class(**values)

    def defaults(self, **values: Any) -> Any:
        """The values of an empty query, with *values* set."""
        return self.values_class(**values)

    def apply(self, qs: QuerySet, values: Any) -> QuerySet:
        for f in self.filters:
            if f.apply is not None:
                qs = f.apply(qs, getattr(values, f.key), values)
        return qs

    # --- documentation, flags, form -----------------------------------------------------
    def openapi_parameters(self) -> list[OpenApiParameter]:
        return [f.openapi() for f in self.parameters]

    def add_arguments(self, parser: argparse.ArgumentParser,
                      only: Iterable[str] | None = None) -> None:
        wanted = None if only is None else set(only)
        for f in self.parameters:
            if wanted is None or f.name in wanted:
                f.add_argument(parser)

    def params_of(self, options: Mapping[str, Any]) -> dict[str, str]:
        """The query parameters of parsed CLI *options* (what the API would be sent)."""
        params: dict[str, str] = {}
        for f in self.parameters:
            value = options.get(f.name)
            if f.kind == BOOL:
                if value:
                    params[f.name] = "true"
            elif value is not None:
                params[f.name] = str(value)
        return params

    def form(self, params: Mapping[str, str], options: Mapping[str, Iterable] | None = None,
             values: Mapping[str, str] | None = None) -> list[dict]:
        """The dashboard form's fields, with what *params* chose. *options* gives the
        choices of a field that has no fixed ones (``[(value, count)]``); *values* the value
        shown in a field the query left empty (the analytics window)."""
        p = Params(params)
        fields_out = []
        on_form = [f for f in self.parameters if f.widget]
        for f in sorted(on_form, key=lambda f: WIDGET_ORDER.index(f.widget)):
            item: dict[str, Any] = {"name": f.name, "label": f.label, "widget": f.widget}
            if f.widget in (SELECT, MULTI):
                chosen = set(p.items(f.name)) if f.widget == MULTI else {p.text(f.name)}
                found = (options or {}).get(f.name)
                pairs = list(found) if found is not None else [(c, None) for c in f.choices]
                item["options"] = [{"value": v, "label": f.option_labels.get(v, v), "count": n,
                                    "selected": v in chosen} for v, n in pairs]
                item["size"] = min(max(len(pairs), 1), 5)
            elif f.widget == CHECK:
                item["checked"] = bool(p.text(f.name))
            else:
                item["value"] = p.text(f.name) or (values or {}).get(f.name, "")
            fields_out.append(item)
        return fields_out


def form_query(params: QueryDict) -> QueryDict:
    """The query a dashboard form sent, as the API reads it: a GET form sends every field, so
    a field left empty (``date_from=``) is no parameter rather than a bad value."""
    query = QueryDict(mutable=True)
    for name in params:
        values = [v for v in params.getlist(name) if v.strip()]
        if values:
            query.setlist(name, values)
    return query


# --- how each filter narrows the queryset -----------------------------------------------------


def _in(column: str, *, exclude: bool = False) -> Apply:
    def apply(qs: QuerySet, value: tuple, values: Any) -> QuerySet:
        if not value:
            return qs
        match = Q(**{f"{column}__in": value})
        return qs.exclude(match) if exclude else qs.filter(match)

    return apply


def _compare(column: str, op: str) -> Apply:
    def apply(qs: QuerySet, value: int | None, values: Any) -> QuerySet:
        return qs if value is None else qs.filter(**{f"{column}__{op}": value})

    return apply


def _unless(condition: Q) -> Apply:
    """Keep only the sessions matching *condition* unless the flag includes the others."""

    def apply(qs: QuerySet, include: bool, values: Any) -> QuerySet:
        return qs if include else qs.filter(condition)

    return apply


def branch_filter(tokens: Iterable[str]) -> Q:
    """Sessions on any of these branches: a plain branch name, or AgentsView's token
    ``project U+001F branch`` for one project's branch."""
    match = Q(pk__in=[])
    for token in tokens:
        project, sep, branch = token.rpartition(BRANCH_TOKEN_SEPARATOR)
        match |= Q(project=project, git_branch=branch) if sep else Q(git_branch=token)
    return match


def _branches(qs: QuerySet, tokens: tuple[str, ...], values: Any) -> QuerySet:
    return qs.filter(branch_filter(tokens)) if tokens else qs


def automated_scope(values: Any) -> str:
    """Which sessions the automated rule keeps: ``automated_scope`` wins over
    ``include_automated``."""
    return values.automated_scope or (
        AutomatedScope.ALL if values.include_automated else AutomatedScope.HUMAN)


def _automated(qs: QuerySet, scope: str, values: Any) -> QuerySet:
    scope = automated_scope(values)
    if scope == AutomatedScope.HUMAN:
        return qs.filter(is_automated=False)
    if scope == AutomatedScope.AUTOMATED:
        return qs.filter(is_automated=True)
    return qs


def day_start(day: date, zone: ZoneInfo) -> datetime:
    """Local midnight of *day* in *zone*, in UTC."""
    return datetime.combine(day, time.min, zone).astimezone(UTC)


def _active_from_day(qs: QuerySet, day: date | None, values: Any) -> QuerySet:
    """Active on or after *day*: the session's window overlaps [day, ...)."""
    if day is None:
        return qs
    return qs.filter(GreaterThanOrEqual(LAST_ACTIVE, day_start(day, values.timezone)))


def _active_to_day(qs: QuerySet, day: date | None, values: Any) -> QuerySet:
    """Active on or before *day*: the session's window overlaps (..., day + 1)."""
    if day is None:
        return qs
    return qs.filter(LessThan(ACTIVE_FROM, day_start(day + timedelta(days=1), values.timezone)))


def _active_since(qs: QuerySet, moment: datetime | None, values: Any) -> QuerySet:
    return qs if moment is None else qs.filter(GreaterThanOrEqual(LAST_ACTIVE, moment))


# A child session: one with a parent (a subagent, a fork). Listed only with include_children,
# and then every one of them, one-shot or not.
CHILD = Q(parent_session_id__isnull=False)
MAX_IDS = 100


def _one_shot(qs: QuerySet, include: bool, values: Any) -> QuerySet:
    if include:
        return qs
    several = Q(user_message_count__gt=1)
    return qs.filter(several | CHILD if values.include_children else several)


def _ids_bound(values: dict, p: Params) -> None:
    if len(values["ids"]) > MAX_IDS:
        raise BadParameter("ids", p.raw("ids") or "", f"at most {MAX_IDS} ids")


def _one_day(values: dict, p: Params) -> None:
    single, date_from, date_to = values["date"], values["date_from"], values["date_to"]
    if single and (date_from or date_to):
        raise BadParameter("date", single.isoformat(), "date excludes date_from/date_to")
    if single:
        values["date_from"] = values["date_to"] = single
    elif date_from and date_to and date_from > date_to:
        raise BadParameter("date_from", date_from.isoformat(), "date_from is after date_to")


def _message_range(values: dict, p: Params) -> None:
    low, high = values["min_messages"], values["max_messages"]
    if low is not None and high is not None and low > high:
        raise BadParameter("min_messages", str(low), "min_messages exceeds max_messages")


class SessionValues:
    """Methods of the parsed session filters."""

    def key(self) -> str:
        """A stable text of the filters, so a cursor is only honoured for the same query."""
        return repr(sorted((f.name, str(getattr(self, f.name))) for f in fields(self)))


def _include(what: str) -> str:
    return f"Include {what} ({{default}} by default)."


SESSION_FILTERS = FilterSet("SessionFilters", (
    Filter("project", LIST, "Only these projects.", attr="projects", apply=_in("project"),
           label="Project", widget=SELECT),
    Filter("exclude_project", LIST, "Not these projects.", attr="exclude_projects",
           apply=_in("project", exclude=True)),
    Filter("machine", LIST, "Only these machines.", attr="machines", apply=_in("machine"),
           label="Machines", widget=MULTI),
    Filter("agent", LIST, "Only these agents: " + ", ".join(
               f"{spec.key} ({spec.display_name})" for spec in AGENTS.values()) + ".",
           attr="agents", apply=_in("agent"), label="Agent", widget=SELECT,
           option_labels={spec.key: spec.display_name for spec in AGENTS.values()}),
    Filter("date", DAY, "Sessions active on this day (YYYY-MM-DD, in `timezone`); cannot be "
                        "combined with date_from/date_to."),
    Filter("date_from", DAY, "Sessions active on or after this day (YYYY-MM-DD, in "
                             "`timezone`); not after date_to.", apply=_active_from_day,
           label="From", widget=DATE),
    Filter("date_to", DAY, "Sessions active on or before this day (YYYY-MM-DD, in "
                           "`timezone`).", apply=_active_to_day, label="To", widget=DATE),
    Filter("timezone", ZONE, "IANA time zone of the days, e.g. `Europe/Paris`."),
    Filter("active_since", MOMENT, "Sessions active at or after this RFC 3339 time (a zone "
                                   "offset is required).", apply=_active_since),
    Filter("min_messages", INT, "At least this many messages; not above max_messages.",
           minimum=0, apply=_compare("message_count", "gte")),
    Filter("max_messages", INT, "At most this many messages.", minimum=0,
           apply=_compare("message_count", "lte")),
    Filter("min_user_messages", INT, "At least this many user messages.", minimum=0,
           apply=_compare("user_message_count", "gte")),
    Filter("include_one_shot", BOOL, _include("sessions with at most one user message; "
                                               "with include_children every child is listed "
                                               "whatever its count"),
           apply=_one_shot, label="One-shot sessions", widget=CHECK),
    Filter("include_automated", BOOL, _include("automated runs"), label="Automated runs",
           widget=CHECK),
    Filter("include_children", BOOL, _include("subagent and forked sessions"),
           apply=_unless(~CHILD), label="Subagents and forks", widget=CHECK),
    Filter("ids", LIST, f"Only these session ids (at most {MAX_IDS}).", attr="ids",
           apply=_in("id")),
    Filter("outcome", LIST, "Only these outcomes.", attr="outcomes", choices=OUTCOMES,
           apply=_in("outcome"), label="Outcome", widget=SELECT),
    Filter("health_grade", LIST, "Only these health grades.", attr="health_grades",
           choices=HEALTH_GRADES, apply=_in("health_grade"), label="Health grade",
           widget=SELECT, aliases=("--grade",)),
    Filter("min_tool_failures", INT, "At least this many tool failure signals.", minimum=0,
           apply=_compare("tool_failure_signal_count", "gte")),
    Filter("git_branch", REPEATED, "Only this branch: a branch name, or `project` U+001F "
                                   "`branch` for one project's branch. Repeat the parameter "
                                   "for several.", attr="git_branches", apply=_branches,
           flag_help="Only this branch: a branch name, or project U+001F branch."),
    Filter("termination", LIST, "Only these termination states (e.g. `awaiting_user`).",
           attr="terminations", apply=_in("termination_status")),
    Filter("automated_scope", CHOICE, "`human` leaves automated runs out, `all` includes "
                                      "them, `automated` keeps only them; wins over "
                                      "include_automated.", choices=AUTOMATED_SCOPES,
           default="", apply=_automated),
), checks=(_one_day, _message_range, _ids_bound), base=SessionValues)

SessionFilters = SESSION_FILTERS.values_class

# Search covers every session unless the caller narrows it.
SEARCH_FILTERS = SESSION_FILTERS.with_defaults(
    "SearchFilters", include_one_shot=True, include_automated=True, include_children=True)


# The sidebar index lists children too (AgentsView's sidebar groups them under their root).
SIDEBAR_FILTERS = SESSION_FILTERS.with_defaults("SidebarFilters", include_children=True)


# --- the list's order and page ----------------------------------------------------------------

SESSION_ORDER_KEYS = (
    "recent", "started", "messages", "user-messages", "output-tokens", "peak-context",
    "failures", "retries", "edit-churn", "compactions", "context-pressure", "health",
    "secrets", "cost", "id",
)
DEFAULT_LIMIT = 200
MAX_LIMIT = 500
MAX_ORDER_KEYS = 4
INT_MIN = -INT_MAX - 1


@dataclass(frozen=True)
class SessionOrder:
    """Sort keys, each with its direction; the first is the primary one. ``recent`` sorts
    newest first unless told, every other key ascending; ``descending`` flips those
    defaults (an explicit ``:asc``/``:desc`` wins)."""

    keys: tuple[tuple[str, bool], ...] = (("recent", True),)

    @property
    def key(self) -> str:
        return self.keys[0][0]

    @property
    def descending(self) -> bool:
        return self.keys[0][1]

    def text(self) -> str:
        return ",".join(f"{k}:{'desc' if d else 'asc'}" for k, d in self.keys)


@dataclass(frozen=True)
class SessionQuery:
    filters: Any = field(default_factory=SESSION_FILTERS.defaults)
    order: SessionOrder = field(default_factory=SessionOrder)
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None


def parse_session_order(params: Mapping[str, str]) -> SessionOrder:
    """``order_by`` (``messages:desc,started:asc``) and ``descending``."""
    p = Params(params)
    flip = p.boolean("descending")
    raw = p.raw("order_by")
    if raw is None:
        return SessionOrder((("recent", not flip),))
    keys: list[tuple[str, bool]] = []
    for part in raw.split(","):
        key, _, direction = part.strip().partition(":")
        if key not in SESSION_ORDER_KEYS:
            raise BadParameter("order_by", raw,
                               f'expected keys among "{", ".join(SESSION_ORDER_KEYS)}" (each'
                               " optionally :asc or :desc, comma-separated)")
        if direction not in ("", "asc", "desc"):
            raise BadParameter("order_by", raw, "expected :asc or :desc after the key")
        if any(k == key for k, _ in keys):
            raise BadParameter("order_by", raw, f"{key} given twice")
        default = key == "recent"
        keys.append((key, direction == "desc" if direction else default != flip))
    if len(keys) > MAX_ORDER_KEYS:
        raise BadParameter("order_by", raw, f"at most {MAX_ORDER_KEYS} keys")
    return SessionOrder(tuple(keys))


def page_limit(params: Mapping[str, str], default: int = DEFAULT_LIMIT) -> int:
    """``limit``: a non-integer is a 400; 0, a negative or an over-large value means the
    default (AgentsView's rule, which its clients rely on)."""
    value = Params(params).integer("limit", minimum=INT_MIN, default=default)
    return value if value is not None and 1 <= value <= MAX_LIMIT else default


def parse_session_query(params: Mapping[str, str], *, default_limit: int = DEFAULT_LIMIT
                        ) -> SessionQuery:
    p = Params(params)
    return SessionQuery(
        filters=SESSION_FILTERS.parse(params),
        order=parse_session_order(params),
        limit=page_limit(params, default_limit),
        cursor=p.text("cursor"),
    )


ORDER_PATTERN = (r"^(?:" + "|".join(SESSION_ORDER_KEYS) + r")(?::(?:asc|desc))?"
                 r"(?:,(?:" + "|".join(SESSION_ORDER_KEYS) + r")(?::(?:asc|desc))?)*$")
PAGE_PARAMETERS = (  # (parameter, CLI help); their OpenAPI below
    ("order_by", "recent, started, messages, ... (:asc or :desc; comma-separated keys)"),
    ("cursor", "the next_cursor of the previous page"),
    ("limit", f"sessions per page (1-{MAX_LIMIT}, default {DEFAULT_LIMIT})"),
)


def page_openapi_parameters() -> list[OpenApiParameter]:
    return [
        openapi.query("order_by", {"type": "string", "pattern": ORDER_PATTERN,
                                   "default": "recent"},
                      "Sort keys, comma-separated, each optionally with `:asc` or `:desc` "
                      f"(at most {MAX_ORDER_KEYS}): " + ", ".join(f"`{k}`" for k in
                                                                  SESSION_ORDER_KEYS)
                      + ". Without a direction `recent` sorts newest first and every other "
                      "key ascending. Sessions without a health score or context pressure "
                      "sort last either way; ties end in id order."),
        openapi.bool_query("descending", "Flip the default direction of the keys given "
                                         "without `:asc`/`:desc`.", default=False),
        openapi.query("limit", {"type": "integer", "minimum": INT_MIN, "maximum": INT_MAX,
                                "default": DEFAULT_LIMIT},
                      f"Sessions per page, 1-{MAX_LIMIT}; 0, a negative or a larger value "
                      "means the default."),
        openapi.text_query("cursor", "`next_cursor` of the previous page; valid only with the "
                                     "same filters and order (else 400)."),
    ]


def add_page_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--order-by", dest="order_by", help=PAGE_PARAMETERS[0][1])
    parser.add_argument("--descending", action="store_true",
                        help="flip the default direction of the sort keys")
    parser.add_argument("--cursor", help=PAGE_PARAMETERS[1][1])
    parser.add_argument("--limit", type=int, help=PAGE_PARAMETERS[2][1])


def page_params_of(options: Mapping[str, Any]) -> dict[str, str]:
    params = {name: str(options[name]) for name, _ in PAGE_PARAMETERS
              if options.get(name) is not None}
    if options.get("descending"):
        params["descending"] = "true"
    return params
