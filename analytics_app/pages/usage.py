"""The Usage page: what the agents cost, per day (stacked by model), per machine (a person's
archive), project and agent, and the costliest sessions, from the usage API's functions.
Tokens without a price are shown, with their models, never hidden in a $0."""

from __future__ import annotations

from datetime import timedelta

from django.http import QueryDict
from django.shortcuts import render
from django.utils.html import escape
from django.utils.safestring import mark_safe

from agentsview.api.params import BadParameter
from agentsview.web import page, page_context, page_database
from analytics_app.endpoints import usage
from analytics_app.endpoints.filters import default_last_day
from analytics_app.pages.charts import axis_ticks
from sessions_app.selectors import filter_options
from sessions_app.templatetags.session_tags import agent_name
from sessions_app.usage.display import tokens, usd

SERIES = 6  # models drawn in their own colour; the others stacked as "other models"
TOP_SESSIONS = 15
PRESETS = (("7 days", 7), ("30 days", 30), ("90 days", 90), ("1 year", 365))
DEFAULT_DAYS = 30


def _query(request) -> QueryDict:
    names = {f.name for f in usage.USAGE_FILTERS.parameters}
    query = QueryDict(mutable=True)
    for name in request.GET:
        values = [v for v in request.GET.getlist(name) if v]
        if name in names and values:
            query.setlist(name, values)
    return query


def _with(params: QueryDict, **values: str) -> QueryDict:
    """*params* (repeated filters kept) with *values* set."""
    query = params.copy()
    for name, value in values.items():
        query[name] = value
    return query


def _anchored(params: QueryDict, using: str) -> QueryDict:
    """Without ``to``: the 30 days up to the latest session's day (the page opens on data)."""
    if params.get("to"):
        return params
    anchored = params.copy()
    last = default_last_day(params, using)
    anchored["to"] = last.isoformat()
    if not params.get("from"):
        anchored["from"] = (last - timedelta(days=DEFAULT_DAYS - 1)).isoformat()
    return anchored


def _dollars(amount: float) -> str:
    """An axis label: ``$2``, ``$0.50``, ``$0.005`` (as many decimals as the tick needs)."""
    if float(amount).is_integer():
        return f"${amount:,.0f}"
    return f"${amount:,.2f}" if round(amount, 2) == amount else f"${amount:g}"


def stacked_days(daily: list[dict], first, last, *, width: int = 720, height: int = 200
                 ) -> dict:
    """Cost per day as columns stacked by model (the costliest models of the window in their
    own colour, the rest together), every day of the window on the x axis."""
    totals: dict[str, int] = {}
    for day in daily:
        for entry in day["modelBreakdowns"]:
            if entry["cost"] is not None:
                totals[entry["model"]] = totals.get(entry["model"], 0) + entry["cost"][
                    "microdollars"]
    ranked = [m for m, c in sorted(totals.items(), key=lambda kv: (-kv[1], kv[0])) if c]
    named = ranked[:SERIES]
    by_day = {d["date"]: d for d in daily}
    days = []
    day = first
    while day <= last:
        days.append(day.isoformat())
        day += timedelta(days=1)
    peak_micro = max((d["totalCost"]["microdollars"] for d in daily
                      if d["totalCost"] is not None), default=0)
    left, bottom, top = 56, 22, 8
    plot_w, plot_h = width - left - 4, height - bottom - top
    # the axis in dollars, ticks at round values
    peak, ticks = axis_ticks(peak_micro / 1_000_000, whole=False)
    scale = plot_h / (peak * 1_000_000)
    slot = plot_w / max(len(days), 1)
    gap = min(2.0, slot * 0.2)
    bars = []
    for i, name in enumerate(days):
        entry = by_day.get(name)
        if entry is None:
            continue
        y = top + plot_h
        parts: list[tuple[int, str, int]] = []
        other = 0
        for m in entry["modelBreakdowns"]:
            if m["cost"] is None:
                continue
            if m["model"] in named:
                parts.append((named.index(m["model"]), m["model"], m["cost"]["microdollars"]))
            else:
                other += m["cost"]["microdollars"]
        if other:
            parts.append((SERIES, "other models", other))
        for series, model, micro in sorted(parts):
            h = micro * scale
            y -= h
            bars.append({"x": round(left + i * slot + gap / 2, 2), "y": round(y, 2),
                         "width": round(max(slot - gap, 0.5), 2), "height": round(h, 2),
                         "series": series, "title": f"{name} · {model}: {usd(micro)}"})
    every = max(1, -(-len(days) // 8))
    xlabels = [{"x": round(left + (i + 0.5) * slot, 2), "label": d}
               for i, d in enumerate(days) if i % every == 0]
    yticks = [{"y": round(top + plot_h * (1 - t / peak), 2), "label": _dollars(t)}
              for t in ticks]
    legend = [{"series": i, "label": m} for i, m in enumerate(named)]
    if len(ranked) > SERIES:
        legend.append({"series": SERIES, "label": "other models"})
    # drawn here rather than in the template: a long window has thousands of rects, and the
    # template's loop over them cost as much as the whole summary (the same markup)
    bars_svg = mark_safe("".join(
        f'<rect class="series-{b["series"]}" x="{b["x"]}" y="{b["y"]}" width="{b["width"]}"'
        f' height="{b["height"]}"><title>{escape(b["title"])}</title></rect>' for b in bars))
    return {"width": width, "height": height, "bars": bars, "bars_svg": bars_svg,
            "xlabels": xlabels,
            "yticks": yticks, "left": left, "right": width - 4, "baseline": top + plot_h,
            "label_y": height - 6, "legend": legend, "empty": not bars}


def cost_rows(entries: list[dict], key: str, *, limit: int = 12, name=None) -> list[dict]:
    """Horizontal bars of cost (percent of the costliest); an entry with nothing priced shows
    "unknown" and its tokens. *name* turns a key into its label (an agent's display name)."""
    shown = entries[:limit]
    peak = max((e["cost"]["microdollars"] for e in shown if e["cost"] is not None),
               default=0) or 1
    rows = []
    for e in shown:
        micro = e["cost"]["microdollars"] if e["cost"] is not None else None
        text = usd(micro)
        if e["unpricedTokens"]:
            text += f" + {tokens(e['unpricedTokens'])} unpriced tokens"
        label = name(e[key]) if name and e[key] else e[key]
        rows.append({"label": label or "(none)", "text": text,
                     "pct": round(100 * (micro or 0) / peak, 1)})
    return rows


def _presets(params: QueryDict, last) -> list[dict]:
    links = []
    for label, n in PRESETS:
        query = params.copy()
        first = last - timedelta(days=n - 1)
        query["from"], query["to"] = first.isoformat(), last.isoformat()
        links.append({"label": label, "url": f"?{query.urlencode()}",
                      "active": params.get("from") == first.isoformat()})
    return links


@page
def usage_page(request):
    """Cost per day by model, per machine, project and agent, and the costliest sessions."""
    using = page_database()
    context: dict = {"q": request.GET}
    try:
        params = _anchored(_query(request), using)
        window = usage.parse_filters(params)
        data = usage.summary(_with(params, breakdowns="false"), using)
        top = usage.top_sessions(_with(params, limit=str(TOP_SESSIONS)), using)
    except BadParameter as exc:
        context["form"] = usage.USAGE_FILTERS.form(
            request.GET, options=filter_options(using=using))
        return render(request, "analytics/usage.html",
                      page_context(request, error=str(exc), **context), status=400)
    totals = data["totals"]
    context.update(
        form=usage.USAGE_FILTERS.form(request.GET, options=filter_options(using=using),
                                      values={"from": data["from"], "to": data["to"]}),
        data=data,
        total_cost=usd(totals["cost"]["microdollars"] if totals["cost"] else None),
        total_tokens=tokens(totals["totalTokens"]),
        unpriced_tokens=tokens(totals["unpricedTokens"]) if totals["unpricedTokens"] else "",
        unpriced=[{"model": m["model"] or "(no model)", "tokens": tokens(m["unpricedTokens"])}
                  for m in data["modelTotals"] if m["unpricedTokens"]],
        per_day=stacked_days(data["daily"], window.first_day, window.last_day),
        by_machine=cost_rows(data["machineTotals"], "machineName"),
        by_project=cost_rows(data["projectTotals"], "project"),
        by_agent=cost_rows(data["agentTotals"], "agent", name=agent_name),
        by_model=cost_rows(data["modelTotals"], "model"),
        top=[{**s, "cost_text": usd(s["cost"]["microdollars"] if s["cost"] else None),
              "tokens_text": tokens(s["totalTokens"])} for s in top],
        presets=_presets(params, window.last_day),
    )
    return render(request, "analytics/usage.html", page_context(request, **context))
