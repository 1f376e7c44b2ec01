"""The ``agentsview`` console script: management commands in the groups a person types.

``agentsview <group> <cmd> ...`` runs ``manage.py <group>_<cmd> ...`` when that command exists
(``agentsview pg push`` is ``manage.py pg_push``), else ``manage.py <group> <cmd> ...``
(``agentsview session list`` is ``manage.py session list``). Configuration problems are
reported in one line with exit code 2 before Django starts.
"""

from __future__ import annotations

import difflib
import gc
import os
import sys

from agentsview.config import Config, ConfigError, ensure_data_dir, load_config

PROG = "agentsview"
OUR_APPS = ("sessions_app", "sync_app", "analytics_app")

USAGE = f"""usage: {PROG} <command> [options]

Archive the sessions of AI coding agents on this machine, push them to a shared
PostgreSQL, and read them back.

Commands:
{{commands}}

Every command has --help. Django's own commands (migrate, createsuperuser, ...) run as
'{PROG} <name>'. Configuration: $AGENTSVIEW_DATA_DIR/config.toml (default ~/.agentsview).
"""


def only_asks_for_help(argv: list[str]) -> bool:
    """``--help``, ``-h``, ``--version`` or no command at all: nothing will be written."""
    words = argv[: argv.index("--")] if "--" in argv else argv
    return not words or words[0] in ("help", "version") or any(
        w in ("-h", "--help", "--version") for w in words)


def preflight(argv: list[str]) -> Config:
    """Load the configuration once before Django does, so errors are one clean line; create
    the data dir unless the command only prints help (which must leave no file behind)."""
    try:
        config = load_config()
        if not only_asks_for_help(argv):
            ensure_data_dir(config)
    except ConfigError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        raise SystemExit(exc.exit_code) from None
    return config


def answered_without_django(argv: list[str], config: Config) -> bool:
    """A plain ``sync`` with nothing to do prints its line without starting Django
    (``sessions_app/services/sync_shortcut.py``)."""
    if argv != ["sync"]:
        return False
    from sessions_app.services.sync_shortcut import nothing_to_do

    report = nothing_to_do(config)
    if report is None:
        return False
    print(report.summary_line())
    return True


def _setup_django() -> None:
    import django

    django.setup()
    # A CLI process is short-lived: keep the collector from re-scanning the few hundred
    # thousand objects the imports created, now and again at exit (0.1 s of a cron run).
    gc.freeze()


def _run(argv: list[str]) -> int:
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(argv)
    finally:
        gc.freeze()
    return 0


def manage_main(argv: list[str]) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "agentsview.settings")
    config = preflight(argv[1:])
    if answered_without_django(argv[1:], config):
        return 0
    _setup_django()
    return _run(argv)


def _our_commands() -> dict[str, str]:
    from django.core.management import get_commands, load_command_class

    result = {}
    for name, app in sorted(get_commands().items()):
        if app in OUR_APPS:
            result[name] = load_command_class(app, name).help.strip().splitlines()[0]
    return result


def spelled(name: str) -> str:
    """How a person types a management command: ``pg_push`` is ``pg push``."""
    return name.replace("_", " ", 1) if name.startswith(GROUPS) else name


GROUPS = ("pg_", "store_")


def _usage() -> str:
    lines = [f"  {spelled(name):<16} {help_line}" for name, help_line in _our_commands().items()]
    return USAGE.format(commands="\n".join(lines))


def _group_usage(group: str) -> str:
    """``agentsview pg``: the commands of the group, each with its first help line."""
    lines = [f"  {spelled(name):<16} {help_line}" for name, help_line in _our_commands().items()
             if name.startswith(f"{group}_")]
    return (f"usage: {PROG} {group} <command> [options]\n\nCommands:\n" + "\n".join(lines)
            + f"\n\nEach command has --help ('{PROG} {group} push --help').\n")


def suggestion(words: list[str], commands: set[str]) -> str | None:
    """The command a typo most likely meant, as typed (``snyc`` -> ``sync``, ``pg pussh`` ->
    ``pg push``), or None."""
    typed = " ".join(words[:2]) if words[0] in {c.split("_", 1)[0] for c in commands
                                                   if c.startswith(GROUPS)} else words[0]
    known = sorted({spelled(c) for c in commands})
    found = difflib.get_close_matches(typed, known, n=1, cutoff=0.6)
    return found[0] if found else None


def translate(argv: list[str], commands: set[str]) -> list[str]:
    """Map ``[group, cmd, *rest]`` to the management command argv (without the program)."""
    if len(argv) >= 2 and f"{argv[0]}_{argv[1]}" in commands:
        return [f"{argv[0]}_{argv[1]}", *argv[2:]]
    return list(argv)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "agentsview.settings")
    config = preflight(args)
    if answered_without_django(args, config):
        return 0
    _setup_django()
    from django.core.management import get_commands

    if not args or args[0] in ("-h", "--help", "help"):
        print(_usage())
        return 0
    if args[0] in ("--version", "version") and len(args) == 1:
        from agentsview import __version__

        print(f"{PROG} {__version__}")
        return 0
    commands = set(get_commands())
    group = args[0]
    if any(c.startswith(f"{group}_") for c in commands) and group not in commands and (
            len(args) == 1 or args[1] in ("-h", "--help", "help")):
        print(_group_usage(group))
        return 0
    translated = translate(args, commands)
    if translated[0] not in commands:
        shown = " ".join(args[:2]) if any(c.startswith(f"{group}_") for c in commands) \
            else args[0]
        hint = suggestion(args, commands)
        advice = f"did you mean '{hint}'?" if hint else f"see '{PROG} --help'"
        print(f"{PROG}: unknown command '{shown}'; {advice}", file=sys.stderr)
        return 2
    return _run([PROG, *translated])


if __name__ == "__main__":
    sys.exit(main())
