"""The JSON shapes of sessions, messages and tool calls: one place, used by the HTTP API and
the session CLI, so both print the same bytes.

Field names and order follow AgentsView's v1 API. Optional strings are omitted when empty;
counters and flags are always present; lists are ``[]``, never ``null``; times are RFC 3339
UTC. Nothing here depends on which database the rows came from (a message's ``id`` is its
ordinal), so the local archive and the shared PostgreSQL give identical JSON.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import orjson

from agentsview.timefmt import rfc3339
from sessions_app.models import Message, Session, ToolCall, ToolResultEvent
from sessions_app.selectors import MessagePage

QUALITY_SIGNAL_FIELDS = (
    "short_prompt_count", "unstructured_start", "missing_success_criteria_count",
    "missing_verification_count", "duplicate_prompt_count", "no_code_context_count",
    "runaway_tool_loop_count",
)


def _put(data: dict, key: str, value: object) -> None:
    """Set *key* unless *value* is empty (None or '')."""
    if value is not None and value != "":
        data[key] = value


def session_dto(s: Session, *, detail: bool = False) -> dict:
    data: dict = {"id": s.id, "project": s.project, "machine": s.machine, "agent": s.agent}
    _put(data, "session_kind", s.session_kind)
    data["first_message"] = s.first_message
    _put(data, "display_name", s.display_name)
    data["started_at"] = rfc3339(s.started_at)
    data["ended_at"] = rfc3339(s.ended_at)
    data["message_count"] = s.message_count
    data["user_message_count"] = s.user_message_count
    _put(data, "parent_session_id", s.parent_session_id)
    _put(data, "relationship_type", s.relationship_type)
    data.update(
        total_output_tokens=s.total_output_tokens,
        peak_context_tokens=s.peak_context_tokens,
        has_total_output_tokens=s.has_total_output_tokens,
        has_peak_context_tokens=s.has_peak_context_tokens,
        is_automated=s.is_automated,
        tool_failure_signal_count=s.tool_failure_signal_count,
        tool_retry_count=s.tool_retry_count,
        edit_churn_count=s.edit_churn_count,
        consecutive_failure_max=s.consecutive_failure_max,
        outcome=s.outcome,
        outcome_confidence=s.outcome_confidence,
        ended_with_role=s.ended_with_role,
        final_failure_streak=s.final_failure_streak,
        compaction_count=s.compaction_count,
        mid_task_compaction_count=s.mid_task_compaction_count,
    )
    _put(data, "context_pressure_max", s.context_pressure_max)
    data["health_score"] = s.health_score
    data["health_grade"] = s.health_grade
    data["secret_leak_count"] = 0
    data["cwd"] = s.cwd
    _put(data, "git_branch", s.git_branch)
    data["project_assigned"] = False
    data["pr_links"] = []
    data["labels"] = []
    _put(data, "source_session_id", s.source_session_id)
    _put(data, "source_version", s.source_version)
    _put(data, "termination_status", s.termination_status)
    if s.parser_malformed_lines:
        data["parser_malformed_lines"] = s.parser_malformed_lines
    if s.is_truncated:
        data["is_truncated"] = True
    _put(data, "deleted_at", rfc3339(s.deleted_at))
    _put(data, "source_missing_at", rfc3339(s.source_missing_at))
    data["created_at"] = rfc3339(s.created_at)
    data["quality_signals"] = {
        "version": s.quality_signal_version,
        **{name: getattr(s, name) for name in QUALITY_SIGNAL_FIELDS},
    }
    if detail and s.health_score is not None:
        data["health_score_basis"] = list(s.health_score_basis or [])
        if s.health_penalties:
            data["health_penalties"] = dict(s.health_penalties)
    return data


def event_dto(e: ToolResultEvent) -> dict:
    return {
        "tool_use_id": e.tool_use_id,
        "source": e.source,
        "status": e.status,
        "content": e.content,
        "content_length": e.content_length,
        "timestamp": rfc3339(e.timestamp),
        "event_index": e.event_index,
    }


def tool_call_dto(c: ToolCall, events: Iterable[ToolResultEvent] = ()) -> dict:
    data: dict = {"tool_name": c.tool_name, "category": c.category,
                  "tool_use_id": c.tool_use_id, "input_json": c.input_json}
    _put(data, "skill_name", c.skill_name)
    _put(data, "result_content_length", c.result_content_length)
    _put(data, "result_content", c.result_content)
    _put(data, "subagent_session_id", c.subagent_session_id)
    event_list = [event_dto(e) for e in events]
    if event_list:
        data["result_events"] = event_list
    return data


def _token_usage(text: str) -> object:
    if not text:
        return None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return None


def message_dto(m: Message, calls: Iterable[ToolCall] = (),
                events: dict[tuple[int, int], list[ToolResultEvent]] | None = None) -> dict:
    data: dict = {
        "id": m.ordinal,
        "session_id": m.session_id,
        "ordinal": m.ordinal,
        "role": m.role,
        "content": m.content,
        "thinking_text": m.thinking_text,
        "timestamp": rfc3339(m.timestamp),
        "has_thinking": m.has_thinking,
        "has_tool_use": m.has_tool_use,
        "content_length": m.content_length,
        "model": m.model,
    }
    _put(data, "reasoning_effort", m.reasoning_effort)
    _put(data, "token_usage", _token_usage(m.token_usage))
    data.update(
        context_tokens=m.context_tokens,
        output_tokens=m.output_tokens,
        has_context_tokens=m.has_context_tokens,
        has_output_tokens=m.has_output_tokens,
    )
    _put(data, "claude_message_id", m.claude_message_id)
    _put(data, "claude_request_id", m.claude_request_id)
    call_list = [tool_call_dto(c, (events or {}).get((c.message_ordinal, c.call_index), ()))
                 for c in calls]
    if call_list:
        data["tool_calls"] = call_list
    data["is_system"] = m.is_system
    _put(data, "source_type", m.source_type)
    _put(data, "source_subtype", m.source_subtype)
    _put(data, "source_uuid", m.source_uuid)
    _put(data, "source_parent_uuid", m.source_parent_uuid)
    data["is_sidechain"] = m.is_sidechain
    data["is_compact_boundary"] = m.is_compact_boundary
    return data


def message_page_dto(page: MessagePage) -> dict:
    messages = [
        message_dto(m, page.tool_calls.get(m.ordinal, ()), page.events) for m in page.messages
    ]
    data: dict = {"messages": messages, "count": len(messages)}
    if messages:
        data["first_ordinal"] = messages[0]["ordinal"]
        data["last_ordinal"] = messages[-1]["ordinal"]
    return data


def flat_tool_call_dto(c: ToolCall, timestamp: datetime | None) -> dict:
    data: dict = {
        "ordinal": c.message_ordinal,
        "timestamp": rfc3339(timestamp),
        "tool_use_id": c.tool_use_id,
        "tool_name": c.tool_name,
        "category": c.category,
        "input_json": c.input_json,
    }
    _put(data, "skill_name", c.skill_name)
    _put(data, "subagent_session_id", c.subagent_session_id)
    _put(data, "result_length", c.result_content_length)
    return data


def dumps(data: object) -> bytes:
    """The one JSON encoder of API responses and CLI output."""
    return orjson.dumps(data)
