"""``manage.py trash list|empty``: the sessions moved to the trash, and deleting them for good."""

from __future__ import annotations

import sys

from django.core.management.base import CommandError

from agentsview.command import AgentsViewCommand
from agentsview.humanize import age, table, truncate
from agentsview.schema import ensure_schema
from sessions_app.cli.deletes import NotATerminal, confirm, render_doomed, totals
from sessions_app.services import deletes


class Command(AgentsViewCommand):
    help = (
        "The trash of the local archive: list it, or empty it.\n\n"
        "'session delete <id>' moves a session there; 'session restore <id>' takes it back."
        " Emptying deletes every trashed session for good, leaving a tombstone (sync does not"
        " archive it again; the next pg push deletes it from PostgreSQL). Without --yes,"
        " 'empty' asks first on a terminal and refuses elsewhere."
    )
    stealth_options = ("stdin",)

    def add_arguments(self, parser):
        subs = parser.add_subparsers(dest="action", metavar="<action>")
        subs.required = True
        subs.add_parser("list", help="the sessions in the trash, most recently trashed first")
        empty = subs.add_parser("empty", help="delete every session in the trash for good")
        empty.add_argument("--dry-run", action="store_true",
                           help="list what would be deleted, delete nothing")
        empty.add_argument("--yes", action="store_true", help="delete without asking")

    def handle(self, *args, action: str, **options):
        ensure_schema("default")
        trashed = deletes.trashed_sessions(using="default")
        if action == "list":
            rows = [
                [s.id, age(s.deleted_at), s.agent, truncate(s.project, 20),
                 str(s.message_count),
                 truncate(s.display_name or s.first_message or "(no prompt)", 48)]
                for s in trashed.only("id", "deleted_at", "agent", "project", "message_count",
                                      "display_name", "first_message")
            ]
            if not rows:
                self.stdout.write("The trash is empty.")
                return
            self.stdout.write(table(["ID", "TRASHED", "AGENT", "PROJECT", "MSGS", "NAME"],
                                    rows, right={4}))
            return
        parents = dict(trashed.values_list("id", "parent_session_id"))
        if not parents:
            self.stdout.write("The trash is empty.")
            return
        # a descendant trashed with its parent is deleted along with it (a restore of the
        # parent brings it back too); nothing outside the trash goes
        roots = [sid for sid, parent in parents.items() if parent not in parents]
        going = {sid: root for sid, root in deletes.deletion_set(roots, using="default").items()
                 if sid in parents}
        going.update({sid: "" for sid in parents if sid not in going})
        ids = list(going)
        rows = deletes.describe(going, using="default")
        self.stdout.write(render_doomed(rows))
        if options.get("dry_run"):
            self.stdout.write(f"Dry run: {totals(rows)} would be deleted; nothing changed.")
            return
        if not options.get("yes"):
            try:
                agreed = confirm(options.get("stdin") or sys.stdin, self.stdout,
                                 f"Delete {totals(rows)} for good?")
            except NotATerminal:
                raise CommandError("trash empty: not asking without a terminal; add --yes",
                                   returncode=2) from None
            if not agreed:
                self.stdout.write("Nothing deleted.")
                return
        purged = deletes.purge(ids, using="default", by=deletes.current_user(),
                               reason="trash empty", chosen=going)
        self.stdout.write(
            f"Deleted {len(purged.sessions)} session(s) ({purged.messages} messages) for good;"
            " sync will not archive them again and the next pg push deletes them from"
            " PostgreSQL")
