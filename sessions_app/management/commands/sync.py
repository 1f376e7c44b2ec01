"""``manage.py sync``: archive this machine's agent sessions into the local database."""

from __future__ import annotations

from django.core.management.base import CommandError

from agentsview.command import AgentsViewCommand
from agentsview.config import load_config
from agentsview.schema import ensure_schema
from agentsview.terminal import Reporter
from sessions_app.services.sync import REBUILDING, run_sync

MAX_ISSUE_LINES = 50


class Command(AgentsViewCommand):
    help = (
        "Archive this machine's agent sessions into the local database.\n\n"
        "Finds Claude Code and Codex session files under the configured directories, parses"
        " the new and changed ones and stores every session (one transaction each). Unchanged"
        " files are skipped by size and modification time. Sessions whose files were deleted"
        " stay in the archive. Exit code 1 when a file could not be read."
    )


    def add_arguments(self, parser):
        parser.add_argument(
            "--full", action="store_true",
            help="re-parse and rewrite every file, even unchanged ones",
        )

    def handle(self, *args, full: bool = False, verbosity: int = 1, **options):
        config = load_config()
        ensure_schema("default")
        reporter = Reporter(self.stdout, self.stderr, verbosity=verbosity)
        with reporter.progress("Syncing", _describe) as progress:
            report = run_sync(config, full=full, progress=progress)
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


def _describe(done: int, total: int, detail: object) -> str:
    return "Rebuilding the search index" if detail == REBUILDING else "Syncing"
