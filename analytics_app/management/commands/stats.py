"""``manage.py stats``: a window of agent usage, for a terminal or (``--format json``) a script.

Reads the local archive through the same analytics queries as ``/api/v1/analytics/*`` (for
the whole team's numbers, ask the analytics API of ``pg serve``).
"""

from __future__ import annotations

import orjson
from django.core.management.base import CommandError

from agentsview.api.params import BadParameter
from agentsview.command import AgentsViewCommand
from agentsview.schema import ensure_schema
from analytics_app.cli.render import render_stats
from analytics_app.endpoints.filters import ANALYTICS_FILTERS
from analytics_app.stats import DEFAULT_SINCE, build, window_params

STATS_FILTERS = [f.name for f in ANALYTICS_FILTERS.parameters if f.name not in ("from", "to")]


class Command(AgentsViewCommand):
    help = (
        "Usage statistics for a window (default: the 28 days up to today, or up to the latest"
        " session when none started since): sessions, messages, durations, velocity, tools,"
        " models, agents, outcomes and health grades."
    )

    def add_arguments(self, parser):
        parser.add_argument("--since",
                            help="start: 28d, 2w, 3m, 1y before the last day, or YYYY-MM-DD"
                                 f" (default {DEFAULT_SINCE})")
        parser.add_argument("--until", help="last day, YYYY-MM-DD (default today; without"
                                            " --since and --until, the latest session's day"
                                            " when none started since)")
        # every analytics filter but the window, which --since and --until give
        ANALYTICS_FILTERS.add_arguments(parser, only=STATS_FILTERS)
        parser.add_argument("--format", choices=("human", "json"), default="human",
                            help="human (default) or json (schema_version 1)")

    def handle(self, *args, **options) -> None:
        using = "default"
        ensure_schema(using)
        try:
            params = self._params(options, using)
            document = build(params, using)
        except BadParameter as exc:
            flag = {"from": "since", "to": "until"}.get(exc.name, exc.name).replace("_", "-")
            problem = str(exc).rsplit(" (query.", 1)[0]
            raise CommandError(f"--{flag} {exc.value}: {problem}", returncode=2) from None
        if options["format"] == "json":
            self.stdout.write(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode())
        else:
            self.stdout.write(render_stats(document))

    @staticmethod
    def _params(options: dict, using: str) -> dict[str, str]:
        return window_params(ANALYTICS_FILTERS.params_of(options), using,
                             since=options.get("since"), until=options.get("until"))
