"""Configuration, read in one place: environment variables, then ``<data dir>/config.toml``.

Precedence for every value: environment variable > config.toml > built-in default.
Errors are one line naming the file (or variable), the key and what is wrong; they never
contain a password. Entry points turn a ``ConfigError`` into exit code 2.
"""

from __future__ import annotations

import os
import re
import socket
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from urllib.parse import urlsplit

from agentsview.redact import redact_url
from sessions_app.parsers.registry import AGENTS

SCHEMA_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_VAR_RE = re.compile(r"\$\{([^}]*)\}")
RESERVED_MACHINE_NAMES = frozenset({"local"})

PG_KEYS = {"url", "machine_name", "schema", "allow_insecure", "projects", "exclude_projects"}
AGENT_KEYS = {"dirs"}
AUTOMATED_KEYS = {"prefixes", "substrings", "exact_matches"}
# [pricing."model-id"]: dollars per million tokens of each kind (sessions_app/usage/pricing.py)
PRICE_KEYS = ("input", "output", "cache_read", "cache_write")
# Top-level keys we read, plus the ones AgentsView itself writes into the same file, so a
# config shared with it still loads.
TOP_LEVEL_KEYS = {
    "pg", "agents", "automated", "pricing", "result_content_blocked_categories",
    "auth_token", "require_auth", "cursor_secret", "public_url", "public_origins",
} | {spec.legacy_config_key for spec in AGENTS.values()}
DEFAULT_BLOCKED_RESULT_CATEGORIES = ("Read", "Glob")
DEFAULT_MAX_LINE_BYTES = 64 * 1024 * 1024


class ConfigError(Exception):
    """A configuration value is unusable. ``str(err)`` is the one-line message."""

    exit_code = 2


@dataclass(frozen=True)
class PgConfig:
    url: str  # after ${VAR} expansion; holds the password, never print it: use ``safe_url``
    machine_name: str
    schema: str = "agentsview"
    allow_insecure: bool = False
    projects: tuple[str, ...] = ()
    exclude_projects: tuple[str, ...] = ()

    @property
    def safe_url(self) -> str:
        return redact_url(self.url)


@dataclass(frozen=True)
class Config:
    data_dir: Path
    config_path: Path
    machine_name: str
    database_url: str | None = None
    pg: PgConfig | None = None
    pg_url_source: str = ""  # where [pg] url came from, for "not configured" hints
    agent_dirs: dict[str, tuple[Path, ...]] = field(default_factory=dict)
    explicit_agent_dirs: frozenset[str] = frozenset()  # agents whose dirs were configured
    blocked_result_categories: tuple[str, ...] = DEFAULT_BLOCKED_RESULT_CATEGORIES
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES  # longer JSON lines are skipped, not parsed
    # [automated]: more first-prompt patterns that mark a one-prompt session as automated
    automated_prefixes: tuple[str, ...] = ()
    automated_substrings: tuple[str, ...] = ()
    automated_exact_matches: tuple[str, ...] = ()
    # [pricing."model-id"]: (model, ((kind, dollars per million as text), ...)), sorted
    pricing: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()
    raw: Mapping[str, object] = field(default_factory=dict)

    @property
    def db_path(self) -> Path:
        return self.data_dir / "agentsview.db"


def default_data_dir(environ: Mapping[str, str]) -> Path:
    if environ.get("AGENTSVIEW_DATA_DIR"):
        return Path(environ["AGENTSVIEW_DATA_DIR"]).expanduser()
    return _home(environ) / ".agentsview"


def load_config(environ: Mapping[str, str] | None = None) -> Config:
    """Read the whole configuration. Raises ``ConfigError`` on any unusable value."""
    env = os.environ if environ is None else environ
    data_dir = default_data_dir(env)
    path = data_dir / "config.toml"
    raw = _read_toml(path)
    _check_keys(raw, TOP_LEVEL_KEYS, path, "")

    pg_table = _table(raw, "pg", path)
    _check_keys(pg_table, PG_KEYS, path, "[pg] ")
    machine, machine_where = _machine_name(pg_table, env, path)
    pg, url_source = _pg_config(pg_table, env, path, machine, machine_where)
    agent_dirs, explicit = _agent_dirs(raw, env, path)
    automated = _table(raw, "automated", path)
    _check_keys(automated, AUTOMATED_KEYS, path, "[automated] ")
    pricing = _pricing(_table(raw, "pricing", path), path)

    return Config(
        data_dir=data_dir,
        config_path=path,
        machine_name=machine,
        database_url=env.get("DATABASE_URL") or None,
        pg=pg,
        pg_url_source=url_source,
        agent_dirs=agent_dirs,
        explicit_agent_dirs=frozenset(explicit),
        blocked_result_categories=tuple(
            _str_list(raw, "result_content_blocked_categories", path, "")
            or DEFAULT_BLOCKED_RESULT_CATEGORIES
        ),
        max_line_bytes=_positive_int(env, "AGENTSVIEW_MAX_LINE_BYTES", DEFAULT_MAX_LINE_BYTES),
        automated_prefixes=tuple(_str_list(automated, "prefixes", path, "[automated] ")),
        automated_substrings=tuple(_str_list(automated, "substrings", path, "[automated] ")),
        automated_exact_matches=tuple(
            _str_list(automated, "exact_matches", path, "[automated] ")
        ),
        pricing=pricing,
        raw=raw,
    )


def ensure_data_dir(config: Config) -> Path:
    """Create the data dir (mode 0700) if needed; one-line error when that is impossible."""
    try:
        config.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"config error: data dir {config.data_dir}: cannot create it ({exc.strerror})"
        ) from None
    if not config.data_dir.is_dir():
        raise ConfigError(f"config error: data dir {config.data_dir}: not a directory")
    return config.data_dir


# --- pieces -------------------------------------------------------------------------------


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise ConfigError(f"config error: {name}: '{text}' is not a positive integer")
    return value


def _home(environ: Mapping[str, str]) -> Path:
    return Path(environ.get("HOME") or Path.home())


def _read_toml(path: Path) -> dict[str, object]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        return {}
    except IsADirectoryError:
        raise ConfigError(f"config error: {path}: is a directory, not a TOML file") from None
    except PermissionError:
        raise ConfigError(f"config error: {path}: permission denied") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config error: {path}: invalid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config error: {path}: not valid UTF-8") from None


def _check_keys(table: Mapping[str, object], allowed: set[str], path: Path, where: str) -> None:
    for key in table:
        if key not in allowed:
            expected = ", ".join(sorted(allowed))
            raise ConfigError(
                f"config error: {path}: {where}unknown key '{key}' (expected one of: {expected})"
            )


def _table(raw: Mapping[str, object], key: str, path: Path) -> dict[str, object]:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"config error: {path}: '{key}' must be a table ([{key}])")
    return value


def _string(table: Mapping[str, object], key: str, path: Path, where: str) -> str | None:
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError(
            f"config error: {path}: {where}{key} must be a string, not {type(value).__name__}"
        )
    return value


def _str_list(table: Mapping[str, object], key: str, path: Path, where: str) -> list[str]:
    value = table.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"config error: {path}: {where}{key} must be a list of strings")
    return list(value)


def _pricing(table: Mapping[str, object], path: Path
             ) -> tuple[tuple[str, tuple[tuple[str, str], ...]], ...]:
    """``[pricing."model-id"]`` tables: each kind a non-negative number of dollars per million
    tokens (a TOML number or a decimal string), kept as exact decimal text."""
    models = []
    for model, prices in sorted(table.items()):
        where = f'[pricing."{model}"]'
        if not model.strip():
            raise ConfigError(f"config error: {path}: [pricing] a model id must not be empty")
        if not isinstance(prices, dict):
            raise ConfigError(f"config error: {path}: {where} must be a table")
        _check_keys(prices, set(PRICE_KEYS), path, f"{where} ")
        kinds = []
        for kind in PRICE_KEYS:
            if kind not in prices:
                continue
            value = prices[kind]
            text = str(value).strip() if isinstance(value, int | float | str) and not (
                isinstance(value, bool)) else ""
            try:
                amount = Decimal(text)
            except InvalidOperation:
                amount = Decimal("NaN")
            if not amount.is_finite() or amount < 0:
                raise ConfigError(f"config error: {path}: {where} {kind} must be a non-negative"
                                  f" number of dollars per million tokens, not {value!r}")
            kinds.append((kind, format(amount.normalize(), "f")))
        if not kinds:
            raise ConfigError(f"config error: {path}: {where} names no price (expected some"
                              f" of: {', '.join(PRICE_KEYS)})")
        models.append((model.strip(), tuple(kinds)))
    return tuple(models)


def _machine_name(
    pg_table: Mapping[str, object], env: Mapping[str, str], path: Path
) -> tuple[str, str]:
    if env.get("AGENTSVIEW_PG_MACHINE"):
        name, where = env["AGENTSVIEW_PG_MACHINE"], "AGENTSVIEW_PG_MACHINE"
    else:
        name = _string(pg_table, "machine_name", path, "[pg] ") or ""
        where = f"{path}: [pg] machine_name"
    name = name.strip()
    if not name:
        return socket.gethostname() or "unknown-host", "hostname"
    if name.lower() in RESERVED_MACHINE_NAMES:
        raise ConfigError(
            f"config error: {where}: machine name '{name}' is reserved; choose another"
            " (default: this host's name)"
        )
    if len(name) > 255 or any(ord(c) < 32 for c in name):
        raise ConfigError(f"config error: {where}: machine name must be 1-255 printable characters")
    return name, where


def _pg_config(
    pg_table: Mapping[str, object],
    env: Mapping[str, str],
    path: Path,
    machine: str,
    machine_where: str,
) -> tuple[PgConfig | None, str]:
    if env.get("AGENTSVIEW_PG_URL"):
        url, where = env["AGENTSVIEW_PG_URL"], "AGENTSVIEW_PG_URL"
    else:
        url = _string(pg_table, "url", path, "[pg] ") or ""
        where = f"{path}: [pg] url"

    if env.get("AGENTSVIEW_PG_SCHEMA"):
        schema, schema_where = env["AGENTSVIEW_PG_SCHEMA"], "AGENTSVIEW_PG_SCHEMA"
    else:
        schema = _string(pg_table, "schema", path, "[pg] ") or "agentsview"
        schema_where = f"{path}: [pg] schema"
    if not SCHEMA_RE.match(schema):
        raise ConfigError(
            f"config error: {schema_where}: '{schema}' is not a valid schema name"
            " (letters, digits and _, not starting with a digit)"
        )

    allow_insecure = pg_table.get("allow_insecure", False)
    if not isinstance(allow_insecure, bool):
        raise ConfigError(f"config error: {path}: [pg] allow_insecure must be true or false")
    projects = _str_list(pg_table, "projects", path, "[pg] ")
    excluded = _str_list(pg_table, "exclude_projects", path, "[pg] ")
    if projects and excluded:
        raise ConfigError(
            f"config error: {path}: [pg] projects and exclude_projects are mutually exclusive"
        )

    if not url.strip():
        return None, where
    url = _expand_vars(url.strip(), env, where)
    _validate_pg_url(url, where)
    return (
        PgConfig(
            url=url,
            machine_name=machine,
            schema=schema,
            allow_insecure=allow_insecure,
            projects=tuple(projects),
            exclude_projects=tuple(excluded),
        ),
        where,
    )


def _expand_vars(url: str, env: Mapping[str, str], where: str) -> str:
    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ConfigError(f"config error: {where}: '${{{name}}}' is not a variable name")
        if name not in env:
            raise ConfigError(f"config error: {where}: environment variable {name} is not set")
        return env[name]

    return _VAR_RE.sub(substitute, url)


def _validate_pg_url(url: str, where: str) -> None:
    shown = redact_url(url)
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError on a non-numeric or out-of-range port
    except ValueError as exc:
        raise ConfigError(f"config error: {where}: cannot parse URL '{shown}': {exc}") from None
    if parts.scheme not in ("postgres", "postgresql"):
        raise ConfigError(
            f"config error: {where}: URL '{shown}' must start with postgres:// or postgresql://"
        )
    if not parts.path.strip("/"):
        raise ConfigError(f"config error: {where}: URL '{shown}' names no database")
    del port


def _agent_dirs(
    raw: Mapping[str, object], env: Mapping[str, str], path: Path
) -> tuple[dict[str, tuple[Path, ...]], set[str]]:
    """Directories per agent, and the agents whose directories someone configured."""
    agents_table = _table(raw, "agents", path)
    for name, table in agents_table.items():
        if name not in AGENTS:
            known = ", ".join(sorted(AGENTS))
            raise ConfigError(
                f"config error: {path}: [agents.{name}] unknown agent (known: {known})"
            )
        if not isinstance(table, dict):
            raise ConfigError(f"config error: {path}: [agents.{name}] must be a table")
        _check_keys(table, AGENT_KEYS, path, f"[agents.{name}] ")

    home = _home(env)
    result: dict[str, tuple[Path, ...]] = {}
    explicit: set[str] = set()
    for key, spec in AGENTS.items():
        if env.get(spec.env_var):
            dirs = [d for d in env[spec.env_var].split(os.pathsep) if d]
        else:
            table = agents_table.get(key, {})
            dirs = _str_list(table, "dirs", path, f"[agents.{key}] ") or _str_list(
                raw, spec.legacy_config_key, path, ""
            )
        if dirs:
            explicit.add(key)
        else:
            dirs = [str(home / d) for d in spec.default_dirs]
        result[key] = tuple(Path(d).expanduser() for d in dirs)
    return result, explicit
