"""TRAE CLI (TraeX) rollouts: a fork of Codex writing the same rollout JSONL
(``<root>/YYYY/MM/DD/rollout-<timestamp>-<uuid>.jsonl``, archived ones flat), kept apart from
Codex's sessions (its own directories, ``traex:`` ids), as AgentsView does.

The Codex parser reads every file; its result is then moved onto this agent: the session's
agent and every id it links (its own, its parent's, each spawned subagent's) take the
``traex:`` prefix instead of ``codex:``. Subagents (``thread_spawn`` sources), forks replaying
their parent's turns, tool calls and usage are read exactly as Codex's are.
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

from sessions_app.parsers import codex
from sessions_app.parsers.base import (
    AgentParser,
    ParsedResultEvent,
    ParsedToolCall,
    ParseOptions,
    ParseResult,
)
from sessions_app.parsers.jsonl import head_lines
from sessions_app.parsers.registry import AGENTS

AGENT = "traex"
ID_PREFIX = AGENTS[AGENT].id_prefix
# This parser's own changes; its version also moves with the Codex parser's, whose output
# it relabels (see TraexParser.version).
OWN_VERSION = 1
_LINK_FIELDS = {
    cls: tuple(f.name for f in fields(cls) if f.name.endswith("session_id"))
    for cls in (ParsedToolCall, ParsedResultEvent)
}


def relabel(session_id: str | None) -> str | None:
    """A Codex session id as this agent's (``codex:x`` -> ``traex:x``); others unchanged."""
    if session_id and session_id.startswith(codex.ID_PREFIX):
        return ID_PREFIX + session_id[len(codex.ID_PREFIX):]
    return session_id


def _relabel_links(item: ParsedToolCall | ParsedResultEvent) -> None:
    for name in _LINK_FIELDS[type(item)]:
        value = getattr(item, name)
        if isinstance(value, str):
            setattr(item, name, relabel(value))


def relabel_result(result: ParseResult) -> ParseResult:
    """A Codex parse of a TRAE CLI rollout, moved onto this agent in place."""
    for session in result.sessions:
        session.id = relabel(session.id)
        session.agent = AGENT
        session.parent_session_id = relabel(session.parent_session_id)
        for message in session.messages:
            for call in message.tool_calls:
                _relabel_links(call)
                for event in call.result_events:
                    _relabel_links(event)
    return result


class TraexParser(codex.CodexParser):
    """Codex's layout, tool table and labels; Codex's parse, relabelled."""

    @property
    def version(self) -> int:
        # a change in the Codex parser's output is a change in this one's
        return codex.parser.version * 1000 + OWN_VERSION

    def sniff(self, path: Path) -> bool:
        """A Codex rollout that TRAE CLI wrote (its model provider or instructions)."""
        lines = head_lines(path)
        return any(b'"payload"' in line for line in lines) and any(
            codex.TRAEX_MARKER_RE.search(line) for line in lines)

    def parse(self, path: Path, root: Path, options: ParseOptions | None = None) -> ParseResult:
        return relabel_result(codex.parser.parse(path, root, options))


parser: AgentParser = TraexParser()
