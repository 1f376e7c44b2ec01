"""Project-wide guards: migrations match the models, lint is clean, CI runs the README's
test command."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import cli_env, manage

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_every_model_change_has_a_migration(agent_env):
    proc = manage("makemigrations", "--check", "--dry-run", env=cli_env())
    assert proc.returncode == 0, f"models changed without a migration:\n{proc.stdout}"
    assert "No changes detected" in proc.stdout


@pytest.mark.slow
def test_ruff_is_clean():
    ruff = Path(sys.executable).with_name("ruff")
    proc = subprocess.run([str(ruff), "check", "."], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ci_runs_the_readme_test_command():
    readme = (REPO / "README.md").read_text()
    commands = re.findall(r"```sh\n(.+?)\n```", readme)
    test_command = next(c for c in commands if "pytest" in c)
    assert test_command in (REPO / ".ci" / "run").read_text()
    assert "AGENTSVIEW_REQUIRE_PG=1" in (REPO / ".ci" / "run").read_text()
