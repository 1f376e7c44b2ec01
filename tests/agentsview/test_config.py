"""Configuration: precedence, validation, one-line errors without passwords."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from agentsview.config import ConfigError, load_config


def env_for(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"HOME": str(tmp_path / "home"), "AGENTSVIEW_DATA_DIR": str(tmp_path / "data"), **extra}


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "data" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def error_of(env: dict[str, str]) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(env)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_defaults(tmp_path):
    config = load_config({"HOME": str(tmp_path)})
    assert config.data_dir == tmp_path / ".agentsview"
    assert config.db_path == tmp_path / ".agentsview" / "agentsview.db"
    assert config.pg is None
    assert config.machine_name == socket.gethostname()
    assert config.agent_dirs["claude"] == (tmp_path / ".claude" / "projects",)
    assert config.agent_dirs["codex"] == (
        tmp_path / ".codex" / "sessions", tmp_path / ".codex" / "archived_sessions",
    )
    assert config.explicit_agent_dirs == frozenset()


def test_pg_section_and_env_overrides(tmp_path):
    write_config(tmp_path, """
[pg]
url = "postgres://alice:secret@db.example.com:5432/team?sslmode=require"
machine_name = "alice-laptop"
schema = "team_sessions"
allow_insecure = true
""")
    config = load_config(env_for(tmp_path))
    assert config.pg.url.endswith("/team?sslmode=require")
    assert (config.pg.machine_name, config.pg.schema, config.pg.allow_insecure) == (
        "alice-laptop", "team_sessions", True,
    )
    assert config.machine_name == "alice-laptop"
    assert config.pg.safe_url == "postgres://alice:***@db.example.com:5432/team?sslmode=require"

    env = env_for(tmp_path, AGENTSVIEW_PG_URL="postgresql://bob@other/db2",
                  AGENTSVIEW_PG_MACHINE="bob-box", AGENTSVIEW_PG_SCHEMA="other_schema")
    config = load_config(env)
    assert config.pg.url == "postgresql://bob@other/db2"
    assert (config.machine_name, config.pg.schema) == ("bob-box", "other_schema")


def test_url_variable_expansion(tmp_path):
    write_config(tmp_path, '[pg]\nurl = "postgres://app:${PGPASS}@db/agents"\n')
    config = load_config(env_for(tmp_path, PGPASS="s3cr3t"))
    assert config.pg.url == "postgres://app:s3cr3t@db/agents"
    message = error_of(env_for(tmp_path))
    assert message.endswith("[pg] url: environment variable PGPASS is not set")


def test_reserved_machine_name(tmp_path):
    write_config(tmp_path, '[pg]\nmachine_name = "local"\n')
    message = error_of(env_for(tmp_path))
    assert "config.toml: [pg] machine_name: machine name 'local' is reserved" in message
    message = error_of(env_for(tmp_path, AGENTSVIEW_PG_MACHINE="LOCAL"))
    assert message.startswith("config error: AGENTSVIEW_PG_MACHINE: machine name 'LOCAL'")


@pytest.mark.parametrize("schema", ["bad-name", "1abc", "a b", "x;drop"])
def test_invalid_schema(tmp_path, schema):
    write_config(tmp_path, f'[pg]\nschema = "{schema}"\n')
    message = error_of(env_for(tmp_path))
    assert f"[pg] schema: '{schema}' is not a valid schema name" in message


def test_invalid_schema_from_env(tmp_path):
    message = error_of(env_for(tmp_path, AGENTSVIEW_PG_SCHEMA="no-dashes"))
    assert message.startswith("config error: AGENTSVIEW_PG_SCHEMA: 'no-dashes'")


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("postgres://u:hunter2@host:notaport/db", "cannot parse URL"),
        ("mysql://u:hunter2@host/db", "must start with postgres:// or postgresql://"),
        ("postgres://u:hunter2@host:5432", "names no database"),
        ("postgres://u@host/db?password=hunter2&sslmode=x:y:z:notaport", None),
    ],
)
def test_bad_url_never_shows_the_password(tmp_path, url, fragment):
    write_config(tmp_path, f'[pg]\nurl = "{url}"\n')
    if fragment is None:
        load_config(env_for(tmp_path))  # valid enough; nothing to report
        return
    message = error_of(env_for(tmp_path))
    assert fragment in message
    assert "hunter2" not in message
    assert str(tmp_path / "data" / "config.toml") in message


def test_unknown_keys_name_file_and_key(tmp_path):
    write_config(tmp_path, '[pg]\nurll = "x"\n')
    message = error_of(env_for(tmp_path))
    assert "config.toml: [pg] unknown key 'urll'" in message
    write_config(tmp_path, 'colour = "blue"\n')
    assert "config.toml: unknown key 'colour'" in error_of(env_for(tmp_path))
    write_config(tmp_path, '[agents.clod]\ndirs = ["/x"]\n')
    assert "[agents.clod] unknown agent" in error_of(env_for(tmp_path))


def test_wrong_types(tmp_path):
    write_config(tmp_path, "[pg]\nallow_insecure = 'yes'\n")
    assert "[pg] allow_insecure must be true or false" in error_of(env_for(tmp_path))
    write_config(tmp_path, "[pg]\nurl = 5\n")
    assert "[pg] url must be a string, not int" in error_of(env_for(tmp_path))


def test_invalid_toml(tmp_path):
    path = write_config(tmp_path, "[pg\nurl = 'postgres://u:topsecret@h/d'\n")
    message = error_of(env_for(tmp_path))
    assert message.startswith(f"config error: {path}: invalid TOML:")
    assert "topsecret" not in message


def test_agent_directory_precedence(tmp_path):
    write_config(tmp_path, 'codex_sessions_dirs = ["/legacy/codex"]\n'
                 '[agents.claude]\ndirs = ["/from/config"]\n')
    config = load_config(env_for(tmp_path))
    assert config.agent_dirs["claude"] == (Path("/from/config"),)
    assert config.agent_dirs["codex"] == (Path("/legacy/codex"),)
    assert config.explicit_agent_dirs == {"claude", "codex"}
    config = load_config(env_for(tmp_path, CLAUDE_PROJECTS_DIR="/from/env:/second"))
    assert config.agent_dirs["claude"] == (Path("/from/env"), Path("/second"))


def test_max_line_bytes(tmp_path):
    assert load_config(env_for(tmp_path, AGENTSVIEW_MAX_LINE_BYTES="1024")).max_line_bytes == 1024
    assert "not a positive integer" in error_of(env_for(tmp_path, AGENTSVIEW_MAX_LINE_BYTES="-1"))
