"""The analytics pages: the analytics API's numbers (the same functions) drawn as SVG
charts, and the list of sessions one signal marks."""

from __future__ import annotations

from datetime import date, timedelta

from django.http import QueryDict
from django.shortcuts import render
from django.urls import reverse

from agentsview.api.params import BadParameter
from agentsview.web import page, page_context, page_database
from analytics_app import endpoints
from analytics_app.endpoints.filters import (
    ANALYTICS_FILTERS,
    data_span,
    default_last_day,
    parse_filters,
)
from analytics_app.endpoints.health import SIGNAL_LABELS
from analytics_app.endpoints.overview import GRANULARITIES
from analytics_app.pages import charts
from sessions_app.choices import HealthGrade
from sessions_app.selectors import filter_options


def _signal_rows(calibration: dict, params: QueryDict) -> list[dict]:
    """The calibrated signals, most frequent first, each linking to its sessions."""
    rows = []
    for name, entry in calibration.items():
        query = params.copy()
        query["signal"] = name
        query = query.urlencode()
        rows.append({"name": name, "label": SIGNAL_LABELS.get(name, name),
                     "affected": entry["affected_sessions"],
                     "rate": entry["affected_incomplete_rate"],
                     "baseline": entry["baseline_incomplete_rate"],
                     "url": f"{reverse('analytics:signal')}?{query}"})
    return sorted(rows, key=lambda r: (-r["affected"], r["label"]))


def _query(request) -> QueryDict:
    """The analytics parameters of the request (every filter the analytics accept)."""
    names = {f.name for f in ANALYTICS_FILTERS.parameters}
    query = QueryDict(mutable=True)
    for name in request.GET:  # in the request's order, so links read as the user wrote them
        values = [v for v in request.GET.getlist(name) if v]
        if name in names and values:
            query.setlist(name, values)
    return query


def _form(request, window) -> list[dict]:
    shown = ({"from": window.first_day.isoformat(), "to": window.last_day.isoformat()}
             if window is not None else {})
    return ANALYTICS_FILTERS.form(request.GET, options=filter_options(using=page_database()),
                                  values=shown)


PRESETS = (("7 days", 7), ("30 days", 30), ("90 days", 90), ("1 year", 365))
DEFAULT_DAYS = 30
WIDE = 960  # the time charts, in px at their natural size


def auto_granularity(first: date, last: date) -> str:
    """Bars a person can see: days up to a quarter, weeks up to two years, then months."""
    days = (last - first).days + 1
    return "day" if days <= 92 else "week" if days <= 731 else "month"


def _anchored(params: QueryDict, using: str) -> QueryDict:
    """Without ``to``, the window ends on the latest session's day when nothing started since
    (not on an empty today), so the page opens on the data."""
    if params.get("to"):
        return params
    anchored = params.copy()
    last = default_last_day(params, using)
    anchored["to"] = last.isoformat()
    if not params.get("from"):  # the 30 days of the "30 days" preset
        anchored["from"] = (last - timedelta(days=DEFAULT_DAYS - 1)).isoformat()
    return anchored


def _presets(params: QueryDict, window, using: str) -> list[dict]:
    """Links to the windows people ask for, each ending on the window's last day; ``All``
    from the first session."""
    last = window.last_day
    span = data_span(window, using)
    ranges = [(label, last - timedelta(days=n - 1)) for label, n in PRESETS]
    ranges.append(("All", min(span[0], last) if span else last))
    links = []
    for label, first in ranges:
        query = params.copy()
        query["from"], query["to"] = first.isoformat(), last.isoformat()
        links.append({"label": label, "url": f"?{query.urlencode()}",
                      "active": first == window.first_day})
    return links


@page
def analytics_page(request):
    """Charts of the analytics API's numbers (the same functions), drawn as SVG."""
    using = page_database()
    chosen = request.GET.get("granularity") or ""
    context = {"q": request.GET, "granularity": chosen, "granularities": GRANULARITIES}
    try:
        params = _anchored(_query(request), using)
        window = parse_filters(params)
        granularity = chosen or auto_granularity(window.first_day, window.last_day)
        context["granularity"] = granularity
        summary = endpoints.summary(params, using)
        by_bucket = params.copy()
        by_bucket["granularity"] = granularity
        activity = endpoints.activity(by_bucket, using)
        heat = endpoints.heatmap(params, using)
        projects = endpoints.projects(params, using)["projects"]
        tools = endpoints.tools(params, using, outcomes=False)
        signals = endpoints.signals(params, using)
        skills = endpoints.skills(params, using)
    except BadParameter as exc:
        return render(request, "analytics/page.html", page_context(
            request, error=str(exc), form=_form(request, None), **context), status=400)
    grades = signals.get("grade_distribution") or {}
    first, last = window.first_day, window.last_day
    context.update(
        form=_form(request, window),
        window_from=first.isoformat(), window_to=last.isoformat(),
        summary=summary,
        signals=signals,
        activity=charts.column_chart(charts.filled_series(
            activity["series"], "sessions", first, last, granularity), unit="sessions",
            width=WIDE),
        messages=charts.column_chart(charts.filled_series(
            activity["series"], "messages", first, last, granularity), unit="messages",
            width=WIDE),
        heatmap=charts.heatmap(heat["entries"]),
        heatmap_from=heat.get("entries_from", first.isoformat()),
        presets=_presets(params, window, using),
        chosen_granularity=chosen,
        by_project=charts.bar_rows([(p["name"], p["sessions"]) for p in projects]),
        by_agent=charts.bar_rows([(name, a["sessions"])
                                  for name, a in summary["agents"].items()]),
        by_tool=charts.bar_rows([(c["category"], c["count"]) for c in tools["by_category"]]),
        grades=charts.column_chart([(g, grades.get(g, 0)) for g in HealthGrade.values],
                                   unit="sessions", width=320, height=160),
        outcomes=charts.bar_rows(list((signals.get("outcome_distribution") or {}).items())),
        signal_rows=_signal_rows(signals["calibration"], params),
        skills=charts.bar_rows([(s["skill_name"], s["call_count"])
                                for s in skills["by_skill"]]),
    )
    return render(request, "analytics/page.html", page_context(request, **context))


@page
def signal_page(request):
    """The sessions one signal marks (the analytics page links here with its filters)."""
    using = page_database()
    params = _query(request)
    signal = request.GET.get("signal", "")
    context = {"back_url": f"{reverse('analytics:page')}?{params.urlencode()}",
               "label": SIGNAL_LABELS.get(signal, signal)}
    try:
        params = _anchored(params, using)
        marked = params.copy()
        marked.update({"signal": signal, "limit": "200"})
        data = endpoints.signal_sessions(marked, using)
    except BadParameter as exc:
        return render(request, "analytics/signal.html",
                      page_context(request, error=str(exc), **context), status=400)
    window = parse_filters(params)
    context.update(data=data, window_from=window.first_day.isoformat(),
                   window_to=window.last_day.isoformat())
    return render(request, "analytics/signal.html", page_context(request, **context))
