"""``manage.py pg_service``: ``pg push --watch`` as a background service (systemd or launchd)."""

from __future__ import annotations

import shlex
import subprocess
import sys

from django.core.management.base import CommandError
from django.db import DatabaseError
from django.db.models import Max

from agentsview.command import AgentsViewCommand
from agentsview.config import load_config
from agentsview.durations import seconds_arg
from agentsview.humanize import age
from agentsview.timefmt import rfc3339
from sync_app.cli import pg_config_or_fail
from sync_app.models import PushTarget
from sync_app.pg_connection import PgError
from sync_app.services.push_service import (
    MANAGERS,
    TOLERATED,
    ServiceError,
    default_manager,
    manager,
    service_spec,
)


class Command(AgentsViewCommand):
    help = (
        "Run 'pg push --watch' as a background service: install, uninstall, status, logs.\n\n"
        "install writes a systemd user unit (Linux: ~/.config/systemd/user/"
        "agentsview-push.service) or a launchd agent (macOS: ~/Library/LaunchAgents/"
        "agentsview-push.plist) and starts it; it starts again at every login and after a"
        " failure. --dry-run prints the file and the commands instead."
    )

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["install", "uninstall", "status", "logs"])
        parser.add_argument("--interval", type=seconds_arg, default=300.0, metavar="DURATION",
                            help="install: push at least this often (default 5m)")
        parser.add_argument("--debounce", type=seconds_arg, default=30.0, metavar="DURATION",
                            help="install: push this long after the archive changes"
                                 " (default 30s)")
        parser.add_argument("--dry-run", action="store_true",
                            help="install, uninstall: print the file and the commands, change"
                                 " nothing")
        parser.add_argument("--manager", choices=sorted(MANAGERS), default=default_manager(),
                            help=f"the service manager (default here: {default_manager()})")
        parser.add_argument("-n", "--lines", type=int, default=100,
                            help="logs: how many recent lines (default 100)")
        parser.add_argument("-f", "--follow", action="store_true",
                            help="logs: keep printing new lines until Ctrl+C")

    def handle(self, *args, action, **options):
        self.service = manager(options["manager"])
        getattr(self, action)(**options)

    # --- actions -------------------------------------------------------------------------
    def install(self, *, interval, debounce, dry_run, **options):
        config = load_config()
        try:
            pg_config_or_fail(config, "pg service install")
            spec = service_spec(config, interval, debounce)
        except (PgError, ServiceError) as exc:
            message = str(exc).removeprefix("pg service install: ")
            raise CommandError(f"pg service install: {message}", returncode=1) from None
        text = self.service.render(spec)
        path = self.service.path
        if dry_run:
            self.stdout.write(f"# {path}\n{text}")
            for command in self.service.install_commands():
                self.stdout.write(f"# then: {shlex.join(command)}")
            return
        for directory in self.service.directories:
            directory.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        for command in self.service.install_commands():
            self.run_manager(command, "install")
        self.stdout.write(f"Installed and started {path.name} ({self.service.label}: {path}),"
                          f" running: {shlex.join(spec.command)}")
        self.stdout.write("Its output: agentsview pg service logs")

    def uninstall(self, *, dry_run, **options):
        path = self.service.path
        if not path.exists():
            self.stdout.write(f"Not installed (no {path})")
            return
        if dry_run:
            for command in self.service.uninstall_commands():
                self.stdout.write(f"# {shlex.join(command)}")
            self.stdout.write(f"# rm {shlex.quote(str(path))}")
            for command in self.service.after_uninstall():
                self.stdout.write(f"# {shlex.join(command)}")
            return
        for command in self.service.uninstall_commands():
            self.run_manager(command, "uninstall")
        path.unlink()
        for command in self.service.after_uninstall():
            self.run_manager(command, "uninstall")
        self.stdout.write(f"Stopped and removed {path}")

    def status(self, **options):
        path = self.service.path
        installed = path.exists()
        self.stdout.write(f"Service:   {path.name} ({self.service.label})")
        self.stdout.write(f"File:      {path} ({'installed' if installed else 'not installed'})")
        self.stdout.write(f"Last push: {self.last_push()}")
        if not installed:
            raise CommandError("pg service: not installed (agentsview pg service install)",
                               returncode=3)
        self.stdout.flush()
        command = self.service.status_command()
        code = self.run_manager(command, "status", check=False, show=True)
        if code:
            raise CommandError(f"pg service: {path.name} is not running ('{shlex.join(command)}'"
                               f" exited with {code})", returncode=3)

    def logs(self, *, lines, follow, **options):
        self.stdout.flush()
        code = self.run_manager(self.service.logs_command(lines, follow), "logs", check=False,
                                show=True)
        if code:
            raise CommandError(f"pg service logs: exit code {code}", returncode=1)

    # --- helpers -------------------------------------------------------------------------
    def last_push(self) -> str:
        """This archive's last successful push, from its own push state."""
        config = load_config()
        if config.database_url is None and not config.db_path.exists():
            return "never"  # no archive yet (and asking would create an empty one)
        try:
            moment = PushTarget.objects.aggregate(last=Max("last_push_at"))["last"]
        except DatabaseError:
            moment = None
        return f"{rfc3339(moment)} ({age(moment)} ago)" if moment else "never"

    def run_manager(self, command: list[str], action: str, *, check: bool = True,
                    show: bool = False) -> int:
        """Run one systemctl/launchctl/journalctl command; a failure is one line."""
        try:
            proc = subprocess.run(command, stdout=None if show else subprocess.PIPE,
                                  stderr=None if show else subprocess.PIPE, text=True)
        except FileNotFoundError:
            raise CommandError(f"pg service {action}: {command[0]} not found (this needs"
                               f" {self.service.label}s)", returncode=1) from None
        except KeyboardInterrupt:  # logs --follow ends with Ctrl+C
            sys.stdout.flush()
            return 0
        if check and proc.returncode and tuple(command[:2]) not in TOLERATED:
            detail = (proc.stderr or proc.stdout or "").strip().splitlines()
            raise CommandError(
                f"pg service {action}: '{shlex.join(command)}' failed (exit {proc.returncode})"
                + (f": {detail[0]}" if detail else ""), returncode=1)
        return proc.returncode
