"""``manage.py pg_push``: push the local archive to the shared PostgreSQL."""

from __future__ import annotations

from django.core.management.base import CommandError
from django.db import DatabaseError

from agentsview.command import AgentsViewCommand
from agentsview.config import load_config
from agentsview.durations import seconds_arg
from agentsview.schema import ensure_schema
from agentsview.terminal import Reporter
from sessions_app.services.sync import run_sync
from sync_app.cli import add_scope_arguments, pg_config_or_fail, prepare_pg, scope_from
from sync_app.pg_connection import PgError, check_transport, describe, target_of
from sync_app.services.push import Pusher
from sync_app.services.watch import AlreadyWatching, Watcher, WatchOptions, only_watcher

MAX_LISTED = 50


class Command(AgentsViewCommand):
    help = (
        "Push the local archive to the shared PostgreSQL (one way, incremental).\n\n"
        "Runs a local sync first, then sends every session changed since the last push:"
        " 50 sessions per transaction, each session's rows replaced as a unit, messages and"
        " tool calls bulk-loaded with COPY. Sessions owned by another machine there are never"
        " overwritten. Sessions deleted for good here (prune, trash empty) are deleted there"
        " too, if this machine owns them; what a person deleted, trashed or redacted on the"
        " server is not undone. An interrupted run is completed by the next one. Exit code 1 when a"
        " session failed or PostgreSQL is unreachable, 2 on a configuration error.\n\n"
        "With --watch it keeps running instead (what 'pg service install' sets up): it syncs"
        " every few seconds, pushes once the archive has changed and --debounce has passed,"
        " and at least every --interval; while PostgreSQL is unreachable it retries with"
        " growing pauses; SIGTERM or Ctrl+C pushes what is pending, then exits."
    )

    def add_arguments(self, parser):
        parser.add_argument("--full", action="store_true",
                            help="push every session, ignoring what earlier pushes recorded")
        parser.add_argument("--no-sync", action="store_true",
                            help="skip the local sync that normally runs first")
        add_scope_arguments(parser, "push")
        parser.add_argument("--watch", action="store_true",
                            help="keep running: push when the archive changes and at least"
                                 " every --interval, until SIGTERM or Ctrl+C")
        parser.add_argument("--interval", type=seconds_arg, metavar="DURATION",
                            help="with --watch: push at least this often, even with nothing"
                                 " new (it refreshes this machine's last push); default 5m")
        parser.add_argument("--debounce", type=seconds_arg, metavar="DURATION",
                            help="with --watch: once the archive changes, wait this long for"
                                 " more changes before pushing; default 30s")

    def handle(self, *args, full=False, no_sync=False, projects=None, exclude_projects=None,
               verbosity=1, watch=False, interval=None, debounce=None, **options):
        config = load_config()
        reporter = Reporter(self.stdout, self.stderr, verbosity=verbosity)
        if not watch and (interval is not None or debounce is not None):
            raise CommandError("pg push: --interval and --debounce go with --watch",
                               returncode=2)
        try:
            pg = pg_config_or_fail(config, "pg push")
            scope = scope_from(pg, projects, exclude_projects, "pg push")
            if watch:
                self.watch(config, pg, scope, reporter, WatchOptions(
                    interval=interval or 300.0, debounce=debounce or 30.0,
                    sync=not no_sync, full=full))
                return
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
        for session_id, machine in report.delete_refused[:MAX_LISTED]:
            self.stderr.write(f"delete refused: {session_id} is owned by machine {machine!r}"
                              " in PostgreSQL; not deleted there")
        if verbosity >= 2:
            for session_id in report.deleted_on_server:
                self.stderr.write(f"deleted on the server: {session_id}; not sent again")
            for session_id in report.redacted_on_server:
                self.stderr.write(f"redacted on the server: {session_id}; kept (pg push --full"
                                  " replaces it once its transcript has changed)")
        for session_id, reason in report.errors[:MAX_LISTED]:
            self.stderr.write(f"error: session {session_id}: {reason}")
        if verbosity >= 1:
            self.stdout.write(report.summary_line())
            if report.full_reason:
                self.stdout.write(f"PostgreSQL push mode: full ({report.full_reason})")
        if report.errors:
            raise CommandError(f"{len(report.errors)} session(s) failed", returncode=1)

    def watch(self, config, pg, scope, reporter: Reporter, options: WatchOptions) -> None:
        """Runs until a signal; configuration problems end it at once, PostgreSQL being
        unreachable does not."""
        warning = check_transport(pg, "pg push")
        if warning:
            self.stderr.write(warning)
        ensure_schema("default")
        try:
            with only_watcher(config.data_dir):
                code = Watcher(config, pg, target_of(pg), scope, options,
                               out=self.stdout.write, err=self.stderr.write,
                               verbosity=reporter.verbosity).run()
        except AlreadyWatching as exc:
            raise CommandError(f"pg push: {exc}", returncode=1) from None
        if code:
            raise CommandError("pg push: pending changes were not pushed", returncode=code)
