"""A message as the session page shows it: its text as Markdown and each tool call once, as a
one-liner naming the command or the path (``Bash $ npm test``, ``Edit src/auth/x.ts``) that
opens on its input and result. The content's tool label lines (``[Bash: Run tests]``) are
where the calls go, so a call is not shown twice."""

from __future__ import annotations

import shlex
from typing import Any

import orjson

from sessions_app.export.segments import message_segments
from sessions_app.pages.markdown import render as markdown

SHELLS = ("bash", "sh", "zsh", "/bin/bash", "/bin/sh", "/bin/zsh", "/usr/bin/bash")
PATH_KEYS = ("file_path", "path", "notebook_path", "filePath", "file", "target_file")
LINE_KEYS = ("command", "cmd", "pattern", "query", "url", "description", "prompt")


def command_line(value: Any) -> str:
    """A command as a person would type it: ``["bash", "-lc", "npm test"]`` is ``npm test``,
    another list is joined with shell quoting."""
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        if len(value) == 3 and value[0] in SHELLS and value[1] in ("-lc", "-c"):
            return value[2]
        return shlex.join(value)
    return value if isinstance(value, str) else ""


def _input(call: dict) -> Any:
    try:
        return orjson.loads(call.get("input_json") or "null")
    except orjson.JSONDecodeError:
        return None


def _relative(path: str, cwd: str) -> str:
    if cwd and path.startswith(cwd.rstrip("/") + "/"):
        return path[len(cwd.rstrip("/")) + 1:]
    return path


def one_line(call: dict, label_body: str, cwd: str) -> str:
    """What the call's line shows: the command, else the path, else its label's words."""
    data = _input(call)
    if isinstance(data, dict):
        for key in ("command", "cmd"):
            if data.get(key):
                return "$ " + command_line(data[key]).strip().splitlines()[0]
        for key in PATH_KEYS:
            if isinstance(data.get(key), str) and data[key]:
                return _relative(data[key], cwd) + _change_size(data)
        for key in LINE_KEYS:
            if isinstance(data.get(key), str) and data[key].strip():
                return data[key].strip().splitlines()[0]
    return label_body


def _lines(value: Any) -> int:
    return len(value.splitlines()) if isinstance(value, str) and value else 0


def _change_size(data: dict) -> str:
    """`` (+3 -1)``: the lines an edit adds and removes (a write: the lines it writes)."""
    if "old_string" in data or "new_string" in data:
        return f" (+{_lines(data.get('new_string'))} -{_lines(data.get('old_string'))})"
    if isinstance(data.get("content"), str):
        return f" (+{_lines(data['content'])})"
    return ""


def readable_input(call: dict) -> str:
    """The input as indented JSON, a command as its command line."""
    data = _input(call)
    if isinstance(data, dict) and isinstance(data.get("command") or data.get("cmd"), list):
        key = "command" if data.get("command") else "cmd"
        rest = {k: v for k, v in data.items() if k != key}
        line = "$ " + command_line(data[key])
        return line + ("\n" + orjson.dumps(rest, option=orjson.OPT_INDENT_2).decode()
                       if rest else "")
    if data is None:
        return call.get("input_json") or ""
    return orjson.dumps(data, option=orjson.OPT_INDENT_2).decode()


def readable_result(text: str | None) -> str | None:
    """A result that is a JSON envelope of an output (Codex: ``{"output": "...",
    "metadata": {...}}``) reads as its output, newlines and all."""
    if not text or not text.lstrip().startswith("{"):
        return text
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        return text
    if isinstance(data, dict) and isinstance(data.get("output"), str):
        meta = data.get("metadata") or {}
        code = meta.get("exit_code") if isinstance(meta, dict) else None
        return data["output"] + (f"\n(exit code {code})" if code not in (None, 0) else "")
    return text


def _call_item(call: dict, label_body: str, cwd: str) -> dict:
    failed = any(e.get("status") == "errored" for e in call.get("result_events") or [])
    return {"kind": "tool", "call": call, "line": one_line(call, label_body, cwd),
            "input": readable_input(call),
            "result": readable_result(call.get("result_content")), "failed": failed}


def message_parts(message: dict, cwd: str) -> list[dict]:
    """The message's text (Markdown) and tool calls in the order written; each stored call
    once, at its label line (calls without one at the end), a label without a stored call
    as a plain one-liner."""
    calls = list(message.get("tool_calls") or [])
    parts: list[dict] = []
    for seg in message_segments(message):
        if seg.kind == "thinking":
            continue  # shown apart, from thinking_text
        if seg.kind == "text":
            parts.append({"kind": "text", "html": markdown(seg.text)})
            continue
        inner = seg.label[1:-1]
        body = inner[len(seg.head):].lstrip(": ") if inner.startswith(seg.head) else inner
        first = seg.text.strip().splitlines()[0] if seg.text.strip() else ""
        words = first or body
        match = next((c for c in calls if c.get("tool_name") == seg.head
                      or c.get("category") == seg.head), calls[0] if calls else None)
        if match is not None:
            calls.remove(match)
            parts.append(_call_item(match, words, cwd))
        else:
            parts.append({"kind": "label", "head": seg.head, "line": words})
    parts.extend(_call_item(call, "", cwd) for call in calls)
    return parts
