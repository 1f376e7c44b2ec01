"""``manage.py token``: per-person API tokens (DRF tokens), so one person's access can be
revoked without rotating the server token."""

from __future__ import annotations

from django.core.management.base import CommandError

from agentsview.command import AgentsViewCommand
from agentsview.config import load_config
from agentsview.schema import ensure_schema
from agentsview.terminal import Reporter
from agentsview.tokens import TokenError, create_token, revoke_token, token_holders
from sync_app.cli import pg_config_or_fail, prepare_pg
from sync_app.pg_connection import PgError


class Command(AgentsViewCommand):
    help = (
        "Create, revoke or list per-person API tokens.\n\n"
        "A token is printed once, when created. With --pg the tokens are those of the shared"
        " PostgreSQL (what pg serve checks); without it, those of the local archive (serve)."
    )

    def add_arguments(self, parser):
        subs = parser.add_subparsers(dest="action", metavar="<action>")
        subs.required = True
        create = subs.add_parser("create", help="create (or replace) a person's token")
        create.add_argument("username")
        create.add_argument("--create-user", action="store_true",
                            help="create the user first if it does not exist")
        revoke = subs.add_parser("revoke", help="delete a person's token")
        revoke.add_argument("username")
        listing = subs.add_parser("list", help="who has a token (the tokens are not shown)")
        for sub in (create, revoke, listing):
            sub.add_argument("--pg", action="store_true",
                             help="the tokens of the shared PostgreSQL (what pg serve checks)")

    def handle(self, *args, action: str, pg: bool = False, verbosity: int = 1, **options):
        using = self._database(pg, verbosity)
        try:
            if action == "list":
                holders = token_holders(using=using)
                if not holders:
                    where = "the shared PostgreSQL" if pg else "this archive"
                    create = "agentsview token create <user>" + (" --pg" if pg else "")
                    self.stderr.write(f"No tokens yet in {where}. Create one with '{create}'.")
                for holder in holders:
                    state = "active" if holder.active else "inactive user"
                    self.stdout.write(f"{holder.username}\tcreated {holder.created:%Y-%m-%d}\t"
                                      f"{state}")
                return
            username = options["username"]
            if action == "revoke":
                revoke_token(username, using=using)
                self.stdout.write(f"Revoked the token of {username}.")
                return
            key = create_token(username, create_user=options["create_user"], using=using)
        except TokenError as exc:
            raise CommandError(f"token {action}: {exc}") from None
        self.stdout.write(f"Token for {username} (shown once): {key}")

    def _database(self, pg: bool, verbosity: int) -> str:
        """The local archive, or (--pg) the shared PostgreSQL, ready to use."""
        if not pg:
            ensure_schema("default")
            return "default"
        try:
            pg_config = pg_config_or_fail(load_config(), "token")
            prepare_pg(pg_config, "token", Reporter(self.stdout, self.stderr,
                                                    verbosity=verbosity))
        except PgError as exc:
            raise CommandError(str(exc), returncode=exc.exit_code) from None
        return "pg"
