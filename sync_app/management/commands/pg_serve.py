"""``manage.py pg_serve``: every machine's sessions from the shared PostgreSQL, read-only."""

from __future__ import annotations

import os
import sys

from django.core.management.base import CommandError
from django.db import DatabaseError, connections

from agentsview import server
from agentsview.command import AgentsViewCommand
from agentsview.config import load_config
from agentsview.terminal import Reporter
from sessions_app.management.commands.serve import add_server_arguments, server_options
from sessions_app.models import Message, Session, ToolCall, ToolResultEvent
from sync_app.commands import pg_config_or_fail
from sync_app.pg_connection import (
    NO_WRITE_STATES,
    PgError,
    check_transport,
    connect,
    describe,
    sqlstate,
)
from sync_app.schema import migrate_pg

SERVE_FLAG = "AGENTSVIEW_SERVE_PG"


def check_compatible(schema: str) -> None:
    """Refuse a schema whose session tables lack columns this release reads."""
    connection = connections["default"]
    with connection.cursor() as cursor:
        tables = set(connection.introspection.table_names(cursor))
        for model in (Session, Message, ToolCall, ToolResultEvent):
            table = model._meta.db_table
            if table not in tables:
                raise PgError(f"pg serve: schema {schema} has no table {table}; run pg push"
                              " once (it creates the schema), then start pg serve again")
            present = {c.name for c in connection.introspection.get_table_description(
                cursor, table)}
            missing = sorted({f.column for f in model._meta.concrete_fields} - present)
            if missing:
                raise PgError(
                    f"pg serve: schema {schema} is incompatible: {table} lacks"
                    f" {', '.join(missing)}; run pg push with a role that can write (it"
                    " migrates the schema), then start pg serve again"
                )


class Command(AgentsViewCommand):
    help = (
        "Serve every machine's sessions from the shared PostgreSQL, read-only, under"
        " gunicorn.\n\nApplies pending migrations first (skipped for a read-only role), checks"
        " the schema, then serves the JSON API and the dashboard. No request can change a"
        " session. Bound to anything but loopback, every /api/ request needs a bearer token."
    )

    def add_arguments(self, parser):
        add_server_arguments(parser)

    def handle(self, *args, **options):
        config = load_config()
        try:
            pg = pg_config_or_fail(config, "pg serve")
            if os.environ.get(SERVE_FLAG) != "1":
                # Re-run this command with the shared PostgreSQL as the default database, so
                # migrations, accounts and tokens all live there.
                os.environ[SERVE_FLAG] = "1"
                sys.stdout.flush()
                os.execv(sys.executable, [sys.executable, *sys.argv])
            reporter = Reporter(self.stdout, self.stderr)
            warning = check_transport(pg, "pg serve")
            if warning:
                self.stderr.write(warning)
            connect("default", pg, "pg serve")
            try:
                migrate_pg("default", pg.schema)
            except DatabaseError as exc:
                if sqlstate(exc) not in NO_WRITE_STATES:
                    raise PgError(f"pg serve: cannot migrate schema {pg.schema}:"
                                  f" {describe(exc, pg)}") from None
                reporter.note("read-only role: pending migrations not applied")
            check_compatible(pg.schema)
            connections.close_all()
            code = server.run(server_options(options, read_only=True, shared_database=True),
                              config, write=self.stdout.write)
        except (PgError, server.ServerError) as exc:
            message = str(exc) if str(exc).startswith("pg serve") else f"pg serve: {exc}"
            raise CommandError(message, returncode=1) from None
        if code:
            raise CommandError(f"pg serve: the server stopped (exit {code})", returncode=code)
