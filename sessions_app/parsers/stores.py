"""What the parsers of structured stores share (agents keeping a session as database rows,
a JSON document or a directory of event files, rather than JSON lines): their issue list,
the end state of a transcript, the label lines of tool calls."""

from __future__ import annotations

from collections.abc import Mapping

from sessions_app.parsers.base import ParsedMessage, ParsedSession, parse_timestamp

MAX_ISSUES_KEPT = 20


class Issues(list):
    """One-line issues of a file, each said once, at most ``MAX_ISSUES_KEPT`` (the JSON-lines
    reader's rule). ``at(where)`` is a ``Note`` that prefixes what it hears with *where*."""

    def add(self, text: str) -> None:
        text = " ".join(text.split())  # one line, whatever a value held
        if text in self:
            return
        if len(self) < MAX_ISSUES_KEPT:
            self.append(text)
        elif len(self) == MAX_ISSUES_KEPT:
            self.append("more issues not shown")

    def at(self, where: str):
        return lambda text: self.add(f"{where}: {text}")


def text(value: object) -> str:
    return value if isinstance(value, str) else ""


def first_line(value: str) -> str:
    return value.split("\n", 1)[0]


def stamp(value: object):
    """A time as these stores write it: epoch seconds or milliseconds, or an ISO string."""
    if isinstance(value, bool):
        return None
    return parse_timestamp(value)


def termination_status(messages: list[ParsedMessage]) -> str:
    """How a transcript ends: waiting for the model, for a tool, or for the user."""
    if not messages:
        return ""
    last = messages[-1]
    if last.role == "user" and not last.is_system:
        return "awaiting_assistant"
    if any(call.result_content_length is None for call in last.tool_calls):
        return "tool_call_pending"
    return "awaiting_user"


def finish(session: ParsedSession) -> ParsedSession:
    """Number the messages, fill missing bounds from them, and set the end state."""
    for ordinal, message in enumerate(session.messages):
        message.ordinal = ordinal
        for index, call in enumerate(message.tool_calls):
            call.call_index = index
    session.fill_bounds_from_messages()
    if session.started_at and session.ended_at and session.ended_at < session.started_at:
        session.ended_at = session.started_at
    session.termination_status = session.termination_status or termination_status(
        session.messages)
    return session


def tool_label(category: str, name: str, data: Mapping, *, path_keys: tuple[str, ...] = (
        "filePath", "file_path", "path"), command_keys: tuple[str, ...] = ("command", "cmd"),
        description: str = "") -> str:
    """The label line a tool call adds to its message's text (``[Read: path]``, ``[Bash:
    what]`` and the command under it), for agents whose calls name their inputs variously."""
    target = next((text(data.get(k)) for k in path_keys if text(data.get(k))), "")
    if category == "Bash":
        desc = description or text(data.get("description"))
        command = next((data.get(k) for k in command_keys if data.get(k) is not None), None)
        if isinstance(command, list):
            command = " ".join(str(part) for part in command)
        head = f"[Bash: {desc}]" if desc else "[Bash]"
        line = first_line(text(command))
        return f"{head}\n$ {line}" if line else head
    if category in ("Read", "Edit", "Write"):
        return f"[{category}: {target}]" if target else f"[{category}]"
    if category in ("Grep", "Glob"):
        pattern = text(data.get("pattern")) or text(data.get("query"))
        return f"[{category}: {pattern}]" if pattern else f"[{category}]"
    if category == "Task":
        desc = description or text(data.get("description"))
        kind = text(data.get("subagent_type")) or text(data.get("agent"))
        if desc and kind:
            return f"[Task: {desc} ({kind})]"
        return f"[Task: {desc or name}]"
    return f"[Tool: {name}]"


LABEL_HEADS = frozenset({"Tool", "Read", "Edit", "Write", "Bash", "Grep", "Glob", "Task"})
