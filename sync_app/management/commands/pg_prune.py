"""``manage.py pg_prune``: retention on the shared PostgreSQL (for a cron on the server)."""

from __future__ import annotations

from datetime import UTC, datetime

from django.core.management.base import CommandError
from django.db import DatabaseError

from agentsview.command import AgentsViewCommand
from agentsview.config import load_config
from agentsview.durations import duration_arg, format_duration
from agentsview.terminal import Reporter
from agentsview.timefmt import rfc3339
from sessions_app.cli.deletes import render_doomed, totals
from sessions_app.services import deletes
from sync_app.cli import pg_config_or_fail, prepare_pg
from sync_app.pg_connection import PgError, describe

MAX_LISTED = 50


class Command(AgentsViewCommand):
    help = (
        "Delete the sessions of the shared PostgreSQL last active before a given age.\n\n"
        "For a cron on the team server: every session (trashed or not) whose last activity is"
        " older than --older-than, of every machine or of --machine ones, is deleted with its"
        " messages, tool calls and the sessions descending from it, leaving a tombstone on the"
        " server, so no later push from its machine brings it back. --dry-run lists what"
        " would go. Local archives are not touched."
    )

    def add_arguments(self, parser):
        parser.add_argument("--older-than", type=duration_arg, required=True, metavar="DURATION",
                            help="last active longer ago than this, e.g. 180d")
        parser.add_argument("--machine", action="append", default=[], metavar="NAME",
                            help="only the sessions of this machine (repeatable)")
        parser.add_argument("--dry-run", action="store_true",
                            help="list what would be deleted, delete nothing")

    def handle(self, *args, older_than, machine, dry_run=False, verbosity=1, **options):
        config = load_config()
        reporter = Reporter(self.stdout, self.stderr, verbosity=verbosity)
        cutoff = datetime.now(UTC) - older_than
        try:
            pg = pg_config_or_fail(config, "pg prune")
            prepare_pg(pg, "pg prune", reporter)
            ids = list(deletes.inactive_since(cutoff, using="pg", machines=machine)
                       .values_list("id", flat=True))
            if not ids:
                self.stdout.write(f"No sessions last active before {rfc3339(cutoff)}.")
                return
            going = deletes.deletion_set(ids, using="pg")
            if dry_run:
                rows = deletes.describe(going, using="pg")
                self.stdout.write(render_doomed(rows[:MAX_LISTED]))
                if len(rows) > MAX_LISTED:
                    self.stdout.write(f"... and {len(rows) - MAX_LISTED} more")
                self.stdout.write(f"Dry run: {totals(rows)} last active before"
                                  f" {rfc3339(cutoff)} would be deleted; nothing changed.")
                return
            purged = deletes.purge(
                ids, using="pg", by="pg prune", chosen=going,
                reason=f"retention: inactive for more than {format_duration(older_than)}")
        except PgError as exc:
            raise CommandError(str(exc), returncode=exc.exit_code) from None
        except DatabaseError as exc:
            raise CommandError(f"pg prune: {describe(exc, pg)}", returncode=1) from None
        self.stdout.write(
            f"Deleted {len(purged.sessions)} session(s) ({purged.messages} messages) last active"
            f" before {rfc3339(cutoff)}; a push does not bring them back")
