"""The analytics parameters: the session filters (``sessions_app.filters``) extended with the
window of local days (``from``, ``to``), the models that answered, and the weekday and hour of
the local start. Children never count, and the session list's date filters are replaced by the
window, so those are not parameters here.

Which sessions count: the browsable top-level ones the session filters keep whose *start*
(``started_at``, else ``created_at``) falls in ``[from, to]``, both days read in
``timezone``. Every per-day (week, month) figure is bucketed by that same local start day,
except the hour-of-week grid, which places each message at its own local time.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from django.db.models import DateField, Max, Min, Q, QuerySet, Value
from django.db.models.functions import ExtractHour, ExtractIsoWeekDay, StrIndex, Trunc

from agentsview.api.params import BadParameter, Params
from sessions_app.filters import (
    DATE,
    DAY,
    INT,
    LIST,
    SESSION_FILTERS,
    Filter,
    SessionValues,
)
from sessions_app.models import STARTED
from sessions_app.selectors import browsable_sessions

DEFAULT_RANGE_DAYS = 30


def _models(qs: QuerySet, models: tuple[str, ...], values: Any) -> QuerySet:
    if not models:
        return qs
    # rollup_models is a JSON list of strings: find the quoted name, case-sensitively on
    # both databases (INSTR / STRPOS; SQLite's LIKE would ignore case)
    names = {f"_model{i}": StrIndex("rollup_models", Value(orjson.dumps(m).decode()))
             for i, m in enumerate(models)}
    used = Q(pk__in=[])
    for alias in names:
        used |= Q(**{f"{alias}__gt": 0})
    return qs.alias(**names).filter(used)


def _weekday(qs: QuerySet, dow: int | None, values: Any) -> QuerySet:
    if dow is None:
        return qs
    return qs.alias(_dow=ExtractIsoWeekDay(STARTED, tzinfo=values.timezone)).filter(
        _dow=dow + 1)


def _hour(qs: QuerySet, hour: int | None, values: Any) -> QuerySet:
    if hour is None:
        return qs
    return qs.alias(_hour=ExtractHour(STARTED, tzinfo=values.timezone)).filter(_hour=hour)


def _window(values: dict, p: Params) -> None:
    """Default the window to the 30 days up to today (in the time zone); refuse from > to."""
    if values["last_day"] is None:
        values["last_day"] = datetime.now(values["timezone"]).date()
    if values["first_day"] is None:
        values["first_day"] = values["last_day"] - timedelta(days=DEFAULT_RANGE_DAYS)
    if values["first_day"] > values["last_day"]:
        raise BadParameter("from", p.text("from") or values["first_day"].isoformat(),
                           f"from is after to={values['last_day'].isoformat()}")


class AnalyticsValues(SessionValues):
    """Methods of the parsed analytics filters."""

    def bounds(self, first_day: date | None = None) -> tuple[datetime, datetime]:
        """[local midnight of *first_day* (default: from), local midnight after to) in UTC."""
        zone: ZoneInfo = self.timezone
        start = datetime.combine(first_day or self.first_day, time.min, zone)
        end = datetime.combine(self.last_day + timedelta(days=1), time.min, zone)
        return start.astimezone(UTC), end.astimezone(UTC)


ANALYTICS_FILTERS = SESSION_FILTERS.extend(
    "AnalyticsFilters",
    Filter("from", DAY, "First local day (YYYY-MM-DD); default: `to` minus 30 days. After "
                        "`to` → 400.", attr="first_day", label="From", widget=DATE),
    Filter("to", DAY, "Last local day (YYYY-MM-DD); default: today in `timezone`.",
           attr="last_day", label="To", widget=DATE),
    Filter("model", LIST, "Only sessions in which one of these models answered.",
           attr="models", apply=_models),
    Filter("dow", INT, "Only sessions started on this local weekday (0 = Monday).",
           minimum=0, maximum=6, apply=_weekday),
    Filter("hour", INT, "Only sessions started in this local hour.", minimum=0, maximum=23,
           apply=_hour),
    checks=(_window,),
    without=("date", "date_from", "date_to", "include_children"),
    base=AnalyticsValues,
)


def parse_filters(params) -> Any:
    """The analytics values of *params*; raises ``BadParameter``."""
    return ANALYTICS_FILTERS.parse(params)


def analytics_sessions(f: Any, using: str, *, first_day: date | None = None) -> QuerySet:
    """The sessions analytics counts (see the module docstring), annotated with ``_start``.
    *first_day* narrows the window's start (the heatmap shows at most a year)."""
    qs = ANALYTICS_FILTERS.apply(browsable_sessions(using=using), f)
    start, end = f.bounds(first_day)
    # = Coalesce(started_at, created_at) in [start, end), written so the planner can use
    # the started_at statistics and index (it cannot see through COALESCE)
    in_range = (Q(started_at__gte=start, started_at__lt=end)
                | Q(started_at__isnull=True, created_at__gte=start, created_at__lt=end))
    return qs.filter(in_range).annotate(_start=STARTED)


def data_span(params: Any, using: str) -> tuple[date, date] | None:
    """The local days of the first and the latest start among the sessions the analytics
    filters of *params* keep, whatever the window (None when there are none): where a
    default window should land so that it shows the data, however old the archive is."""
    f = params if isinstance(params, AnalyticsValues) else parse_filters(params)
    found = (ANALYTICS_FILTERS.apply(browsable_sessions(using=using), f)
             .aggregate(first=Min(STARTED), last=Max(STARTED)))
    if found["first"] is None:
        return None
    zone = f.timezone
    return found["first"].astimezone(zone).date(), found["last"].astimezone(zone).date()


def default_last_day(params: Any, using: str, *, today: date | None = None) -> date:
    """Today, or the latest session's day when none the filters keep started since: the
    default window then holds the newest sessions instead of an empty month."""
    f = parse_filters(params)
    today = today or datetime.now(f.timezone).date()
    span = data_span(f, using)
    return min(today, span[1]) if span else today


def local_day(expression, zone: ZoneInfo, kind: str = "day") -> Trunc:
    """The local day (or first day of the ISO week / month) of a moment, in the database."""
    return Trunc(expression, kind, output_field=DateField(), tzinfo=zone)
