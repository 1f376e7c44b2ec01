"""Running the real commands in a subprocess, with an isolated environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONSOLE_SCRIPT = Path(sys.executable).with_name("agentsview")


def cli_env(**overrides: str) -> dict[str, str]:
    """The test process's isolated environment, minus what belongs to pytest-django."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("DJANGO_SETTINGS_MODULE", "AGENTSVIEW_PG_URL")}
    env.update(overrides)
    return env


def run(args: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=timeout)


def agentsview(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    command = [str(CONSOLE_SCRIPT)] if CONSOLE_SCRIPT.exists() else [
        sys.executable, "-m", "agentsview.cli"]
    return run([*command, *args], env)


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return run([sys.executable, str(REPO / "manage.py"), *args], env)
