"""``manage.py serve``: the local archive over HTTP, kept in sync in the background."""

from __future__ import annotations

import logging

from django.core.management.base import CommandError

from agentsview import server
from agentsview.command import AgentsViewCommand
from agentsview.config import load_config
from agentsview.schema import ensure_schema
from agentsview.terminal import Reporter
from sessions_app.management.commands.sync import MAX_ISSUE_LINES
from sessions_app.services.sync import REBUILDING, run_sync

log = logging.getLogger(__name__)


class Command(AgentsViewCommand):
    help = (
        "Serve the local archive: the JSON API and the dashboard, under gunicorn.\n\n"
        "Syncs first, then every few seconds in the background, so new agent sessions appear"
        " without a restart. On loopback no token is needed; bound to any other address, every"
        " /api/ request needs Authorization: Bearer <token>."
    )

    def add_arguments(self, parser):
        server.add_server_arguments(parser)
        parser.add_argument("--sync-interval", type=float, default=5.0,
                            help="seconds between background syncs (default 5)")

    def handle(self, *args, **options):
        config = load_config()
        try:
            served = server.server_options(options)
            listener = server.listen(served)  # the port first: refused before any work
        except server.ServerError as exc:
            raise CommandError(f"serve: {exc}", returncode=1) from None
        ensure_schema("default")
        # the first sync can take a while on a big archive: show it, and what it found,
        # before the URL (progress on a terminal only, the summary always)
        reporter = Reporter(self.stdout, self.stderr, verbosity=options.get("verbosity", 1))
        with reporter.progress("Syncing before serving", _describe) as progress:
            report = run_sync(config, progress=progress)
        reporter.issues("error", report.errors, limit=MAX_ISSUE_LINES)
        if options.get("verbosity", 1) >= 1:
            self.stdout.write(report.summary_line())

        def tick() -> None:
            try:
                run_sync(config)
            except Exception:  # keep serving; the next tick retries
                log.exception("background sync failed")

        try:
            code = server.run(served, config, listener, write=self.stdout.write,
                              tick=tick, tick_seconds=options["sync_interval"])
        except server.ServerError as exc:
            raise CommandError(f"serve: {exc}", returncode=1) from None
        if code:
            raise CommandError(f"serve: the server stopped (exit {code})", returncode=code)


def _describe(done: int, total: int, detail: object) -> str:
    return "Rebuilding the search index" if detail == REBUILDING else "Syncing before serving"
