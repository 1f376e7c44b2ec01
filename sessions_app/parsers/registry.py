"""The agents we know, each declared once: its names, where its files live, how to override
that, and which parser reads them.

Pure data and lookups; no Django. ``agentsview.config`` resolves directories from this table,
``sessions_app.services.discovery`` walks them with each parser's ``matches``, and
``parser_for`` hands out an agent's ``AgentParser`` (loaded on first use). The tool tables of
every parser are merged here (``category_of``, ``tool_label_heads``).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType

from sessions_app.parsers.base import AgentParser


@dataclass(frozen=True)
class AgentSpec:
    key: str
    display_name: str
    env_var: str
    default_dirs: tuple[str, ...]  # relative to $HOME
    legacy_config_key: str  # top-level config.toml list, older AgentsView spelling
    id_prefix: str  # prepended to the agent's own session id ("" for Claude)
    parser_path: str | None = None  # "module:attribute" of its AgentParser; None = not parsed yet
    short_name: str = ""  # the name the Markdown export prints (AgentsView's); default: display

    @property
    def export_name(self) -> str:
        return self.short_name or self.display_name


AGENTS: dict[str, AgentSpec] = {
    spec.key: spec
    for spec in (
        AgentSpec(
            "claude", "Claude Code", "CLAUDE_PROJECTS_DIR", (".claude/projects",),
            "claude_project_dirs", "", "sessions_app.parsers.claude:parser", "Claude",
        ),
        AgentSpec(
            "codex", "Codex", "CODEX_SESSIONS_DIR",
            (".codex/sessions", ".codex/archived_sessions"),
            "codex_sessions_dirs", "codex:", "sessions_app.parsers.codex:parser",
        ),
        AgentSpec(
            "gemini", "Gemini CLI", "GEMINI_DIR", (".gemini",), "gemini_dirs", "gemini:",
            "sessions_app.parsers.gemini:parser",
        ),
        AgentSpec(
            "copilot", "Copilot CLI", "COPILOT_DIR", (".copilot",), "copilot_dirs", "copilot:",
            "sessions_app.parsers.copilot:parser",
        ),
        AgentSpec(  # AgentsView's config key (qwen_project_dirs), so its config.toml loads
            "qwen", "Qwen Code", "QWEN_PROJECTS_DIR", (".qwen/projects",), "qwen_project_dirs",
            "qwen:", "sessions_app.parsers.qwen:parser",
        ),
        AgentSpec(
            "opencode", "OpenCode", "OPENCODE_DIR", (".local/share/opencode",),
            "opencode_dirs", "opencode:", "sessions_app.parsers.opencode:parser",
        ),
        AgentSpec(
            "cursor", "Cursor", "CURSOR_PROJECTS_DIR", (".cursor/projects",),
            "cursor_project_dirs", "cursor:", "sessions_app.parsers.cursor:parser",
        ),
        AgentSpec(  # the editor's chats, in the globalStorage of its VS Code user folder
            "cursor-ide", "Cursor IDE", "CURSOR_IDE_DIR",
            (".config/Cursor/User/globalStorage",
             "Library/Application Support/Cursor/User/globalStorage"),
            "cursor_ide_dirs", "cursor-ide:", "sessions_app.parsers.cursor_ide:parser",
        ),
        AgentSpec(
            "amp", "Amp", "AMP_DIR", (".local/share/amp/threads",), "amp_dirs", "amp:",
            "sessions_app.parsers.amp:parser",
        ),
        AgentSpec(  # its session directory on Linux and macOS (Goose uses XDG paths on both)
            "goose", "Goose", "GOOSE_PATH_ROOT", (".local/share/goose/sessions",), "goose_dirs",
            "goose:", "sessions_app.parsers.goose:parser",
        ),
        AgentSpec(  # its global data directory (projects.json names each project's crush.db)
            "crush", "Crush", "CRUSH_DIR", (".local/share/crush",), "crush_dirs", "crush:",
            "sessions_app.parsers.crush:parser",
        ),
        AgentSpec(
            "openhands", "OpenHands CLI", "OPENHANDS_CONVERSATIONS_DIR",
            (".openhands/conversations",), "openhands_dirs", "openhands:",
            "sessions_app.parsers.openhands:parser",
        ),
        AgentSpec(
            "vscode-copilot", "VS Code Copilot", "VSCODE_COPILOT_DIR",
            (".config/Code/User", ".config/Code - Insiders/User", ".config/VSCodium/User",
             "Library/Application Support/Code/User",
             "Library/Application Support/Code - Insiders/User",
             "Library/Application Support/VSCodium/User"),
            "vscode_copilot_dirs", "vscode-copilot:", "sessions_app.parsers.vscode_copilot:parser",
            short_name="VSCode Copilot",
        ),
        AgentSpec(  # its trace exports (Visual Studio runs on Windows; these are its other homes)
            "visualstudio-copilot", "Visual Studio Copilot", "VISUALSTUDIO_COPILOT_DIR",
            (".cache/VSGitHubCopilotLogs/traces", "Library/Caches/VSGitHubCopilotLogs/traces"),
            "visualstudio_copilot_dirs", "visualstudio-copilot:",
            "sessions_app.parsers.visualstudio_copilot:parser",
        ),
        AgentSpec(
            "openclaw", "OpenClaw", "OPENCLAW_DIR", (".openclaw/agents",), "openclaw_dirs",
            "openclaw:",
        ),
        AgentSpec(
            "pi", "Pi", "PI_CODING_AGENT_SESSION_DIR", (".pi/agent/sessions",), "pi_dirs",
            "pi:", "sessions_app.parsers.pi:parser",
        ),
        AgentSpec(
            "posit-assistant", "Posit Assistant", "POSIT_ASSISTANT_DIR",
            (".posit/assistant/workspaces",), "posit_assistant_dirs", "posit-assistant:",
            "sessions_app.parsers.posit_assistant:parser",
        ),
        AgentSpec(
            "qwenpaw", "QwenPaw", "QWENPAW_DIR", (".qwenpaw/workspaces", ".copaw/workspaces"),
            "qwenpaw_dirs", "qwenpaw:", "sessions_app.parsers.qwenpaw:parser",
        ),
        AgentSpec(
            "traex", "TraeX", "TRAEX_SESSIONS_DIR",
            (".trae/cli/sessions", ".trae/cli/archived_sessions"), "traex_sessions_dirs",
            "traex:", "sessions_app.parsers.traex:parser",
        ),
        AgentSpec(
            "vibe", "Mistral Vibe", "VIBE_SESSIONS_DIR", (".vibe/logs/session",),
            "vibe_session_dirs", "vibe:", "sessions_app.parsers.vibe:parser",
        ),
        AgentSpec(
            "zed", "Zed", "ZED_DIR",
            (".local/share/zed", "Library/Application Support/Zed",
             ".var/app/dev.zed.Zed/data/zed"),
            "zed_dirs", "zed:", "sessions_app.parsers.zed:parser",
        ),
        AgentSpec(
            "gptme", "gptme", "GPTME_DIR",
            (".local/share/gptme/logs", "Library/Application Support/gptme/logs"),
            "gptme_dirs", "gptme:", "sessions_app.parsers.gptme:parser",
        ),
        AgentSpec(
            "iflow", "iFlow", "IFLOW_DIR", (".iflow/projects",), "iflow_dirs", "iflow:",
            "sessions_app.parsers.iflow:parser",
        ),
        AgentSpec(
            "kimi", "Kimi", "KIMI_DIR", (".kimi/sessions", ".kimi-code/sessions"), "kimi_dirs",
            "kimi:", "sessions_app.parsers.kimi:parser",
        ),
        AgentSpec(
            "grok", "Grok", "GROK_DIR", (".grok/sessions",), "grok_dirs", "grok:",
            "sessions_app.parsers.grok:parser",
        ),
        AgentSpec(  # no default: histories live in each repository, AIDER_DIR names roots
            "aider", "Aider", "AIDER_DIR", (), "aider_dirs", "aider:",
            "sessions_app.parsers.aider:parser",
        ),
        AgentSpec(
            "kiro", "Kiro", "KIRO_SESSIONS_DIR",
            (".kiro/sessions/cli", ".local/share/kiro-cli", "Library/Application Support/kiro-cli"),
            "kiro_dirs", "kiro:", "sessions_app.parsers.kiro:parser",
        ),
        AgentSpec(
            "omnigent", "Omnigent", "OMNIGENT_DIR", (".omnigent",), "omnigent_dirs",
            "omnigent:", "sessions_app.parsers.omnigent:parser",
        ),
        # Cline and its forks: tasks/<id>/ in the extension's VS Code globalStorage (Linux,
        # macOS); newer Cline keeps them in ~/.cline/data. One module reads all three.
        AgentSpec(
            "cline", "Cline", "CLINE_DIR",
            (".cline/data", ".config/Code/User/globalStorage/saoudrizwan.claude-dev",
             "Library/Application Support/Code/User/globalStorage/saoudrizwan.claude-dev"),
            "cline_dirs", "cline:", "sessions_app.parsers.cline_tasks:cline",
        ),
        AgentSpec(
            "roo-code", "Roo Code", "ROOCODE_DIR",
            (".config/Code/User/globalStorage/rooveterinaryinc.roo-cline",
             "Library/Application Support/Code/User/globalStorage/rooveterinaryinc.roo-cline"),
            "roo_code_dirs", "roo-code:", "sessions_app.parsers.cline_tasks:roo_code",
        ),
        AgentSpec(
            "kilo", "Kilo Code", "KILO_DIR",
            (".config/Code/User/globalStorage/kilocode.kilo-code",
             "Library/Application Support/Code/User/globalStorage/kilocode.kilo-code"),
            "kilo_dirs", "kilo:", "sessions_app.parsers.cline_tasks:kilo",
        ),
    )
}


def parsed_agents() -> list[AgentSpec]:
    """Agents whose files we can parse today."""
    return [spec for spec in AGENTS.values() if spec.parser_path]


def parser_for(agent: str) -> AgentParser:
    """The parser of *agent*; ``LookupError`` for an agent we do not parse yet."""
    spec = AGENTS[agent]
    if not spec.parser_path:
        raise LookupError(f"no parser for agent {agent!r}")
    return _load(spec.parser_path)


@cache
def _load(parser_path: str) -> AgentParser:
    module, _, attribute = parser_path.partition(":")
    parser = getattr(importlib.import_module(module), attribute)
    if not isinstance(parser, AgentParser):
        raise TypeError(f"{parser_path} does not implement AgentParser")
    return parser


def data_version() -> int:
    """The newest parser version: what the API reports as the archive's data version."""
    return max(parser_for(spec.key).version for spec in parsed_agents())


@cache
def tool_categories() -> Mapping[str, str]:
    """Tool name -> category: every parser's own names over AgentsView's shared table. A name
    two parsers place in different categories is a mistake in one of them."""
    from sessions_app.parsers.tools import SHARED_CATEGORIES

    merged = dict(SHARED_CATEGORIES)
    declared_by: dict[str, str] = {}
    for spec in parsed_agents():
        for name, category in parser_for(spec.key).tool_categories.items():
            if merged.get(name, category) != category:
                where = declared_by.get(name, "the shared table")
                raise ValueError(f"tool {name!r}: {spec.key} says {category}, {where}"
                                 f" says {merged[name]}")
            merged[name] = category
            declared_by.setdefault(name, spec.key)
    return MappingProxyType(merged)


def category_of(tool_name: str) -> str:
    """The normalised category of a tool name; unknown names are ``Other``."""
    category = tool_categories().get(tool_name)
    if category:
        return category
    if "subagent" in tool_name.lower():
        return "Task"
    return "Other"


@cache
def tool_label_heads() -> frozenset[str]:
    """Every tool name a parser writes as a label line (``[Read: path]``, ``[Bash]``) into a
    message's content: what the exports recognise as a tool call in the text."""
    return frozenset().union(*(parser_for(spec.key).label_heads for spec in parsed_agents()))
