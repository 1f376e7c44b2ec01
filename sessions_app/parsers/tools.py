"""The shared tool-name categories, and the one-line labels a tool call adds to its message's
text."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping
from types import MappingProxyType

from sessions_app.parsers.base import clean_json
from sessions_app.parsers.registry import category_of


def by_category(groups: Mapping[str, tuple[str, ...]]) -> Mapping[str, str]:
    """``{category: names}`` written the readable way round, as ``{name: category}``."""
    return MappingProxyType({name: category for category, names in groups.items()
                             for name in names})


# AgentsView gives a tool name the same category whichever agent called it. These are the names
# no parser here declares (agents not parsed yet, names any agent may call); each parser
# declares its agent's own names (``tool_categories``) and ``registry.category_of`` merges them.
SHARED_CATEGORIES = by_category({
    "Read": (
        "read", "view", "read_file", "list_directory", "list_files", "look_at", "read_web_page",
        "ls", "find", "fetch", "ReadFile", "view_file",
    ),
    "Edit": (
        "edit", "ApplyPatch", "StrReplace", "str_replace", "undo_edit", "edit_file", "replace",
        "patch", "EditFile",
    ),
    "Write": ("write", "write_file", "create_file", "WriteFile", "write_to_file"),
    "Bash": (
        "bash", "run_command", "execute_command", "run_shell_command", "Shell", "exec", "process",
        "terminal",
    ),
    "Grep": ("grep", "search_files", "grep_search", "finder", "fs_search"),
    "Glob": ("glob",),
    "Task": (
        "task", "sessions_list", "sessions_history", "sessions_send", "sessions_spawn",
        "subagents", "agents_list", "session_status", "delegate_task",
    ),
    "Tool": (
        "skill", "report_intent", "todo_write", "browser", "web_search", "web_fetch", "image",
        "canvas", "tts", "message", "nodes",
    ),
})


def _s(value: object) -> str:
    return value if isinstance(value, str) else ""


def _first_line(text: str) -> str:
    return text.split("\n", 1)[0]


_TODO_MARK = {"completed": "✓", "in_progress": "→", "pending": "○"}


def _list(value: object) -> list:
    """*value* if it is a list; anything else (a number, an object) lists nothing."""
    return value if isinstance(value, list) else []


def claude_label(name: str, inp: object) -> str:
    """The text a Claude ``tool_use`` block contributes to its message."""
    data = inp if isinstance(inp, dict) else {}
    category = category_of(name)
    if name == "TodoWrite":
        lines = ["[Todo List]"]
        for todo in _list(data.get("todos")):
            if isinstance(todo, dict):
                mark = _TODO_MARK.get(_s(todo.get("status")), "○")
                lines.append(f"  {mark} {_s(todo.get('content'))}")
        return "\n".join(lines)
    if name == "AskUserQuestion":
        lines = ["[Question: AskUserQuestion]"]
        for q in _list(data.get("questions")):
            if isinstance(q, dict):
                lines.append(f"  {_s(q.get('question'))}")
                for opt in _list(q.get("options")):
                    label = _s(opt.get("label")) if isinstance(opt, dict) else _s(opt)
                    if label:
                        lines.append(f"    - {label}")
        return "\n".join(lines)
    if name == "EnterPlanMode":
        return "[Entering Plan Mode]"
    if name == "ExitPlanMode":
        return "[Exiting Plan Mode]"
    if name in ("Skill", "skill"):
        return f"[Skill: {_s(data.get('skill')) or _s(data.get('name'))}]"
    if category == "Bash" and name in ("Bash", "bash"):
        desc, command = _s(data.get("description")), _s(data.get("command"))
        head = f"[Bash: {desc}]" if desc else "[Bash]"
        return f"{head}\n$ {_first_line(command)}" if command else head
    if category == "Read":
        target = _s(data.get("file_path")) or _s(data.get("path"))
        return f"[Read: {target}]" if target else "[Read]"
    if category in ("Edit", "Write"):
        target = _s(data.get("file_path")) or _s(data.get("notebook_path")) or _s(data.get("path"))
        return f"[{category}: {target}]" if target else f"[{category}]"
    if category == "Grep":
        return f"[Grep: {_s(data.get('pattern'))}]"
    if category == "Glob":
        return f"[Glob: {_s(data.get('pattern'))} in {_s(data.get('path')) or '.'}]"
    if category == "Task" and name in ("Task", "Agent"):
        desc, kind = _s(data.get("description")), _s(data.get("subagent_type"))
        return f"[Task: {desc} ({kind})]" if kind else f"[Task: {desc}]"
    return f"[Tool: {name}]"


# --- Codex --------------------------------------------------------------------------------

_PATCH_FILE_RE = re.compile(r"^\*\*\* (?:Add|Update|Delete) File: (.+)$", re.MULTILINE)
ARG_PREVIEW_CHARS = 220


def patch_files(patch: str) -> list[str]:
    return [m.strip() for m in _PATCH_FILE_RE.findall(patch)]


_SHELLS = frozenset({"bash", "sh", "zsh", "dash", "fish", "pwsh", "powershell", "cmd"})


def _command_text(command: object) -> str:
    """The first line of a shell command as a person would type it: an argv list is joined
    with shell quoting, and a shell wrapper (``["bash", "-lc", "npm test"]``) gives the script
    it runs; a list holding anything but strings is written as JSON."""
    if isinstance(command, list):
        if not all(isinstance(part, str) for part in command):
            if any(isinstance(part, list | dict) for part in command):
                command = clean_json(command)  # nested: as deep as json.dumps goes
            return json.dumps(command, ensure_ascii=False)
        program = command[0].replace("\\", "/").rsplit("/", 1)[-1].lower() if command else ""
        if (len(command) == 3 and command[1].lower() in ("-c", "-lc", "-command", "/c")
                and program.removesuffix(".exe") in _SHELLS):
            return _first_line(command[2])
        return _first_line(shlex.join(command))
    return _first_line(_s(command))


def codex_label(name: str, args: object, raw: str, summary: str = "") -> str:
    """The text of the assistant row a Codex function call becomes.

    *args* is the decoded arguments (a dict when they were JSON), *raw* their text.
    """
    data = args if isinstance(args, dict) else {}
    category = category_of(name)
    if name == "write_stdin":
        chars = _s(data.get("chars")).encode("unicode_escape").decode("ascii")
        return f"[Bash: stdin -> {_s(data.get('session_id'))}]\n{chars}".rstrip("\n")
    if name in ("exec_command", "shell_command", "shell") or (category == "Bash" and data):
        head = f"[Bash: {summary}]" if summary else "[Bash]"
        command = data.get("cmd", data.get("command"))
        text = _command_text(command) if command is not None else ""
        return f"{head}\n$ {text}" if text else head
    if name in ("apply_patch", "ApplyPatch"):
        patch = raw if not data else _s(data.get("patch")) or _s(data.get("input")) or raw
        files = patch_files(patch)
        if not files:
            return f"[Edit: {summary}]" if summary else "[Edit]"
        if len(files) == 1:
            return f"[Edit: {files[0]}]"
        listing = "\n".join(f"  {f}" for f in files)
        return f"[Edit: {files[0]} (+{len(files) - 1} more)]\n{listing}"
    preview = raw if len(raw) <= ARG_PREVIEW_CHARS else raw[:ARG_PREVIEW_CHARS] + "..."
    head = f"[{category}: {summary or name}]" if category != "Other" else f"[Tool: {name}]"
    return f"{head}\n{preview}" if preview and preview not in ("{}", "null") else head
