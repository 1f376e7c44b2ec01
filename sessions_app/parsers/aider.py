"""Aider chat histories: ``.aider.chat.history.md`` in a repository, anywhere under a root.

Aider appends every run (each launch) to the repository's history, starting with
``# aider chat started at YYYY-MM-DD HH:MM:SS`` (local time, read as UTC); each run is a
session. Inside a run, ``#### `` lines are what the person typed (a multi-line prompt is
several), ``> `` lines are aider's own output (its start-up notes, ``Model: <name> with ...``,
``Tokens: 2.2k sent, 56 received.``, ``Applied edit to <file>``, ``Running <command>``,
commit notes), and everything else is the model's reply. The history records no times
besides a run's start, so every message of a run carries it and the last run ends at the
file's last write. A run's id is a hash of the history's path, its header and its place
among the runs with the same header (AgentsView's), so appending runs keeps every id.

Aider's edits and commands become tool calls on the reply they follow: ``Applied edit to``
(an edit), ``Creating empty file`` (a new file), ``Running`` (a shell command, its output the
lines after it), and a SEARCH/REPLACE block that failed to match (a failed edit).
"""

from __future__ import annotations

import hashlib
import os
import re
from datetime import UTC, datetime
from pathlib import Path

from sessions_app.parsers.base import (
    AgentParser,
    ParsedMessage,
    ParsedSession,
    ParseOptions,
    ParseResult,
    clamp_int,
    compact_json,
    is_slash_command,
)
from sessions_app.parsers.chatlog import LABEL_HEADS, Builder, Issues, termination_status
from sessions_app.parsers.jsonl import FileReadError, open_session_file, read_at_most
from sessions_app.parsers.project import project_from_cwd
from sessions_app.parsers.registry import AGENTS
from sessions_app.parsers.tools import by_category

AGENT = "aider"
ID_PREFIX = AGENTS[AGENT].id_prefix
HISTORY = ".aider.chat.history.md"
HEADER = "# aider chat started at "
MAX_HISTORY_BYTES = 512 * 1024 * 1024
_MODEL_RE = re.compile(r"^(?:Main model|Model|Models): (\S+)")
_VERSION_RE = re.compile(r"^Aider v(\S+)")
_TOKENS_RE = re.compile(
    r"^Tokens: ([\d.,]+[kM]?) sent(?:, ([\d.,]+[kM]?) cache write)?(?:, ([\d.,]+[kM]?) cache hit)?"
    r", ([\d.,]+[kM]?) received")
_NO_MATCH_RE = re.compile(r"^## SearchReplaceNoExactMatch: .*? in (.+)$")


def _count(text: str | None) -> int:
    """``26,200`` or ``2.2k`` (how aider prints token counts) as a number."""
    if not text:
        return 0
    scale = {"k": 1_000, "M": 1_000_000}.get(text[-1], 1)
    try:
        return clamp_int(int(float(text.rstrip("kM").replace(",", "")) * scale))
    except ValueError:
        return 0


class _Run:
    """One run: the messages built from its lines."""

    def __init__(self, header: str, options: ParseOptions) -> None:
        self.header = header
        try:
            self.started: datetime | None = datetime.strptime(
                header, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
        except ValueError:
            self.started = None
        self.builder = Builder(options)
        self.model = ""
        self.version = ""
        self.channel = ""  # user | assistant | tool
        self.buffer: list[str] = []
        self.running = ""  # the tool_use_id of the command whose notes follow
        self.output: list[str] = []
        self.owner: ParsedMessage | None = None

    def line(self, line: str) -> None:
        if line.startswith("#### ") or line.rstrip() == "####":
            channel, text = "user", line[5:].rstrip()
        elif line.startswith("> ") or line.rstrip() == ">":
            channel, text = "tool", line[2:].rstrip()
        elif not line.strip():
            if self.channel:
                self.buffer.append("")
            return
        else:
            channel, text = "assistant", line
        if channel != self.channel:
            self.flush()
            self.channel = channel
        self.buffer.append(text)

    def flush(self) -> None:
        lines, channel = self.buffer, self.channel
        self.buffer, self.channel = [], ""
        if channel == "user":
            text = "\n".join(lines).strip()
            if text and text != "<blank>":
                self.builder.add("user", text, self.started)
        elif channel == "assistant":
            text = "\n".join(lines).strip()
            if text:
                self.builder.add("assistant", text, self.started, model=self.model)
        elif channel == "tool":
            self._tool(lines)

    def _tool(self, lines: list[str]) -> None:
        messages = self.builder.messages
        self.owner = messages[-1] if messages and messages[-1].role == "assistant" \
            and not messages[-1].is_system else None
        notes: list[str] = []
        for text in lines:
            self._tool_line(text.strip(), notes)
        self._end_command()
        notes_text = "\n".join(notes).strip()
        if notes_text:
            self.builder.add("assistant", notes_text, self.started, is_system=True,
                             source_type="system", source_subtype="aider_output")

    def _call(self, name: str, args: dict) -> str:
        """A tool call on the reply these lines follow (a new message when there is none)."""
        if self.owner is None:
            self.owner = self.builder.add("assistant", "", self.started, model=self.model)
        tool_use_id = f"aider-{sum(len(m.tool_calls) for m in self.builder.messages)}"
        self.builder.call(self.owner, name, args, tool_use_id)
        return tool_use_id

    def _end_command(self) -> None:
        """The command run last is done: what aider said after it is its result."""
        if self.running:
            failed = any(line.startswith("Error running command") for line in self.output)
            self.builder.result(self.running, "\n".join(self.output).strip(),
                                status="errored" if failed else "completed")
        self.running, self.output = "", []

    def _tool_line(self, text: str, notes: list[str]) -> None:
        no_match = _NO_MATCH_RE.match(text)
        if text.startswith(("Applied edit to ", "Creating empty file ")) or no_match:
            self._end_command()
            if no_match:
                name, path, status = "edit", no_match.group(1).strip(), "errored"
            elif text.startswith("Applied edit to "):
                name, path, status = "edit", text.removeprefix("Applied edit to "), "completed"
            else:
                name, status = "create_file", "completed"
                path = text.removeprefix("Creating empty file ")
            self.builder.result(self._call(name, {"path": path.strip()}), text, status=status)
        elif text.startswith("Running "):
            self._end_command()
            self.running = self._call("run_command", {"command": text.removeprefix("Running ")})
        elif self.running and text:
            self.output.append(text)
        else:
            self._note(text, notes)

    def _note(self, text: str, notes: list[str]) -> None:
        version = _VERSION_RE.match(text)
        if version:
            self.version = self.version or version.group(1)
        model = _MODEL_RE.match(text)
        if model:
            self.model = model.group(1)
        tokens = _TOKENS_RE.match(text)
        if tokens:
            self._tokens(tokens)
        notes.append(text)

    def _tokens(self, match: re.Match) -> None:
        """``Tokens: N sent[, N cache write][, N cache hit], N received.`` on the reply."""
        target = next((m for m in reversed(self.builder.messages)
                       if m.role == "assistant" and not m.is_system), None)
        if target is None or target.token_usage:
            return
        sent, write, hit, received = (_count(g) for g in match.groups())
        target.token_usage = compact_json({
            "input_tokens": clamp_int(max(sent - write - hit, 0)),
            "cache_creation_input_tokens": write,
            "cache_read_input_tokens": hit,
            "output_tokens": received,
        })
        target.context_tokens, target.output_tokens = sent, received
        target.has_context_tokens = target.has_output_tokens = True


def _run_id(history: Path, header: str, same_header_ordinal: int) -> str:
    digest = hashlib.sha256(
        f"{os.path.abspath(history)}\0{header}\0{same_header_ordinal}".encode(
            "utf-8", "surrogatepass"))
    return digest.hexdigest()


def _parse(path: Path, options: ParseOptions) -> ParseResult:
    with open_session_file(path) as fh:
        try:
            data = read_at_most(fh, MAX_HISTORY_BYTES + 1)
            mtime = datetime.fromtimestamp(os.fstat(fh.fileno()).st_mtime, tz=UTC)
        except OSError as exc:
            raise FileReadError(exc.strerror or str(exc)) from None
    issues = Issues()
    result = ParseResult(path=path, sha256=hashlib.sha256(data).hexdigest(), size=len(data))
    if len(data) > MAX_HISTORY_BYTES:
        issues.add(f"larger than {MAX_HISTORY_BYTES // (1024 * 1024)} MiB: only the first"
                   " part read")
        data = data[:MAX_HISTORY_BYTES]
    text = data.decode("utf-8", "replace")
    if "\ufffd" in text and b"\xef\xbf\xbd" not in data:
        issues.add("invalid UTF-8 replaced with U+FFFD")
    if "\x00" in text:
        issues.add("NUL characters removed")
        text = text.replace("\x00", "")
    runs: list[_Run] = []
    for line in text.splitlines():
        result.records += 1
        if line.startswith(HEADER):
            if runs:
                runs[-1].flush()
            runs.append(_Run(line[len(HEADER):].strip(), options))
        elif runs:
            runs[-1].line(line)
    if runs:
        runs[-1].flush()
    else:
        issues.add(f"no '{HEADER.strip()}' header: not an aider chat history, nothing read")
    project = project_from_cwd(str(path.parent.absolute()))
    seen: dict[str, int] = {}
    for index, run in enumerate(runs):
        ordinal = seen.get(run.header, 0)
        seen[run.header] = ordinal + 1
        messages = run.builder.finish()
        if not messages:
            continue
        last = index == len(runs) - 1
        start = run.started or (mtime if last else None)
        if run.started is None:
            issues.add(f"run {index + 1}: unreadable start time {run.header[:40]!r}")
        for message in messages:
            message.timestamp = message.timestamp or start
        session = ParsedSession(
            id=ID_PREFIX + _run_id(path, run.header, ordinal),
            agent=AGENT,
            project=project,
            cwd=str(path.parent.absolute()),
            started_at=start,
            ended_at=max(mtime, start) if last and start else start,
            source_version=run.version,
            messages=messages,
            not_a_prompt=is_slash_command,
        )
        session.termination_status = termination_status(messages)
        result.sessions.append(session)
    result.issues = issues.lines
    return result


class AiderParser:
    version = 1
    tool_categories = by_category({
        "Edit": ("edit",),
        "Write": ("create_file",),
        "Bash": ("run_command",),
    })
    label_heads = LABEL_HEADS

    def matches(self, rel_parts: tuple[str, ...]) -> bool:
        """A ``.aider.chat.history.md`` at any depth (it lives in each repository)."""
        return rel_parts[-1] == HISTORY

    def sniff(self, path: Path) -> bool:
        """A Markdown file holding aider's run header near its start."""
        with path.open("rb") as fh:
            return HEADER.encode() in fh.read(64 * 1024)

    def root_of(self, path: Path) -> Path:
        return path.parent

    def parse(self, path: Path, root: Path, options: ParseOptions | None = None) -> ParseResult:
        return _parse(path, options or ParseOptions())


parser: AgentParser = AiderParser()
