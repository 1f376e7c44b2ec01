"""``agentsview store prune``: retention of the session store."""

from __future__ import annotations

from datetime import UTC, datetime

from django.core.management.base import CommandError
from django.db import DatabaseError

from agentsview.command import AgentsViewCommand
from agentsview.config import load_config
from agentsview.durations import duration_arg
from agentsview.schema import ensure_schema
from agentsview.terminal import Reporter
from agentsview.timefmt import rfc3339
from sync_app.cli import pg_config_or_fail, prepare_pg
from sync_app.pg_connection import PgError, describe
from sync_app.store.retention import count_entries, prune, stale_sessions

MAX_LISTED = 50


class Command(AgentsViewCommand):
    help = (
        "Delete the stored sessions (the session store) not written to for a given time.\n\n"
        "Every transcript of such a session goes, its subagents' too; the archive sessions"
        " parsed from them stay (pg prune and prune remove those). On the shared PostgreSQL"
        " when [pg] is configured, else (or with --local) in the local archive."
    )

    def add_arguments(self, parser):
        parser.add_argument("--older-than", type=duration_arg, required=True, metavar="DURATION",
                            help="last written longer ago than this, e.g. 30d")
        parser.add_argument("--project-key", action="append", default=[], metavar="KEY",
                            help="only the sessions stored under this project key"
                                 " (repeatable)")
        parser.add_argument("--dry-run", action="store_true",
                            help="list what would be deleted, delete nothing")
        parser.add_argument("--local", action="store_true",
                            help="the local archive's store, even when [pg] is configured")

    def handle(self, *args, older_than, project_key, dry_run=False, local=False,
               verbosity=1, **options):
        config = load_config()
        cutoff = datetime.now(UTC) - older_than
        pg = None
        try:
            if config.pg is not None and not local:
                pg = pg_config_or_fail(config, "store prune")
                prepare_pg(pg, "store prune", Reporter(self.stdout, self.stderr,
                                                       verbosity=verbosity))
                using, where = "pg", pg.safe_url
            else:
                ensure_schema("default")
                using, where = "default", str(config.db_path)
            stale = stale_sessions(cutoff, using=using, project_keys=project_key)
            if not stale:
                self.stdout.write(f"No stored sessions last written before {rfc3339(cutoff)}.")
                return
            if dry_run:
                for s in stale[:MAX_LISTED]:
                    self.stdout.write(f"{rfc3339(s.last_write)}  {s.project_key}  {s.session_id}"
                                      f"  ({s.transcripts} transcript(s))")
                if len(stale) > MAX_LISTED:
                    self.stdout.write(f"... and {len(stale) - MAX_LISTED} more")
                self.stdout.write(
                    f"Dry run: {len(stale)} stored session(s), {count_entries(stale, using=using)}"
                    f" entries, last written before {rfc3339(cutoff)} would be deleted from"
                    f" {where}; nothing changed.")
                return
            entries = prune(stale, cutoff, using=using)
        except PgError as exc:
            raise CommandError(str(exc), returncode=exc.exit_code) from None
        except DatabaseError as exc:
            reason = describe(exc, pg) if pg is not None else str(exc).strip()
            raise CommandError(f"store prune: {reason}", returncode=1) from None
        self.stdout.write(f"Deleted {len(stale)} stored session(s) ({entries} entries) last"
                          f" written before {rfc3339(cutoff)} from {where}; their archive"
                          " sessions stay")
