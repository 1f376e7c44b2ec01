"""The ``agentsview`` console script and ``manage.py``, run as real processes."""

from __future__ import annotations

import pytest

from agentsview.cli import translate
from tests.helpers import CONSOLE_SCRIPT, agentsview, cli_env, manage
from tests.layouts import build_claude, build_codex, golden


@pytest.mark.slow
def test_console_script_is_installed():
    assert CONSOLE_SCRIPT.exists(), "pip install -e . installs the agentsview command"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["pg", "push", "--full"], ["pg_push", "--full"]),
        (["session", "list", "--limit", "3"], ["session", "list", "--limit", "3"]),
        (["sync", "--full"], ["sync", "--full"]),
    ],
)
def test_groups_map_to_management_commands(argv, expected):
    assert translate(argv, {"pg_push", "session", "sync"}) == expected


@pytest.mark.slow
def test_help_lists_the_commands(agent_env):
    proc = agentsview("--help", env=cli_env())
    assert proc.returncode == 0
    assert "sync " in proc.stdout and "session " in proc.stdout
    proc = agentsview("sync", "--help", env=cli_env())
    assert proc.returncode == 0 and "--full" in proc.stdout


@pytest.mark.slow
def test_sync_then_list_through_the_console_script(agent_env):
    build_claude(agent_env["claude"])
    build_codex(agent_env["codex"])
    proc = agentsview("sync", env=cli_env())
    assert proc.returncode == 0, proc.stderr
    expected = [s for s in golden("session-list-all.json")["sessions"]
                if s["agent"] in ("claude", "codex")]
    assert proc.stdout.startswith(f"Synced {len(expected)} sessions (")
    assert proc.stdout.rstrip().endswith("0 unchanged, 0 files with errors, 1 with warnings")
    listing = agentsview("session", "list", "--limit", "100", env=cli_env())
    assert listing.returncode == 0, listing.stderr
    assert "Login redirect fix" in listing.stdout
    assert "agent-a1b2c3d" not in listing.stdout  # children are listed only on request
    assert "Excluded 13 sessions by default" in listing.stderr
    children = agentsview("session", "list", "--include-children", "--include-one-shot",
                          env=cli_env())
    assert "agent-a1b2c3d" in children.stdout
    again = agentsview("sync", env=cli_env())
    assert again.stdout.startswith("Synced 0 sessions (0 messages)")


@pytest.mark.slow
def test_empty_archive_says_what_to_do(agent_env):
    proc = agentsview("session", "list", env=cli_env())
    assert proc.returncode == 0
    assert "No sessions archived yet. Run 'agentsview sync' first." in proc.stdout


@pytest.mark.slow
def test_config_error_is_one_line_exit_2_without_password(agent_env):
    config = agent_env["data"] / "config.toml"
    config.write_text('[pg]\nurl = "postgres://app:hunter2@db:bad/x"\n')
    for proc in (agentsview("sync", env=cli_env()), manage("sync", env=cli_env())):
        assert proc.returncode == 2
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1
        assert lines[0].startswith(f"agentsview: config error: {config}: [pg] url: cannot parse")
        assert "hunter2" not in proc.stderr + proc.stdout


@pytest.mark.slow
def test_unknown_command(agent_env):
    proc = agentsview("frobnicate", env=cli_env())
    assert proc.returncode == 2
    assert "unknown command 'frobnicate'" in proc.stderr
    proc = agentsview("pg", "pussh", env=cli_env())
    assert proc.returncode == 2 and "did you mean 'pg push'?" in proc.stderr


@pytest.mark.slow
def test_bad_flag_value_is_refused_naming_the_flag(agent_env):
    proc = agentsview("session", "list", "--date", "2026-99-99", env=cli_env())
    assert proc.returncode == 2
    assert proc.stderr.strip() == "error: --date 2026-99-99: expected a date YYYY-MM-DD"


@pytest.mark.slow
def test_pg_group_runs_the_pg_commands(agent_env):
    proc = agentsview("pg", "status", env=cli_env())  # cli_env drops AGENTSVIEW_PG_URL
    assert proc.returncode == 1
    assert proc.stderr.strip() == (
        "error: pg status: url not configured (set [pg] url in"
        f" {agent_env['data'] / 'config.toml'} or AGENTSVIEW_PG_URL)"
    )
    proc = agentsview("pg", "push", "--help", env=cli_env())
    assert proc.returncode == 0 and "--exclude-projects" in proc.stdout
    assert "pg push" in agentsview("--help", env=cli_env()).stdout
