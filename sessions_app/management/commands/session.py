"""``manage.py session <sub>``: the sessions for scripts and terminals.

``--format json`` prints exactly the JSON the HTTP API returns (the same bytes, whether a
server answered or the local archive did); ``--format human`` reads well in a terminal.
"""

from __future__ import annotations

import argparse
import sys

import orjson
from django.core.management.base import CommandError

from agentsview.command import AgentsViewCommand
from agentsview.config import load_config
from agentsview.schema import ensure_schema
from sessions_app.cli_render import render_detail, render_list, render_messages, render_tools
from sessions_app.cli_transport import CliError, add_server_arguments, choose_transport
from sessions_app.models import Session

LIST_FLAGS = (  # (flag, HTTP parameter, type, help)
    ("--project", "project", str, "only these projects (comma list)"),
    ("--exclude-project", "exclude_project", str, "leave out these projects (comma list)"),
    ("--machine", "machine", str, "only these machines (comma list)"),
    ("--agent", "agent", str, "only these agents (comma list)"),
    ("--date", "date", str, "sessions active on this day (YYYY-MM-DD)"),
    ("--date-from", "date_from", str, "active on or after this day (YYYY-MM-DD)"),
    ("--date-to", "date_to", str, "active on or before this day (YYYY-MM-DD)"),
    ("--active-since", "active_since", str, "active since this time (RFC 3339)"),
    ("--min-messages", "min_messages", int, "at least this many messages"),
    ("--max-messages", "max_messages", int, "at most this many messages"),
    ("--min-user-messages", "min_user_messages", int, "at least this many prompts"),
    ("--outcome", "outcome", str, "completed, abandoned, errored, unknown (comma list)"),
    ("--health-grade", "health_grade", str, "A, B, C, D, F (comma list)"),
    ("--min-tool-failures", "min_tool_failures", int, "at least this many (0 counts)"),
    ("--termination", "termination", str, "how the transcript ends, e.g. awaiting_user"
                                          " (comma list)"),
    ("--git-branch", "git_branch", str, "only this branch (a branch name, or project"
                                        " U+001F branch)"),
    ("--automated-scope", "automated_scope", str, "human, all or automated (wins over"
                                                  " --include-automated)"),
    ("--order-by", "order_by", str, "recent, started, messages, ... (:asc or :desc)"),
    ("--cursor", "cursor", str, "the next_cursor of the previous page"),
    ("--limit", "limit", int, "sessions per page (1-500, default 200)"),
)
INCLUDE_FLAGS = (
    ("--include-one-shot", "include_one_shot", "sessions with a single prompt"),
    ("--include-automated", "include_automated", "automated (scripted) runs"),
    ("--include-children", "include_children", "subagent and fork sessions"),
)


def _common(parser: argparse.ArgumentParser, *, formats: bool = True) -> None:
    if formats:
        parser.add_argument("--format", choices=("human", "json"), default=None,
                            help="human (default) or json (the API's JSON, unchanged)")
    add_server_arguments(parser)


class Command(AgentsViewCommand):
    help = (
        "Read the archived sessions from a script or a terminal.\n\n"
        "Uses a running server (found through <data dir>/server.<port>.json) when there is"
        " one, else the local archive; the JSON is the same either way."
    )

    def add_arguments(self, parser):
        subs = parser.add_subparsers(dest="subcommand", metavar="<subcommand>")
        subs.required = True
        ls = subs.add_parser("list", help="sessions, most recently active first",
                             description="List sessions. One-shot, automated and child"
                             " sessions are left out unless an --include flag asks for them.")
        for flag, _, kind, text in LIST_FLAGS:
            ls.add_argument(flag, type=kind, help=text)
        for flag, _, text in INCLUDE_FLAGS:
            ls.add_argument(flag, action="store_true", help=f"also list {text}")
        _common(ls)
        get = subs.add_parser("get", help="one session, with its signals")
        get.add_argument("session_id")
        _common(get)
        msgs = subs.add_parser("messages", help="a window of a session's messages")
        msgs.add_argument("session_id")
        msgs.add_argument("--from", dest="from_", type=int, metavar="N",
                          help="first ordinal (default: the start, or the newest page with"
                               " --direction desc); --from 0 is ordinal 0 either way")
        msgs.add_argument("--limit", type=int, help="messages (1-1000, default 100)")
        msgs.add_argument("--direction", choices=("asc", "desc"), help="asc (default) or desc")
        _common(msgs)
        tools = subs.add_parser("tool-calls", help="a session's tool calls, in order")
        tools.add_argument("session_id")
        _common(tools)
        export = subs.add_parser("export", help="stream the session's raw source file",
                                 description="Stream the raw transcript file of a session, as"
                                 " the agent wrote it. Always read from the local archive.")
        export.add_argument("session_id")
        _common(export, formats=True)
        sync = subs.add_parser("sync", help="re-parse one transcript file or session",
                               description="Parse a transcript (a path) or re-parse a"
                               " session's transcript (an id) into the local archive.")
        sync.add_argument("target", metavar="PATH_OR_ID")
        _common(sync)
        watch = subs.add_parser("watch", help="follow a session: NDJSON events until Ctrl+C")
        watch.add_argument("session_id")
        _common(watch, formats=False)

    def handle(self, *args, subcommand: str, **options) -> None:
        config = load_config()
        try:
            if subcommand == "export":
                self._export(options)
                return
            transport = choose_transport(options, config)
            if subcommand == "watch":
                self._watch(transport, options["session_id"])
                return
            fmt = options.get("format") or "human"
            body = self._run(subcommand, transport, options, config)
        except CliError as exc:
            prefix = "watch: " if subcommand == "watch" else ""
            raise CommandError(prefix + str(exc)) from None
        if fmt == "json":
            self.stdout.write(body.decode("utf-8"))
        else:
            self._human(subcommand, orjson.loads(body), transport, options)

    def _run(self, subcommand, transport, options, config) -> bytes:
        if subcommand == "list":
            return transport.list(self._list_params(options))
        if subcommand == "get":
            return transport.get(options["session_id"])
        if subcommand == "messages":
            params = {}
            for key, name in (("from_", "from"), ("limit", "limit"),
                              ("direction", "direction")):
                if options.get(key) is not None:
                    params[name] = str(options[key])
            return transport.messages(options["session_id"], params)
        if subcommand == "tool-calls":
            return transport.tool_calls(options["session_id"])
        return transport.sync(options["target"], config)

    @staticmethod
    def _list_params(options: dict) -> dict:
        params = {}
        for flag, name, _, _ in LIST_FLAGS:
            value = options.get(flag.lstrip("-").replace("-", "_"))
            if value is not None:
                params[name] = str(value)
        for flag, name, _ in INCLUDE_FLAGS:
            if options.get(flag.lstrip("-").replace("-", "_")):
                params[name] = "true"
        return params

    # --- output -------------------------------------------------------------------------
    def _human(self, subcommand: str, data, transport, options: dict) -> None:
        if subcommand == "list":
            everything = self._advisory(transport, options, data["total"])
            if everything == 0 and not self._list_params(options):
                self.stdout.write("No sessions archived yet. Run 'agentsview sync' first.")
            else:
                self.stdout.write(render_list(data))
        elif subcommand in ("get", "sync"):
            if subcommand == "sync":
                self.stdout.write(f"synced: {data['id']}")
            else:
                self.stdout.write(render_detail(data))
        elif subcommand == "messages":
            self.stdout.write(render_messages(data))
        else:
            self.stdout.write(render_tools(data))

    def _advisory(self, transport, options: dict, shown_total: int) -> int:
        """On stderr: how many sessions the default exclusions left out, and the flags.
        Returns how many match when nothing is excluded."""
        missing = [(flag, name) for flag, name, _ in INCLUDE_FLAGS
                   if not options.get(flag.lstrip("-").replace("-", "_"))]
        if not missing:
            return shown_total
        params = {**self._list_params(options), "limit": "1"}
        params.pop("cursor", None)
        params.update({name: "true" for _, name in missing})
        everything = orjson.loads(transport.list(params))["total"]
        if everything > shown_total:
            flags = ", ".join(flag for flag, _ in missing)
            self.stderr.write(f"Excluded {everything - shown_total} sessions by default"
                              f" (one-shot, automated or child sessions); {flags} include"
                              " them.")
        return everything

    # --- the local-only and streaming commands --------------------------------------------
    def _export(self, options: dict) -> None:
        if options.get("server") or options.get("format"):
            raise CommandError("session export: --server and --format do not apply (it"
                               " streams the raw source file from the local archive)")
        ensure_schema("default")
        session_id = options["session_id"]
        row = Session.objects.filter(pk=session_id).values_list("file_path", flat=True).first()
        if row is None and not Session.objects.filter(pk=session_id).exists():
            raise CommandError(f"session not in local archive: {session_id}")
        if not row:
            raise CommandError(f"source file not found for session {session_id}")
        try:
            with open(row, "rb") as fh:
                out = sys.stdout.buffer
                while chunk := fh.read(1024 * 1024):
                    out.write(chunk)
                out.flush()
        except FileNotFoundError:
            raise CommandError(f"source file not found: {row}") from None
        except OSError as exc:
            raise CommandError(f"source file not readable: {row} ({exc.strerror})") from None

    def _watch(self, transport, session_id: str) -> None:
        try:
            for event, data in transport.watch(session_id):
                line = orjson.dumps({"event": event, "data": data}).decode()
                self.stdout.write(line)
                self.stdout.flush()
        except KeyboardInterrupt:
            return
        except CliError as exc:
            raise CommandError(f"watch: {exc}") from None
