"""The base of our management commands: no system checks, failures as ``error: <message>``."""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError, handle_default_options
from django.db import connections


class AgentsViewCommand(BaseCommand):
    # The system checks import every template tag library (DRF's pulls in psycopg): a quarter
    # of a second that a cron job pays for nothing.
    requires_system_checks: list[str] = []

    def run_from_argv(self, argv: list[str]) -> None:
        """Django's own, except that a failure prints ``error: <message>`` (one line, no
        exception class name) before exiting with its code."""
        self._called_from_command_line = True
        parser = self.create_parser(argv[0], argv[1])
        options = parser.parse_args(argv[2:])
        cmd_options = vars(options)
        args = cmd_options.pop("args", ())
        handle_default_options(options)
        try:
            self.execute(*args, **cmd_options)
        except CommandError as exc:
            if options.traceback:
                raise
            self.stderr.write(f"error: {exc}")
            sys.exit(exc.returncode)
        finally:
            connections.close_all()
