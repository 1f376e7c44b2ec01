"""The session pages: the list, one session, its live messages, search. Thin views over
the same endpoints and selectors as the API, rendered by the templates in ``sessions/``."""

from __future__ import annotations

from datetime import datetime

from django.http import Http404, HttpResponse
from django.shortcuts import render

from agentsview.api.errors import ApiError
from agentsview.api.params import BadParameter
from agentsview.web import page, page_context, page_database
from sessions_app import endpoints, selectors, serializers
from sessions_app.filters import (
    SESSION_FILTERS,
    SessionOrder,
    form_query,
    parse_session_query,
)
from sessions_app.models import LAST_ACTIVE
from sessions_app.pages import listing
from sessions_app.pages.parts import message_parts
from sessions_app.pages.searching import SEARCH_PAGE_FILTERS, search_count
from sessions_app.templatetags.session_tags import human_duration
from sessions_app.usage import selectors as usage_selectors

PAGE_SIZE = 50
BESIDE = 40  # sessions in the list beside an open session
# what that list shows of each (rows, not model instances: 40 of those cost ~4 ms a page)
BESIDE_COLUMNS = ("id", "display_name", "first_message", "project", "agent", "started_at",
                  "ended_at", "health_grade")
MESSAGES_PER_PAGE = 200


@page
def sessions_page(request):
    using = page_database()
    error = ""
    params = form_query(request.GET)
    params.setdefault("limit", str(PAGE_SIZE))
    query = None
    try:
        query = parse_session_query(params)
        result = selectors.list_sessions(query, using=using)
    except ApiError as exc:
        error = str(exc)
        result = selectors.SessionPage([], 0, None)
    order = query.order if query is not None else SessionOrder()
    hidden = listing.hidden_sessions(query.filters, result.total, using) \
        if query is not None and not error else None
    show_all = request.GET.copy()
    for name in (hidden or {}).get("include", ()):
        show_all[name] = "true"
    for name in ("cursor", "back"):
        show_all.pop(name, None)
    models = listing.models_of(result.sessions, using)
    for session in result.sessions:
        session.models = models.get(session.id, [])
    return render(request, "sessions/list.html", page_context(
        request,
        sessions=result.sessions,
        total=result.total,
        pager=listing.pager(request.GET, result.next_cursor, len(result.sessions),
                            query.limit if query is not None else PAGE_SIZE, result.total),
        sort=listing.sort_links(request.GET, order),
        order=order,
        hidden=hidden,
        show_all_url=f"?{show_all.urlencode()}",
        error=error,
        q=request.GET,
        active_filters=sum(1 for name in params if name not in ("limit", "cursor", "back",
                                                                 "order_by")),
        form=SESSION_FILTERS.form(request.GET, options=selectors.filter_options(using=using)),
    ))


def _message_items(session_id: str, messages: list[dict], cwd: str = "") -> list[dict]:
    """Message DTOs with their parts (Markdown text and each tool call once; the thinking is
    shown apart, collapsed) and how long each took since the message before it."""
    previous = None
    for message in messages:
        message["parts"] = message_parts(message, cwd)
        moment = message.get("timestamp")
        if previous and moment and message["role"] == "assistant":
            message["took"] = human_duration((_moment(moment) - _moment(previous))
                                             .total_seconds())
        previous = moment or previous
    return messages


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _message_page(session_id: str, request, using: str, cwd: str = ""
                  ) -> tuple[dict, str, str]:
    """The requested window of messages (from=N, or around=N), and prev/next links."""
    params = {"limit": str(MESSAGES_PER_PAGE)}
    if request.GET.get("around"):
        params = {"around": request.GET["around"], "before": "20",
                  "after": str(MESSAGES_PER_PAGE - 21)}
    elif request.GET.get("from"):
        params["from"] = request.GET["from"]
    data = endpoints.session_messages(session_id, params, using)
    messages = _message_items(session_id, data["messages"], cwd)
    prev_url = next_url = ""
    if messages:
        first, last = messages[0]["ordinal"], messages[-1]["ordinal"]
        previous, more = selectors.page_neighbours(session_id, first, last,
                                                   back=MESSAGES_PER_PAGE, using=using)
        if previous is not None:
            prev_url = f"?from={previous}"
        if more:
            next_url = f"?from={last + 1}"
    data["messages"] = messages
    return data, prev_url, next_url


@page
def session_page(request, session_id: str):
    using = page_database()
    try:
        session = endpoints.session_detail(session_id, using)
        data, prev_url, next_url = _message_page(session_id, request, using,
                                                 session.get("cwd") or "")
    except endpoints.SessionMissing:
        raise Http404("session not found") from None
    except BadParameter as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain")
    parent = selectors.get_session(session["parent_session_id"], using=using) \
        if session.get("parent_session_id") else None
    # the list beside the session on a wide screen: the latest sessions, as the list shows them
    # (one query: the list's order without its count)
    beside = selectors.plain_rows(
        selectors.filtered_sessions(SESSION_FILTERS.defaults(), using=using)
        .order_by(LAST_ACTIVE.desc(), "-id")[:BESIDE], BESIDE_COLUMNS)
    return render(request, "sessions/session.html", page_context(
        request,
        session=session,
        messages=data["messages"],
        prev_url=prev_url,
        next_url=next_url,
        parent=parent,
        children=serializers.SESSION.dump_all(selectors.child_sessions(session_id, using=using)),
        last_ordinal=data.get("last_ordinal", -1),
        beside=beside,
        models=sorted({m["model"] for m in data["messages"] if m.get("model")}),
        at_end=not next_url,
        usage=usage_selectors.page_usage(session_id, using=using),
    ))


@page
def messages_fragment(request, session_id: str):
    """New messages after ``from`` as HTML, for the live view to append."""
    using = page_database()
    try:
        data = endpoints.session_messages(
            session_id, {"from": request.GET.get("from", "0"), "limit": "500"}, using)
    except endpoints.SessionMissing:
        raise Http404("session not found") from None
    except BadParameter as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain")
    messages = _message_items(session_id, data["messages"])
    response = render(request, "sessions/_messages.html", {"messages": messages,
                                                             "session_id": session_id})
    response["X-Last-Ordinal"] = str(messages[-1]["ordinal"]) if messages else ""
    return response


# The search page leaves out what the list leaves out, unless its form includes them.
LIST_RULE = ("include_one_shot", "include_automated", "include_children")


@page
def search_page(request):
    using = page_database()
    results, error, next_url, count = None, "", "", None
    params = form_query(request.GET)
    for name in LIST_RULE:
        params.setdefault(name, "false")
    if request.GET.get("q", "").strip():
        try:
            data = endpoints.search_results(params, using)
            results = data["results"]
            offset = int(params.get("cursor") or 0)
            count = offset + len(results)
            if data.get("next"):
                more = request.GET.copy()
                more["cursor"] = str(data["next"])
                next_url = f"?{more.urlencode()}"
                count = search_count(params, using)
        except BadParameter as exc:
            error = str(exc)
    filters = SEARCH_PAGE_FILTERS.form(request.GET,
                                       options=selectors.filter_options(using=using))
    return render(request, "sessions/search.html", page_context(
        request, q=request.GET.get("q", ""), results=results, error=error, next_url=next_url,
        count=count, form=filters,
        filtered=any(request.GET.get(f["name"]) for f in filters)))
