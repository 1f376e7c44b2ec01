"""``manage.py session <sub>``: read the archived sessions from a script or a terminal."""

from __future__ import annotations

from django.core.management.base import CommandError

from agentsview.command import AgentsViewCommand
from agentsview.schema import ensure_schema
from sessions_app import selectors
from sessions_app.filters import BadParameter, parse_session_query
from sessions_app.humanize import age, table, truncate


class Command(AgentsViewCommand):
    help = "Read archived sessions (list; more subcommands arrive with the session API)."

    def add_arguments(self, parser):
        subs = parser.add_subparsers(dest="subcommand", metavar="<subcommand>")
        subs.required = True
        ls = subs.add_parser(
            "list", help="list sessions, most recently active first",
            description="List archived sessions, most recently active first. Soft-deleted,"
            " empty and child (subagent, fork) sessions are left out unless asked for.",
        )
        ls.add_argument("--limit", type=int, default=50,
                        help=f"how many to show (1-{selectors.MAX_LIMIT}, default 50)")
        ls.add_argument("--include-children", action="store_true",
                        help="also list subagent and fork sessions")
        ls.add_argument("--include-one-shot", action="store_true",
                        help="also list sessions with a single prompt")
        ls.add_argument("--include-automated", action="store_true",
                        help="also list automated (scripted) sessions")

    def handle(self, *args, subcommand: str, **options):
        ensure_schema("default")
        if subcommand == "list":
            self._list(options)

    def _list(self, options: dict) -> None:
        limit = options["limit"]
        if not 1 <= limit <= selectors.MAX_LIMIT:
            raise CommandError(f"--limit must be between 1 and {selectors.MAX_LIMIT}, not {limit}")
        params = {"limit": str(limit)}
        for flag in ("include_children", "include_one_shot", "include_automated"):
            if options[flag]:
                params[flag] = "true"
        try:
            page = selectors.list_sessions(parse_session_query(params))
        except BadParameter as exc:
            raise CommandError(str(exc)) from None
        sessions, total = page.sessions, page.total
        hidden = selectors.count_sessions(include_children=True) - total
        if not sessions:
            if hidden > 0:
                self.stdout.write("No sessions match.")
                self.stderr.write(f"{hidden} archived sessions are hidden by the default filters"
                                  " (--include-one-shot, --include-automated,"
                                  " --include-children show them)")
            else:
                self.stdout.write("No sessions archived yet. Run 'agentsview sync' first.")
            return
        rows = [
            [
                truncate(s.display_name or s.first_message or "(no prompt)", 60),
                truncate(s.project, 20), s.agent, truncate(s.machine, 16),
                age(s.ended_at or s.started_at), str(s.message_count), s.id,
            ]
            for s in sessions
        ]
        headers = ["SESSION", "PROJECT", "AGENT", "MACHINE", "AGE", "MSGS", "ID"]
        self.stdout.write(table(headers, rows, right={5}))
        if total > len(sessions):
            self.stderr.write(f"showing {len(sessions)} of {total} sessions (--limit to see more)")
        if hidden > 0:
            self.stderr.write(f"{hidden} more sessions are hidden by the default filters"
                              " (--include-one-shot, --include-automated, --include-children)")
