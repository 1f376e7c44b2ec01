"""``pg service``: ``pg push --watch`` as a per-user background service that starts at login
and restarts after a failure: a systemd user unit on Linux, a launchd agent on macOS.

Each manager is described once (``Systemd``, ``Launchd``): where its file goes, the file,
and the commands that enable, stop, inspect and show the logs of the service. The commands
run only through ``run_manager``, with whatever ``systemctl``/``launchctl`` is on PATH.
"""

from __future__ import annotations

import os
import plistlib
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from agentsview.config import Config
from agentsview.durations import format_duration
from agentsview.redact import redact_url
from sessions_app.parsers.registry import AGENTS

NAME = "agentsview-push"
# What the service needs of this shell's environment to see the same archive, agent files
# and database as the command line; nothing else of it is kept.
CARRIED_VARIABLES = (
    "AGENTSVIEW_DATA_DIR", "DATABASE_URL", "AGENTSVIEW_PG_URL", "AGENTSVIEW_PG_SCHEMA",
    "AGENTSVIEW_PG_MACHINE", "AGENTSVIEW_MAX_LINE_BYTES",
    *(spec.env_var for spec in AGENTS.values()),
)
SECRET_VARIABLES = ("DATABASE_URL", "AGENTSVIEW_PG_URL")
STOP_TIMEOUT = 120  # seconds to finish the push in flight and push what is pending
_EXPANDED = re.compile(r"\$\{([^}]*)\}")


class ServiceError(Exception):
    """A one-line reason the service cannot be installed as asked (exit code 1)."""


@dataclass(frozen=True)
class ServiceSpec:
    """What the service runs and with which environment."""

    command: tuple[str, ...]
    environment: tuple[tuple[str, str], ...]


def service_spec(config: Config, interval: float, debounce: float,
                 environ: Mapping[str, str] | None = None) -> ServiceSpec:
    """The watcher's command line (this Python, so this install) and environment. Refuses a
    password the file would have to hold in plain text."""
    env = os.environ if environ is None else environ
    for name in SECRET_VARIABLES:
        value = env.get(name, "")
        if value and redact_url(value) != value:
            raise ServiceError(
                f"{name} holds a password, which the service file would keep in plain text:"
                f" put the password in ~/.pgpass (mode 0600) and the URL without it in"
                f" {config.config_path}")
    pg_table = config.raw.get("pg")
    raw_url = pg_table.get("url") if isinstance(pg_table, dict) else None
    if isinstance(raw_url, str) and "AGENTSVIEW_PG_URL" not in env:
        names = [n for n in _EXPANDED.findall(raw_url) if n not in CARRIED_VARIABLES]
        if names:
            raise ServiceError(
                f"[pg] url in {config.config_path} reads ${{{names[0]}}} from the environment,"
                " which the service does not have: put the password in ~/.pgpass (mode 0600)"
                " instead")
    command = (sys.executable, "-m", "agentsview", "pg", "push", "--watch",
               "--interval", format_duration(interval), "--debounce", format_duration(debounce))
    environment = tuple((n, env[n]) for n in CARRIED_VARIABLES if env.get(n))
    return ServiceSpec(command, environment)


def _systemd_quote(word: str) -> str:
    """One word of a unit file's ExecStart= or Environment=: ``%`` is a specifier and ``$``
    a variable there, so both are doubled; anything with blanks or quotes is quoted."""
    word = word.replace("%", "%%").replace("$", "$$")
    if word and not re.search(r"[\s\"'\\;]", word):
        return word
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Systemd:
    """A systemd user unit (Linux)."""

    label = "systemd user unit"
    unit = f"{NAME}.service"

    def __init__(self, home: Path, environ: Mapping[str, str]) -> None:
        config_home = environ.get("XDG_CONFIG_HOME") or str(home / ".config")
        self.path = Path(config_home) / "systemd" / "user" / self.unit

    def render(self, spec: ServiceSpec) -> str:
        environment = "".join(f"Environment={_systemd_quote(f'{name}={value}')}\n"
                              for name, value in spec.environment)
        return (
            "# Written by 'agentsview pg service install'; 'agentsview pg service uninstall'"
            " removes it.\n"
            "[Unit]\n"
            "Description=AgentsView: push this machine's agent sessions to the shared"
            " PostgreSQL\n"
            "\n"
            "[Service]\n"
            "Type=exec\n"
            f"ExecStart={' '.join(_systemd_quote(w) for w in spec.command)}\n"
            f"{environment}"
            "Restart=on-failure\n"
            "RestartSec=30\n"
            "# on stop it pushes what is pending first\n"
            f"TimeoutStopSec={STOP_TIMEOUT}\n"
            "Nice=10\n"
            "\n"
            "[Install]\n"
            "WantedBy=default.target\n"
        )

    @property
    def directories(self) -> list[Path]:
        return [self.path.parent]

    def install_commands(self) -> list[list[str]]:
        return [["systemctl", "--user", "daemon-reload"],
                ["systemctl", "--user", "enable", self.unit],
                # starts it, or replaces a running one (a reinstall with new flags)
                ["systemctl", "--user", "restart", self.unit]]

    def uninstall_commands(self) -> list[list[str]]:
        return [["systemctl", "--user", "disable", "--now", self.unit]]

    def after_uninstall(self) -> list[list[str]]:
        return [["systemctl", "--user", "daemon-reload"]]

    def status_command(self) -> list[str]:
        return ["systemctl", "--user", "status", "--no-pager", self.unit]

    def logs_command(self, lines: int, follow: bool) -> list[str]:
        return ["journalctl", "--user", "-u", self.unit, "-n", str(lines), "--no-pager",
                *(["-f"] if follow else [])]


class Launchd:
    """A launchd agent (macOS), logging to ``~/Library/Logs/agentsview/push.log``."""

    label = "launchd agent"

    def __init__(self, home: Path, environ: Mapping[str, str]) -> None:
        self.path = home / "Library" / "LaunchAgents" / f"{NAME}.plist"
        self.log = home / "Library" / "Logs" / "agentsview" / "push.log"
        self.domain = f"gui/{os.getuid()}"

    def render(self, spec: ServiceSpec) -> str:
        document = {
            "Label": NAME,
            "ProgramArguments": list(spec.command),
            "EnvironmentVariables": dict(spec.environment),
            "RunAtLoad": True,
            "KeepAlive": {"SuccessfulExit": False},  # restarted after a failure
            "ThrottleInterval": 30,
            "ExitTimeOut": STOP_TIMEOUT,  # on stop it pushes what is pending first
            "ProcessType": "Background",
            "StandardOutPath": str(self.log),
            "StandardErrorPath": str(self.log),
        }
        return plistlib.dumps(document, sort_keys=False).decode()

    @property
    def directories(self) -> list[Path]:
        return [self.path.parent, self.log.parent]

    def install_commands(self) -> list[list[str]]:
        return [["launchctl", "bootout", f"{self.domain}/{NAME}"],  # a running older one
                ["launchctl", "bootstrap", self.domain, str(self.path)]]

    def uninstall_commands(self) -> list[list[str]]:
        return [["launchctl", "bootout", f"{self.domain}/{NAME}"]]

    def after_uninstall(self) -> list[list[str]]:
        return []

    def status_command(self) -> list[str]:
        return ["launchctl", "print", f"{self.domain}/{NAME}"]

    def logs_command(self, lines: int, follow: bool) -> list[str]:
        return ["tail", "-n", str(lines), *(["-F"] if follow else []), str(self.log)]


MANAGERS = {"systemd": Systemd, "launchd": Launchd}


def default_manager() -> str:
    return "launchd" if sys.platform == "darwin" else "systemd"


def manager(name: str, environ: Mapping[str, str] | None = None) -> Systemd | Launchd:
    env = os.environ if environ is None else environ
    home = Path(env.get("HOME") or Path.home())
    return MANAGERS[name](home, env)


# commands whose failure is expected and harmless (nothing to stop yet)
TOLERATED = {("launchctl", "bootout")}
