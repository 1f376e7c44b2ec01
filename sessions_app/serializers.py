"""The JSON shapes of the session API: each declared once, here. The API and the session CLI
write their JSON with ``SHAPE.dump`` and the OpenAPI document describes it with
``SHAPE.serializer()``, so the two cannot drift apart.

Field names and order follow AgentsView's v1 API. Optional strings are omitted when empty;
counters and flags are always present; lists are ``[]``, never ``null``; times are RFC 3339
UTC. Nothing depends on which database the rows came from (a message's ``id`` is its
ordinal), so the local archive and the shared PostgreSQL give identical JSON.
"""

from __future__ import annotations

from agentsview.api.shapes import (
    BOOL,
    DICT,
    EMPTY,
    FALSY,
    FLOAT,
    INT,
    JSON_TEXT,
    LIST,
    NONE,
    OBJECT,
    OBJECTS,
    STR,
    TIME,
    Field,
    Shape,
    constant,
)
from agentsview.timefmt import rfc3339
from sessions_app.models import QUALITY_SIGNAL_COLUMNS, Session
from sessions_app.parsers.registry import AGENTS


def _same(obj, ctx):
    return obj


def transcript_revision(session) -> str:
    """An opaque text that changes whenever the transcript does: its content digest's head
    (every sync or push that changes a message changes the digest)."""
    return (session.content_digest or "")[:16] or "0"


def _scored(session) -> bool:
    return session.health_score is not None


QUALITY_SIGNALS = Shape("QualitySignals", "Prompt-quality signals of a session.", (
    Field("version", INT, "Version of the signal computation (0: not computed).",
          source="quality_signal_version"),
    *(Field(name, BOOL if Session._meta.get_field(name).get_internal_type() == "BooleanField"
            else INT) for name in QUALITY_SIGNAL_COLUMNS),
))

SESSION = Shape("Session", "A session as lists show it. Optional strings are omitted when "
                           "empty.", (
    Field("id", STR, "Global id: bare for Claude, `<agent>:<id>` otherwise."),
    Field("project", STR),
    Field("machine", STR),
    Field("agent", STR),
    Field("session_kind", STR, "E.g. `non-interactive`; omitted when empty.", omit=EMPTY),
    Field("first_message", STR),
    Field("display_name", STR, "Omitted when unset.", omit=EMPTY),
    Field("started_at", TIME, null=True),
    Field("ended_at", TIME, null=True),
    Field("message_count", INT),
    Field("user_message_count", INT),
    Field("parent_session_id", STR, "Omitted for a top-level session.", omit=EMPTY),
    Field("relationship_type", STR, "E.g. `subagent`, `fork`; omitted when empty.",
          omit=EMPTY),
    Field("total_output_tokens", INT),
    Field("peak_context_tokens", INT),
    Field("has_total_output_tokens", BOOL),
    Field("has_peak_context_tokens", BOOL),
    Field("is_automated", BOOL),
    Field("tool_failure_signal_count", INT),
    Field("tool_retry_count", INT),
    Field("edit_churn_count", INT),
    Field("consecutive_failure_max", INT),
    Field("outcome", STR, "E.g. `completed`, `abandoned`, `errored`, `unknown`."),
    Field("outcome_confidence", STR, "E.g. `low`."),
    Field("ended_with_role", STR, "Role of the last message; may be empty."),
    Field("final_failure_streak", INT),
    Field("compaction_count", INT),
    Field("mid_task_compaction_count", INT),
    Field("context_pressure_max", FLOAT, "Omitted when not computed.", omit=EMPTY),
    Field("health_score", INT, "Null when not computed.", null=True),
    Field("health_grade", STR, "`A`..`F`; null when not computed.", null=True),
    constant("secret_leak_count", INT, 0, "Always 0 (kept for AgentsView compatibility)."),
    Field("cwd", STR, "Working directory; may be empty."),
    Field("git_branch", STR, "Omitted when empty.", omit=EMPTY),
    constant("project_assigned", BOOL, False,
             "Always false (kept for AgentsView compatibility)."),
    constant("pr_links", LIST, [], "Always empty (kept for AgentsView compatibility)."),
    constant("labels", LIST, [], "Always empty (kept for AgentsView compatibility)."),
    Field("transcript_revision", STR, "Changes whenever the session's transcript changes "
                                      "(opaque; compare for equality).",
          source=lambda s, ctx: transcript_revision(s)),
    Field("source_session_id", STR, "The agent's own id; omitted when empty.", omit=EMPTY),
    Field("source_version", STR, "Agent version; omitted when empty.", omit=EMPTY),
    Field("termination_status", STR, "Omitted when empty.", omit=EMPTY),
    Field("parser_malformed_lines", INT, "Present only when non-zero.", omit=FALSY),
    Field("is_truncated", BOOL, "Present (true) only when the source file was truncated.",
          omit=FALSY),
    Field("deleted_at", TIME, "Present only when soft-deleted.", omit=EMPTY),
    Field("source_missing_at", TIME, "Present only when the source file has gone.",
          omit=EMPTY),
    Field("created_at", TIME),
    Field("quality_signals", OBJECT, shape=QUALITY_SIGNALS, source=_same),
))

SESSION_DETAIL = SESSION.extend(
    "SessionDetail", "A single session: the list fields plus the health basis when a score "
                     "exists.",
    Field("health_score_basis", LIST, "Present only when health_score is not null.",
          when=_scored),
    Field("health_penalties", DICT, "Penalty by name; present only when health_score is not "
                                    "null.", when=_scored, omit=FALSY),
)

SESSION_LIST = Shape("SessionList", "One page of sessions.", (
    Field("sessions", OBJECTS, shape=SESSION),
    Field("next_cursor", STR, "Opaque cursor of the next page; omitted on the last page.",
          omit=EMPTY),
    Field("total", INT, "Sessions matching the filters (all pages)."),
))

# --- messages ---------------------------------------------------------------------------------
# A message page is dumped with the page itself as context: its tool calls by ordinal and
# their result events by (ordinal, call index) (``selectors.MessagePage``).


def _events_of(call, page) -> list:
    return page.events.get((call.message_ordinal, call.call_index), ()) if page else ()


def _calls_of(message, page) -> list:
    return page.tool_calls.get(message.ordinal, ()) if page else ()


TOOL_RESULT_EVENT = Shape("ToolResultEvent", "A result delivered to a tool call (progress, "
                                             "retries, the final result).", (
    Field("tool_use_id", STR),
    Field("source", STR),
    Field("status", STR, "May be empty."),
    Field("content", STR),
    Field("content_length", INT),
    Field("timestamp", TIME, null=True),
    Field("event_index", INT),
))

TOOL_CALL = Shape("ToolCall", "A tool call embedded in its message.", (
    Field("tool_name", STR),
    Field("category", STR),
    Field("tool_use_id", STR, "May be empty."),
    Field("input_json", STR, "The tool input as JSON text; may be empty."),
    Field("skill_name", STR, "Omitted when empty.", omit=EMPTY),
    Field("result_content_length", INT, "Omitted while the call has no result.", omit=EMPTY),
    Field("result_content", STR, "Omitted when empty or withheld for the category.",
          omit=EMPTY),
    Field("subagent_session_id", STR, "Session the call spawned; omitted when none.",
          omit=EMPTY),
    Field("result_events", OBJECTS, "Omitted when there are none.", shape=TOOL_RESULT_EVENT,
          source=_events_of, omit=FALSY),
))

MESSAGE = Shape("Message", "A message with its tool calls; `id` equals `ordinal`.", (
    Field("id", INT, "Equals ordinal.", source="ordinal"),
    Field("session_id", STR),
    Field("ordinal", INT, "Unique within the session; may have gaps."),
    Field("role", STR),
    Field("content", STR),
    Field("thinking_text", STR),
    Field("timestamp", TIME, null=True),
    Field("has_thinking", BOOL),
    Field("has_tool_use", BOOL),
    Field("content_length", INT, "Bytes of UTF-8 content."),
    Field("model", STR, "May be empty."),
    Field("reasoning_effort", STR, "Omitted when empty.", omit=EMPTY),
    Field("token_usage", JSON_TEXT, "The agent's usage record (parsed JSON); omitted when "
                                    "none.", omit=EMPTY),
    Field("context_tokens", INT),
    Field("output_tokens", INT),
    Field("has_context_tokens", BOOL),
    Field("has_output_tokens", BOOL),
    Field("claude_message_id", STR, "Omitted when empty.", omit=EMPTY),
    Field("claude_request_id", STR, "Omitted when empty.", omit=EMPTY),
    Field("tool_calls", OBJECTS, "Omitted when the message has none.", shape=TOOL_CALL,
          source=_calls_of, omit=FALSY),
    Field("is_system", BOOL),
    Field("source_type", STR, "Omitted when empty.", omit=EMPTY),
    Field("source_subtype", STR, "Omitted when empty.", omit=EMPTY),
    Field("source_uuid", STR, "Omitted when empty.", omit=EMPTY),
    Field("source_parent_uuid", STR, "Omitted when empty.", omit=EMPTY),
    Field("is_sidechain", BOOL),
    Field("is_compact_boundary", BOOL),
))


def _first_ordinal(page, ctx):
    return page.messages[0].ordinal if page.messages else None


def _last_ordinal(page, ctx):
    return page.messages[-1].ordinal if page.messages else None


MESSAGE_PAGE = Shape("MessagePage", "A page of messages in the requested order.", (
    Field("messages", OBJECTS, shape=MESSAGE, source=lambda page, ctx: page.messages),
    Field("count", INT, "Messages in this page.", source=lambda page, ctx: len(page.messages)),
    Field("first_ordinal", INT, "Ordinal of the first message; omitted when the page is "
                                "empty.", source=_first_ordinal, omit=NONE),
    Field("last_ordinal", INT, "Ordinal of the last message; omitted when the page is empty.",
          source=_last_ordinal, omit=NONE),
    Field("transcript_revision", STR, "The session's transcript revision (as on the "
                                      "session); omitted for an unknown session's empty page.",
          source="revision", omit=EMPTY),
))


def message_page(page) -> dict:
    """A ``selectors.MessagePage`` as the messages endpoint answers it."""
    return MESSAGE_PAGE.dump(page, page)


FLAT_TOOL_CALL = Shape("FlatToolCall", "A tool call with the ordinal and time of its "
                                       "message.", (
    Field("ordinal", INT, "Ordinal of the message that made the call.",
          source="message_ordinal"),
    Field("timestamp", TIME, "Time of that message.", source="message_timestamp", null=True),
    Field("tool_use_id", STR, "May be empty."),
    Field("tool_name", STR),
    Field("category", STR),
    Field("input_json", STR, "The tool input as JSON text; may be empty."),
    Field("skill_name", STR, "Omitted when empty.", omit=EMPTY),
    Field("subagent_session_id", STR, "Omitted when none.", omit=EMPTY),
    Field("result_length", INT, "Length of the result; omitted while there is none.",
          source="result_content_length", omit=EMPTY),
    Field("status", STR, "Status of the call's last result: `errored` or `cancelled` (the "
                         "call failed: a Claude `is_error` result, a command that exited "
                         "non-zero), `completed`; omitted when the result carries none.",
          source=lambda call, ctx: getattr(call, "result_status", ""), omit=EMPTY),
))

TOOL_CALL_LIST = Shape("ToolCallList", "Every tool call of a session, in order.", (
    Field("tool_calls", OBJECTS, shape=FLAT_TOOL_CALL, source=lambda calls, ctx: calls),
    Field("count", INT, source=lambda calls, ctx: len(calls)),
))

# --- search -----------------------------------------------------------------------------------

SEARCH_HIT = Shape("SearchHit", "A message matching the query.", (
    Field("session_id", STR, source=lambda h, ctx: h.session.id),
    Field("project", STR, source=lambda h, ctx: h.session.project),
    Field("agent", STR, source=lambda h, ctx: h.session.agent),
    Field("machine", STR, source=lambda h, ctx: h.session.machine),
    Field("name", STR, "The session's display name, else its first message.",
          source=lambda h, ctx: h.session.display_name or h.session.first_message),
    Field("ordinal", INT, "Ordinal of the matching message."),
    Field("session_ended_at", TIME, source=lambda h, ctx: h.session.ended_at, null=True),
    Field("snippet", STR),
    Field("rank", FLOAT, "BM25-like score of the hit, negated: lower is better."),
))

SEARCH_RESULTS = Shape("SearchResults", "One page of search hits.", (
    Field("query", STR, "The query, trimmed."),
    Field("results", OBJECTS, shape=SEARCH_HIT, source="hits"),
    Field("count", INT, "Hits in this page.", source=lambda page, ctx: len(page.hits)),
    Field("next", INT, "Offset of the next page (pass it as cursor); omitted on the last "
                       "page.", omit=EMPTY),
))

# --- facets and service -----------------------------------------------------------------------

STATS = Shape("Stats", "Totals over the browsable sessions.", (
    Field("session_count", INT),
    Field("message_count", INT),
    Field("project_count", INT),
    Field("machine_count", INT),
    Field("earliest_session", TIME, "Start (else creation) of the earliest session; null when "
                                    "none.", source="earliest", null=True),
), mapping=True)

NAME_COUNT = Shape("NameCount", "A value and how many browsable sessions have it.", (
    Field("name", STR, source=lambda row, ctx: row[0]),
    Field("session_count", INT, source=lambda row, ctx: row[1]),
))


def _counts(key: str, what: str) -> Shape:
    return Shape(f"{what}List", f"{what}s, sorted by name.", (
        Field(key, OBJECTS, shape=NAME_COUNT, source=lambda rows, ctx: rows),
    ))


PROJECT_LIST = _counts("projects", "Project")

AGENT_COUNT = Shape("AgentCount", "An agent, its display name and its browsable sessions.", (
    Field("name", STR, "The agent's key, what the `agent` filter takes.",
          source=lambda row, ctx: row[0]),
    Field("display_name", STR, "The agent's name as people know it (the key when unknown).",
          source=lambda row, ctx: AGENTS[row[0]].display_name if row[0] in AGENTS else row[0]),
    Field("session_count", INT, source=lambda row, ctx: row[1]),
))
AGENT_LIST = Shape("AgentList", "Agents that have sessions, sorted by key.", (
    Field("agents", OBJECTS, shape=AGENT_COUNT, source=lambda rows, ctx: rows),
))

MACHINE_LIST = Shape("MachineList", "Machine names, sorted.", (
    Field("machines", LIST, source=lambda names, ctx: names),
    Field("machine_labels", DICT, "Label by machine name (the name itself).",
          source=lambda names, ctx: {n: n for n in names}),
    constant("machine_aliases", DICT, {}, "Always empty."),
))

VERSION = Shape("Version", "Server, API and data versions.", (
    Field("version", STR, "Server version."),
    Field("read_only", BOOL, "AGENTSVIEW_READ_ONLY."),
    constant("archive_only", BOOL, False, "Always false: every read endpoint is served."),
    constant("insight_generation_available", BOOL, False,
             "Always false: AI insight generation is not served."),
    constant("session_stats_available", BOOL, True, "`/api/v1/session-stats` is served."),
    constant("content_search_available", BOOL, True,
             "`/api/v1/search/content` is served (substring, regex, fts; not semantic)."),
    constant("events_available", BOOL, True, "`/api/v1/events` is served."),
    Field("api_version", INT, "Version of this API, in AgentsView's numbering (12: its clients "
                              "enable `session usage` from 6)."),
    Field("usage_available", BOOL, "Token usage and cost endpoints are served "
                                   "(`/sessions/{id}/usage`, `/usage/summary`, "
                                   "`/usage/top-sessions`)."),
    Field("data_version", INT, "Parser version that writes the session rows."),
    Field("database", STR, "Django database vendor, e.g. `sqlite` or `postgresql`."),
), mapping=True)

# --- usage ------------------------------------------------------------------------------------


def _money(microdollars: int | None) -> dict | None:
    return None if microdollars is None else {"microdollars": microdollars}


CODED_ERROR_DETAIL = Shape("CodedErrorDetail", "What went wrong, with a stable code.", (
    Field("code", STR, "E.g. `session_not_found`."),
    Field("message", STR, "E.g. `session not found`."),
), mapping=True)
CODED_ERROR = Shape("CodedError", "The error body of AgentsView's newer endpoints (usage).", (
    Field("error", OBJECT, shape=CODED_ERROR_DETAIL),
), mapping=True)

MONEY = Shape("Money", "An exact amount of US dollars.", (
    Field("microdollars", INT, "Millionths of a dollar."),
), mapping=True)

USAGE_ROW = Shape("SessionUsageRow", "One usage record: a message's, or one model's "
                                     "session-level total (agents that record only those).", (
    Field("ordinal", INT, "Position in the breakdown, from 1."),
    Field("message_ordinal", INT, source=lambda r, ctx: r.record.message_ordinal),
    Field("source", STR, "`message`, or `session` for a session-level total.",
          source=lambda r, ctx: r.record.source),
    Field("label", STR, "E.g. `Prompt 2`, `Session total`.", source=lambda r, ctx: r.label),
    Field("timestamp", STR, "RFC 3339 UTC; empty when unknown.",
          source=lambda r, ctx: rfc3339(r.record.timestamp) if r.record.timestamp else ""),
    Field("model", STR, source=lambda r, ctx: r.record.model),
    Field("subagent_session_id", STR, "The subagent the record came from; omitted for the "
                                      "session's own.", omit=EMPTY),
    Field("input_tokens", INT, "Input no cache served.",
          source=lambda r, ctx: r.record.tokens.input),
    Field("output_tokens", INT, source=lambda r, ctx: r.record.tokens.output),
    Field("cache_creation_input_tokens", INT, source=lambda r, ctx: r.record.tokens.cache_write),
    Field("cache_read_input_tokens", INT, source=lambda r, ctx: r.record.tokens.cache_read),
    Field("cost", OBJECT, "Null when the model has no price.", shape=MONEY, null=True,
          source=lambda r, ctx: _money(r.record.cost)),
    Field("has_cost", BOOL, source=lambda r, ctx: r.record.cost is not None),
))


SESSION_USAGE = Shape("SessionUsage", "A session's tokens and cost, with each usage record. "
                                      "Costs are exact integer microdollars.", (
    Field("session_id", STR, source=lambda u, ctx: u.session.id),
    Field("agent", STR, source=lambda u, ctx: u.session.agent),
    Field("project", STR, source=lambda u, ctx: u.session.project),
    Field("total_output_tokens", INT, source=lambda u, ctx: u.tokens.output),
    Field("peak_context_tokens", INT, "The largest prompt of one record (input, cache read "
                                      "and cache write).", source="peak_context_tokens"),
    Field("has_token_data", BOOL, source=lambda u, ctx: bool(u.rows)),
    Field("cost", OBJECT, "Null when a model has no price (never a partial sum) or there is "
                          "no usage.", shape=MONEY, null=True,
          source=lambda u, ctx: _money(u.cost_microdollars)),
    Field("has_cost", BOOL),
    Field("cost_usd", FLOAT, "`cost` in dollars; present only with `has_cost`.",
          source=lambda u, ctx: u.cost_microdollars / 1_000_000 if u.has_cost else None,
          omit=NONE),
    Field("cost_source", STR, "`computed` (from token counts and the price table); present "
                              "only with `has_cost`.",
          source=lambda u, ctx: "computed" if u.has_cost else "", omit=EMPTY),
    Field("models", LIST, "Models of the records, sorted.", item=STR),
    Field("unpriced_models", LIST, "Models without a price, sorted.", item=STR),
    Field("breakdown_count", INT, source=lambda u, ctx: len(u.rows)),
    Field("subagent_count", INT, "Subagent sessions included (`subagents=true` only: the "
                                 "figures are combined).",
          when=lambda u: u.combined),
    Field("breakdown", OBJECTS, "The records (`breakdown=true`; else empty), in order: the "
                                "session's own, then each subagent's.", shape=USAGE_ROW,
          source=lambda u, ctx: u.rows if ctx["breakdown"] else []),
    Field("server_running", BOOL, "True when a server answered (the API always).",
          source=lambda u, ctx: ctx["server_running"]),
))


# --- AgentsView's other read endpoints (issue 19) ---------------------------------------------

SIDEBAR_ROW = Shape("SidebarSession", "A session as the sidebar groups it: ids, links, times "
                                      "and counts only.", (
    Field("id", STR),
    Field("parent_session_id", STR, "Omitted for a top-level session.", omit=EMPTY),
    Field("relationship_type", STR, "E.g. `subagent`, `fork`; omitted when empty.",
          omit=EMPTY),
    Field("project", STR),
    Field("machine", STR),
    Field("agent", STR),
    Field("display_name", STR, "Omitted when unset.", omit=EMPTY),
    Field("started_at", TIME, null=True),
    Field("ended_at", TIME, null=True),
    Field("created_at", TIME),
    Field("termination_status", STR, "Omitted when empty.", omit=EMPTY),
    Field("message_count", INT),
    Field("user_message_count", INT),
    Field("is_automated", BOOL),
    Field("is_teammate", BOOL, "The first message is a teammate's (`<teammate-message`).",
          source=lambda s, ctx: "<teammate-message" in (s.first_message or "")),
))

SIDEBAR_INDEX = Shape("SidebarIndex", "Every session the filters keep (children included "
                                      "unless include_children=false), in the requested "
                                      "order, without paging.", (
    Field("sessions", OBJECTS, shape=SIDEBAR_ROW, source=lambda rows, ctx: rows),
    Field("total", INT, source=lambda rows, ctx: len(rows)),
))

BRANCH = Shape("Branch", "A project's branch and its filter token.", (
    Field("project", STR, source=0),
    Field("branch", STR, "May be empty (sessions without a branch).", source=1),
    Field("token", STR, "What the `git_branch` filter takes: project U+001F branch.",
          source=lambda row, ctx: f"{row[0]}\x1f{row[1]}"),
), mapping=True)
BRANCH_LIST = Shape("BranchList", "Branches that have sessions, by project then branch.", (
    Field("branches", OBJECTS, shape=BRANCH, source=lambda rows, ctx: rows),
))

CONTENT_MATCH = Shape("ContentMatch", "One occurrence of the pattern.", (
    Field("session_id", STR, source=lambda m, ctx: m.session.id),
    Field("project", STR, source=lambda m, ctx: m.session.project),
    Field("agent", STR, source=lambda m, ctx: m.session.agent),
    Field("machine", STR, source=lambda m, ctx: m.session.machine),
    Field("display_name", STR, "Null when unset.", null=True,
          source=lambda m, ctx: m.session.display_name or None),
    Field("location", STR, "`message`, `thinking`, `tool_input` or `tool_result`."),
    Field("role", STR),
    Field("tool_name", STR, "The tool (tool_input only).", omit=EMPTY),
    Field("ordinal", INT),
    Field("timestamp", STR, "RFC 3339 UTC; empty when unknown.",
          source=lambda m, ctx: rfc3339(m.timestamp) if m.timestamp else ""),
    Field("snippet", STR, "About 60 characters either side of the match."),
    Field("ordinal_range", LIST, "First and last ordinal of the turn.", item=INT),
    Field("transcript_revision", STR, source=lambda m, ctx: transcript_revision(m.session)),
))

CONTENT_RESULTS = Shape("ContentSearchResults", "A page of occurrences.", (
    constant("active_filter_applied", BOOL, False, "Always false."),
    Field("matches", OBJECTS, shape=CONTENT_MATCH, source=0),
    Field("next_cursor", INT, "Offset of the next page; 0 on the last page.", source=1),
    constant("revision_bound", BOOL, True, "Always true: each match names its revision."),
    constant("coverage", DICT, {"status": "partial", "lexical": {"status": "ready"},
                                "semantic": {"status": "unavailable",
                                             "reason": "not_configured", "embedded": 0,
                                             "missing": 0}},
             "Lexical search is ready; semantic search is not served."),
), mapping=True)

ORDINALS = Shape("SessionSearchResults", "Ordinals of the session's matching messages.", (
    Field("ordinals", LIST, item=INT, source=lambda ordinals, ctx: ordinals),
))

TIMING_CALL = Shape("TimingCall", "A tool call of a turn.", (
    Field("tool_use_id", STR),
    Field("tool_name", STR),
    Field("category", STR),
    Field("subagent_session_id", STR, "Omitted when none.", omit=EMPTY,
          source=lambda c, ctx: c.get("subagent_session_id")),
    Field("duration_ms", INT, "Known for subagent calls only (the subagent's span).",
          null=True),
    Field("is_parallel", BOOL, "The message made other calls too."),
    Field("input_preview", STR, "The file, command or pattern; may be empty."),
), mapping=True)
TIMING_TURN = Shape("TimingTurn", "An assistant message that made tool calls.", (
    Field("message_id", INT, "Equals ordinal."),
    Field("ordinal", INT),
    Field("started_at", STR, null=True),
    Field("duration_ms", INT, "Until the next message.", null=True),
    Field("primary_category", STR),
    Field("calls", OBJECTS, shape=TIMING_CALL),
), mapping=True)
TIMING_CATEGORY = Shape("TimingCategory", "Calls of one category.", (
    Field("category", STR), Field("duration_ms", INT), Field("call_count", INT),
), mapping=True)
TIMING_PROMPT = Shape("TimingPrompt", "A user message and the time until the next one.", (
    Field("message_id", INT), Field("ordinal", INT), Field("started_at", STR),
    Field("duration_ms", INT), Field("tool_ms", INT), Field("unattributed_ms", INT),
    Field("running", BOOL),
), mapping=True)
TIMING_TOTALS = Shape("TimingTotals", "Sums over the prompts.", (
    Field("tool_ms", INT), Field("unattributed_ms", INT),
), mapping=True)
TIMING = Shape("SessionTiming", "Where a session's time went.", (
    Field("session_id", STR),
    Field("total_duration_ms", INT),
    Field("tool_duration_ms", INT),
    Field("turn_count", INT),
    Field("tool_call_count", INT),
    Field("subagent_count", INT),
    Field("slowest_call", OBJECT, "Null when no call has a duration.", shape=TIMING_CALL,
          null=True),
    Field("by_category", OBJECTS, shape=TIMING_CATEGORY),
    Field("running", BOOL),
    Field("turns", OBJECTS, shape=TIMING_TURN),
    Field("activity", OBJECTS, shape=TIMING_PROMPT),
    Field("activity_totals", OBJECT, shape=TIMING_TOTALS),
), mapping=True)

ACTIVITY_BUCKET = Shape("SessionActivityBucket", "Messages in one interval.", (
    Field("start_time", STR), Field("end_time", STR), Field("user_count", INT),
    Field("assistant_count", INT), Field("first_ordinal", INT),
), mapping=True)
ACTIVITY = Shape("SessionActivity", "A session's messages per interval (empty intervals left "
                                    "out).", (
    Field("buckets", OBJECTS, shape=ACTIVITY_BUCKET),
    Field("interval_seconds", INT),
    Field("total_messages", INT),
), mapping=True)
