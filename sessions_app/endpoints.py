"""What each read endpoint answers, as plain functions: query parameters in, JSON-ready data
out. The DRF views, the session CLI (when no server runs) and the pages all call these, so the
CLI's JSON is the API's JSON, byte for byte.

They raise ``BadParameter`` (400) and ``SessionMissing`` (404).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings

from agentsview.api.errors import SessionMissing, UsageSessionMissing
from agentsview.api.params import BadParameter, Params
from agentsview.timefmt import rfc3339
from sessions_app import selectors, serializers
from sessions_app.filters import (
    SEARCH_FILTERS,
    SESSION_FILTERS,
    SIDEBAR_FILTERS,
    parse_session_order,
    parse_session_query,
)
from sessions_app.search import SORTS, SearchHit, search
from sessions_app.usage import selectors as usage_selectors
from sessions_app.usage.pricing import price_table

SEARCH_DEFAULT_LIMIT = 50
SEARCH_MAX_LIMIT = 500


def _require(session_id: str, using: str) -> None:
    if not selectors.session_exists(session_id, using=using):
        raise SessionMissing(session_id)


def session_list(params: Mapping[str, str], using: str) -> dict:
    query = parse_session_query(params)
    return serializers.SESSION_LIST.dump(selectors.list_sessions(query, using=using))


def session_detail(session_id: str, using: str) -> dict:
    session = selectors.get_session(session_id, using=using)
    if session is None:
        raise SessionMissing(session_id)
    return serializers.SESSION_DETAIL.dump(session)


def session_messages(session_id: str, params: Mapping[str, str], using: str, *,
                     missing_ok: bool = False) -> dict:
    """A page of messages. An unknown session is a ``SessionMissing``, or with *missing_ok*
    (the API: AgentsView's contract) an empty page."""
    revision = selectors.session_revision(session_id, using=using)
    if revision is None and not missing_ok:
        raise SessionMissing(session_id)
    p = Params(params)
    # every parameter is checked, also the ones the chosen window ignores
    around = p.integer("around", minimum=0)
    before = p.integer("before", minimum=0, maximum=500, default=5)
    after = p.integer("after", minimum=0, maximum=500, default=5)
    limit = p.integer("limit", minimum=1, maximum=selectors.MESSAGES_MAX_LIMIT,
                      default=selectors.MESSAGES_DEFAULT_LIMIT)
    descending = p.choice("direction", ("asc", "desc"), "asc") == "desc"
    from_ordinal = p.integer("from", minimum=0)
    if around is not None:
        for name in ("from", "direction"):
            if p.raw(name) is not None:
                raise BadParameter(name, p.raw(name), "cannot be combined with around")
        page = selectors.messages_around(session_id, around, before=before, after=after,
                                         using=using)
    else:
        page = selectors.session_messages(session_id, limit=limit, descending=descending,
                                          from_ordinal=from_ordinal, using=using)
    if revision is None:
        return {"messages": [], "count": 0}
    page.revision = revision
    return serializers.message_page(page)


def session_tool_calls(session_id: str, using: str, *, missing_ok: bool = False) -> dict:
    """Every tool call; an unknown session as ``session_messages``."""
    if not missing_ok:
        _require(session_id, using)
    return serializers.TOOL_CALL_LIST.dump(selectors.session_tool_calls(session_id, using=using))


def session_children(session_id: str, using: str, *, missing_ok: bool = False) -> list:
    """The direct children; an unknown session as ``session_messages``."""
    if not missing_ok:
        _require(session_id, using)
    return serializers.SESSION.dump_all(selectors.child_sessions(session_id, using=using))


def session_usage(session_id: str, params: Mapping[str, str], using: str, *,
                  server_running: bool = True) -> dict:
    """A session's tokens and cost; its subagents' too with ``subagents=true``, each usage
    record with ``breakdown=true``."""
    p = Params(params)
    combined = p.boolean("subagents")
    breakdown = p.boolean("breakdown")
    found = usage_selectors.session_usage(session_id, using=using, combined=combined,
                                          prices=price_table(settings.AGENTSVIEW))
    if found is None:
        raise UsageSessionMissing(session_id)
    return serializers.SESSION_USAGE.dump(
        found, {"breakdown": breakdown, "server_running": server_running})


def full_transcript(session_id: str, using: str) -> list[dict]:
    page = selectors.session_messages(session_id, limit=10**9, using=using)
    return serializers.message_page(page)["messages"]


def markdown_depth(params: Mapping[str, str]) -> int | str | None:
    raw = Params(params).choice("depth", ("1", "all"))
    return None if raw is None else (1 if raw == "1" else "all")


def search_results(params: Mapping[str, str], using: str) -> dict:
    p = Params(params)
    q = p.required("q")
    limit = p.integer("limit", minimum=1, maximum=SEARCH_MAX_LIMIT, default=SEARCH_DEFAULT_LIMIT)
    offset = p.integer("cursor", minimum=0, default=0)
    sort = p.choice("sort", SORTS, "relevance")
    filters = SEARCH_FILTERS.parse(params)
    hits, more = search(q, filters, using=using, limit=limit, offset=offset, sort=sort)
    return serializers.SEARCH_RESULTS.dump(
        SearchPage(query=q, hits=hits, next=offset + limit if more else None))


@dataclass(frozen=True)
class SearchPage:
    query: str
    hits: list[SearchHit]
    next: int | None  # offset of the next page


def _visibility(params: Mapping[str, str]) -> dict:
    p = Params(params)
    return {"include_one_shot": p.boolean("include_one_shot"),
            "include_automated": p.boolean("include_automated")}


def stats(params: Mapping[str, str], using: str) -> dict:
    return serializers.STATS.dump(selectors.stats(using=using, **_visibility(params)))


def projects(params: Mapping[str, str], using: str) -> dict:
    rows = selectors.counts_by("project", using=using, **_visibility(params))
    return serializers.PROJECT_LIST.dump(rows)


def agents(params: Mapping[str, str], using: str) -> dict:
    rows = selectors.counts_by("agent", using=using, **_visibility(params))
    return serializers.AGENT_LIST.dump(rows)


def machines(params: Mapping[str, str], using: str) -> dict:
    rows = selectors.counts_by("machine", using=using, **_visibility(params))
    return serializers.MACHINE_LIST.dump([name for name, _ in rows])


def session_version(session_id: str, using: str) -> tuple | None:
    """What changes whenever a sync or a push rewrites the session."""
    return (
        selectors.Session.objects.using(using).filter(pk=session_id)
        .values_list("content_digest", "message_count", "pushed_at", "local_modified_at",
                     "deleted_at", "display_name")
        .first()
    )


def watch_events(session_id: str, using: str, *, poll: float, heartbeat: float,
                 last_event_id: int | None = None) -> Iterator[tuple]:
    """``(event, data)`` forever: session_ready, then session_updated on every change, each
    followed by session.timing (the session's ``/timing`` JSON, as AgentsView's stream sends
    it), and a heartbeat on an interval. The SSE stream and ``session watch`` both read this.

    On the shared PostgreSQL the changes come from its notifications, with no polling, as
    ``(event, data, id)`` (``agentsview.live``: ids, ``Last-Event-ID``; session.timing has no
    id, and the connection its query took is given back before the stream waits again); on a
    SQLite archive the session is looked at every *poll* seconds."""
    from agentsview import live

    shared = live.available(using)
    if shared:
        events = live.watch(session_id, using, heartbeat=heartbeat,
                            last_event_id=last_event_id)
    else:
        events = _polled_events(session_id, using, poll=poll, heartbeat=heartbeat)
    try:
        for item in events:
            yield item
            if item[0] in ("session_ready", "session_updated"):
                timing = timing_event(session_id, using, release=shared)
                if timing is not None:
                    yield ("session.timing", timing, None) if shared else (
                        "session.timing", timing)
    finally:
        events.close()


def timing_event(session_id: str, using: str, *, release: bool) -> str | None:
    """The session.timing event's data: the timing JSON on one line (None once the session is
    gone). With *release*, the database connection goes back (a watch stream on the shared
    PostgreSQL holds none while it waits), unless a transaction holds it (a test's)."""
    from django.db import connections

    from agentsview.api.renderers import dumps
    from sessions_app.timing import session_timing as timing

    session = selectors.get_session(session_id, using=using)
    data = None if session is None else dumps(
        serializers.TIMING.dump(timing(session, using))).decode()
    connection = connections[using]
    if release and not connection.in_atomic_block:
        connection.close()
    return data


def _polled_events(session_id: str, using: str, *, poll: float, heartbeat: float
                   ) -> Iterator[tuple]:
    """The watch events of a SQLite archive: the session looked at every *poll* seconds."""
    last = session_version(session_id, using)
    yield "session_ready", session_id
    next_beat = time.monotonic() + heartbeat
    while True:
        time.sleep(poll)
        current = session_version(session_id, using)
        if current != last:
            last = current
            yield "session_updated", session_id
        if time.monotonic() >= next_beat:
            next_beat = time.monotonic() + heartbeat
            yield "heartbeat", rfc3339(datetime.now(UTC).replace(microsecond=0))


# --- AgentsView's other read endpoints (issue 19) ---------------------------------------------

CONTENT_DEFAULT_LIMIT = 50


def sidebar_index(params: Mapping[str, str], using: str) -> dict:
    """Every session the filters keep, children included, in the requested order, as skinny
    rows: what AgentsView's sidebar groups."""
    filters = SIDEBAR_FILTERS.parse(params)
    order = parse_session_order(params)
    keys = [(k, d) for k, d in order.keys if k != "id"]
    id_descending = next((d for k, d in order.keys if k == "id"), order.descending)
    qs = selectors.filtered_sessions(filters, using=using).annotate(
        **{f"_sort{i}": selectors.sort_expression(k, d) for i, (k, d) in enumerate(keys)})
    ordering = [f"{'-' if d else ''}_sort{i}" for i, (_, d) in enumerate(keys)]
    rows = qs.only(*SIDEBAR_COLUMNS).order_by(*ordering, "-id" if id_descending else "id")
    return serializers.SIDEBAR_INDEX.dump(list(rows))


SIDEBAR_COLUMNS = ("id", "parent_session_id", "relationship_type", "project", "machine",
                   "agent", "display_name", "started_at", "ended_at", "created_at",
                   "termination_status", "message_count", "user_message_count",
                   "is_automated", "first_message")


def branches(params: Mapping[str, str], using: str) -> dict:
    rows = (selectors.visible_sessions(using=using, **_visibility(params))
            .values_list("project", "git_branch").distinct().order_by("project", "git_branch"))
    return serializers.BRANCH_LIST.dump(list(rows))


def content_search(params: Mapping[str, str], using: str) -> dict:
    from sessions_app.content_search import LOCATIONS, MODES, UNAVAILABLE_MODES, search_content

    p = Params(params)
    pattern = p.required("pattern")
    mode = p.choice("mode", (*MODES, *UNAVAILABLE_MODES), "substring")
    locations = p.items("in", LOCATIONS) or LOCATIONS
    limit = p.integer("limit", minimum=1, maximum=SEARCH_MAX_LIMIT,
                      default=CONTENT_DEFAULT_LIMIT)
    offset = p.integer("cursor", minimum=0, default=0)
    exclude_system = p.boolean("exclude_system")
    filters = SESSION_FILTERS.parse(params)
    matches, more = search_content(pattern, mode, locations, filters, using=using,
                                   limit=limit, offset=offset, exclude_system=exclude_system)
    return serializers.CONTENT_RESULTS.dump((matches, offset + limit if more else 0))


def session_search(session_id: str, params: Mapping[str, str], using: str) -> dict:
    from sessions_app.content_search import session_ordinals

    q = Params(params).required("q")
    _require(session_id, using)
    return serializers.ORDINALS.dump(session_ordinals(session_id, q, using=using))


def session_timing(session_id: str, using: str) -> dict:
    from sessions_app.timing import session_timing as timing

    session = selectors.get_session(session_id, using=using)
    if session is None:
        raise SessionMissing(session_id)
    return serializers.TIMING.dump(timing(session, using))


def session_activity(session_id: str, using: str) -> dict:
    from sessions_app.timing import session_activity as activity

    session = selectors.get_session(session_id, using=using)
    if session is None:
        raise SessionMissing(session_id)
    return serializers.ACTIVITY.dump(activity(session, using))


def archive_version(using: str) -> tuple:
    """What changes whenever a sync, a push or a delete changes any session."""
    from django.db.models import Count, Max

    return tuple(selectors.Session.objects.using(using).aggregate(
        n=Count("id"), modified=Max("local_modified_at"), pushed=Max("pushed_at"),
        deleted=Max("deleted_at"), created=Max("created_at")).values())


def server_events(using: str, *, poll: float, heartbeat: float) -> Iterator[tuple]:
    """``(event, data)`` forever for ``/api/v1/events``: events_ready, then data_changed
    (``{"scope":"sessions"}``) after any session changed, a heartbeat on an interval. On the
    shared PostgreSQL from its notifications (a burst within *poll* seconds is one event); on
    a SQLite archive the archive is looked at every *poll* seconds."""
    from agentsview import live

    if live.available(using):
        yield from live.watch_every(using, heartbeat=heartbeat, coalesce=poll)
        return
    last = archive_version(using)
    yield "events_ready", "{}"
    next_beat = time.monotonic() + heartbeat
    while True:
        time.sleep(poll)
        current = archive_version(using)
        if current != last:
            last = current
            yield "data_changed", live.DATA_CHANGED
        if time.monotonic() >= next_beat:
            next_beat = time.monotonic() + heartbeat
            yield "heartbeat", rfc3339(datetime.now(UTC).replace(microsecond=0))
