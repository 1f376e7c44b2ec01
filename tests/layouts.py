"""Build agent directories, in each agent's real layout, from the fixture files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"
AGENT_FIXTURES = FIXTURES / "agents"
GOLDEN = FIXTURES / "golden"

# The reference run stored the small repo transcripts under these session ids.
CLAUDE_REPO_FILES = {
    "valid_session.jsonl": "11111111-1111-4111-8111-111111111111",
    "tool_call_pending.jsonl": "22222222-2222-4222-8222-222222222222",
    "truncated.jsonl": "33333333-3333-4333-8333-333333333333",
    "queued_system_messages.jsonl": "44444444-4444-4444-8444-444444444444",
}
CLAUDE_REPO_PROJECT_DIR = "-Users-alice-code-my-app"
CODEX_REPO_FILES = (
    "standard_session.jsonl", "function_calls.jsonl", "fc_args_1.jsonl", "fc_args_2.jsonl",
    "fc_stdin.jsonl", "blockquotes_session.jsonl",
)


def _copytree(src: Path, dst: Path) -> None:
    shutil.copytree(src, dst, dirs_exist_ok=True)
    for path in [dst, *dst.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)


def build_claude(root: Path) -> Path:
    _copytree(AGENT_FIXTURES / "claude" / "synthetic" / "projects", root)
    project = root / CLAUDE_REPO_PROJECT_DIR
    project.mkdir(parents=True, exist_ok=True)
    for name, session_id in CLAUDE_REPO_FILES.items():
        target = project / f"{session_id}.jsonl"
        shutil.copyfile(AGENT_FIXTURES / "claude" / "repo" / name, target)
        target.chmod(0o644)
    return root


def build_codex(root: Path) -> Path:
    _copytree(AGENT_FIXTURES / "codex" / "synthetic" / "sessions", root)
    day = root / "2024" / "01" / "01"
    day.mkdir(parents=True, exist_ok=True)
    for index, name in enumerate(CODEX_REPO_FILES):
        target = day / f"rollout-2024-01-01T10-00-0{index}-{Path(name).stem}.jsonl"
        shutil.copyfile(AGENT_FIXTURES / "codex" / "repo" / name, target)
        target.chmod(0o644)
    return root


def golden(name: str):
    return json.loads((GOLDEN / name).read_text())
