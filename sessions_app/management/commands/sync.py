"""``manage.py sync``: archive this machine's agent sessions into the local database."""

from __future__ import annotations

import argparse

from django.core.management.base import CommandError

from agentsview.command import AgentsViewCommand
from agentsview.config import load_config
from agentsview.schema import ensure_schema
from agentsview.terminal import Reporter
from sessions_app.services.parallel import WORKERS_VARIABLE
from sessions_app.services.sync import REBUILDING, run_sync

MAX_ISSUE_LINES = 50
MAX_WORKERS = 64


class Command(AgentsViewCommand):
    help = (
        "Archive this machine's agent sessions into the local database.\n\n"
        "Finds the session files and databases of every agent the archive reads (Claude Code,"
        " Codex, Gemini CLI, Copilot, Cursor, OpenCode and more: see the README) under the"
        " configured directories, parses the new and changed ones and stores every session"
        " (one transaction each). Unchanged files are skipped by size and modification time."
        " A large sync parses in one process per core while this one stores. Sessions whose"
        " files were deleted stay in the archive. Exit code 1 when a file could not be read."
    )


    def add_arguments(self, parser):
        parser.add_argument(
            "--full", action="store_true",
            help="re-parse and rewrite every file, even unchanged ones",
        )
        parser.add_argument(
            "--workers", type=_workers, default=None, metavar="N",
            help="parser processes for a large sync (default: one per usable core, or"
                 f" ${WORKERS_VARIABLE}); 1 parses in this process",
        )

    def handle(self, *args, full: bool = False, workers: int | None = None, verbosity: int = 1,
               **options):
        config = load_config()
        ensure_schema("default")
        reporter = Reporter(self.stdout, self.stderr, verbosity=verbosity)
        with reporter.progress("Syncing", _describe) as progress:
            report = run_sync(config, full=full, progress=progress, workers=workers)
        for agent, root in report.missing_roots:
            if agent in config.explicit_agent_dirs:
                reporter.note(f"{agent} directory not found: {root}")
        reporter.issues("error", report.errors, limit=None)
        reporter.issues("warning", report.warnings, limit=MAX_ISSUE_LINES)
        if verbosity >= 1:
            self.stdout.write(report.summary_line())
        if not report.ok:
            raise CommandError(
                f"{len(report.error_files)} file(s) could not be archived", returncode=1
            )


def _workers(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= MAX_WORKERS:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to {MAX_WORKERS}")
    return int(text)


def _describe(done: int, total: int, detail: object) -> str:
    return "Rebuilding the search index" if detail == REBUILDING else "Syncing"
