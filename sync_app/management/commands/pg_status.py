"""``manage.py pg_status``: what the shared PostgreSQL holds, and (--verify) whether it holds
exactly what this archive has."""

from __future__ import annotations

from django.core.management.base import CommandError
from django.db import DatabaseError

from agentsview.command import AgentsViewCommand
from agentsview.config import load_config
from agentsview.schema import ensure_schema
from agentsview.terminal import Reporter
from agentsview.timefmt import rfc3339
from sync_app.cli import add_scope_arguments, pg_config_or_fail, prepare_pg, scope_from
from sync_app.models import PushTarget
from sync_app.pg_connection import PgError, describe, target_of
from sync_app.services.status import archive_counts
from sync_app.services.verify import verify

MAX_LISTED = 100


class Command(AgentsViewCommand):
    help = (
        "Show this machine's last push and what the shared PostgreSQL holds.\n\n"
        "Prints the machine name, the last successful push and the session and message"
        " counts of every machine in PostgreSQL. Never changes the shared database."
        " With --verify, compares"
        " every local session with its PostgreSQL copy, row by row, and lists the ones that"
        " differ (exit code 1 when any do); a session deleted here must be gone there, and"
        " one a person deleted, trashed or redacted on the server is counted, not compared."
    )

    def add_arguments(self, parser):
        parser.add_argument("--verify", action="store_true",
                            help="compare every local session with its PostgreSQL copy")
        add_scope_arguments(parser, "report on the push scope of")

    def handle(self, *args, projects=None, exclude_projects=None, verbosity=1, **options):
        config = load_config()
        reporter = Reporter(self.stdout, self.stderr, verbosity=verbosity)
        try:
            pg = pg_config_or_fail(config, "pg status")
            scope = scope_from(pg, projects, exclude_projects, "pg status")
            ensure_schema("default")
            prepare_pg(pg, "pg status", reporter, migrate=False)
            state = PushTarget.objects.filter(target=target_of(pg).key, scope=scope.key).first()
            counts = archive_counts("pg")
            sessions, messages = counts or (0, 0)
            self.stdout.write(f"Machine:     {pg.machine_name}")
            last = rfc3339(state.last_push_at) if state and state.last_push_at else "never"
            self.stdout.write(f"Last push:   {last}")
            self.stdout.write(f"PG sessions: {sessions}")
            self.stdout.write(f"PG messages: {messages}")
            if not options["verify"]:
                return
            if counts is None:
                raise PgError(f"verify: the schema {pg.schema} holds no session tables yet"
                              " (nothing pushed); run pg push")
            report = verify(pg, scope)
        except PgError as exc:
            raise CommandError(str(exc), returncode=exc.exit_code) from None
        except DatabaseError as exc:
            raise CommandError(f"pg status: {describe(exc, pg)}", returncode=1) from None
        for session_id, what in report.differences[:MAX_LISTED]:
            self.stdout.write(f"  {session_id}: {what}")
        if len(report.differences) > MAX_LISTED:
            self.stdout.write(f"  ... and {len(report.differences) - MAX_LISTED} more")
        if report.differences:
            raise CommandError(
                f"verify: {len(report.differences)} of {report.checked} session(s) differ"
                " (pg push sends local changes; pg push --full also rewrites copies changed"
                " in PostgreSQL)", returncode=1,
            )
        identical = report.checked - sum(report.on_server.values())
        self.stdout.write(f"Verified:    {identical} sessions identical in PostgreSQL")
        if report.deleted_here:
            self.stdout.write(f"Deleted:     {report.deleted_here} sessions deleted here are"
                              " gone from PostgreSQL")
        if report.on_server:
            self.stdout.write(f"On server:   {report.on_server_line()} there by a person"
                              " (not compared)")
