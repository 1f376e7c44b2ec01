"""Thin read-only views of the session API: each calls its endpoint (sessions_app.endpoints)
and returns its JSON. Each view's OpenAPI operation sits on it; its parameters come from the
filter declaration and its bodies from the shapes in ``sessions_app.serializers``."""

from __future__ import annotations

import threading
from collections.abc import Generator
from pathlib import Path

from django.conf import settings
from django.db import connections
from django.http import HttpResponse, StreamingHttpResponse
from drf_spectacular.utils import (
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_view,
)
from rest_framework import serializers as drf
from rest_framework.parsers import JSONParser
from rest_framework.views import APIView

from agentsview import __version__
from agentsview.api import openapi
from agentsview.api.errors import SessionMissing
from agentsview.api.views import ReadOnlyView, json_ok
from agentsview.auth import cross_site_write
from agentsview.slots import SharedSlots
from sessions_app import endpoints, selectors, serializers
from sessions_app.filters import (
    SEARCH_FILTERS,
    SESSION_FILTERS,
    SIDEBAR_FILTERS,
    page_openapi_parameters,
)
from sessions_app.parsers.registry import data_version

SESSIONS, SEARCH, FACETS, SERVICE = (openapi.SESSIONS, openapi.SEARCH, openapi.FACETS,
                                     openapi.SERVICE)
SESSION_ID = openapi.SESSION_ID
VISIBILITY_PARAMETERS = [
    openapi.bool_query("include_one_shot", "Count sessions with at most one user message.",
                       default=False),
    openapi.bool_query("include_automated", "Count automated runs.", default=False),
]
SSE_DESCRIPTION = (
    "Server-sent events, never closed by the server. `session_ready` first (data: the "
    "session id); `session_updated` (data: the session id) whenever a sync or push rewrites "
    "the session (content digest, message count, push time, local modification time, "
    "deletion or display name change), checked every AGENTSVIEW_SSE_POLL_SECONDS (1.5 s); "
    "after each of those two, `session.timing` (data: the session's `/timing` JSON on one "
    "line, as AgentsView sends it); "
    "`heartbeat` (data: the RFC 3339 UTC time) every AGENTSVIEW_SSE_HEARTBEAT_SECONDS (30 s)."
)
SSE_EXAMPLE = openapi.example(
    "stream",
    "event: session_ready\ndata: 8d2f0c1e-1b2a-4c3d-9e8f-0a1b2c3d4e5f\n\n"
    "event: session_updated\ndata: 8d2f0c1e-1b2a-4c3d-9e8f-0a1b2c3d4e5f\n\n"
    "event: heartbeat\ndata: 2026-03-02T09:00:30Z\n\n",
    "text/event-stream",
)
MESSAGE_PARAMETERS = [
    openapi.int_query("around", "Return the message at (or just after) this ordinal with "
                      "`before` and `after` neighbours; cannot be combined with `from` or "
                      "`direction`, and `limit` is then ignored.", minimum=0),
    openapi.int_query("before", "With `around`: messages before the anchor.", minimum=0,
                      maximum=500, default=5),
    openapi.int_query("after", "With `around`: messages after the anchor.", minimum=0,
                      maximum=500, default=5),
    openapi.int_query("limit", "Messages per page (without `around`).", minimum=1,
                      maximum=selectors.MESSAGES_MAX_LIMIT,
                      default=selectors.MESSAGES_DEFAULT_LIMIT),
    openapi.choice_query("direction", ("asc", "desc"), "asc",
                         "Ordinal order (without `around`); `desc` starts at the end."),
    openapi.int_query("from", "First ordinal of the page, inclusive (without `around`).",
                      minimum=0),
]
SEARCH_PARAMETERS = [
    openapi.text_query("q", "Text to search for (not blank).", required=True, blank=False),
    openapi.int_query("limit", "Hits per page.", minimum=1, maximum=endpoints.SEARCH_MAX_LIMIT,
                      default=endpoints.SEARCH_DEFAULT_LIMIT),
    openapi.int_query("cursor", "Offset of the page: `next` of the previous page.", minimum=0,
                      default=0),
    openapi.choice_query("sort", ("relevance", "recency"), "relevance",
                         "`relevance`: each session's best rank first (among the 500 most "
                         "recent matching sessions); `recency`: the most recently active "
                         "first."),
    *SEARCH_FILTERS.openapi_parameters(),
]
MARKDOWN_PARAMETERS = [
    openapi.choice_query("depth", ("1", "all"), None,
                         "Nest subagent sessions after the tool call that spawned them: `1` "
                         "direct children, `all` every descendant. Omitted: the session "
                         "alone."),
]


# AgentsView's clients gate features on it: its `session usage` needs at least 6 (combined
# subagent usage, /sessions/{id}/usage?subagents=true); 12 is v0.46.1's, whose API we follow.
API_VERSION = 12


@openapi.get("get_version", "Server, API and data versions.", tags=SERVICE,
             responses=openapi.responses(openapi.ok(serializers.VERSION.serializer(),
                                                    "Versions.")))
class VersionView(ReadOnlyView):
    def get(self, request):
        return json_ok(serializers.VERSION.dump({
            "version": __version__,
            "read_only": bool(settings.AGENTSVIEW_READ_ONLY),
            "api_version": API_VERSION,
            "usage_available": True,
            "data_version": data_version(),
            "database": connections["default"].vendor,
        }))


@openapi.get(
    "list_sessions", "List sessions, filtered, sorted and paginated by keyset cursor.",
    tags=SESSIONS,
    description="Browsable sessions (never soft-deleted or empty), newest first by default. "
                "Follow `next_cursor` with the same filters and order.",
    parameters=[*SESSION_FILTERS.openapi_parameters(), *page_openapi_parameters()],
    responses=openapi.responses(openapi.ok(serializers.SESSION_LIST.serializer(),
                                           "A page of sessions."), 400),
)
class SessionListView(ReadOnlyView):
    def get(self, request):
        return json_ok(endpoints.session_list(request.query_params, self.using))


@openapi.get("get_session", "One session, with its health basis.", tags=SESSIONS,
             parameters=[SESSION_ID],
             responses=openapi.responses(openapi.ok(serializers.SESSION_DETAIL.serializer(),
                                                    "The session."), 404))
class SessionDetailView(ReadOnlyView):
    def get(self, request, session_id: str):
        return json_ok(endpoints.session_detail(session_id, self.using))


@openapi.get(
    "list_session_messages", "A page of a session's messages with their tool calls.",
    tags=SESSIONS,
    description="By ordinal from the start (or the end with `direction=desc`), or a window "
                "`around` an ordinal.",
    parameters=[SESSION_ID, *MESSAGE_PARAMETERS],
    responses=openapi.responses(openapi.ok(serializers.MESSAGE_PAGE.serializer(),
                                           "A page of messages (empty for an unknown "
                                           "session, as AgentsView answers)."), 400),
)
class MessagesView(ReadOnlyView):
    def get(self, request, session_id: str):
        return json_ok(endpoints.session_messages(session_id, request.query_params, self.using,
                                                 missing_ok=True))


@openapi.get("list_session_tool_calls", "Every tool call of a session, in order.",
             tags=SESSIONS, parameters=[SESSION_ID],
             responses=openapi.responses(openapi.ok(serializers.TOOL_CALL_LIST.serializer(),
                                                    "The tool calls (none for an unknown "
                                                    "session).")))
class ToolCallsView(ReadOnlyView):
    def get(self, request, session_id: str):
        return json_ok(endpoints.session_tool_calls(session_id, self.using, missing_ok=True))


@openapi.get(
    "list_session_children", "The direct child sessions (subagents, forks) of a session.",
    tags=SESSIONS, description="A bare array, oldest first; soft-deleted children are left out.",
    parameters=[SESSION_ID],
    responses=openapi.responses(openapi.ok(serializers.SESSION.serializer(many=True),
                                           "The children (none for an unknown session)."
                                           )),
)
class ChildrenView(ReadOnlyView):
    def get(self, request, session_id: str):
        return json_ok(endpoints.session_children(session_id, self.using, missing_ok=True))


@openapi.get(
    "get_session_usage", "A session's tokens and cost (exact microdollars), per usage record.",
    tags=SESSIONS,
    description="Costs come from the model price table (`prices.toml` and config.toml's "
                "`[pricing]`); a model without a price makes the cost null, never 0, and is "
                "listed in `unpriced_models`. 404 is `{\"error\": {\"code\": "
                "\"session_not_found\", ...}}`.",
    parameters=[SESSION_ID,
                openapi.bool_query("breakdown", "List each usage record.", default=False),
                openapi.bool_query("subagents", "Combine the usage of every subagent "
                                                "descendant (then `subagent_count` says how "
                                                "many).", default=False)],
    responses={**openapi.responses(openapi.ok(serializers.SESSION_USAGE.serializer(),
                                              "The usage."), 400),
               404: OpenApiResponse(serializers.CODED_ERROR.serializer(),
                                    description="No such session (`session_not_found`).")},
)
class SessionUsageView(ReadOnlyView):
    def get(self, request, session_id: str):
        return json_ok(endpoints.session_usage(session_id, request.query_params, self.using))


@openapi.get(
    "export_session_html", "The whole session as a self-contained HTML page (download).",
    tags=SESSIONS,
    parameters=[SESSION_ID, openapi.header("Content-Disposition",
                                           'attachment; filename="<name>.html"')],
    responses=openapi.responses(openapi.text_ok("text/html", "The HTML page (UTF-8)."), 404),
)
class ExportHtmlView(ReadOnlyView):
    def get(self, request, session_id: str):
        from sessions_app.export import export_filename, session_html

        session = endpoints.session_detail(session_id, self.using)
        body = session_html(session, endpoints.full_transcript(session_id, self.using))
        response = HttpResponse(body, content_type="text/html; charset=utf-8")
        response["Content-Disposition"] = (
            f'attachment; filename="{export_filename(session, "html")}"'
        )
        return response


@openapi.get(
    "export_session_markdown", "The whole session as XML-tagged Markdown.", tags=SESSIONS,
    parameters=[SESSION_ID, *MARKDOWN_PARAMETERS,
                openapi.header("Content-Disposition", 'inline; filename="<name>.md"')],
    responses=openapi.responses(openapi.text_ok("text/markdown", "The Markdown (UTF-8)."),
                                400, 404),
)
class MarkdownView(ReadOnlyView):
    def get(self, request, session_id: str):
        from sessions_app.export import export_filename, session_markdown

        session = endpoints.session_detail(session_id, self.using)
        depth = endpoints.markdown_depth(request.query_params)

        def load_child(child_id: str):
            child = selectors.get_session(child_id, using=self.using)
            if child is None:
                return None
            return (serializers.SESSION_DETAIL.dump(child),
                    endpoints.full_transcript(child_id, self.using))

        def children_of(parent_id: str) -> list[str]:
            return [c.id for c in selectors.child_sessions(parent_id, using=self.using)]

        body = session_markdown(session, endpoints.full_transcript(session_id, self.using),
                                depth=depth, load_child=load_child, children_of=children_of)
        response = HttpResponse(body, content_type="text/markdown; charset=utf-8")
        response["Content-Disposition"] = (
            f'inline; filename="{export_filename(session, "md")}"'
        )
        return response


_watch_slots: SharedSlots | None = None
_watch_slots_lock = threading.Lock()


def watch_slots() -> SharedSlots:
    """The watch streams the server may hold open: AGENTSVIEW_MAX_WATCH_STREAMS in all,
    counted across its workers (AGENTSVIEW_WATCH_SLOTS_FILE), whichever worker a stream
    lands on. ``serve`` sets it to threads - 4, so even a worker holding every stream keeps
    4 threads for ordinary requests."""
    global _watch_slots
    with _watch_slots_lock:
        if _watch_slots is None:
            _watch_slots = SharedSlots(settings.AGENTSVIEW_MAX_WATCH_STREAMS,
                                       settings.AGENTSVIEW_WATCH_SLOTS_FILE or None)
        return _watch_slots


class _Stream:
    """The events of one watch stream as SSE bytes; closing it (Django closes the response
    when the client goes, even one never read) gives its slot back, once."""

    def __init__(self, events: Generator[tuple[str, str]], slots: SharedSlots,
                 slot: int) -> None:
        self.events, self.slots, self.slot = events, slots, slot

    def __iter__(self) -> _Stream:
        return self

    def __next__(self) -> bytes:
        item = next(self.events)
        event_id = f"id: {item[2]}\n" if len(item) > 2 and item[2] is not None else ""
        return f"{event_id}event: {item[0]}\ndata: {item[1]}\n\n".encode()

    def close(self) -> None:
        if self.slot is not None:
            self.slots.release(self.slot)
            self.slot = None
            self.events.close()


def _last_event_id(request) -> int | None:
    """The id of the last event a reconnecting client saw: ``?last_event_id=`` (for clients
    that cannot set headers; checked like any parameter), else the ``Last-Event-ID`` header
    an EventSource sends by itself (anything but a number there counts as none)."""
    from agentsview.api.params import Params

    asked = Params(request.GET).integer("last_event_id", minimum=0)  # a bad one: 400
    if asked is not None:
        return asked
    raw = request.headers.get("Last-Event-ID", "")
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 19 else None


@openapi.get(
    "watch_session", "Stream change notifications of a session (server-sent events).",
    tags=SESSIONS, description=SSE_DESCRIPTION + " The token may be passed as `?token=` here.",
    parameters=[SESSION_ID, openapi.header("Cache-Control", "`no-cache`."),
                openapi.header("X-Accel-Buffering", "`no` (no proxy buffering)."),
                openapi.int_query("last_event_id", "The id of the last event seen (on the"
                                  " shared PostgreSQL): a change after it is sent at once;"
                                  " the `Last-Event-ID` header does the same.", minimum=0),
                openapi.OpenApiParameter(
                    "Last-Event-ID", openapi.OpenApiTypes.STR, openapi.OpenApiParameter.HEADER,
                    description="What a reconnecting EventSource sends: the id of the last"
                                " event it saw.")],
    responses=openapi.responses(
        openapi.text_ok("text/event-stream", "The event stream.", [SSE_EXAMPLE]), 400, 404),
)
class WatchView(ReadOnlyView):
    """Server-sent events (see ``endpoints.watch_events``). 404 before the stream opens for an
    unknown session; 503 (retry later) when the server holds its maximum of streams."""

    allow_query_token = True

    def get(self, request, session_id: str):
        if not selectors.session_exists(session_id, using=self.using):
            raise SessionMissing(session_id, f"session not found: {session_id}")
        last_event_id = _last_event_id(request)
        return event_stream(lambda: endpoints.watch_events(
            session_id, self.using, poll=float(settings.AGENTSVIEW_SSE_POLL_SECONDS),
            heartbeat=float(settings.AGENTSVIEW_SSE_HEARTBEAT_SECONDS),
            last_event_id=last_event_id))


def event_stream(open_events) -> HttpResponse:
    """An SSE response of the events *open_events* yields, holding one of the server's
    stream slots while it lasts (503, retry later, when every slot is taken)."""
    slots = watch_slots()
    slot = slots.acquire()
    if slot is None:
        return json_ok({"error": "too many open watch streams; retry shortly"}, status=503,
                       headers={"Retry-After": "5"})
    try:
        response = StreamingHttpResponse(_Stream(open_events(), slots, slot),
                                         content_type="text/event-stream")
    except BaseException:
        slots.release(slot)
        raise
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


EVENTS_EXAMPLE = openapi.example(
    "stream", "event: events_ready\ndata: {}\n\nevent: data_changed\n"
              'data: {"scope":"sessions"}\n\nevent: heartbeat\ndata: 2026-03-02T09:00:30Z\n\n',
    "text/event-stream")


@openapi.get(
    "server_events", "Stream a notice whenever any session changes (server-sent events).",
    tags=SERVICE,
    description="`events_ready` first (data `{}`); `data_changed` (data "
                '`{"scope":"sessions"}`) after a sync, push, store append or delete changed '
                "any session, a burst within AGENTSVIEW_SSE_POLL_SECONDS being one event "
                "(from the shared PostgreSQL's notifications; a SQLite archive is looked at "
                "that often); `heartbeat` (the RFC 3339 UTC time) every "
                "AGENTSVIEW_SSE_HEARTBEAT_SECONDS. The token may be passed as `?token=` here.",
    parameters=[openapi.header("Cache-Control", "`no-cache`.")],
    responses=openapi.responses(
        openapi.text_ok("text/event-stream", "The event stream.", [EVENTS_EXAMPLE])),
)
class EventsView(ReadOnlyView):
    allow_query_token = True

    def get(self, request):
        return event_stream(lambda: endpoints.server_events(
            self.using, poll=float(settings.AGENTSVIEW_SSE_POLL_SECONDS),
            heartbeat=float(settings.AGENTSVIEW_SSE_HEARTBEAT_SECONDS)))


@openapi.get(
    "search_messages", "Full-text search over messages, one page of hits.", tags=SEARCH,
    description="Covers child, one-shot and automated sessions unless narrowed by the session "
                "filters (whose include_* flags default to true here).",
    parameters=SEARCH_PARAMETERS,
    responses=openapi.responses(openapi.ok(serializers.SEARCH_RESULTS.serializer(),
                                           "A page of hits."), 400),
)
class SearchView(ReadOnlyView):
    def get(self, request):
        return json_ok(endpoints.search_results(request.query_params, self.using))


@openapi.get("get_stats", "Totals over the browsable top-level sessions.", tags=FACETS,
             parameters=VISIBILITY_PARAMETERS,
             responses=openapi.responses(openapi.ok(serializers.STATS.serializer(),
                                                    "The totals."), 400))
class StatsView(ReadOnlyView):
    def get(self, request):
        return json_ok(endpoints.stats(request.query_params, self.using))


@openapi.get("list_projects", "Projects with their session counts.", tags=FACETS,
             parameters=VISIBILITY_PARAMETERS,
             responses=openapi.responses(openapi.ok(serializers.PROJECT_LIST.serializer(),
                                                    "The projects."), 400))
class ProjectsView(ReadOnlyView):
    def get(self, request):
        return json_ok(endpoints.projects(request.query_params, self.using))


@openapi.get("list_agents", "Agents with their session counts.", tags=FACETS,
             parameters=VISIBILITY_PARAMETERS,
             responses=openapi.responses(openapi.ok(serializers.AGENT_LIST.serializer(),
                                                    "The agents."), 400))
class AgentsView(ReadOnlyView):
    def get(self, request):
        return json_ok(endpoints.agents(request.query_params, self.using))


@openapi.get("list_machines", "Machine names that have sessions.", tags=FACETS,
             parameters=VISIBILITY_PARAMETERS,
             responses=openapi.responses(openapi.ok(serializers.MACHINE_LIST.serializer(),
                                                    "The machines."), 400))
class MachinesView(ReadOnlyView):
    def get(self, request):
        return json_ok(endpoints.machines(request.query_params, self.using))


class SyncByPathSerializer(drf.Serializer):
    path = drf.RegexField(openapi.NOT_BLANK, help_text="A transcript file inside the "
                                                       "configured agent directories.")


class SyncByIdSerializer(drf.Serializer):
    id = drf.RegexField(openapi.NOT_BLANK, help_text="A session already in the archive.")


SYNC_REQUEST = PolymorphicProxySerializer(
    component_name="SessionSyncRequest", serializers=[SyncByPathSerializer, SyncByIdSerializer],
    resource_type_field_name=None)


@extend_schema_view(post=extend_schema(
    operation_id="sync_session",
    summary="Re-parse one transcript into the local archive (local server only).",
    description="Give `path` (a file inside the agent directories) or `id`. Answers the "
                "session. Refused (405) by a read-only server, from a page of another site "
                "(403: an `Origin` other than the server's own; scripts send none), and with "
                "a body that is not `application/json` (415); 409 when the file holds "
                "several sessions (all stored; name one by id).",
    tags=SESSIONS, request=SYNC_REQUEST,
    responses={
        200: OpenApiResponse(serializers.SESSION_DETAIL.serializer(),
                             description="The synced session."),
        400: openapi.error(400, "Neither a path nor an id, a NUL byte in one, or a path "
                                "outside the agent directories."),
        401: openapi.error(401),
        403: openapi.error(403, "The host or client is not allowed, or the Origin is "
                                "another site's."),
        404: openapi.error(404, "Not in the archive, or no file."),
        405: openapi.error(405, "A read-only (pg serve) server."),
        409: openapi.error(409, "The file holds several sessions."),
        415: openapi.error(415, "The body is not JSON."),
        429: openapi.error(429),
    },
))
class SessionSyncView(APIView):
    """``POST /api/v1/sessions/sync`` ``{"path": ...}`` or ``{"id": ...}``: the local
    server re-parses one transcript (what ``session sync`` asks of a running server).
    Refused by a read-only server, from another site's page (403: its Origin is not this
    server's) and with a body that is not JSON (415); a path must lie inside the agent
    directories, so a client cannot make the server read other files."""

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
        refusal = cross_site_write(request)
        if refusal:
            return json_ok({"error": refusal}, status=403)
        media_type = request.content_type.split(";")[0].strip().lower()
        if media_type != "application/json":
            # what a page of another site can send without asking first: a form, plain text
            return json_ok({"error": "expected a JSON body (Content-Type: application/json),"
                                     f" not {media_type or 'none'}"}, status=415)
        body = request.data if isinstance(request.data, dict) else {}
        target = body.get("path") or body.get("id")
        if not isinstance(target, str) or not target.strip():
            return json_ok({"error": 'expected a JSON body {"path": ...} or {"id": ...}'},
                           status=400)
        if "\x00" in target:  # the one NUL rule of every request: refused, naming it
            name = "path" if body.get("path") else "id"
            return json_ok({"error": f"NUL byte not allowed (body.{name})"}, status=400)
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
        return json_ok(endpoints.session_detail(session_id, using))


# --- AgentsView's other read endpoints (issue 19) ---------------------------------------------

CONTENT_SEARCH_PARAMETERS = [
    openapi.text_query("pattern", "What to look for (not blank).", required=True, blank=False),
    openapi.choice_query("mode", ("substring", "regex", "fts"), "substring",
                         "`substring`: anywhere, ignoring case; `regex`: a regular expression, "
                         "ignoring case; `fts`: every word of the pattern. AgentsView's "
                         "`semantic` and `hybrid` (embeddings) are not served: 400 saying so."),
    openapi.list_query("in", "Where to look (default: everywhere).",
                       enum=("messages", "thinking", "tool_input", "tool_result")),
    openapi.int_query("limit", "Matches per page.", minimum=1,
                      maximum=endpoints.SEARCH_MAX_LIMIT,
                      default=endpoints.CONTENT_DEFAULT_LIMIT),
    openapi.int_query("cursor", "Offset of the page: `next_cursor` of the previous page.",
                      minimum=0, default=0),
    openapi.bool_query("exclude_system", "Leave out system messages (resumes, "
                                         "interruptions, hooks).", default=False),
    *SESSION_FILTERS.openapi_parameters(),
]


@openapi.get(
    "sidebar_session_index", "Every session the filters keep, as skinny rows, unpaged.",
    tags=SESSIONS,
    description="What AgentsView's sidebar groups: children included unless "
                "include_children=false; in `order_by` order (default newest first).",
    parameters=[*SIDEBAR_FILTERS.openapi_parameters(), *page_openapi_parameters()[:2]],
    responses=openapi.responses(openapi.ok(serializers.SIDEBAR_INDEX.serializer(),
                                           "The sessions."), 400),
)
class SidebarIndexView(ReadOnlyView):
    def get(self, request):
        return json_ok(endpoints.sidebar_index(request.query_params, self.using))


@openapi.get("list_branches", "Branches with sessions, per project, with filter tokens.",
             tags=FACETS, parameters=VISIBILITY_PARAMETERS,
             responses=openapi.responses(openapi.ok(serializers.BRANCH_LIST.serializer(),
                                                    "The branches."), 400))
class BranchesView(ReadOnlyView):
    def get(self, request):
        return json_ok(endpoints.branches(request.query_params, self.using))


@openapi.get(
    "search_content", "Every occurrence of a pattern in messages, thinking and tool calls.",
    tags=SEARCH,
    description="Sessions newest first, then by ordinal; each match names its location, "
                "snippet and turn. Session filters as the session list (children and "
                "one-shot sessions left out unless included).",
    parameters=CONTENT_SEARCH_PARAMETERS,
    responses=openapi.responses(openapi.ok(serializers.CONTENT_RESULTS.serializer(),
                                           "A page of matches."), 400),
)
class ContentSearchView(ReadOnlyView):
    def get(self, request):
        return json_ok(endpoints.content_search(request.query_params, self.using))


@openapi.get("search_session", "Ordinals of a session's messages holding every word.",
             tags=SEARCH,
             parameters=[SESSION_ID, openapi.text_query("q", "Words to look for (not blank).",
                                                        required=True, blank=False)],
             responses=openapi.responses(openapi.ok(serializers.ORDINALS.serializer(),
                                                    "The ordinals."), 400, 404))
class SessionSearchView(ReadOnlyView):
    def get(self, request, session_id: str):
        return json_ok(endpoints.session_search(session_id, request.query_params, self.using))


@openapi.get("get_session_timing", "Where a session's time went: tool turns and prompts.",
             tags=SESSIONS, parameters=[SESSION_ID],
             responses=openapi.responses(openapi.ok(serializers.TIMING.serializer(),
                                                    "The timing."), 404))
class TimingView(ReadOnlyView):
    def get(self, request, session_id: str):
        return json_ok(endpoints.session_timing(session_id, self.using))


@openapi.get("get_session_activity", "A session's messages per time interval.",
             tags=SESSIONS, parameters=[SESSION_ID],
             responses=openapi.responses(openapi.ok(serializers.ACTIVITY.serializer(),
                                                    "The buckets."), 404))
class ActivityView(ReadOnlyView):
    def get(self, request, session_id: str):
        return json_ok(endpoints.session_activity(session_id, self.using))
