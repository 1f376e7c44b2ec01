"""Thin read-only views: each calls its handler (sessions_app.api.handlers) and returns JSON."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, connections
from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from rest_framework.parsers import JSONParser
from rest_framework.views import APIView

from agentsview import __version__
from agentsview.redact import redact_url
from sessions_app import dto, selectors
from sessions_app.api import handlers
from sessions_app.api.errors import SessionNotFound
from sessions_app.parsers.base import PARSER_VERSION

API_VERSION = 1


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

    def handle_exception(self, exc):
        if isinstance(exc, handlers.SessionMissing):
            exc = SessionNotFound(str(exc))
        return super().handle_exception(exc)


class PingView(ReadOnlyView):
    def get(self, request):
        return json_ok({"ok": True, "healthy": True, "service": "agentsview",
                        "version": __version__, "pid": os.getpid()})


class VersionView(ReadOnlyView):
    def get(self, request):
        return json_ok({
            "version": __version__,
            "read_only": bool(settings.AGENTSVIEW_READ_ONLY),
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
        return JsonResponse({"status": "error", "database": "unreachable",
                             "error": redact_url(reason)}, status=503)
    return JsonResponse({"status": "ok", "database": "connected"})


class SessionListView(ReadOnlyView):
    def get(self, request):
        return json_ok(handlers.session_list(request.query_params, self.using))


class SessionDetailView(ReadOnlyView):
    def get(self, request, session_id: str):
        return json_ok(handlers.session_detail(session_id, self.using))


class MessagesView(ReadOnlyView):
    def get(self, request, session_id: str):
        return json_ok(handlers.session_messages(session_id, request.query_params, self.using))


class ToolCallsView(ReadOnlyView):
    def get(self, request, session_id: str):
        return json_ok(handlers.session_tool_calls(session_id, self.using))


class ChildrenView(ReadOnlyView):
    def get(self, request, session_id: str):
        return json_ok(handlers.session_children(session_id, self.using))


class ExportHtmlView(ReadOnlyView):
    def get(self, request, session_id: str):
        from sessions_app.export import export_filename, session_html

        session = handlers.session_detail(session_id, self.using)
        body = session_html(session, handlers.full_transcript(session_id, self.using))
        response = HttpResponse(body, content_type="text/html; charset=utf-8")
        response["Content-Disposition"] = (
            f'attachment; filename="{export_filename(session, "html")}"'
        )
        return response


class MarkdownView(ReadOnlyView):
    def get(self, request, session_id: str):
        from sessions_app.export import export_filename, session_markdown

        session = handlers.session_detail(session_id, self.using)
        depth = handlers.markdown_depth(request.query_params)

        def load_child(child_id: str):
            child = selectors.get_session(child_id, using=self.using)
            if child is None:
                return None
            return (dto.session_dto(child, detail=True),
                    handlers.full_transcript(child_id, self.using))

        body = session_markdown(session, handlers.full_transcript(session_id, self.using),
                                depth=depth, load_child=load_child)
        response = HttpResponse(body, content_type="text/markdown; charset=utf-8")
        response["Content-Disposition"] = (
            f'inline; filename="{export_filename(session, "md")}"'
        )
        return response


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
    """Server-sent events (see ``handlers.watch_events``). 404 before the stream opens for an
    unknown session; 503 (retry later) when this worker holds its maximum of streams."""

    allow_query_token = True

    def get(self, request, session_id: str):
        if not selectors.session_exists(session_id, using=self.using):
            raise SessionNotFound(f"session not found: {session_id}")
        slots = watch_slots()
        if not slots.acquire(blocking=False):
            return json_ok({"error": "too many open watch streams; retry shortly"}, status=503,
                           headers={"Retry-After": "5"})
        events = handlers.watch_events(
            session_id, self.using, poll=float(settings.AGENTSVIEW_SSE_POLL_SECONDS),
            heartbeat=float(settings.AGENTSVIEW_SSE_HEARTBEAT_SECONDS),
        )

        def stream() -> Iterator[bytes]:
            try:
                for event, data in events:
                    yield f"event: {event}\ndata: {data}\n\n".encode()
            finally:
                slots.release()

        response = StreamingHttpResponse(stream(), content_type="text/event-stream")
        response["Cache-Control"] = "no-cache"
        response["X-Accel-Buffering"] = "no"
        return response


class SearchView(ReadOnlyView):
    def get(self, request):
        return json_ok(handlers.search_results(request.query_params, self.using))


class StatsView(ReadOnlyView):
    def get(self, request):
        return json_ok(handlers.stats(request.query_params, self.using))


class ProjectsView(ReadOnlyView):
    def get(self, request):
        return json_ok(handlers.counts("project", "projects", request.query_params, self.using))


class AgentsView(ReadOnlyView):
    def get(self, request):
        return json_ok(handlers.counts("agent", "agents", request.query_params, self.using))


class MachinesView(ReadOnlyView):
    def get(self, request):
        return json_ok(handlers.machines(request.query_params, self.using))


class NotFoundView(ReadOnlyView):
    """Any other /api/ path: a JSON 404 (for every method, so no write slips through)."""

    http_method_names = ["get", "head", "options", "post", "put", "patch", "delete"]

    def get(self, request):
        return json_ok({"error": "not found"}, status=404)

    post = put = patch = delete = options = get


class SessionSyncView(APIView):
    """``POST /api/v1/sessions/sync`` ``{"path": ...}`` or ``{"id": ...}``: the local
    server re-parses one transcript (what ``session sync`` asks of a running server).
    Refused by a read-only server; a path must lie inside the agent directories, so a
    client cannot make the server read other files."""

    http_method_names = ["post", "options"]
    parser_classes = [JSONParser]

    def post(self, request):
        from agentsview.config import load_config
        from sessions_app.services.sync import (
            AmbiguousSyncTarget,
            SyncTargetError,
            inside_agent_dirs,
            sync_one,
        )

        if settings.AGENTSVIEW_READ_ONLY:
            return json_ok({"error": "session sync is not available on a read-only server"},
                           status=405)
        body = request.data if isinstance(request.data, dict) else {}
        target = body.get("path") or body.get("id")
        if not isinstance(target, str) or not target.strip():
            return json_ok({"error": 'expected a JSON body {"path": ...} or {"id": ...}'},
                           status=400)
        config = load_config()
        if body.get("path") and not inside_agent_dirs(config, Path(target)):
            return json_ok({"error": f"{target} is outside the configured agent directories"},
                           status=400)
        using = settings.AGENTSVIEW_API_DATABASE
        try:
            session_id = sync_one(config, target, using=using)
        except SyncTargetError as exc:
            status = 409 if isinstance(exc, AmbiguousSyncTarget) else 404
            return json_ok({"error": str(exc)}, status=status)
        return json_ok(handlers.session_detail(session_id, using))
