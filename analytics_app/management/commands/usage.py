"""``manage.py usage daily``: tokens and cost per local day, for a terminal or (``--format
json``) a script: the JSON is ``/api/v1/usage/summary``'s, from the local archive."""

from __future__ import annotations

from datetime import datetime

import orjson
from django.core.management.base import CommandError

from agentsview.api.params import BadParameter, Params
from agentsview.command import AgentsViewCommand
from agentsview.schema import ensure_schema
from analytics_app.cli.usage import BY, render_daily
from analytics_app.endpoints import usage
from analytics_app.endpoints.filters import default_last_day
from analytics_app.stats import since_day

DEFAULT_SINCE = "30d"
FLAGS = [f.name for f in usage.USAGE_FILTERS.parameters if f.name not in ("from", "to")]


class Command(AgentsViewCommand):
    help = ("Tokens and cost per day (default: the 30 days up to today, or up to the latest"
            " session when none started since), split by model, project, machine or agent.")

    def add_arguments(self, parser):
        subs = parser.add_subparsers(dest="subcommand", metavar="<subcommand>")
        subs.required = True
        daily = subs.add_parser(
            "daily", help="tokens and cost per local day",
            description="Tokens and cost per local day of the local archive (every session"
            " that spent tokens: subagents, one-shot and automated runs too). Costs come from"
            " the price table (prices.toml, config.toml's [pricing]); tokens of a model"
            " without a price are shown apart, never priced at $0.")
        daily.add_argument("--since", help="start: 30d, 2w, 3m, 1y before the last day, or"
                                           f" YYYY-MM-DD (default {DEFAULT_SINCE})")
        daily.add_argument("--until", help="last day, YYYY-MM-DD (default today, or the latest"
                                           " session's day when none started since)")
        daily.add_argument("--by", choices=BY, help="one row per day and model, project,"
                                                    " machine or agent")
        usage.USAGE_FILTERS.add_arguments(daily, only=FLAGS)
        daily.add_argument("--format", choices=("human", "json"), default="human",
                           help="human (default) or json (the API's /api/v1/usage/summary)")

    def handle(self, *args, subcommand: str, **options) -> None:
        using = "default"
        ensure_schema(using)
        try:
            params = self._params(options)
            data = usage.summary(params, using)
        except BadParameter as exc:
            flag = {"from": "since", "to": "until"}.get(exc.name, exc.name).replace("_", "-")
            problem = str(exc).rsplit(" (query.", 1)[0]
            raise CommandError(f"--{flag} {exc.value}: {problem}", returncode=2) from None
        if options["format"] == "json":
            self.stdout.write(orjson.dumps(data).decode())
        else:
            self.stdout.write(render_daily(data, options.get("by")))

    @staticmethod
    def _params(options: dict) -> dict[str, str]:
        params = usage.USAGE_FILTERS.params_of({k: v for k, v in options.items()
                                                if k in FLAGS})
        zone = Params(params).zone("timezone")
        until, since = options.get("until"), options.get("since")
        today = datetime.now(zone).date()
        if until:
            last = Params({"until": until}).day("until")
        elif since:
            last = today
        else:  # nothing asked: the window that holds the newest sessions, as stats does
            last = default_last_day(params, "default", today=today)
        first = since_day(since or DEFAULT_SINCE, last)
        params.update({"from": first.isoformat(), "to": last.isoformat(),
                       "timezone": zone.key})
        return params
