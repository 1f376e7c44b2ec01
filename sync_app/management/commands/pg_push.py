"""``manage.py pg_push``: push the local archive to the shared PostgreSQL."""

from __future__ import annotations

from django.core.management.base import CommandError
from django.db import DatabaseError

from agentsview.command import AgentsViewCommand
from agentsview.config import load_config
from agentsview.schema import ensure_schema
from agentsview.terminal import Reporter
from sessions_app.services.sync import run_sync
from sync_app.cli import add_scope_arguments, pg_config_or_fail, prepare_pg, scope_from
from sync_app.pg_connection import PgError, describe, target_of
from sync_app.services.push import Pusher

MAX_LISTED = 50


class Command(AgentsViewCommand):
    help = (
        "Push the local archive to the shared PostgreSQL (one way, incremental).\n\n"
        "Runs a local sync first, then sends every session changed since the last push:"
        " 50 sessions per transaction, each session's rows replaced as a unit, messages and"
        " tool calls bulk-loaded with COPY. Sessions owned by another machine there are never"
        " overwritten. Safe to run from cron: a run with nothing to do costs almost nothing,"
        " and an interrupted run is completed by the next one. Exit code 1 when a session"
        " failed or PostgreSQL is unreachable, 2 on a configuration error."
    )

    def add_arguments(self, parser):
        parser.add_argument("--full", action="store_true",
                            help="push every session, ignoring what earlier pushes recorded")
        parser.add_argument("--no-sync", action="store_true",
                            help="skip the local sync that normally runs first")
        add_scope_arguments(parser, "push")

    def handle(self, *args, full=False, no_sync=False, projects=None, exclude_projects=None,
               verbosity=1, **options):
        config = load_config()
        reporter = Reporter(self.stdout, self.stderr, verbosity=verbosity)
        try:
            pg = pg_config_or_fail(config, "pg push")
            scope = scope_from(pg, projects, exclude_projects, "pg push")
            if not no_sync:
                ensure_schema("default")
                with reporter.progress("Syncing") as progress:
                    sync_report = run_sync(config, progress=progress)
                reporter.issues("error", sync_report.errors, limit=None)
                reporter.issues("warning", sync_report.warnings, limit=20)
                if verbosity >= 1:
                    self.stdout.write(sync_report.summary_line())
            else:
                ensure_schema("default")
            prepare_pg(pg, "pg push", reporter)
            with reporter.progress(
                "Pushing...",
                lambda done, total, messages: f"Pushing... {done}/{total} sessions,"
                f" {messages} messages",
            ) as progress:
                report = Pusher(pg, target_of(pg), scope, progress=progress).run(full=full)
        except PgError as exc:
            raise CommandError(str(exc), returncode=exc.exit_code) from None
        except DatabaseError as exc:
            raise CommandError(f"pg push: {describe(exc, pg)}", returncode=1) from None

        for session_id in report.conflicts[:MAX_LISTED]:
            self.stderr.write(f"ownership conflict: {session_id} is owned by another machine"
                              " in PostgreSQL; not overwritten")
        for session_id, reason in report.errors[:MAX_LISTED]:
            self.stderr.write(f"error: session {session_id}: {reason}")
        if verbosity >= 1:
            self.stdout.write(report.summary_line())
            if report.full_reason:
                self.stdout.write(f"PostgreSQL push mode: full ({report.full_reason})")
        if report.errors:
            raise CommandError(f"{len(report.errors)} session(s) failed", returncode=1)
