"""``manage.py stats``: a window of agent usage, for a terminal or (``--format json``) a script.

Reads the local archive through the same analytics queries as ``/api/v1/analytics/*`` (for
the whole team's numbers, ask the analytics API of ``pg serve``).
"""

from __future__ import annotations

from datetime import datetime

import orjson
from django.core.management.base import CommandError

from agentsview.command import AgentsViewCommand
from agentsview.schema import ensure_schema
from analytics_app.stats import build, since_day
from sessions_app.filters import BadParameter, Params

DEFAULT_SINCE = "28d"


class Command(AgentsViewCommand):
    help = (
        "Usage statistics for a window (default: the last 28 days): sessions, messages,"
        " durations, velocity, tools, models, agents, outcomes and health grades."
    )

    def add_arguments(self, parser):
        parser.add_argument("--since", default=DEFAULT_SINCE,
                            help="start: 28d, 2w, 3m, 1y before today, or YYYY-MM-DD"
                                 f" (default {DEFAULT_SINCE})")
        parser.add_argument("--until", help="last day, YYYY-MM-DD (default today)")
        parser.add_argument("--timezone", default="UTC",
                            help="IANA zone the days are read in (default UTC)")
        parser.add_argument("--agent", help="only these agents (comma list)")
        parser.add_argument("--project", help="only these projects (comma list)")
        parser.add_argument("--machine", help="only these machines (comma list)")
        parser.add_argument("--include-one-shot", action="store_true",
                            help="count single-prompt sessions too")
        parser.add_argument("--include-automated", action="store_true",
                            help="count automated (scripted) runs too")
        parser.add_argument("--format", choices=("human", "json"), default="human",
                            help="human (default) or json (schema_version 1)")

    def handle(self, *args, **options) -> None:
        using = "default"
        ensure_schema(using)
        try:
            params = self._params(options)
            document = build(params, using)
        except BadParameter as exc:
            flag = {"from": "since", "to": "until"}.get(exc.name, exc.name).replace("_", "-")
            problem = str(exc).rsplit(" (query.", 1)[0]
            raise CommandError(f"--{flag} {exc.value}: {problem}") from None
        if options["format"] == "json":
            self.stdout.write(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode())
        else:
            self.stdout.write(render(document))

    @staticmethod
    def _params(options: dict) -> dict[str, str]:
        zone = Params({"timezone": options["timezone"]}).zone("timezone")
        today = datetime.now(zone).date()
        until = options.get("until")
        last = Params({"until": until}).day("until") if until else today
        params = {"from": since_day(options["since"], last).isoformat(),
                  "to": last.isoformat(), "timezone": options["timezone"]}
        for name in ("agent", "project", "machine"):
            if options.get(name):
                params[name] = options[name]
        for name in ("include_one_shot", "include_automated"):
            if options.get(name):
                params[name] = "true"
        return params


def _mapping_lines(mapping: dict, limit: int = 8) -> list[str]:
    items = sorted(mapping.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    width = max((len(k) for k, _ in items), default=0)
    return [f"  {k.ljust(width)}  {v:,}" for k, v in items] or ["  (none)"]


def render(d: dict) -> str:
    t, w, f = d["totals"], d["window"], d["filters"]
    v, o = d["velocity"], d["outcomes"]
    lines = [
        f"Window:    {w['since']} -> {w['until']} ({w['days']} days, {f['timezone']})",
        f"Agents:    {f['agent']}"
        + (f"   Projects: {','.join(f['projects'])}" if f["projects"] else ""),
        "",
        "Totals",
        f"  Sessions:  {t['sessions_all']:,} (human {t['sessions_human']:,}, automation"
        f" {t['sessions_automation']:,}, subagent {t['sessions_subagent']:,})",
        f"  Messages:  {t['messages_total']:,} (user {t['user_messages_total']:,})",
        "",
        "Session length (messages)",
        f"  mean {d['distributions']['messages_avg']}, median"
        f" {d['distributions']['messages_median']}, p90 {d['distributions']['messages_p90']}",
        "",
        "Velocity",
        f"  Turn cycle (s):      p50={v['turn_cycle_sec']['p50']} p90={v['turn_cycle_sec']['p90']}",
        f"  First response (s):  p50={v['first_response_sec']['p50']}"
        f" p90={v['first_response_sec']['p90']}",
        f"  Messages per active minute: {v['msgs_per_active_min']}",
        "",
        f"Tool mix ({d['tool_mix']['total_calls']:,} calls)",
        *_mapping_lines(d["tool_mix"]["by_category"]),
        "",
        "Models (sessions)",
        *_mapping_lines(d["model_mix"]["by_sessions"]),
        "",
        "Agents (sessions)",
        *_mapping_lines(d["agent_portfolio"]["by_sessions"]),
        "",
        f"Skills ({d['adoption']['skill_calls']:,} calls,"
        f" {d['adoption']['distinct_skills']} distinct)",
        *_mapping_lines(d["adoption"]["by_skill"]),
        f"  Subagents per session: {d['adoption']['subagents_per_session']:.2f}",
        "",
        "Outcomes",
        *_mapping_lines(o["distribution"]),
        "  Grades:  " + (" ".join(f"{g}={n}" for g, n in sorted(o["grade_distribution"].items()))
                         or "(none scored)"),
        f"  Average health: {o['avg_health_score'] if o['avg_health_score'] is not None else '-'}"
        f"   Sessions with tool failures: {o['sessions_with_tool_failures']}",
    ]
    return "\n".join(lines)
