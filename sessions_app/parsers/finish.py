"""What the parsers of the smaller agents share: how a transcript ends, and the label a tool
call adds to its message's text."""

from __future__ import annotations

from sessions_app.parsers.base import ParsedMessage
from sessions_app.parsers.registry import category_of
from sessions_app.parsers.tools import claude_label

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


def tool_label(name: str, args: object) -> str:
    """Claude's label for a call (``[Read: path]``, ``[Edit: path]``, ...), and a command line
    for any shell tool, whatever the agent calls it."""
    data = args if isinstance(args, dict) else {}
    category = category_of(name)
    if category == "Grep" and "pattern" not in data:
        query = data.get("regex", data.get("query"))
        return f"[Grep: {query}]" if isinstance(query, str) else "[Grep]"
    if category == "Bash" and name not in ("Bash", "bash"):
        command = data.get("command", data.get("cmd"))
        if isinstance(command, list):
            command = " ".join(part for part in command if isinstance(part, str))
        line = command.split("\n", 1)[0] if isinstance(command, str) else ""
        return f"[Bash]\n$ {line}" if line else "[Bash]"
    return claude_label(name, data)
