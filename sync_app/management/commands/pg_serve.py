"""``manage.py pg_serve``: every machine's sessions from the shared PostgreSQL, read-only."""

from __future__ import annotations

from django.core.management.base import CommandError
from django.db import DatabaseError, connections

from agentsview import server
from agentsview.command import AgentsViewCommand
from agentsview.config import load_config
from agentsview.terminal import Reporter
from sync_app.cli import pg_config_or_fail
from sync_app.pg_connection import (
    NO_WRITE_STATES,
    PgError,
    check_transport,
    connect,
    describe,
    sqlstate,
)
from sync_app.schema import check_compatible, migrate_pg


class Command(AgentsViewCommand):
    help = (
        "Serve every machine's sessions from the shared PostgreSQL, read-only, under"
        " gunicorn.\n\nApplies pending migrations first (skipped for a read-only role), checks"
        " the schema, then serves the JSON API and the dashboard. No request can change a"
        " session. Bound to anything but loopback, every /api/ request needs a bearer token."
    )

    def add_arguments(self, parser):
        server.add_server_arguments(parser)

    def handle(self, *args, **options):
        config = load_config()
        try:
            pg = pg_config_or_fail(config, "pg serve")
            served = server.server_options(options, read_only=True, shared_database=True)
            listener = server.listen(served)  # the port first: refused before any work
            reporter = Reporter(self.stdout, self.stderr)
            warning = check_transport(pg, "pg serve")
            if warning:
                self.stderr.write(warning)
            # The workers serve the shared database as their "default" (accounts and tokens
            # live there too); this process prepares it through the "pg" alias.
            connect("pg", pg, "pg serve")
            try:
                migrate_pg("pg", pg.schema)
            except DatabaseError as exc:
                if sqlstate(exc) not in NO_WRITE_STATES:
                    raise PgError(f"pg serve: cannot migrate schema {pg.schema}:"
                                  f" {describe(exc, pg)}") from None
                reporter.note("read-only role: pending migrations not applied")
            check_compatible(pg.schema, using="pg")
            connections.close_all()
            code = server.run(served, config, listener, write=self.stdout.write)
        except (PgError, server.ServerError) as exc:
            message = str(exc) if str(exc).startswith("pg serve") else f"pg serve: {exc}"
            raise CommandError(message, returncode=1) from None
        if code:
            raise CommandError(f"pg serve: the server stopped (exit {code})", returncode=code)
