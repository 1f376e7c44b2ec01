"""What each read endpoint answers, as plain functions: query parameters in, JSON-ready data
out. The DRF views and the session CLI (when no server runs) both call these, so the CLI's
JSON is the API's JSON, byte for byte.

They raise ``BadParameter`` (400) and ``SessionMissing`` (404).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime

from agentsview.timefmt import rfc3339
from sessions_app import dto, selectors
from sessions_app.filters import BadParameter, Params, parse_session_filters, parse_session_query
from sessions_app.search import search

SEARCH_DEFAULT_LIMIT = 50
SEARCH_MAX_LIMIT = 500


class SessionMissing(LookupError):
    """No session with that id (the API's 404)."""

    def __init__(self, session_id: str, message: str = "session not found") -> None:
        self.session_id = session_id
        super().__init__(message)


def _require(session_id: str, using: str) -> None:
    if not selectors.session_exists(session_id, using=using):
        raise SessionMissing(session_id)


def session_list(params: Mapping[str, str], using: str) -> dict:
    query = parse_session_query(params, default_limit=selectors.DEFAULT_LIMIT,
                                max_limit=selectors.MAX_LIMIT)
    page = selectors.list_sessions(query, using=using)
    data: dict = {"sessions": [dto.session_dto(s) for s in page.sessions]}
    if page.next_cursor:
        data["next_cursor"] = page.next_cursor
    data["total"] = page.total
    return data


def session_detail(session_id: str, using: str) -> dict:
    session = selectors.get_session(session_id, using=using)
    if session is None:
        raise SessionMissing(session_id)
    return dto.session_dto(session, detail=True)


def session_messages(session_id: str, params: Mapping[str, str], using: str) -> dict:
    _require(session_id, using)
    p = Params(params)
    around = p.integer("around", minimum=0)
    if around is not None:
        for name in ("from", "direction"):
            if p.text(name) is not None:
                raise BadParameter(name, p.text(name), "cannot be combined with around")
        page = selectors.messages_around(
            session_id, around,
            before=p.integer("before", minimum=0, maximum=500, default=5),
            after=p.integer("after", minimum=0, maximum=500, default=5),
            using=using,
        )
    else:
        page = selectors.session_messages(
            session_id,
            limit=p.integer("limit", minimum=1, maximum=selectors.MESSAGES_MAX_LIMIT,
                            default=selectors.MESSAGES_DEFAULT_LIMIT),
            descending=p.choice("direction", ("asc", "desc"), "asc") == "desc",
            from_ordinal=p.integer("from", minimum=0),
            using=using,
        )
    return dto.message_page_dto(page)


def session_tool_calls(session_id: str, using: str) -> dict:
    _require(session_id, using)
    calls = [dto.flat_tool_call_dto(call, ts)
             for call, ts in selectors.session_tool_calls(session_id, using=using)]
    return {"tool_calls": calls, "count": len(calls)}


def session_children(session_id: str, using: str) -> list:
    _require(session_id, using)
    return [dto.session_dto(s) for s in selectors.child_sessions(session_id, using=using)]


def full_transcript(session_id: str, using: str) -> list[dict]:
    page = selectors.session_messages(session_id, limit=10**9, using=using)
    return dto.message_page_dto(page)["messages"]


def markdown_depth(params: Mapping[str, str]) -> int | str | None:
    raw = Params(params).text("depth")
    if raw not in (None, "1", "all"):
        raise BadParameter("depth", raw, 'expected value to be one of "1, all"')
    return None if raw is None else (1 if raw == "1" else "all")


def _search_params(params):
    """Search covers every browsable session unless the caller narrows it (a repeated
    parameter such as ``project=a&project=b`` is kept)."""
    copy = params.copy() if hasattr(params, "copy") else dict(params)
    for key in ("include_one_shot", "include_automated", "include_children"):
        copy.setdefault(key, "true")
    return copy


def search_results(params: Mapping[str, str], using: str) -> dict:
    p = Params(params)
    q = p.required("q")
    limit = p.integer("limit", minimum=1, maximum=SEARCH_MAX_LIMIT, default=SEARCH_DEFAULT_LIMIT)
    offset = p.integer("cursor", minimum=0, default=0)
    filters = parse_session_filters(_search_params(params))
    hits, more = search(q, filters, using=using, limit=limit, offset=offset)
    results = [
        {
            "session_id": h.session.id,
            "project": h.session.project,
            "agent": h.session.agent,
            "machine": h.session.machine,
            "name": h.session.display_name or h.session.first_message,
            "ordinal": h.ordinal,
            "session_ended_at": rfc3339(h.session.ended_at),
            "snippet": h.snippet,
        }
        for h in hits
    ]
    data: dict = {"query": q, "results": results, "count": len(results)}
    if more:
        data["next"] = offset + limit
    return data


def _visibility(params: Mapping[str, str]) -> dict:
    p = Params(params)
    return {"include_one_shot": p.boolean("include_one_shot"),
            "include_automated": p.boolean("include_automated")}


def stats(params: Mapping[str, str], using: str) -> dict:
    row = selectors.stats(using=using, **_visibility(params))
    return {
        "session_count": row["session_count"],
        "message_count": row["message_count"],
        "project_count": row["project_count"],
        "machine_count": row["machine_count"],
        "earliest_session": rfc3339(row["earliest"]),
    }


def counts(column: str, key: str, params: Mapping[str, str], using: str) -> dict:
    rows = selectors.counts_by(column, using=using, **_visibility(params))
    return {key: [{"name": n, "session_count": c} for n, c in rows]}


def machines(params: Mapping[str, str], using: str) -> dict:
    names = [n for n, _ in selectors.counts_by("machine", using=using, **_visibility(params))]
    return {"machines": names, "machine_labels": {n: n for n in names}, "machine_aliases": {}}


def session_version(session_id: str, using: str) -> tuple | None:
    """What changes whenever a sync or a push rewrites the session."""
    return (
        selectors.Session.objects.using(using).filter(pk=session_id)
        .values_list("content_digest", "message_count", "pushed_at", "local_modified_at",
                     "deleted_at", "display_name")
        .first()
    )


def watch_events(session_id: str, using: str, *, poll: float, heartbeat: float
                 ) -> Iterator[tuple[str, str]]:
    """``(event, data)`` forever: session_ready, then session_updated on every change and a
    heartbeat on an interval. The SSE stream and ``session watch`` both read this."""
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
