"""What the Gemini CLI family (Gemini CLI and its fork Qwen Code) shares: the genai ``Part``
shapes their transcripts hold (text, thought, functionCall, functionResponse), their tool
names, the labels a tool call adds to its message, and the finishing of a session."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from sessions_app.parsers.base import (
    Note,
    ParsedMessage,
    ParsedToolCall,
    compact_json,
)
from sessions_app.parsers.registry import category_of
from sessions_app.parsers.tools import by_category

# The tools of Gemini CLI and of Qwen Code that keep their Gemini names (read_file, ...), with
# the categories AgentsView gives them; each parser adds the names only its agent has.
FAMILY_TOOLS: Mapping[str, tuple[str, ...]] = {
    "Read": ("read_file", "read_many_files", "list_directory"),
    "Edit": ("replace", "edit"),
    "Write": ("write_file",),
    "Bash": ("run_shell_command",),
    "Grep": ("grep_search", "search_file_content"),
    "Glob": ("glob",),
    "Tool": ("save_memory", "web_fetch", "exit_plan_mode", "todo_write"),
}
# The heads of every label ``tool_label`` writes.
LABEL_HEADS = frozenset({"Read", "Write", "Edit", "Bash", "List", "Grep", "Glob", "Task",
                         "Tool"})
_PATH_KEYS = ("file_path", "absolute_path", "path")


def family_categories(own: Mapping[str, tuple[str, ...]]) -> Mapping[str, str]:
    """The family's tool table with an agent's own names added (``{category: names}``)."""
    merged = {category: tuple(names) for category, names in FAMILY_TOOLS.items()}
    for category, names in own.items():
        merged[category] = merged.get(category, ()) + tuple(names)
    return by_category(merged)


def text_of(value: object) -> str:
    return value if isinstance(value, str) else ""


def part_texts(value: object, *, thoughts: bool = False) -> list[str]:
    """The texts of a ``PartListUnion`` (a string, a ``Part`` or a list of both): the parts
    marked ``thought`` when *thoughts*, the others otherwise. Empty texts are left out."""
    if isinstance(value, str):
        return [value] if value and not thoughts else []
    parts = value if isinstance(value, list) else [value] if isinstance(value, dict) else []
    texts = []
    for part in parts:
        if isinstance(part, str):
            if part and not thoughts:
                texts.append(part)
        elif isinstance(part, dict) and (part.get("thought") is True) == thoughts:
            text = text_of(part.get("text"))
            if text:
                texts.append(text)
    return texts


def function_response(part: object, note: Note | None = None) -> tuple[str, str, bool] | None:
    """``(id, text, is_error)`` of a ``{"functionResponse": {...}}`` part, else None. The text
    is the response's ``output`` (or ``error``); any other response is kept as JSON."""
    if not isinstance(part, dict):
        return None
    response = part.get("functionResponse")
    if not isinstance(response, dict):
        return None
    body = response.get("response")
    is_error = False
    if isinstance(body, dict) and "output" in body:
        value = body.get("output")
    elif isinstance(body, dict) and "error" in body:
        value, is_error = body.get("error"), True
    else:
        value = body
    if isinstance(value, str):
        text = value
    elif value is None:
        text = ""
    else:
        text = compact_json(value, note, "tool output")
    return text_of(response.get("id")), text, is_error


def input_json(args: object, note: Note | None = None) -> str:
    return compact_json(args, note, "tool input") if args is not None else ""


def tool_call(name: str, tool_id: str, args: object, call_index: int,
              note: Note | None = None) -> ParsedToolCall:
    category = category_of(name)
    data = args if isinstance(args, dict) else {}
    path = ""
    if category in ("Read", "Edit", "Write"):
        path = next((text_of(data.get(k)) for k in _PATH_KEYS if text_of(data.get(k))), "")
    return ParsedToolCall(
        tool_use_id=tool_id,
        tool_name=name,
        category=category,
        input_json=input_json(args, note),
        skill_name=text_of(data.get("skill")) or text_of(data.get("name"))
        if name in ("skill", "activate_skill") else "",
        file_path=path,
        call_index=call_index,
    )


def _first_line(text: str) -> str:
    return text.split("\n", 1)[0]


def tool_label(name: str, args: object, display_name: str = "") -> str:
    """The line a tool call adds to its message: ``[Read: src/a.ts]``, ``[Bash]\\n$ ls``,
    ``[List: src]``, ``[Tool: WebFetch]``..."""
    data = args if isinstance(args, dict) else {}
    category = category_of(name)
    path = next((text_of(data.get(k)) for k in _PATH_KEYS if text_of(data.get(k))), "")
    if name == "list_directory":
        return f"[List: {text_of(data.get('dir_path')) or path}]"
    if category in ("Read", "Write", "Edit") and name != "read_many_files":
        return f"[{category}: {path}]"
    if category == "Bash":
        command = text_of(data.get("command"))
        return f"[Bash]\n$ {_first_line(command)}" if command else "[Bash]"
    if category == "Grep":
        return f"[Grep: {text_of(data.get('query')) or text_of(data.get('pattern'))}]"
    if category == "Glob":
        return f"[Glob: {text_of(data.get('pattern'))}]"
    if category == "Task":
        detail = (text_of(data.get("description")) or text_of(data.get("subagent_type"))
                  or display_name or name)
        return f"[Task: {_first_line(detail)}]"
    return f"[Tool: {display_name or name}]"


def thinking_block(text: str) -> str:
    return f"[Thinking]\n{text}\n[/Thinking]"


def file_clock(path: Path) -> datetime | None:
    """The file's mtime: the clock of a session none of whose records has a time."""
    try:
        return datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
    except (OSError, OverflowError, ValueError):
        return None


def termination_status(messages: list[ParsedMessage], truncated: bool,
                       pending: bool) -> str:
    """How the transcript ends: cut off, waiting for the model, for a tool (*pending*: the
    last message has a call that never finished) or for the user."""
    if truncated:
        return "truncated"
    if not messages:
        return ""
    if messages[-1].role == "user" and not messages[-1].is_system:
        return "awaiting_assistant"
    if pending:
        return "tool_call_pending"
    return "awaiting_user"
