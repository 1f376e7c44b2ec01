"""``manage.py health [id]``: which sessions went wrong, and why one did.

Without an id: the most recently active sessions with their grade, outcome and failures
(one-shot sessions included, subagent children and automated runs left out). With an id:
that session's score, what it was based on, and each penalty.
"""

from __future__ import annotations

import orjson
from django.core.management.base import CommandError

from agentsview.command import AgentsViewCommand
from agentsview.config import load_config
from analytics_app.cli.render import render_health_detail, render_health_list
from sessions_app.cli.transport import CliError, add_server_arguments, choose_transport
from sessions_app.filters import SESSION_FILTERS

DEFAULT_LIMIT = 20
HEALTH_FILTERS = [f.name for f in SESSION_FILTERS.parameters if f.name != "include_one_shot"]


class Command(AgentsViewCommand):
    help = (
        "Session health: without an id, the most recently active sessions with grade,"
        " outcome and tool failures; with an id, that session's score and each penalty."
    )

    def add_arguments(self, parser):
        parser.add_argument("session_id", nargs="?", help="one session (default: a list)")
        parser.add_argument("--limit", type=int, default=DEFAULT_LIMIT,
                            help=f"sessions in the list (1-500, default {DEFAULT_LIMIT})")
        # the session list's filters (one-shot sessions are always listed here)
        SESSION_FILTERS.add_arguments(parser, only=HEALTH_FILTERS)
        parser.add_argument("--format", choices=("human", "json"), default="human",
                            help="human (default) or json: the session objects of the API")
        add_server_arguments(parser)

    def handle(self, *args, session_id: str | None, **options) -> None:
        config = load_config()
        try:
            transport = choose_transport(options, config)
            if session_id:
                body = transport.get(session_id)
            else:
                body = transport.list(self._params(options))
        except CliError as exc:
            raise CommandError(str(exc)) from None
        data = orjson.loads(body)
        if options["format"] == "json":
            shown = data if session_id else data["sessions"]
            self.stdout.write(orjson.dumps(shown, option=orjson.OPT_INDENT_2).decode())
        elif session_id:
            self.stdout.write(render_health_detail(data))
        else:
            self.stdout.write(render_health_list(data))

    @staticmethod
    def _params(options: dict) -> dict[str, str]:
        limit = options["limit"]
        if not 1 <= limit <= 500:
            raise CommandError(f"--limit must be between 1 and 500, not {limit}")
        return {**SESSION_FILTERS.params_of(options), "limit": str(limit),
                "include_one_shot": "true"}
