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
from sessions_app import selectors
from sessions_app.cli.render import (
    render_agents,
    render_detail,
    render_list,
    render_matches,
    render_messages,
    render_tools,
)
from sessions_app.cli.transport import CliError, add_server_arguments, choose_transport
from sessions_app.filters import SESSION_FILTERS, add_page_arguments, page_params_of
from sessions_app.services import deletes
from sessions_app.usage.display import render_usage

NO_TOKEN_DATA = 3  # `session usage` of a session that records no tokens (AgentsView's code)
# The default exclusions the list reports on stderr (and the flags that lift them).
INCLUDE_FILTERS = ("include_one_shot", "include_automated", "include_children")

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
        SESSION_FILTERS.add_arguments(ls)
        add_page_arguments(ls)
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
        usage = subs.add_parser(
            "usage", help="a session's tokens and cost, its subagents' included",
            description="Tokens and cost of a session, with every subagent it started (their"
            " transcripts are files of their own, their tokens were spent for it); costs are"
            " computed from the price table (prices.toml, config.toml's [pricing]). Exit 0"
            " with token data, 2 when there is no such session, 3 when it has no token data.")
        usage.add_argument("session_id")
        usage.add_argument("--own-only", action="store_true",
                           help="only this session's own usage, without its subagents'")
        _common(usage)
        search = subs.add_parser(
            "search", help="every place a pattern occurs: messages, thinking, tool calls",
            description="Search message text, thinking, tool inputs and tool results (what"
            " /api/v1/search/content answers): a substring by default, ignoring case.")
        search.add_argument("pattern")
        modes = search.add_mutually_exclusive_group()
        for mode, text in (("regex", "the pattern is a regular expression"),
                           ("fts", "every word of the pattern, anywhere in the text"),
                           ("semantic", "embeddings (not served: an error)"),
                           ("hybrid", "embeddings and words (not served: an error)")):
            modes.add_argument(f"--{mode}", dest="mode", action="store_const", const=mode,
                               help=text)
        search.add_argument("--in", dest="in_", metavar="A,B",
                            help="where: messages, thinking, tool_input, tool_result"
                                 " (default all)")
        search.add_argument("--exclude-system", action="store_true",
                            help="leave out system messages")
        search.add_argument("--reveal", action="store_true",
                            help="show secrets unmasked (snippets are never masked here)")
        SESSION_FILTERS.add_arguments(search)
        search.add_argument("--limit", type=int, help="matches (1-500, default 50)")
        search.add_argument("--cursor", type=int, help="next_cursor of the previous page")
        _common(search)
        agents = subs.add_parser(
            "agents", help="the agents, by the key --agent takes, with their display names",
            description="Every agent this archive reads, by the key the --agent flags take,"
            " with its display name and its sessions (one-shot and automated ones included);"
            " the JSON is /api/v1/agents'.")
        _common(agents)
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
        delete = subs.add_parser(
            "delete", help="move a session (and its subagents and forks) to the trash",
            description="Move a session to the trash of the local archive, with the sessions"
            " that descend from it. It leaves every list, search and analytics; the next pg"
            " push trashes it in PostgreSQL too. 'session restore' takes it back; 'trash"
            " empty' deletes it for good.")
        delete.add_argument("session_id")
        restore = subs.add_parser(
            "restore", help="take a session back from the trash, or undo its deletion",
            description="Take a trashed session back (with the sessions trashed along with"
            " it), or bring back a session deleted for good (prune, trash empty): its"
            " tombstone goes and its transcript, if still on disk, is archived again.")
        restore.add_argument("session_id")

    def handle(self, *args, subcommand: str, **options) -> None:
        config = load_config()
        if subcommand in ("delete", "restore"):
            self._lifecycle(subcommand, options["session_id"], config)
            return
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
            # AgentsView's `session usage` exits 2 for a session that does not exist
            code = 2 if subcommand == "usage" and str(exc).startswith("session not found") else 1
            raise CommandError(prefix + str(exc), returncode=code) from None
        if fmt == "json":
            self.stdout.write(body.decode("utf-8"))
        else:
            self._human(subcommand, orjson.loads(body), transport, options)
        if subcommand == "usage" and not orjson.loads(body)["has_token_data"]:
            self.stdout.flush()
            sys.exit(NO_TOKEN_DATA)

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
        if subcommand == "search":
            return transport.search_content(self._search_params(options))
        if subcommand == "agents":
            return transport.agents({"include_one_shot": "true", "include_automated": "true"})
        if subcommand == "usage":
            params = {"breakdown": "true"}
            if not options.get("own_only"):
                params["subagents"] = "true"
            return transport.usage(options["session_id"], params)
        return transport.sync(options["target"], config)

    @staticmethod
    def _search_params(options: dict) -> dict:
        params = {"pattern": options["pattern"], **SESSION_FILTERS.params_of(options)}
        for key, name in (("mode", "mode"), ("in_", "in"), ("limit", "limit"),
                          ("cursor", "cursor")):
            if options.get(key) is not None:
                params[name] = str(options[key])
        if options.get("exclude_system"):
            params["exclude_system"] = "true"
        return params

    @staticmethod
    def _list_params(options: dict) -> dict:
        return {**SESSION_FILTERS.params_of(options), **page_params_of(options)}

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
        elif subcommand == "usage":
            self.stdout.write(render_usage(data))
        elif subcommand == "search":
            self.stdout.write(render_matches(data))
        elif subcommand == "agents":
            self.stdout.write(render_agents(data))
        else:
            self.stdout.write(render_tools(data))

    def _advisory(self, transport, options: dict, shown_total: int) -> int:
        """On stderr: how many sessions the default exclusions left out, and the flags.
        Returns how many match when nothing is excluded."""
        missing = [(SESSION_FILTERS[name].flag, name) for name in INCLUDE_FILTERS
                   if not options.get(name)]
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
        row = selectors.source_file_of(session_id)
        if row is None:
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

    def _lifecycle(self, subcommand: str, session_id: str, config) -> None:
        """``delete`` and ``restore``: always the local archive."""
        ensure_schema("default")
        if subcommand == "delete":
            if not selectors.session_exists(session_id):
                raise CommandError(f"session not in local archive: {session_id}")
            moved = deletes.trash([session_id], using="default")
            if not moved:
                raise CommandError(f"session already in the trash: {session_id}")
            more = len(moved) - 1
            self.stdout.write(f"Moved to the trash: {session_id}"
                              + (f" (and {more} session(s) descending from it)" if more else ""))
            return
        restored = deletes.restore([session_id], using="default")
        if restored:
            more = len(restored) - 1
            self.stdout.write(f"Restored from the trash: {session_id}"
                              + (f" (and {more} session(s) trashed with it)" if more else ""))
            return
        if selectors.session_exists(session_id):
            raise CommandError(f"session is not in the trash: {session_id}")
        try:
            restored = deletes.restore_deleted(config, session_id)
        except deletes.RestoreError as exc:
            raise CommandError(str(exc)) from None
        more = len(restored) - 1
        self.stdout.write(f"Restored: {session_id} archived again from its transcript"
                          + (f" (and {more} session(s) deleted with it)" if more else ""))

    def _watch(self, transport, session_id: str) -> None:
        try:
            for event, data, *event_id in transport.watch(session_id):
                record = {"event": event, "data": data}
                if event_id and event_id[0] is not None:  # the shared database's change id
                    record["id"] = event_id[0]
                line = orjson.dumps(record).decode()
                self.stdout.write(line)
                self.stdout.flush()
        except KeyboardInterrupt:
            return
        except CliError as exc:
            raise CommandError(f"watch: {exc}") from None
