"""The base of our management commands: no system checks, the command's own options in its
``--help`` (Django's behind ``--help-all``), failures as ``error: <message>``, and a bad
option value named by its flag with exit code 2."""

from __future__ import annotations

import argparse
import re
import sys

from django.core.management.base import BaseCommand, CommandError, handle_default_options
from django.db import connections

# Django's options on every command: hidden from --help, shown by --help-all
DJANGO_OPTIONS = ("version", "settings", "pythonpath", "traceback", "no_color", "force_color",
                  "skip_checks")
# "<problem> (query.<name>: <value>)", the API's wording of a bad parameter
API_PARAMETER = re.compile(r"^(?P<prefix>[\w ]+: )?(?P<problem>.+) "
                           r"\(query\.(?P<name>\w+): (?P<value>.*)\)$", re.S)
USAGE_ERROR = 2


class _HelpAll(argparse.Action):
    """``--help-all``: the help with Django's options too."""

    def __init__(self, option_strings, dest, hidden=(), **kwargs):
        self.hidden = hidden
        super().__init__(option_strings, dest, nargs=0, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        for action, text in self.hidden:
            action.help = text
        parser.print_help()
        parser.exit()


def _flags(parser: argparse.ArgumentParser) -> set[str]:
    """Every option string of *parser* and of its subcommands' parsers."""
    found: set[str] = set()
    for action in parser._actions:  # noqa: SLF001 - argparse keeps no public list
        found.update(action.option_strings)
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            for sub in action.choices.values():
                found |= _flags(sub)
    return found


def flag_error(message: str, parser: argparse.ArgumentParser) -> str | None:
    """The API's "problem (query.limit: 0)" as the command line says it,
    "--limit 0: problem", when the parameter is one of the command's flags; else None."""
    match = API_PARAMETER.match(message)
    if match is None:
        return None
    flag = "--" + match["name"].replace("_", "-")
    if flag not in _flags(parser):
        return None
    return f"{match['prefix'] or ''}{flag} {match['value']}: {match['problem']}"


class AgentsViewCommand(BaseCommand):
    # The system checks import every template tag library (DRF's pulls in psycopg): a quarter
    # of a second that a cron job pays for nothing.
    requires_system_checks: list[str] = []

    def create_parser(self, prog_name: str, subcommand: str, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        hidden = []
        for action in parser._actions:  # noqa: SLF001
            if action.dest in DJANGO_OPTIONS:
                hidden.append((action, action.help))
                action.help = argparse.SUPPRESS
        parser.add_argument("--help-all", action=_HelpAll, hidden=hidden,
                            help="show this help with Django's own options too")
        return parser

    def run_from_argv(self, argv: list[str]) -> None:
        """Django's own, except that a failure prints ``error: <message>`` (one line, no
        exception class name) before exiting with its code, and a bad value of one of the
        command's options names the flag and exits 2 (a usage error, as argparse's)."""
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
            message, code = str(exc), exc.returncode
            flagged = flag_error(message, parser)
            if flagged is not None:
                message, code = flagged, USAGE_ERROR
            self.stderr.write(f"error: {message}")
            sys.exit(code)
        finally:
            connections.close_all()
