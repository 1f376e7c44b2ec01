"""``manage.py serve``: the local archive over HTTP, kept in sync in the background."""

from __future__ import annotations

import logging

from django.core.management.base import CommandError

from agentsview import server
from agentsview.command import AgentsViewCommand
from agentsview.config import load_config
from agentsview.schema import ensure_schema
from sessions_app.services.sync import run_sync

log = logging.getLogger(__name__)


def add_server_arguments(parser) -> None:
    """The flags serve and pg serve share."""
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1; anything else turns"
                             " token auth on)")
    parser.add_argument("--port", type=int, default=8080, help="port (default 8080; 0 = any)")
    parser.add_argument("--base-path", default="",
                        help="serve every URL under this prefix, e.g. /agentsview")
    parser.add_argument("--public-url", action="append", default=[],
                        help="the URL clients use (allowed as Host); repeatable")
    parser.add_argument("--public-origin", action="append", default=[],
                        help="an origin in front of the server (a proxy); repeatable")
    parser.add_argument("--tls-cert", default="", help="PEM certificate: serve HTTPS")
    parser.add_argument("--tls-key", default="", help="PEM private key for --tls-cert")
    parser.add_argument("--allowed-subnet", action="append", default=[],
                        help="only clients in this CIDR network (repeatable; others get 403)")
    parser.add_argument("--require-auth", action="store_true",
                        help="require the bearer token even on loopback")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--threads", type=int, default=32,
                        help="threads per worker (default 32); an open watch stream holds one,"
                             " and 4 stay free for other requests")


def server_options(options: dict, **extra) -> server.ServerOptions:
    subnets = [s.strip() for item in options["allowed_subnet"] for s in item.split(",")
               if s.strip()]
    return server.ServerOptions(
        host=options["host"], port=options["port"],
        base_path=server.normalize_base_path(options["base_path"]),
        public_urls=options["public_url"], public_origins=options["public_origin"],
        tls_cert=options["tls_cert"], tls_key=options["tls_key"], allowed_subnets=subnets,
        require_auth=options["require_auth"], workers=options["workers"],
        threads=options["threads"], **extra,
    )


class Command(AgentsViewCommand):
    help = (
        "Serve the local archive: the JSON API and the dashboard, under gunicorn.\n\n"
        "Syncs first, then every few seconds in the background, so new agent sessions appear"
        " without a restart. On loopback no token is needed; bound to any other address, every"
        " /api/ request needs Authorization: Bearer <token>."
    )

    def add_arguments(self, parser):
        add_server_arguments(parser)
        parser.add_argument("--sync-interval", type=float, default=5.0,
                            help="seconds between background syncs (default 5)")

    def handle(self, *args, **options):
        config = load_config()
        ensure_schema("default")
        run_sync(config)

        def tick() -> None:
            try:
                run_sync(config)
            except Exception:  # keep serving; the next tick retries
                log.exception("background sync failed")

        try:
            code = server.run(server_options(options), config, write=self.stdout.write,
                              tick=tick, tick_seconds=options["sync_interval"])
        except server.ServerError as exc:
            raise CommandError(f"serve: {exc}", returncode=1) from None
        if code:
            raise CommandError(f"serve: the server stopped (exit {code})", returncode=code)
