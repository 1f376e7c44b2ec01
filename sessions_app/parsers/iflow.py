"""iFlow CLI transcripts: ``<root>/<project dir>/session-<id>.jsonl``.

The lines are Claude Code's (``type`` user/assistant, ``uuid``/``parentUuid``, ``message``
with content blocks, ``cwd``, ``gitBranch``, ``sessionId``), written while the answer streams:
one reply arrives as several assistant lines in a row under the same parent, each repeating
the tool calls still running, so such a burst is one message and a call is kept once. A tool
result's content is a string, text blocks, or an object holding the output at
``responseParts.functionResponse.response.output``; ``toolUseResult.status`` says whether it
failed. iFlow's uuid tree records those streamed snapshots, not forks, so the file is read
in order.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from sessions_app.parsers.base import (
    AgentParser,
    ParsedMessage,
    ParsedSession,
    ParseOptions,
    ParseResult,
    compact_json,
    parse_timestamp,
)
from sessions_app.parsers.chatlog import LABEL_HEADS, Builder, finish_result, s, usage_fields
from sessions_app.parsers.claude import classify_user_text
from sessions_app.parsers.jsonl import JsonlReader, head_lines
from sessions_app.parsers.project import (
    normalize_name,
    project_from_cwd,
    project_from_encoded_dir,
)
from sessions_app.parsers.registry import AGENTS
from sessions_app.parsers.tools import by_category

AGENT = "iflow"
ID_PREFIX = AGENTS[AGENT].id_prefix
STREAMING_GAP = timedelta(seconds=1)  # snapshots of one streamed reply come within this
FAILED = frozenset({"error", "errored", "failed", "failure", "cancelled", "canceled"})


def _result_text(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(s(b.get("text")) for b in content
                         if isinstance(b, dict) and s(b.get("text")))
    if isinstance(content, dict):
        parts = content.get("responseParts")
        response = parts.get("functionResponse") if isinstance(parts, dict) else None
        response = response.get("response") if isinstance(response, dict) else None
        if isinstance(response, dict):
            output = response.get("output")
            if isinstance(output, str):
                return output
            error = response.get("error")
            if isinstance(error, str):
                return error
        return s(content.get("resultDisplay")) or s(content.get("output"))
    return ""


class _Transcript:
    def __init__(self, options: ParseOptions, issue) -> None:
        self.builder = Builder(options)
        self.issue = issue
        self.line = 0
        self.cwd = ""
        self.git_branch = ""
        self.version = ""
        self.session_id = ""
        self.sidechain = False
        self.model = ""
        # the assistant message a following streamed snapshot joins: (message, parent, line, ts)
        self.burst: tuple[ParsedMessage, str, int, datetime | None] | None = None

    def note(self, message: str) -> None:
        self.issue(self.line, message)

    def feed(self, lineno: int, obj: dict) -> None:
        self.line = lineno
        ts = parse_timestamp(obj.get("timestamp"))
        self.builder.bound(ts)
        kind = obj.get("type")
        message = obj.get("message")
        if kind not in ("user", "assistant") or not isinstance(message, dict):
            return
        if kind == "user" and not self.cwd:
            self.cwd = s(obj.get("cwd"))
            self.git_branch = s(obj.get("gitBranch"))
        self.version = self.version or s(obj.get("version"))
        self.session_id = self.session_id or s(obj.get("sessionId"))
        self.sidechain = self.sidechain or obj.get("isSidechain") is True
        if kind == "assistant":
            self._assistant(obj, message, ts)
        else:
            self.burst = None
            self._user(obj, message, ts)

    def _assistant(self, obj: dict, message: dict, ts: datetime | None) -> None:
        parent = s(obj.get("parentUuid"))
        joined = self.burst
        if joined is not None and not (
            parent and parent == joined[1] and joined[2] == self.line - 1 and ts is not None
            and joined[3] is not None and ts - joined[3] < STREAMING_GAP
        ):
            joined = None
        self.model = s(message.get("model")) or self.model
        if joined is None:
            target = self.builder.add("assistant", "", ts, model=self.model,
                                      source_uuid=s(obj.get("uuid")),
                                      source_parent_uuid=parent,
                                      claude_message_id=s(message.get("id")),
                                      is_sidechain=obj.get("isSidechain") is True)
        else:
            target = joined[0]
        self.burst = (target, parent, self.line, ts)
        content = message.get("content")
        if isinstance(content, str):
            self._text(target, content)
            content = []
        for block in content if isinstance(content, list) else []:
            if not isinstance(block, dict):
                continue
            kind = block.get("type")
            if kind == "text":
                self._text(target, s(block.get("text")))
            elif kind == "thinking":
                self.builder.thinking(target, s(block.get("thinking")).strip())
            elif kind == "tool_use":
                self.builder.call(target, s(block.get("name")), block.get("input"),
                                  s(block.get("id")), self.note)
        usage = message.get("usage")
        if isinstance(usage, dict) and any(
                isinstance(v, int | float) and v for v in usage.values()):
            usage_fields(target, usage, self.note, "message.usage")

    def _text(self, message: ParsedMessage, text: str) -> None:
        if text.strip():
            message.content = f"{message.content}\n{text}" if message.content else text

    def _user(self, obj: dict, message: dict, ts: datetime | None) -> None:
        if obj.get("isMeta") is True or obj.get("isCompactSummary") is True:
            return
        content = message.get("content")
        outcome = obj.get("toolUseResult")
        status = s(outcome.get("status")).lower() if isinstance(outcome, dict) else ""
        texts: list[str] = [content] if isinstance(content, str) else []
        for block in content if isinstance(content, list) else []:
            if not isinstance(block, dict):
                continue
            if block.get("type") == "text":
                texts.append(s(block.get("text")))
            elif block.get("type") == "tool_result":
                failed = block.get("is_error") is True or status in FAILED
                result = block.get("content")
                text = _result_text(result)
                if not text and result is not None and not isinstance(result, str | list):
                    text = compact_json(result, self.note, "tool result")
                self.builder.result(s(block.get("tool_use_id")), text,
                                    status="errored" if failed else "completed", timestamp=ts)
        text = "\n".join(t for t in texts if t)
        for row, subtype, suffix in classify_user_text(text) if text.strip() else []:
            uuid = s(obj.get("uuid"))
            self.builder.add("user", row, ts, is_system=bool(subtype),
                             source_type="system" if subtype else "user",
                             source_subtype=subtype,
                             source_uuid=uuid + suffix if uuid else "",
                             source_parent_uuid=s(obj.get("parentUuid")),
                             is_sidechain=obj.get("isSidechain") is True)


def _project(path: Path, root: Path, cwd: str, branch: str) -> str:
    if cwd:
        return project_from_cwd(cwd, branch)
    try:
        folder = path.relative_to(root).parts[0]
    except (ValueError, IndexError):
        folder = path.parent.name
    return project_from_encoded_dir(folder) if folder.startswith("-") else normalize_name(folder)


def _parse(path: Path, root: Path, options: ParseOptions) -> ParseResult:
    reader = JsonlReader(path, options.max_line_bytes)
    transcript = _Transcript(options, reader.issue)
    for lineno, obj in reader:
        transcript.feed(lineno, obj)
    result = reader.result()
    raw_id = path.stem.removeprefix("session-")
    session = ParsedSession(
        id=ID_PREFIX + raw_id,
        agent=AGENT,
        project=_project(path, root, transcript.cwd, transcript.git_branch),
        cwd=transcript.cwd,
        git_branch=transcript.git_branch,
        source_version=transcript.version,
        started_at=transcript.builder.started,
        ended_at=transcript.builder.ended,
        messages=transcript.builder.finish(),
    )
    source = transcript.session_id.removeprefix("session-")
    if source and source != raw_id:
        session.source_session_id = transcript.session_id
        session.parent_session_id = ID_PREFIX + source
        session.relationship_type = "subagent" if transcript.sidechain else "continuation"
    return finish_result(result, [session])


class IflowParser:
    version = 1
    tool_categories = by_category({
        "Read": ("read_file", "read_many_files", "list_directory"),
        "Edit": ("replace", "multi_edit"),
        "Write": ("write_file",),
        "Bash": ("run_shell_command",),
        "Grep": ("search_file_content",),
        "Glob": ("glob",),
        "Task": ("task",),
        "Tool": ("web_fetch", "web_search", "google_web_search", "save_memory", "todo_write",
                 "todo_read"),
    })
    label_heads = LABEL_HEADS

    def matches(self, rel_parts: tuple[str, ...]) -> bool:
        """``<project dir>/session-<id>.jsonl``."""
        name = rel_parts[-1]
        return len(rel_parts) == 2 and name.startswith("session-") and name.endswith(".jsonl")

    def sniff(self, path: Path) -> bool:
        """A ``session-*.jsonl`` whose lines carry a ``sessionId`` starting with ``session-``."""
        return path.name.startswith("session-") and any(
            b'"sessionId":"session-' in line.replace(b'": "', b'":"')
            for line in head_lines(path, 10))

    def root_of(self, path: Path) -> Path:
        return path.parent.parent

    def parse(self, path: Path, root: Path, options: ParseOptions | None = None) -> ParseResult:
        return _parse(path, root, options or ParseOptions())


parser: AgentParser = IflowParser()
