"""What the parsers of the smaller agents do last with a session: how its transcript ends."""

from __future__ import annotations

from sessions_app.parsers.base import ParsedMessage

# Why a model stopped, as agents record it, when it is not the ordinary end of a turn.
_ABNORMAL_STOPS = {
    "error": "errored", "errored": "errored", "aborted": "interrupted",
    "cancelled": "interrupted", "length": "max_tokens", "max_tokens": "max_tokens",
}


def termination_status(messages: list[ParsedMessage], truncated: bool,
                       stop_reason: str = "") -> str:
    """Cut off, waiting for the model, for a tool (the last message's call never answered),
    stopped abnormally (*stop_reason* of the last model turn), or waiting for the user."""
    if truncated:
        return "truncated"
    if not messages:
        return ""
    last = messages[-1]
    if last.role == "user" and not last.is_system:
        return "awaiting_assistant"
    if any(call.result_content_length is None for call in last.tool_calls):
        return "tool_call_pending"
    return _ABNORMAL_STOPS.get(stop_reason, "awaiting_user")
