"""Dashboard pages: thin views over the selectors, rendered by Django templates."""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import authenticate
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.crypto import constant_time_compare
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods
from rest_framework.authtoken.models import Token

from agentsview.config import load_config
from sessions_app import dto, selectors
from sessions_app.api import handlers
from sessions_app.dashboard import charts
from sessions_app.dashboard.markdown import render as markdown
from sessions_app.filters import (
    HEALTH_GRADES,
    OUTCOMES,
    BadParameter,
    parse_session_query,
)
from sessions_app.pagination import InvalidCursor

PAGE_SIZE = 50
MESSAGES_PER_PAGE = 200
SESSION_KEY = "agentsview_auth"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
       "form-action 'self'")


def page(view):
    """Every page: the login gate when auth is on, and a strict Content-Security-Policy
    (no inline script can run, whatever a transcript contains)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if settings.AGENTSVIEW_REQUIRE_AUTH and not request.session.get(SESSION_KEY):
            query = urlencode({"next": request.get_full_path()})
            return redirect(f"{reverse('dashboard:login')}?{query}")
        response = view(request, *args, **kwargs)
        response["Content-Security-Policy"] = CSP
        response["Referrer-Policy"] = "same-origin"
        response["X-Content-Type-Options"] = "nosniff"
        return response

    return wrapper


def _context(request, **extra) -> dict:
    return {
        "read_only": settings.AGENTSVIEW_READ_ONLY,
        "this_machine": "" if settings.AGENTSVIEW_READ_ONLY else load_config().machine_name,
        "signed_in": request.session.get(SESSION_KEY),
        "auth_on": settings.AGENTSVIEW_REQUIRE_AUTH,
        **extra,
    }


def _using() -> str:
    return settings.AGENTSVIEW_API_DATABASE


@page
def sessions_page(request):
    using = _using()
    error = ""
    params = request.GET.copy()
    params.setdefault("limit", str(PAGE_SIZE))
    try:
        query = parse_session_query(params)
        result = selectors.list_sessions(query, using=using)
    except (BadParameter, InvalidCursor) as exc:
        error = str(exc)
        result = selectors.SessionPage([], 0, None)
        query = None
    next_params = request.GET.copy()
    if result.next_cursor:
        next_params["cursor"] = result.next_cursor
    return render(request, "dashboard/sessions.html", _context(
        request,
        sessions=result.sessions,
        total=result.total,
        next_url=f"?{next_params.urlencode()}" if result.next_cursor else "",
        first_url=_without(request.GET, "cursor") if request.GET.get("cursor") else "",
        error=error,
        q=request.GET,
        chosen_machines=set(query.filters.machines) if query else set(),
        **_facets(using),
        outcomes=OUTCOMES,
        grades=HEALTH_GRADES,
    ))


def _facets(using: str) -> dict[str, list[tuple[str, int]]]:
    """The sidebar's choices (with session counts), from a single query."""
    facets = selectors.facet_counts(("project", "agent", "machine"), using=using,
                                    include_one_shot=True, include_automated=True)
    return {"projects": facets["project"], "agents": facets["agent"],
            "machines": facets["machine"]}


ANALYTICS_PARAMS = ("from", "to", "project", "agent", "machine", "include_one_shot",
                    "include_automated")
# The calibrated signals of /api/v1/analytics/signals, as a team lead reads them.
SIGNAL_LABELS = {
    "tool_failure_signals": "Tool failures",
    "tool_retries": "Retried tool calls",
    "edit_churn": "Edit churn",
    "sessions_with_compaction": "Context compacted",
    "mid_task_compaction_count": "Compacted mid-task",
    "high_pressure_sessions": "High context pressure",
    "short_prompt_count": "Short prompts",
    "unstructured_start": "Unstructured first prompt",
    "missing_success_criteria_count": "No success criteria",
    "missing_verification_count": "No verification asked",
    "duplicate_prompt_count": "Repeated prompts",
    "no_code_context_count": "No code context",
    "runaway_tool_loop_count": "Runaway tool loop",
    "frustration_marker_count": "Frustrated prompts",
}


def _signal_rows(calibration: dict, params: dict) -> list[dict]:
    """The calibrated signals, most frequent first, each linking to its sessions."""
    rows = []
    for name, entry in calibration.items():
        query = urlencode({**params, "signal": name})
        rows.append({"name": name, "label": SIGNAL_LABELS.get(name, name),
                     "affected": entry["affected_sessions"],
                     "rate": entry["affected_incomplete_rate"],
                     "baseline": entry["baseline_incomplete_rate"],
                     "url": f"{reverse('dashboard:signal')}?{query}"})
    return sorted(rows, key=lambda r: (-r["affected"], r["label"]))


@page
def analytics_page(request):
    """Charts of the analytics API's numbers (the same functions), drawn as SVG."""
    from analytics_app import queries

    using = _using()
    params = {k: request.GET[k] for k in ANALYTICS_PARAMS if request.GET.get(k)}
    granularity = request.GET.get("granularity") or "day"
    context = {"q": request.GET, "granularity": granularity,
               "window_from": params.get("from", ""), "window_to": params.get("to", ""),
               "granularities": queries.GRANULARITIES, **_facets(using)}
    try:
        window = queries.parse_filters(params)
        summary = queries.summary(params, using)
        activity = queries.activity({**params, "granularity": granularity}, using)
        heat = queries.heatmap(params, using)
        projects = queries.projects(params, using)["projects"]
        tools = queries.tools(params, using)
        signals = queries.signals(params, using)
        skills = queries.skills(params, using)
    except BadParameter as exc:
        return render(request, "dashboard/analytics.html",
                      _context(request, error=str(exc), **context), status=400)
    grades = signals.get("grade_distribution") or {}
    context.update(
        window_from=window.date_from.isoformat(), window_to=window.date_to.isoformat(),
        summary=summary,
        signals=signals,
        activity=charts.column_chart(charts.filled_series(
            activity["series"], "sessions", window.date_from, window.date_to, granularity),
            unit="sessions"),
        messages=charts.column_chart(charts.filled_series(
            activity["series"], "messages", window.date_from, window.date_to, granularity),
            unit="messages"),
        heatmap=charts.heatmap(heat["entries"]),
        by_project=charts.bar_rows([(p["name"], p["sessions"]) for p in projects]),
        by_agent=charts.bar_rows([(name, a["sessions"])
                                  for name, a in summary["agents"].items()]),
        by_tool=charts.bar_rows([(c["category"], c["count"]) for c in tools["by_category"]]),
        grades=charts.column_chart([(g, grades.get(g, 0)) for g in HEALTH_GRADES],
                                   unit="sessions", width=320, height=160),
        outcomes=charts.bar_rows(list((signals.get("outcome_distribution") or {}).items())),
        signal_rows=_signal_rows(signals["calibration"], params),
        skills=charts.bar_rows([(s["skill_name"], s["call_count"])
                                for s in skills["by_skill"]]),
    )
    return render(request, "dashboard/analytics.html", _context(request, **context))


@page
def signal_page(request):
    """The sessions one signal marks (the analytics page links here with its filters)."""
    from analytics_app import queries

    using = _using()
    params = {k: request.GET[k] for k in (*ANALYTICS_PARAMS, "signal") if request.GET.get(k)}
    back = {k: v for k, v in params.items() if k != "signal"}
    context = {"back_url": f"{reverse('dashboard:analytics')}?{urlencode(back)}",
               "label": SIGNAL_LABELS.get(params.get("signal", ""), params.get("signal", ""))}
    try:
        data = queries.signal_sessions({**params, "limit": "200"}, using)
    except BadParameter as exc:
        return render(request, "dashboard/signal.html",
                      _context(request, error=str(exc), **context), status=400)
    window = queries.parse_filters(params)
    context.update(data=data, window_from=window.date_from.isoformat(),
                   window_to=window.date_to.isoformat())
    return render(request, "dashboard/signal.html", _context(request, **context))


def _without(params, *keys: str) -> str:
    copy = params.copy()
    for key in keys:
        copy.pop(key, None)
    return f"?{copy.urlencode()}"


def _message_items(session_id: str, messages: list[dict]) -> list[dict]:
    """Message DTOs with their markdown rendered (thinking shown apart, collapsed)."""
    for message in messages:
        text = message["content"]
        if message["thinking_text"]:
            text = _strip_thinking(text)
        message["html"] = markdown(text)
    return messages


def _strip_thinking(content: str) -> str:
    out, keep = [], True
    for line in content.split("\n"):
        if line == "[Thinking]":
            keep = False
        elif line == "[/Thinking]":
            keep = True
        elif keep:
            out.append(line)
    return "\n".join(out)


def _message_page(session_id: str, request, using: str) -> tuple[dict, str, str]:
    """The requested window of messages (from=N, or around=N), and prev/next links."""
    params = {"limit": str(MESSAGES_PER_PAGE)}
    if request.GET.get("around"):
        params = {"around": request.GET["around"], "before": "20",
                  "after": str(MESSAGES_PER_PAGE - 21)}
    elif request.GET.get("from"):
        params["from"] = request.GET["from"]
    data = handlers.session_messages(session_id, params, using)
    messages = _message_items(session_id, data["messages"])
    prev_url = next_url = ""
    if messages:
        first, last = messages[0]["ordinal"], messages[-1]["ordinal"]
        before = selectors.session_messages(session_id, using=using, descending=True,
                                            from_ordinal=first - 1, limit=MESSAGES_PER_PAGE)
        if first > 0 and before.messages:
            prev_url = f"?from={before.messages[-1].ordinal}"
        after = selectors.session_messages(session_id, using=using, from_ordinal=last + 1,
                                           limit=1)
        if after.messages:
            next_url = f"?from={last + 1}"
    data["messages"] = messages
    return data, prev_url, next_url


@page
def session_page(request, session_id: str):
    using = _using()
    try:
        session = handlers.session_detail(session_id, using)
        data, prev_url, next_url = _message_page(session_id, request, using)
    except handlers.SessionMissing:
        raise Http404("session not found") from None
    except BadParameter as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain")
    parent = selectors.get_session(session["parent_session_id"], using=using) \
        if session.get("parent_session_id") else None
    return render(request, "dashboard/session.html", _context(
        request,
        session=session,
        messages=data["messages"],
        prev_url=prev_url,
        next_url=next_url,
        parent=parent,
        children=[dto.session_dto(c) for c in selectors.child_sessions(session_id, using=using)],
        last_ordinal=data.get("last_ordinal", -1),
        at_end=not next_url,
    ))


@page
def messages_fragment(request, session_id: str):
    """New messages after ``from`` as HTML, for the live view to append."""
    using = _using()
    try:
        data = handlers.session_messages(
            session_id, {"from": request.GET.get("from", "0"), "limit": "500"}, using)
    except handlers.SessionMissing:
        raise Http404("session not found") from None
    except BadParameter as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain")
    messages = _message_items(session_id, data["messages"])
    response = render(request, "dashboard/_messages.html", {"messages": messages,
                                                             "session_id": session_id})
    response["X-Last-Ordinal"] = str(messages[-1]["ordinal"]) if messages else ""
    return response


@page
def search_page(request):
    using = _using()
    results, error, next_url = None, "", ""
    if request.GET.get("q", "").strip():
        try:
            data = handlers.search_results(request.GET, using)
            results = data["results"]
            if data.get("next"):
                more = request.GET.copy()
                more["cursor"] = str(data["next"])
                next_url = f"?{more.urlencode()}"
        except BadParameter as exc:
            error = str(exc)
    return render(request, "dashboard/search.html", _context(
        request, q=request.GET.get("q", ""), results=results, error=error, next_url=next_url))


def _valid_token(token: str) -> str | None:
    """Who a token belongs to: the server token, or a person's DRF token."""
    server = settings.AGENTSVIEW_AUTH_TOKEN
    if server and constant_time_compare(token, server):
        return "token holder"
    person = Token.objects.select_related("user").filter(key=token).first()
    if person is not None and person.user.is_active:
        return person.user.get_username()
    return None


@require_http_methods(["GET", "POST"])
def login_page(request):
    """Sign in once per browser session: with the server's token, a personal token, or a
    Django account. Stored in a signed session cookie (nothing written to the database)."""
    error = ""
    next_url = request.POST.get("next") or request.GET.get("next") or reverse("dashboard:sessions")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = reverse("dashboard:sessions")
    if request.method == "POST":
        who = None
        if request.POST.get("token"):
            who = _valid_token(request.POST["token"].strip())
        elif request.POST.get("username"):
            user = authenticate(request, username=request.POST["username"],
                                password=request.POST.get("password", ""))
            who = user.get_username() if user is not None and user.is_active else None
        if who:
            request.session.cycle_key()
            request.session[SESSION_KEY] = who
            return redirect(next_url)
        error = "That token, or that user name and password, is not valid."
    response = render(request, "dashboard/login.html",
                      {"error": error, "next": next_url, "auth_on": True}, status=401 if error
                      else 200)
    response["Content-Security-Policy"] = CSP
    return response


def logout_page(request):
    request.session.flush()
    return redirect("dashboard:login")
