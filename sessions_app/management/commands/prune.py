"""``manage.py prune``: delete archived sessions for good, chosen by AgentsView's filters."""

from __future__ import annotations

import argparse
import sys
from datetime import date

from django.core.management.base import CommandError

from agentsview.command import AgentsViewCommand
from agentsview.schema import ensure_schema
from sessions_app.cli.deletes import NotATerminal, confirm, render_doomed, totals
from sessions_app.parsers.registry import AGENTS
from sessions_app.services import deletes


def day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a day as YYYY-MM-DD, got {text!r}") from None


def count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number 0 or more, got {text!r}")
    return value


class Command(AgentsViewCommand):
    help = (
        "Delete archived sessions for good, chosen by filters (all must match).\n\n"
        "The sessions that descend from a chosen one (subagents, forks) go with it, unless a"
        " session that stays still calls them. Each deleted session leaves a tombstone: sync"
        " does not archive it again although its transcript is still on disk (the transcript"
        " itself is never touched), and the next pg push deletes it from PostgreSQL."
        " Sessions in the trash are left to 'trash empty'. Without --yes it asks first on a"
        " terminal and refuses elsewhere. 'session restore <id>' undoes one."
    )
    stealth_options = ("stdin",)

    def add_arguments(self, parser):
        parser.add_argument("--agent", choices=sorted(AGENTS), help="sessions of this agent")
        parser.add_argument("--project", metavar="TEXT",
                            help="sessions whose project name contains this (any case)")
        parser.add_argument("--before", type=day, metavar="YYYY-MM-DD",
                            help="sessions last active before this day (UTC)")
        parser.add_argument("--first-message", metavar="TEXT",
                            help="sessions whose first message starts with this (any case)")
        parser.add_argument("--max-messages", type=count, metavar="N",
                            help="sessions with at most N user messages")
        parser.add_argument("--dry-run", action="store_true",
                            help="list what would be deleted, delete nothing")
        parser.add_argument("--yes", action="store_true", help="delete without asking")

    def handle(self, *args, dry_run=False, yes=False, verbosity=1, **options):
        chosen = deletes.PruneFilter(
            agent=options.get("agent") or "", project=options.get("project") or "",
            before=options.get("before"), first_message=options.get("first_message") or "",
            max_messages=options.get("max_messages"))
        if not chosen:
            raise CommandError("prune: give at least one filter (--agent, --project, --before,"
                               " --first-message, --max-messages); refusing to delete"
                               " everything", returncode=2)
        ensure_schema("default")
        ids = list(chosen.sessions(using="default").values_list("id", flat=True))
        if not ids:
            self.stdout.write("No sessions match.")
            return
        going = deletes.deletion_set(ids, using="default")
        rows = deletes.describe(going, using="default")
        self.stdout.write(render_doomed(rows))
        if dry_run:
            self.stdout.write(f"Dry run: {totals(rows)} would be deleted; nothing changed.")
            return
        if not yes:
            try:
                agreed = confirm(options.get("stdin") or sys.stdin, self.stdout,
                                 f"Delete {totals(rows)} for good?")
            except NotATerminal:
                raise CommandError("prune: not asking without a terminal; add --yes to delete"
                                   " these sessions, or --dry-run to only list them",
                                   returncode=2) from None
            if not agreed:
                self.stdout.write("Nothing deleted.")
                return
        purged = deletes.purge(ids, using="default", by=deletes.current_user(),
                               reason="prune", chosen=going)
        self.stdout.write(
            f"Deleted {len(purged.sessions)} session(s) ({purged.messages} messages) for good;"
            " sync will not archive them again and the next pg push deletes them from"
            " PostgreSQL")
