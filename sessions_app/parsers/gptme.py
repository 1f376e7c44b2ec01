"""gptme conversation logs: ``<root>/<conversation>/conversation.jsonl``.

One JSON line per message: ``role`` (system, user, assistant; ``tool`` in some logs),
``content``, ``timestamp`` (local time without a zone, read as UTC), optional ``pinned``,
``hide``, ``call_id``, ``files`` and ``metadata`` (``model``, ``usage``). Tool uses live in
the assistant's text, as fenced blocks whose language is the tool (```` ```shell ````,
```` ```save path ````) or, in the tool-calling format, as ``@tool(call_id): {json}``; their
outputs are the system (or tool) messages that follow. The conversation's ``config.toml``
may name its workspace, which gives the project.
"""

from __future__ import annotations

import re
import tomllib
from datetime import datetime
from pathlib import Path

import orjson

from sessions_app.parsers.base import (
    AgentParser,
    ParsedSession,
    ParseOptions,
    ParseResult,
    parse_timestamp,
)
from sessions_app.parsers.chatlog import LABEL_HEADS, Builder, finish_result, s, usage_fields
from sessions_app.parsers.jsonl import JsonlReader, head_lines
from sessions_app.parsers.project import project_from_cwd
from sessions_app.parsers.registry import AGENTS
from sessions_app.parsers.tools import by_category

AGENT = "gptme"
ID_PREFIX = AGENTS[AGENT].id_prefix
LOG_NAME = "conversation.jsonl"
MAX_CONFIG_BYTES = 1024 * 1024
# gptme's tools by the block type that runs them (gptme/tools/*.py: block_types)
BLOCK_TOOLS = {
    "shell": "shell", "ipython": "ipython", "py": "ipython", "save": "save",
    "append": "append", "patch": "patch", "read": "read", "tmux": "tmux", "gh": "gh",
    "morph": "morph", "patch_many": "patch_many", "hashline_edit": "hashline_edit",
    "todo": "todo", "complete": "complete", "choice": "choice", "clarify": "clarify",
    "form": "form", "elicit": "elicit", "mcp": "mcp", "progress": "progress",
    "restart": "restart", "vent": "vent", "view_anchored": "view_anchored",
    "patch_anchored": "patch_anchored",
}
_PATH_TOOLS = ("save", "append", "patch", "morph", "hashline_edit")
_FENCE_RE = re.compile(r"^(`{3,})(.*)$")
_TOOLCALL_RE = re.compile(r"^@([\w.]+)\(([\w\-:.]+)\):\s*(?=\{)", re.MULTILINE)
_THINK_RE = re.compile(r"^\s*<(think|thinking)>(.*?)</\1>\s*", re.DOTALL)
_RETURN_CODE_RE = re.compile(r"^Return code: (-?\d+)\s*$", re.MULTILINE)


def _tool_uses(content: str) -> list[tuple[str, object, str]]:
    """``(tool, input, call_id)`` of every tool use in an assistant message, in order."""
    uses: list[tuple[int, str, object, str]] = []
    lines = content.split("\n")
    offsets, pos = [], 0
    for line in lines:
        offsets.append(pos)
        pos += len(line) + 1
    in_block: tuple[int, str, str, int] | None = None  # fence length, lang, start line, offset
    body: list[str] = []
    fenced: list[tuple[int, int]] = []
    for index, line in enumerate(lines):
        match = _FENCE_RE.match(line)
        if in_block is None:
            if match and match.group(2).strip() and "`" not in match.group(2):
                in_block = (len(match.group(1)), match.group(2).strip(), index, offsets[index])
                body = []
            continue
        if match and len(match.group(1)) == in_block[0] and not match.group(2).strip():
            fence, lang, _start, offset = in_block
            fenced.append((offset, offsets[index] + len(line)))
            tool = BLOCK_TOOLS.get(lang.split(" ")[0])
            if tool:
                uses.append((offset, tool, _block_input(tool, lang, "\n".join(body)), ""))
            in_block = None
            continue
        body.append(line)
    for match in _TOOLCALL_RE.finditer(content):
        if any(start <= match.start() < end for start, end in fenced):
            continue
        try:
            kwargs, _ = _json_prefix(content[match.end():])
        except ValueError:
            continue
        uses.append((match.start(), match.group(1), kwargs, match.group(2)))
    uses.sort(key=lambda u: u[0])
    return [(tool, data, call_id) for _, tool, data, call_id in uses]


def _json_prefix(text: str) -> tuple[object, int]:
    """The JSON object at the start of *text* (``ValueError`` when there is none)."""
    depth, in_string, escape = 0, False, False
    for index, char in enumerate(text):
        if in_string:
            if escape:
                escape = False
            elif char == "\\":
                escape = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                try:
                    return orjson.loads(text[: index + 1]), index + 1
                except orjson.JSONDecodeError:
                    raise ValueError("not JSON") from None
    raise ValueError("unterminated")


def _block_input(tool: str, lang: str, body: str) -> dict:
    args = lang.split(" ")[1:]
    if tool in ("shell", "tmux"):
        return {"command": body}
    if tool == "ipython":
        return {"code": body}
    if tool in _PATH_TOOLS:
        return {"path": " ".join(args), "content": body}
    if tool == "read":
        return {"path": " ".join(args)}
    return {"args": args, "content": body} if args else {"content": body}


def _status(text: str) -> str:
    if text.startswith(("Error", "Error executing tool")):
        return "errored"
    code = _RETURN_CODE_RE.search(text)
    if code and code.group(1) != "0":
        return "errored"
    return "completed"


def project_from_name(name: str) -> str:
    """``2026-06-13-write-hello-world`` -> ``write-hello-world`` (AgentsView's rule: the
    leading date, and a ``HHMMSS-`` after it, are dropped)."""
    parts = name.split("-", 3)
    if len(parts) < 4 or not all(p.isdigit() for p in parts[:3]):
        return name or "unknown"
    topic = parts[3]
    head, _, rest = topic.partition("-")
    if rest and len(head) == 6 and head.isdigit():
        topic = rest
    return topic or "unknown"


def _workspace(log_dir: Path, issues: list[str]) -> str:
    """The workspace ``config.toml`` names for this conversation ('' when none)."""
    config = log_dir / "config.toml"
    try:
        if not config.is_file():
            return ""
        with config.open("rb") as fh:
            data = tomllib.loads(fh.read(MAX_CONFIG_BYTES).decode("utf-8", "replace"))
    except (OSError, tomllib.TOMLDecodeError, ValueError) as exc:
        issues.append(f"config.toml: not read ({type(exc).__name__})")
        return ""
    chat = data.get("chat")
    workspace = s(chat.get("workspace")) if isinstance(chat, dict) else ""
    if workspace == "@log":
        return str(log_dir / "workspace")
    return workspace


class _Log:
    def __init__(self, options: ParseOptions, issue) -> None:
        self.builder = Builder(options)
        self.issue = issue
        self.line = 0
        self.model = ""
        self.pending: list[str] = []  # tool_use_ids of calls awaiting a result, in order
        self.seen_user = False

    def note(self, message: str) -> None:
        self.issue(self.line, message)

    def feed(self, lineno: int, obj: dict) -> None:
        self.line = lineno
        role = obj.get("role")
        content = obj.get("content")
        text = content if isinstance(content, str) else ""
        ts = parse_timestamp(obj.get("timestamp"))
        self.builder.bound(ts)
        if role == "user":
            self.pending = []
            self.seen_user = True
            if text.strip():
                self.builder.add("user", text.strip(), ts)
        elif role == "assistant":
            self._assistant(obj, text, ts)
        elif role in ("system", "tool"):
            self._output(obj, text, ts, role)

    def _assistant(self, obj: dict, text: str, ts: datetime | None) -> None:
        metadata = obj.get("metadata")
        metadata = metadata if isinstance(metadata, dict) else {}
        self.model = s(metadata.get("model")) or self.model
        thinking = ""
        match = _THINK_RE.match(text)
        if match:
            thinking, text = match.group(2).strip(), text[match.end():]
        message = self.builder.add("assistant", text.strip(), ts, thinking=thinking,
                                   model=self.model)
        usage = metadata.get("usage")
        if isinstance(usage, dict):
            usage_fields(message, {
                "input_tokens": usage.get("input_tokens"),
                "output_tokens": usage.get("output_tokens"),
                "cache_read_input_tokens": usage.get("cache_read_tokens"),
                "cache_creation_input_tokens": usage.get("cache_creation_tokens"),
            }, self.note, "metadata.usage")
        self.pending = []
        for index, (tool, data, call_id) in enumerate(_tool_uses(text)):
            tool_use_id = call_id or f"{self.line}:{index}"
            call = self.builder.call(message, tool, data, tool_use_id, self.note)
            if call is not None:
                self.pending.append(tool_use_id)

    def _output(self, obj: dict, text: str, ts: datetime | None, role: str) -> None:
        if role == "system" and (not self.seen_user or obj.get("pinned") is True
                                 or obj.get("hide") is True):
            return  # the system prompt and the context gptme injects
        if not text.strip():
            return
        call_id = s(obj.get("call_id"))
        if call_id and call_id in self.pending:
            self.pending.remove(call_id)
        elif self.pending:
            call_id = self.pending.pop(0)
        else:
            call_id = ""
        if call_id and self.builder.result(call_id, text, status=_status(text), timestamp=ts):
            return
        self.builder.add("user", text.strip(), ts, is_system=True, source_type="system",
                         source_subtype="tool_output" if role == "tool" else "system")


def _parse(path: Path, options: ParseOptions) -> ParseResult:
    reader = JsonlReader(path, options.max_line_bytes)
    log = _Log(options, reader.issue)
    for lineno, obj in reader:
        log.feed(lineno, obj)
    result = reader.result()
    messages = log.builder.finish()
    if not messages:
        return result
    name = path.parent.name
    workspace = _workspace(path.parent, result.issues)
    session = ParsedSession(
        id=ID_PREFIX + name,
        agent=AGENT,
        project=project_from_cwd(workspace) if workspace else project_from_name(name),
        cwd=workspace,
        started_at=log.builder.started,
        ended_at=log.builder.ended,
        messages=messages,
    )
    return finish_result(result, [session])


class GptmeParser:
    version = 1
    tool_categories = by_category({
        "Bash": ("shell", "ipython", "tmux"),
        "Write": ("save", "append"),
        "Edit": ("patch", "morph", "patch_many", "hashline_edit", "patch_anchored"),
        "Read": ("read", "view_anchored"),
        "Tool": ("gh", "todo", "complete", "choice", "clarify", "form", "elicit", "mcp",
                 "progress", "restart", "vent"),
    })
    label_heads = LABEL_HEADS

    def matches(self, rel_parts: tuple[str, ...]) -> bool:
        """``<conversation>/conversation.jsonl``."""
        return len(rel_parts) == 2 and rel_parts[1] == LOG_NAME

    def sniff(self, path: Path) -> bool:
        """A ``conversation.jsonl`` whose lines carry a ``role`` and a ``timestamp``."""
        return path.name == LOG_NAME and any(
            b'"role"' in line and b'"timestamp"' in line for line in head_lines(path, 5))

    def root_of(self, path: Path) -> Path:
        return path.parent.parent

    def parse(self, path: Path, root: Path, options: ParseOptions | None = None) -> ParseResult:
        return _parse(path, options or ParseOptions())


parser: AgentParser = GptmeParser()
