"""OpenAPI annotations of the read-only JSON API, applied to the views from outside.

``sessions_app.api.urls`` imports this module. The serializers below never run: they only
describe, field by field, the JSON that ``sessions_app.dto`` and the views build. A field
the DTO omits when empty is not required; a field that is always present but may be null is
required and nullable.
"""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_serializer,
    extend_schema_view,
)
from rest_framework import serializers

from sessions_app import selectors
from sessions_app.api import handlers, views
from sessions_app.filters import AUTOMATED_SCOPES, HEALTH_GRADES, OUTCOMES, SESSION_ORDER_KEYS

# ---------------------------------------------------------------------------
# Authentication
# ---------------------------------------------------------------------------


class BearerAuthenticationScheme(OpenApiAuthenticationExtension):
    """``Authorization: Bearer <token>``; ``?token=`` as well on views that allow it."""

    target_class = "agentsview.auth.BearerAuthentication"
    name = ["bearerAuth", "queryToken"]

    def get_security_definition(self, auto_schema):
        bearer = build_bearer_security_scheme_object(header_name="Authorization",
                                                     token_prefix="Bearer")
        bearer["description"] = (
            "The server token (printed once when the server starts) or a person's API token. "
            "Required when the server is reachable off loopback (AGENTSVIEW_REQUIRE_AUTH); a "
            "loopback-only server also answers without one. A malformed Authorization header "
            "or an unknown token is refused with 401 even then."
        )
        query = {
            "type": "apiKey",
            "in": "query",
            "name": "token",
            "description": "The same token as a query parameter; honoured only by the watch "
                           "stream (an EventSource cannot set headers).",
        }
        return [bearer, query]

    def get_security_requirement(self, auto_schema):
        requirements = [{"bearerAuth": []}]
        if getattr(auto_schema.view, "allow_query_token", False):
            requirements.append({"queryToken": []})
        requirements.append({})  # auth off: a loopback-only server
        return requirements


class DashboardCookieScheme(OpenApiAuthenticationExtension):
    """The dashboard's signed session cookie: GET requests of a signed-in browser only."""

    target_class = "agentsview.auth.DashboardSessionAuthentication"
    name = "dashboardCookie"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": settings.SESSION_COOKIE_NAME,
            "description": "Set by signing in on the dashboard with the server token; "
                           "accepted for reads only.",
        }


# ---------------------------------------------------------------------------
# Response bodies (documentation only)
# ---------------------------------------------------------------------------


def _doc(cls):
    """Register *cls* as a single object, never a list (APIView paths look like lists)."""
    return extend_schema_serializer(many=False)(cls)


def _str(help_text: str = "", *, required: bool = True, null: bool = False):
    return serializers.CharField(help_text=help_text or None, required=required,
                                 allow_null=null, allow_blank=True)


def _int(help_text: str = "", *, required: bool = True, null: bool = False):
    return serializers.IntegerField(help_text=help_text or None, required=required,
                                    allow_null=null)


def _bool(help_text: str = "", *, required: bool = True):
    return serializers.BooleanField(help_text=help_text or None, required=required)


def _time(help_text: str = "", *, required: bool = True, null: bool = True):
    text = "RFC 3339 UTC (trailing fraction zeros trimmed)." + (f" {help_text}" if help_text
                                                                else "")
    return serializers.DateTimeField(help_text=text, required=required, allow_null=null)


def _any_list(help_text: str, *, required: bool = True):
    return serializers.ListField(child=serializers.JSONField(), help_text=help_text,
                                 required=required)


@_doc
class ErrorSerializer(serializers.Serializer):
    """Every API error: one line naming the problem (and the parameter, for a 400)."""

    error = _str("For example `invalid integer (query.limit: abc)`.")


@_doc
class PingSerializer(serializers.Serializer):
    """Liveness of the API process."""

    ok = _bool("Always true.")
    healthy = _bool("Always true.")
    service = _str("Always `agentsview`.")
    version = _str("Server version.")
    pid = _int("Process id of the answering worker.")


@_doc
class VersionSerializer(serializers.Serializer):
    """Server, API and data versions."""

    version = _str("Server version.")
    read_only = _bool("AGENTSVIEW_READ_ONLY.")
    api_version = _int("Version of this API (1).")
    data_version = _int("Parser version that writes the session rows.")
    database = _str("Django database vendor, e.g. `sqlite` or `postgresql`.")


@_doc
class QualitySignalsSerializer(serializers.Serializer):
    """Prompt-quality signals of a session."""

    version = _int("Version of the signal computation (0: not computed).")
    short_prompt_count = _int()
    unstructured_start = _bool()
    missing_success_criteria_count = _int()
    missing_verification_count = _int()
    duplicate_prompt_count = _int()
    no_code_context_count = _int()
    runaway_tool_loop_count = _int()


@_doc
class SessionSerializer(serializers.Serializer):
    """A session as lists show it. Optional strings are omitted when empty."""

    id = _str("Global id: bare for Claude, `<agent>:<id>` otherwise.")
    project = _str()
    machine = _str()
    agent = _str()
    session_kind = _str("E.g. `non-interactive`; omitted when empty.", required=False)
    first_message = _str()
    display_name = _str("Omitted when unset.", required=False)
    started_at = _time()
    ended_at = _time()
    message_count = _int()
    user_message_count = _int()
    parent_session_id = _str("Omitted for a top-level session.", required=False)
    relationship_type = _str("E.g. `subagent`, `fork`; omitted when empty.", required=False)
    total_output_tokens = _int()
    peak_context_tokens = _int()
    has_total_output_tokens = _bool()
    has_peak_context_tokens = _bool()
    is_automated = _bool()
    tool_failure_signal_count = _int()
    tool_retry_count = _int()
    edit_churn_count = _int()
    consecutive_failure_max = _int()
    outcome = _str("E.g. `completed`, `abandoned`, `errored`, `unknown`.")
    outcome_confidence = _str("E.g. `low`.")
    ended_with_role = _str("Role of the last message; may be empty.")
    final_failure_streak = _int()
    compaction_count = _int()
    mid_task_compaction_count = _int()
    context_pressure_max = serializers.FloatField(help_text="Omitted when not computed.",
                                                  required=False)
    health_score = _int("Null when not computed.", null=True)
    health_grade = _str("`A`..`F`; null when not computed.", null=True)
    secret_leak_count = _int("Always 0 (kept for AgentsView compatibility).")
    cwd = _str("Working directory; may be empty.")
    git_branch = _str("Omitted when empty.", required=False)
    project_assigned = _bool("Always false (kept for AgentsView compatibility).")
    pr_links = _any_list("Always empty (kept for AgentsView compatibility).")
    labels = _any_list("Always empty (kept for AgentsView compatibility).")
    source_session_id = _str("The agent's own id; omitted when empty.", required=False)
    source_version = _str("Agent version; omitted when empty.", required=False)
    termination_status = _str("Omitted when empty.", required=False)
    parser_malformed_lines = _int("Present only when non-zero.", required=False)
    is_truncated = _bool("Present (true) only when the source file was truncated.",
                         required=False)
    deleted_at = _time("Present only when soft-deleted.", required=False, null=False)
    source_missing_at = _time("Present only when the source file has gone.", required=False,
                              null=False)
    created_at = _time(null=False)
    quality_signals = QualitySignalsSerializer()


@_doc
class SessionDetailSerializer(SessionSerializer):
    """A single session: the list fields plus the health basis when a score exists."""

    health_score_basis = _any_list("Present only when health_score is not null.",
                                   required=False)
    health_penalties = serializers.DictField(
        child=serializers.JSONField(), required=False,
        help_text="Penalty by name; present only when health_score is not null.",
    )


@_doc
class SessionListSerializer(serializers.Serializer):
    """One page of sessions."""

    sessions = SessionSerializer(many=True)
    next_cursor = _str("Opaque cursor of the next page; omitted on the last page.",
                       required=False)
    total = _int("Sessions matching the filters (all pages).")


@_doc
class ToolResultEventSerializer(serializers.Serializer):
    """A result delivered to a tool call (progress, retries, the final result)."""

    tool_use_id = _str()
    source = _str()
    status = _str("May be empty.")
    content = _str()
    content_length = _int()
    timestamp = _time()
    event_index = _int()


@_doc
class ToolCallSerializer(serializers.Serializer):
    """A tool call embedded in its message."""

    tool_name = _str()
    category = _str()
    tool_use_id = _str("May be empty.")
    input_json = _str("The tool input as JSON text; may be empty.")
    skill_name = _str("Omitted when empty.", required=False)
    result_content_length = _int("Omitted while the call has no result.", required=False)
    result_content = _str("Omitted when empty or withheld for the category.", required=False)
    subagent_session_id = _str("Session the call spawned; omitted when none.", required=False)
    result_events = ToolResultEventSerializer(many=True, required=False,
                                              help_text="Omitted when there are none.")


@_doc
class MessageSerializer(serializers.Serializer):
    """A message with its tool calls; `id` equals `ordinal`."""

    id = _int("Equals ordinal.")
    session_id = _str()
    ordinal = _int("Unique within the session; may have gaps.")
    role = _str()
    content = _str()
    thinking_text = _str()
    timestamp = _time()
    has_thinking = _bool()
    has_tool_use = _bool()
    content_length = _int("Bytes of UTF-8 content.")
    model = _str("May be empty.")
    reasoning_effort = _str("Omitted when empty.", required=False)
    token_usage = serializers.JSONField(
        required=False, help_text="The agent's usage record (parsed JSON); omitted when none.")
    context_tokens = _int()
    output_tokens = _int()
    has_context_tokens = _bool()
    has_output_tokens = _bool()
    claude_message_id = _str("Omitted when empty.", required=False)
    claude_request_id = _str("Omitted when empty.", required=False)
    tool_calls = ToolCallSerializer(many=True, required=False,
                                    help_text="Omitted when the message has none.")
    is_system = _bool()
    source_type = _str("Omitted when empty.", required=False)
    source_subtype = _str("Omitted when empty.", required=False)
    source_uuid = _str("Omitted when empty.", required=False)
    source_parent_uuid = _str("Omitted when empty.", required=False)
    is_sidechain = _bool()
    is_compact_boundary = _bool()


@_doc
class MessagePageSerializer(serializers.Serializer):
    """A page of messages in the requested order."""

    messages = MessageSerializer(many=True)
    count = _int("Messages in this page.")
    first_ordinal = _int("Ordinal of the first message; omitted when the page is empty.",
                         required=False)
    last_ordinal = _int("Ordinal of the last message; omitted when the page is empty.",
                        required=False)


@_doc
class FlatToolCallSerializer(serializers.Serializer):
    """A tool call with the ordinal and time of its message."""

    ordinal = _int("Ordinal of the message that made the call.")
    timestamp = _time("Time of that message.")
    tool_use_id = _str("May be empty.")
    tool_name = _str()
    category = _str()
    input_json = _str("The tool input as JSON text; may be empty.")
    skill_name = _str("Omitted when empty.", required=False)
    subagent_session_id = _str("Omitted when none.", required=False)
    result_length = _int("Length of the result; omitted while there is none.", required=False)


@_doc
class ToolCallListSerializer(serializers.Serializer):
    """Every tool call of a session, in order."""

    tool_calls = FlatToolCallSerializer(many=True)
    count = _int()


@_doc
class SearchHitSerializer(serializers.Serializer):
    """A message matching the query."""

    session_id = _str()
    project = _str()
    agent = _str()
    machine = _str()
    name = _str("The session's display name, else its first message.")
    ordinal = _int("Ordinal of the matching message.")
    session_ended_at = _time()
    snippet = _str()


@_doc
class SearchResultsSerializer(serializers.Serializer):
    """One page of search hits."""

    query = _str("The query, trimmed.")
    results = SearchHitSerializer(many=True)
    count = _int("Hits in this page.")
    next = _int("Offset of the next page (pass it as cursor); omitted on the last page.",
                required=False)


@_doc
class StatsSerializer(serializers.Serializer):
    """Totals over the browsable sessions."""

    session_count = _int()
    message_count = _int()
    project_count = _int()
    machine_count = _int()
    earliest_session = _time("Start (else creation) of the earliest session; null when none.")


@_doc
class NameCountSerializer(serializers.Serializer):
    """A value and how many browsable sessions have it."""

    name = _str()
    session_count = _int()


@_doc
class ProjectListSerializer(serializers.Serializer):
    """Projects, sorted by name."""

    projects = NameCountSerializer(many=True)


@_doc
class AgentListSerializer(serializers.Serializer):
    """Agents, sorted by name."""

    agents = NameCountSerializer(many=True)


@_doc
class MachineListSerializer(serializers.Serializer):
    """Machine names, sorted."""

    machines = serializers.ListField(child=serializers.CharField())
    machine_labels = serializers.DictField(child=serializers.CharField(),
                                           help_text="Label by machine name (the name itself).")
    machine_aliases = serializers.DictField(child=serializers.CharField(),
                                            help_text="Always empty.")


# ---------------------------------------------------------------------------
# Parameters
# ---------------------------------------------------------------------------

SESSION_ID = OpenApiParameter(
    "session_id", OpenApiTypes.STR, OpenApiParameter.PATH,
    description="Global session id: bare for Claude, `<agent>:<id>` otherwise.",
)
BOOLEAN_WORDS = "Also accepts 1/0, yes/no, on/off."


def _query(name: str, schema: dict, description: str, *, required: bool = False,
           explode: bool | None = None) -> OpenApiParameter:
    return OpenApiParameter(name, schema, OpenApiParameter.QUERY, required=required,
                            description=description, explode=explode,
                            style="form" if explode is not None else None)


def _int_query(name: str, description: str, *, minimum: int | None = None,
               maximum: int | None = None, default: int | None = None) -> OpenApiParameter:
    schema: dict = {"type": "integer"}
    for key, value in (("minimum", minimum), ("maximum", maximum), ("default", default)):
        if value is not None:
            schema[key] = value
    return _query(name, schema, description)


def _bool_query(name: str, description: str, *, default: bool) -> OpenApiParameter:
    return _query(name, {"type": "boolean", "default": default},
                  f"{description} {BOOLEAN_WORDS}")


def _list_query(name: str, description: str, *, enum: tuple[str, ...] | None = None,
                repeatable: bool) -> OpenApiParameter:
    items: dict = {"type": "string"}
    if enum:
        items["enum"] = list(enum)
    how = "Comma-separated"
    if repeatable:
        how += "; repeating the parameter also works"
    return _query(name, {"type": "array", "items": items}, f"{description} {how}.",
                  explode=False)


def _session_filter_parameters(*, include_default: bool, repeatable: bool
                               ) -> list[OpenApiParameter]:
    """The filters of ``sessions_app.filters.parse_session_filters``."""
    which = "included" if include_default else "excluded"
    return [
        _list_query("project", "Only these projects.", repeatable=repeatable),
        _list_query("exclude_project", "Not these projects.", repeatable=repeatable),
        _list_query("machine", "Only these machines.", repeatable=repeatable),
        _list_query("agent", "Only these agents.", repeatable=repeatable),
        _query("date", {"type": "string", "format": "date"},
               "Sessions active on this day (YYYY-MM-DD, in `timezone`); cannot be combined "
               "with date_from/date_to."),
        _query("date_from", {"type": "string", "format": "date"},
               "Sessions active on or after this day (YYYY-MM-DD, in `timezone`); not after "
               "date_to."),
        _query("date_to", {"type": "string", "format": "date"},
               "Sessions active on or before this day (YYYY-MM-DD, in `timezone`)."),
        _query("timezone", {"type": "string", "default": "UTC"},
               "IANA time zone of the date filters, e.g. `Europe/Paris`."),
        _query("active_since", {"type": "string", "format": "date-time"},
               "Sessions active at or after this RFC 3339 time (a zone offset is required)."),
        _int_query("min_messages", "At least this many messages; not above max_messages.",
                   minimum=0),
        _int_query("max_messages", "At most this many messages.", minimum=0),
        _int_query("min_user_messages", "At least this many user messages.", minimum=0),
        _bool_query("include_one_shot",
                    f"Include sessions with at most one user message ({which} by default).",
                    default=include_default),
        _bool_query("include_automated", f"Include automated runs ({which} by default).",
                    default=include_default),
        _bool_query("include_children",
                    f"Include subagent and forked sessions ({which} by default).",
                    default=include_default),
        _list_query("outcome", "Only these outcomes.", enum=OUTCOMES, repeatable=repeatable),
        _list_query("health_grade", "Only these health grades.", enum=HEALTH_GRADES,
                    repeatable=repeatable),
        _int_query("min_tool_failures", "At least this many tool failure signals.", minimum=0),
        *branch_termination_scope_parameters(repeatable=repeatable),
    ]


def branch_termination_scope_parameters(*, repeatable: bool) -> list[OpenApiParameter]:
    """``git_branch``, ``termination`` and ``automated_scope``: the session list's and the
    analytics' alike (``sessions_app.filters``)."""
    return [
        _query("git_branch", {"type": "string"},
               "Only this branch: a branch name, or `project` U+001F `branch` for one "
               "project's branch. Repeat the parameter for several."),
        _list_query("termination", "Only these termination states (e.g. `awaiting_user`).",
                    repeatable=repeatable),
        _query("automated_scope", {"type": "string", "enum": list(AUTOMATED_SCOPES)},
               "`human` leaves automated runs out, `all` includes them, `automated` keeps only "
               "them; wins over include_automated."),
    ]


ORDER_VALUES = [f"{key}{suffix}" for key in SESSION_ORDER_KEYS for suffix in ("", ":asc", ":desc")]

SESSION_LIST_PARAMETERS = [
    *_session_filter_parameters(include_default=False, repeatable=True),
    _query("order_by", {"type": "string", "enum": ORDER_VALUES, "default": "recent"},
           "Sort key, optionally with `:asc` or `:desc`. Without a direction `recent` sorts "
           "newest first and every other key ascending."),
    _int_query("limit", "Sessions per page.", minimum=1, maximum=selectors.MAX_LIMIT,
               default=selectors.DEFAULT_LIMIT),
    _query("cursor", {"type": "string"},
           "`next_cursor` of the previous page; valid only with the same filters and order."),
]

MESSAGE_PARAMETERS = [
    _int_query("around", "Return the message at (or just after) this ordinal with `before` "
               "and `after` neighbours; cannot be combined with `from` or `direction`, and "
               "`limit` is then ignored.", minimum=0),
    _int_query("before", "With `around`: messages before the anchor.", minimum=0, maximum=500,
               default=5),
    _int_query("after", "With `around`: messages after the anchor.", minimum=0, maximum=500,
               default=5),
    _int_query("limit", "Messages per page (without `around`).", minimum=1,
               maximum=selectors.MESSAGES_MAX_LIMIT, default=selectors.MESSAGES_DEFAULT_LIMIT),
    _query("direction", {"type": "string", "enum": ["asc", "desc"], "default": "asc"},
           "Ordinal order (without `around`); `desc` starts at the end."),
    _int_query("from", "First ordinal of the page, inclusive (without `around`).", minimum=0),
]

SEARCH_PARAMETERS = [
    _query("q", {"type": "string", "minLength": 1}, "Text to search for (not blank).",
           required=True),
    _int_query("limit", "Hits per page.", minimum=1, maximum=handlers.SEARCH_MAX_LIMIT,
               default=handlers.SEARCH_DEFAULT_LIMIT),
    _int_query("cursor", "Offset of the page: `next` of the previous page.", minimum=0,
               default=0),
    *_session_filter_parameters(include_default=True, repeatable=False),
]

VISIBILITY_PARAMETERS = [
    _bool_query("include_one_shot", "Count sessions with at most one user message.",
                default=False),
    _bool_query("include_automated", "Count automated runs.", default=False),
]

MARKDOWN_PARAMETERS = [
    _query("depth", {"type": "string", "enum": ["1", "all"]},
           "Nest subagent sessions after the tool call that spawned them: `1` direct "
           "children, `all` every descendant. Omitted: the session alone."),
]


def _header(name: str, description: str, code: int = 200) -> OpenApiParameter:
    return OpenApiParameter(name, OpenApiTypes.STR, OpenApiParameter.HEADER,
                            description=description, response=[code])


ALLOW_HEADER = _header("Allow", "`GET, HEAD, OPTIONS`.", 405)

# ---------------------------------------------------------------------------
# Responses
# ---------------------------------------------------------------------------

ERRORS = {
    400: "A query parameter is missing or invalid (the message names it).",
    401: "No, a malformed or an unknown token while authentication is on; a malformed "
         "Authorization header or an unknown token also when it is off.",
    403: "The client address is outside the allowed subnets, or the Host header names a "
         "host this server does not serve.",
    404: "Unknown session.",
    405: "Any method other than GET, HEAD or OPTIONS: the API is read-only.",
}


def _responses(ok: dict, *codes: int) -> dict:
    """The success response(s) plus the JSON error bodies for *codes* and 401/403/405."""
    result = dict(ok)
    for code in sorted({*codes, 401, 403, 405}):
        result[code] = OpenApiResponse(ErrorSerializer, description=ERRORS[code])
    return result


def _ok(serializer, description: str) -> dict:
    return {200: OpenApiResponse(serializer, description=description)}


def _text_ok(media_type: str, description: str, examples=None) -> dict:
    return {(200, media_type): OpenApiResponse(OpenApiTypes.STR, description=description,
                                               examples=examples or [])}


SSE_EXAMPLE = OpenApiExample(
    "stream",
    value=(
        "event: session_ready\ndata: 8d2f0c1e-1b2a-4c3d-9e8f-0a1b2c3d4e5f\n\n"
        "event: session_updated\ndata: 8d2f0c1e-1b2a-4c3d-9e8f-0a1b2c3d4e5f\n\n"
        "event: heartbeat\ndata: 2026-03-02T09:00:30Z\n\n"
    ),
    media_type="text/event-stream",
    response_only=True,
)
SSE_DESCRIPTION = (
    "Server-sent events, never closed by the server. `session_ready` first (data: the "
    "session id); `session_updated` (data: the session id) whenever a sync or push rewrites "
    "the session (content digest, message count, push time, local modification time, "
    "deletion or display name change), checked every AGENTSVIEW_SSE_POLL_SECONDS (1.5 s); "
    "`heartbeat` (data: the RFC 3339 UTC time) every AGENTSVIEW_SSE_HEARTBEAT_SECONDS (30 s)."
)


def _get(operation_id: str, summary: str, *, tags: list[str], description: str = "",
         parameters: list | None = None, responses: dict) -> dict:
    return {"get": extend_schema(
        operation_id=operation_id, summary=summary, description=description or None,
        tags=tags, parameters=[*(parameters or []), ALLOW_HEADER], responses=responses,
    )}


SESSIONS, SEARCH, FACETS, SERVICE = ["sessions"], ["search"], ["facets"], ["service"]

ANNOTATIONS = {
    views.PingView: _get(
        "ping", "Liveness probe of the API process.", tags=SERVICE,
        responses=_responses(_ok(PingSerializer, "Alive.")),
    ),
    views.VersionView: _get(
        "get_version", "Server, API and data versions.", tags=SERVICE,
        responses=_responses(_ok(VersionSerializer, "Versions.")),
    ),
    views.SessionListView: _get(
        "list_sessions", "List sessions, filtered, sorted and paginated by keyset cursor.",
        tags=SESSIONS,
        description="Browsable sessions (never soft-deleted or empty), newest first by "
                    "default. Follow `next_cursor` with the same filters and order.",
        parameters=SESSION_LIST_PARAMETERS,
        responses=_responses(_ok(SessionListSerializer, "A page of sessions."), 400),
    ),
    views.SessionDetailView: _get(
        "get_session", "One session, with its health basis.", tags=SESSIONS,
        parameters=[SESSION_ID],
        responses=_responses(_ok(SessionDetailSerializer, "The session."), 404),
    ),
    views.MessagesView: _get(
        "list_session_messages", "A page of a session's messages with their tool calls.",
        tags=SESSIONS,
        description="By ordinal from the start (or the end with `direction=desc`), or a "
                    "window `around` an ordinal.",
        parameters=[SESSION_ID, *MESSAGE_PARAMETERS],
        responses=_responses(_ok(MessagePageSerializer, "A page of messages."), 400, 404),
    ),
    views.ToolCallsView: _get(
        "list_session_tool_calls", "Every tool call of a session, in order.", tags=SESSIONS,
        parameters=[SESSION_ID],
        responses=_responses(_ok(ToolCallListSerializer, "The tool calls."), 404),
    ),
    views.ChildrenView: _get(
        "list_session_children", "The direct child sessions (subagents, forks) of a session.",
        tags=SESSIONS,
        description="A bare array, oldest first; soft-deleted children are left out.",
        parameters=[SESSION_ID],
        responses=_responses(
            {200: OpenApiResponse(SessionSerializer(many=True), description="The children.")},
            404,
        ),
    ),
    views.ExportHtmlView: _get(
        "export_session_html", "The whole session as a self-contained HTML page (download).",
        tags=SESSIONS,
        parameters=[SESSION_ID, _header(
            "Content-Disposition", 'attachment; filename="<name>.html"')],
        responses=_responses(_text_ok("text/html", "The HTML page (UTF-8)."), 404),
    ),
    views.MarkdownView: _get(
        "export_session_markdown", "The whole session as XML-tagged Markdown.", tags=SESSIONS,
        parameters=[SESSION_ID, *MARKDOWN_PARAMETERS, _header(
            "Content-Disposition", 'inline; filename="<name>.md"')],
        responses=_responses(_text_ok("text/markdown", "The Markdown (UTF-8)."), 400, 404),
    ),
    views.WatchView: _get(
        "watch_session", "Stream change notifications of a session (server-sent events).",
        tags=SESSIONS,
        description=SSE_DESCRIPTION + " The token may be passed as `?token=` here.",
        parameters=[SESSION_ID, _header("Cache-Control", "`no-cache`."),
                    _header("X-Accel-Buffering", "`no` (no proxy buffering).")],
        responses=_responses(
            _text_ok("text/event-stream", "The event stream.", [SSE_EXAMPLE]), 404),
    ),
    views.SearchView: _get(
        "search_messages", "Full-text search over messages, one page of hits.", tags=SEARCH,
        description="Covers child, one-shot and automated sessions unless narrowed by the "
                    "session filters (whose include_* flags default to true here).",
        parameters=SEARCH_PARAMETERS,
        responses=_responses(_ok(SearchResultsSerializer, "A page of hits."), 400),
    ),
    views.StatsView: _get(
        "get_stats", "Totals over the browsable top-level sessions.", tags=FACETS,
        parameters=VISIBILITY_PARAMETERS,
        responses=_responses(_ok(StatsSerializer, "The totals."), 400),
    ),
    views.ProjectsView: _get(
        "list_projects", "Projects with their session counts.", tags=FACETS,
        parameters=VISIBILITY_PARAMETERS,
        responses=_responses(_ok(ProjectListSerializer, "The projects."), 400),
    ),
    views.AgentsView: _get(
        "list_agents", "Agents with their session counts.", tags=FACETS,
        parameters=VISIBILITY_PARAMETERS,
        responses=_responses(_ok(AgentListSerializer, "The agents."), 400),
    ),
    views.MachinesView: _get(
        "list_machines", "Machine names that have sessions.", tags=FACETS,
        parameters=VISIBILITY_PARAMETERS,
        responses=_responses(_ok(MachineListSerializer, "The machines."), 400),
    ),
}



class SessionSyncRequestSerializer(serializers.Serializer):
    path = serializers.CharField(required=False, help_text="A transcript file inside the"
                                 " configured agent directories.")
    id = serializers.CharField(required=False, help_text="A session already in the archive.")


ANNOTATIONS[views.SessionSyncView] = {"post": extend_schema(
    operation_id="sync_session",
    summary="Re-parse one transcript into the local archive (local server only).",
    description="Give `path` (a file inside the agent directories) or `id`. Answers the "
                "session. Refused (405) by a read-only server; 409 when the file holds "
                "several sessions (all stored; name one by id).",
    tags=SESSIONS, request=SessionSyncRequestSerializer,
    responses={
        200: OpenApiResponse(SessionDetailSerializer, description="The synced session."),
        400: OpenApiResponse(ErrorSerializer, description="Missing body, or a path outside"
                                                          " the agent directories."),
        401: OpenApiResponse(ErrorSerializer, description=ERRORS[401]),
        403: OpenApiResponse(ErrorSerializer, description=ERRORS[403]),
        404: OpenApiResponse(ErrorSerializer, description="Not in the archive, or no file."),
        405: OpenApiResponse(ErrorSerializer, description="A read-only (pg serve) server."),
        409: OpenApiResponse(ErrorSerializer, description="The file holds several sessions."),
    },
)}

for _view, _methods in ANNOTATIONS.items():
    extend_schema_view(**_methods)(_view)

# The catch-all JSON 404 is not an operation.
extend_schema(exclude=True)(views.NotFoundView)
