"""Thin read-only views: parse parameters, call a selector, return the DTO."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

from django.conf import settings
from django.db import DatabaseError, connections
from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from rest_framework.views import APIView

from agentsview import __version__
from agentsview.timefmt import rfc3339
from sessions_app import dto, selectors
from sessions_app.api.errors import SessionNotFound
from sessions_app.filters import BadParameter, Params, parse_session_filters, parse_session_query
from sessions_app.parsers.base import PARSER_VERSION
from sessions_app.search import search

API_VERSION = 1
SEARCH_DEFAULT_LIMIT = 50
SEARCH_MAX_LIMIT = 500


def json_ok(data: object, status: int = 200, headers: dict | None = None) -> HttpResponse:
    return HttpResponse(dto.dumps(data), content_type="application/json", status=status,
                        headers=headers)


class ReadOnlyView(APIView):
    """GET only: any write method is 405, whatever the route."""

    http_method_names = ["get", "head", "options"]

    @property
    def using(self) -> str:
        """The database the API reads: the one this process serves."""
        return settings.AGENTSVIEW_API_DATABASE

    def session_or_404(self, session_id: str):
        session = selectors.get_session(session_id, using=self.using)
        if session is None:
            raise SessionNotFound()
        return session

    def require_session(self, session_id: str) -> None:
        """404 unless the session exists (without loading its row)."""
        if not selectors.session_exists(session_id, using=self.using):
            raise SessionNotFound()


class PingView(ReadOnlyView):
    def get(self, request):
        return json_ok({"ok": True, "healthy": True, "service": "agentsview",
                        "version": __version__, "pid": os.getpid()})


class VersionView(ReadOnlyView):
    def get(self, request):
        return json_ok({
            "version": __version__,
            "read_only": bool(getattr(settings, "AGENTSVIEW_READ_ONLY", False)),
            "api_version": API_VERSION,
            "data_version": PARSER_VERSION,
            "database": connections["default"].vendor,
        })


def health_db(request):
    """Plain Django view: load balancers probe it without a token; it reveals no data."""
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        from agentsview.redact import redact_url

        return JsonResponse({"status": "error", "database": "unreachable",
                             "error": redact_url(reason)}, status=503)
    return JsonResponse({"status": "ok", "database": "connected"})


class SessionListView(ReadOnlyView):
    def get(self, request):
        query = parse_session_query(request.query_params, default_limit=selectors.DEFAULT_LIMIT,
                                    max_limit=selectors.MAX_LIMIT)
        page = selectors.list_sessions(query, using=self.using)
        data: dict = {"sessions": [dto.session_dto(s) for s in page.sessions]}
        if page.next_cursor:
            data["next_cursor"] = page.next_cursor
        data["total"] = page.total
        return json_ok(data)


class SessionDetailView(ReadOnlyView):
    def get(self, request, session_id: str):
        return json_ok(dto.session_dto(self.session_or_404(session_id), detail=True))


class MessagesView(ReadOnlyView):
    def get(self, request, session_id: str):
        self.require_session(session_id)
        p = Params(request.query_params)
        around = p.integer("around", minimum=0)
        if around is not None:
            for name in ("from", "direction"):
                if p.text(name) is not None:
                    raise BadParameter(name, p.text(name), "cannot be combined with around")
            page = selectors.messages_around(
                session_id, around,
                before=p.integer("before", minimum=0, maximum=500, default=5),
                after=p.integer("after", minimum=0, maximum=500, default=5),
                using=self.using,
            )
        else:
            page = selectors.session_messages(
                session_id,
                limit=p.integer("limit", minimum=1, maximum=selectors.MESSAGES_MAX_LIMIT,
                                default=selectors.MESSAGES_DEFAULT_LIMIT),
                descending=p.choice("direction", ("asc", "desc"), "asc") == "desc",
                from_ordinal=p.integer("from", minimum=0),
                using=self.using,
            )
        return json_ok(dto.message_page_dto(page))


class ToolCallsView(ReadOnlyView):
    def get(self, request, session_id: str):
        self.require_session(session_id)
        calls = [dto.flat_tool_call_dto(call, ts)
                 for call, ts in selectors.session_tool_calls(session_id, using=self.using)]
        return json_ok({"tool_calls": calls, "count": len(calls)})


class ChildrenView(ReadOnlyView):
    def get(self, request, session_id: str):
        self.require_session(session_id)
        children = selectors.child_sessions(session_id, using=self.using)
        return json_ok([dto.session_dto(s) for s in children])


def _full_transcript(session_id: str, using: str) -> list[dict]:
    page = selectors.session_messages(session_id, limit=10**9, using=using)
    return dto.message_page_dto(page)["messages"]


class ExportHtmlView(ReadOnlyView):
    def get(self, request, session_id: str):
        from sessions_app.export import export_filename, session_html

        session = dto.session_dto(self.session_or_404(session_id), detail=True)
        body = session_html(session, _full_transcript(session_id, self.using))
        response = HttpResponse(body, content_type="text/html; charset=utf-8")
        response["Content-Disposition"] = (
            f'attachment; filename="{export_filename(session, "html")}"'
        )
        return response


class MarkdownView(ReadOnlyView):
    def get(self, request, session_id: str):
        from sessions_app.export import export_filename, session_markdown

        session = dto.session_dto(self.session_or_404(session_id), detail=True)
        raw_depth = Params(request.query_params).text("depth")
        if raw_depth not in (None, "1", "all"):
            raise BadParameter("depth", raw_depth, 'expected value to be one of "1, all"')
        depth = None if raw_depth is None else (1 if raw_depth == "1" else "all")

        def load_child(child_id: str):
            child = selectors.get_session(child_id, using=self.using)
            if child is None:
                return None
            return dto.session_dto(child, detail=True), _full_transcript(child_id, self.using)

        body = session_markdown(session, _full_transcript(session_id, self.using), depth=depth,
                                load_child=load_child)
        response = HttpResponse(body, content_type="text/markdown; charset=utf-8")
        response["Content-Disposition"] = (
            f'inline; filename="{export_filename(session, "md")}"'
        )
        return response


def _sse(event: str, data: str) -> bytes:
    return f"event: {event}\ndata: {data}\n\n".encode()


def session_version(session_id: str, using: str) -> tuple | None:
    """What changes whenever a sync or a push rewrites the session."""
    return (
        selectors.Session.objects.using(using).filter(pk=session_id)
        .values_list("content_digest", "message_count", "pushed_at", "local_modified_at",
                     "deleted_at", "display_name")
        .first()
    )


_watch_slots: threading.BoundedSemaphore | None = None
_watch_slots_lock = threading.Lock()


def watch_slots() -> threading.BoundedSemaphore:
    """Streams this worker process may hold open: fewer than its threads, so streams can
    never take every thread and starve ordinary requests."""
    global _watch_slots
    with _watch_slots_lock:
        if _watch_slots is None:
            _watch_slots = threading.BoundedSemaphore(settings.AGENTSVIEW_MAX_WATCH_STREAMS)
        return _watch_slots


class WatchView(ReadOnlyView):
    """Server-sent events: ``session_updated`` when the session changes, ``heartbeat`` on
    an interval. 404 before the stream opens for an unknown session; 503 (retry later) when
    this worker already holds its maximum of streams."""

    allow_query_token = True

    def get(self, request, session_id: str):
        if not selectors.session_exists(session_id, using=self.using):
            raise SessionNotFound(f"session not found: {session_id}")
        slots = watch_slots()
        if not slots.acquire(blocking=False):
            return json_ok({"error": "too many open watch streams; retry shortly"}, status=503,
                           headers={"Retry-After": "5"})
        poll = float(settings.AGENTSVIEW_SSE_POLL_SECONDS)
        heartbeat = float(settings.AGENTSVIEW_SSE_HEARTBEAT_SECONDS)
        using = self.using

        def stream() -> Iterator[bytes]:
            try:
                last = session_version(session_id, using)
                yield _sse("session_ready", session_id)
                next_beat = time.monotonic() + heartbeat
                while True:
                    time.sleep(poll)
                    current = session_version(session_id, using)
                    if current != last:
                        last = current
                        yield _sse("session_updated", session_id)
                    if time.monotonic() >= next_beat:
                        next_beat = time.monotonic() + heartbeat
                        now = datetime.now(UTC).replace(microsecond=0)
                        yield _sse("heartbeat", rfc3339(now))
            finally:
                slots.release()

        response = StreamingHttpResponse(stream(), content_type="text/event-stream")
        response["Cache-Control"] = "no-cache"
        response["X-Accel-Buffering"] = "no"
        return response


def _search_filter_params(query_params):
    """Search covers every browsable session unless the caller narrows it (repeated
    parameters such as ``project=a&project=b`` are kept)."""
    params = query_params.copy()
    for key in ("include_one_shot", "include_automated", "include_children"):
        params.setdefault(key, "true")
    return params


class SearchView(ReadOnlyView):
    def get(self, request):
        p = Params(request.query_params)
        q = p.required("q")
        limit = p.integer("limit", minimum=1, maximum=SEARCH_MAX_LIMIT,
                          default=SEARCH_DEFAULT_LIMIT)
        offset = p.integer("cursor", minimum=0, default=0)
        filters = parse_session_filters(_search_filter_params(request.query_params))
        hits, more = search(q, filters, using=self.using, limit=limit, offset=offset)
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
        return json_ok(data)


def _visibility(request) -> dict:
    p = Params(request.query_params)
    return {"include_one_shot": p.boolean("include_one_shot"),
            "include_automated": p.boolean("include_automated")}


class StatsView(ReadOnlyView):
    def get(self, request):
        row = selectors.stats(using=self.using, **_visibility(request))
        return json_ok({
            "session_count": row["session_count"],
            "message_count": row["message_count"],
            "project_count": row["project_count"],
            "machine_count": row["machine_count"],
            "earliest_session": rfc3339(row["earliest"]),
        })


class ProjectsView(ReadOnlyView):
    def get(self, request):
        rows = selectors.counts_by("project", using=self.using, **_visibility(request))
        return json_ok({"projects": [{"name": n, "session_count": c} for n, c in rows]})


class AgentsView(ReadOnlyView):
    def get(self, request):
        rows = selectors.counts_by("agent", using=self.using, **_visibility(request))
        return json_ok({"agents": [{"name": n, "session_count": c} for n, c in rows]})


class MachinesView(ReadOnlyView):
    def get(self, request):
        rows = selectors.counts_by("machine", using=self.using, **_visibility(request))
        names = [n for n, _ in rows]
        return json_ok({"machines": names, "machine_labels": {n: n for n in names},
                        "machine_aliases": {}})


class NotFoundView(ReadOnlyView):
    """Any other /api/ path: a JSON 404 (for every method, so no write slips through)."""

    http_method_names = ["get", "head", "options", "post", "put", "patch", "delete"]

    def get(self, request):
        return json_ok({"error": "not found"}, status=404)

    post = put = patch = delete = options = get
