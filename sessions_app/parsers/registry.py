"""The agents we know: where their files live, how to override that, and which parser reads them.

Pure data and lookups; no Django. ``agentsview.config`` resolves directories from this table,
``sessions_app.discovery`` walks them, and ``parser_for`` hands out the parser module.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType


@dataclass(frozen=True)
class AgentSpec:
    key: str
    display_name: str
    env_var: str
    default_dirs: tuple[str, ...]  # relative to $HOME
    legacy_config_key: str  # top-level config.toml list, older AgentsView spelling
    id_prefix: str  # prepended to the agent's own session id ("" for Claude)
    parser_module: str | None = None  # dotted path; None = known agent, not parsed yet
    short_name: str = ""  # the name the Markdown export prints (AgentsView's); default: display

    @property
    def export_name(self) -> str:
        return self.short_name or self.display_name


AGENTS: dict[str, AgentSpec] = {
    spec.key: spec
    for spec in (
        AgentSpec(
            "claude", "Claude Code", "CLAUDE_PROJECTS_DIR", (".claude/projects",),
            "claude_project_dirs", "", "sessions_app.parsers.claude", "Claude",
        ),
        AgentSpec(
            "codex", "Codex", "CODEX_SESSIONS_DIR",
            (".codex/sessions", ".codex/archived_sessions"),
            "codex_sessions_dirs", "codex:", "sessions_app.parsers.codex",
        ),
        AgentSpec("gemini", "Gemini CLI", "GEMINI_DIR", (".gemini",), "gemini_dirs", "gemini:"),
        AgentSpec(
            "copilot", "Copilot CLI", "COPILOT_DIR", (".copilot",), "copilot_dirs", "copilot:"
        ),
        AgentSpec(
            "opencode", "OpenCode", "OPENCODE_DIR", (".local/share/opencode",),
            "opencode_dirs", "opencode:",
        ),
        AgentSpec(
            "cursor", "Cursor", "CURSOR_PROJECTS_DIR", (".cursor/projects",),
            "cursor_project_dirs", "cursor:",
        ),
        AgentSpec("amp", "Amp", "AMP_DIR", (".local/share/amp/threads",), "amp_dirs", "amp:"),
        AgentSpec(
            "vscode-copilot", "VS Code Copilot", "VSCODE_COPILOT_DIR", (".config/Code/User",),
            "vscode_copilot_dirs", "vscode-copilot:", short_name="VSCode Copilot",
        ),
        AgentSpec(
            "openclaw", "OpenClaw", "OPENCLAW_DIR", (".openclaw/agents",), "openclaw_dirs",
            "openclaw:",
        ),
    )
}


def parsed_agents() -> list[AgentSpec]:
    """Agents whose files we can parse today."""
    return [spec for spec in AGENTS.values() if spec.parser_module]


def parser_for(agent: str) -> ModuleType:
    """The parser module of *agent*: it has ``discover(root)`` and ``parse(path, root)``."""
    spec = AGENTS[agent]
    if not spec.parser_module:
        raise LookupError(f"no parser for agent {agent!r}")
    return importlib.import_module(spec.parser_module)


def tool_label_heads() -> frozenset[str]:
    """Every tool name a parser writes as a label line (``[Read: path]``, ``[Bash]``) into a
    message's content: what the exports recognise as a tool call in the text."""
    from sessions_app.parsers.tools import LABEL_HEADS

    return LABEL_HEADS
