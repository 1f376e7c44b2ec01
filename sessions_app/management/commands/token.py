"""``manage.py token``: per-person API tokens (DRF tokens), so one person's access can be
revoked without rotating the server token."""

from __future__ import annotations

import os
import sys

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError
from rest_framework.authtoken.models import Token

from agentsview.command import AgentsViewCommand
from agentsview.schema import ensure_schema


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

    def handle(self, *args, action: str, pg: bool = False, **options):
        if pg and os.environ.get("AGENTSVIEW_SERVE_PG") != "1":
            os.environ["AGENTSVIEW_SERVE_PG"] = "1"
            os.execv(sys.executable, [sys.executable, *sys.argv])
        ensure_schema("default")
        users = get_user_model().objects
        if action == "list":
            for token in Token.objects.select_related("user").order_by("user__username"):
                state = "active" if token.user.is_active else "inactive user"
                self.stdout.write(f"{token.user.username}\tcreated {token.created:%Y-%m-%d}\t"
                                  f"{state}")
            return
        username = options["username"]
        user = users.filter(username=username).first()
        if action == "revoke":
            deleted, _ = Token.objects.filter(user__username=username).delete()
            if not deleted:
                raise CommandError(f"token revoke: {username} has no token")
            self.stdout.write(f"Revoked the token of {username}.")
            return
        if user is None:
            if not options["create_user"]:
                raise CommandError(f"token create: no user {username!r}"
                                   " (add --create-user, or create it in the admin)")
            user = users.create_user(username=username)
        Token.objects.filter(user=user).delete()
        token = Token.objects.create(user=user)
        self.stdout.write(f"Token for {username} (shown once): {token.key}")
