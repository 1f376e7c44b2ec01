"""Running the HTTP server: gunicorn underneath, a state file beside the archive.

``serve`` and ``pg_serve`` describe the server with ``ServerOptions`` and take their port with
``listen`` before any slow preparation (a port in use is refused in one line, never retried);
``run`` turns the options into the workers' environment, starts ``gunicorn agentsview.wsgi``
with gthread workers (an SSE stream holds a thread, not a whole worker) on that very socket,
waits until a worker answers, then prints the URL and writes ``<data dir>/server.<port>.json``
for the session CLI, and stops everything cleanly on SIGINT/SIGTERM, removing that file (its
own, never another server's). A ``tick`` callback runs every few seconds while it serves (the
local server's background sync).
"""

from __future__ import annotations

import errno
import ipaddress
import json
import os
import secrets
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from agentsview import __version__
from agentsview.config import Config
from agentsview.files import write_atomically

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
READY_TIMEOUT = 60


class ServerError(Exception):
    """A one-line reason the server cannot start (exit code 1)."""


@dataclass
class ServerOptions:
    host: str = "127.0.0.1"
    port: int = 8080
    base_path: str = ""
    public_urls: list[str] = field(default_factory=list)
    public_origins: list[str] = field(default_factory=list)
    tls_cert: str = ""
    tls_key: str = ""
    allowed_subnets: list[str] = field(default_factory=list)
    require_auth: bool = False
    read_only: bool = False
    shared_database: bool = False  # pg serve: the shared PostgreSQL is "default"
    workers: int = 2
    threads: int = 32


def is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return host == "localhost"
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def normalize_base_path(raw: str) -> str:
    """``/team/`` → ``/team``; ``""`` stays ``""``. Refuses what is not a plain path."""
    if not raw or raw == "/":
        return ""
    path = "/" + raw.strip("/")
    if any(c in path for c in "?#% \\") or "//" in path:
        raise ServerError(f"--base-path {raw!r} must be a plain path such as /agentsview")
    return path


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
                        help="threads per worker (default 32); an open watch stream holds one:"
                             " the server holds threads - 4 streams in all (28), whichever"
                             " worker each lands on, so 4 threads stay free for other requests")


def server_options(options: dict, **extra) -> ServerOptions:
    subnets = [s.strip() for item in options["allowed_subnet"] for s in item.split(",")
               if s.strip()]
    return ServerOptions(
        host=options["host"], port=options["port"],
        base_path=normalize_base_path(options["base_path"]),
        public_urls=options["public_url"], public_origins=options["public_origin"],
        tls_cert=options["tls_cert"], tls_key=options["tls_key"], allowed_subnets=subnets,
        require_auth=options["require_auth"], workers=options["workers"],
        threads=options["threads"], **extra,
    )


def listen(options: ServerOptions) -> socket.socket:
    """Check the options and take the port: the listening socket gunicorn will serve on
    (``--port 0`` picks a free one and sets ``options.port``). A port another process holds
    is refused here, before anything else happens."""
    _validate(options)
    host = options.host.strip("[]")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        # as gunicorn does: a connection of our own last run still in TIME_WAIT is no
        # obstacle, while a listening socket (another server) still is
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, options.port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ServerError(f"port {options.port} is in use; use --port") from None
        raise ServerError(f"cannot listen on {options.host}:{options.port}:"
                          f" {exc.strerror or exc}") from None
    options.port = sock.getsockname()[1]
    return sock


def resolve_token(config: Config) -> tuple[str, bool]:
    """The server token: config.toml ``auth_token``, else ``<data dir>/auth_token``, else a
    new one saved there (mode 0600). Returns (token, newly created)."""
    configured = config.raw.get("auth_token")
    if isinstance(configured, str) and configured.strip():
        return configured.strip(), False
    path = config.data_dir / "auth_token"
    try:
        saved = path.read_text().strip()
        if saved:
            return saved, False
    except FileNotFoundError:
        pass
    token = secrets.token_urlsafe(32)
    path.touch(mode=0o600)
    path.write_text(token + "\n")
    return token, True


def _validate(options: ServerOptions) -> None:
    for name, value in (("--tls-cert", options.tls_cert), ("--tls-key", options.tls_key)):
        if value and not Path(value).is_file():
            raise ServerError(f"{name} {value}: no such file")
    if bool(options.tls_cert) != bool(options.tls_key):
        raise ServerError("--tls-cert and --tls-key go together")
    for subnet in options.allowed_subnets:
        try:
            ipaddress.ip_network(subnet, strict=False)
        except ValueError:
            raise ServerError(f"--allowed-subnet {subnet!r} is not a CIDR network") from None
    for url in [*options.public_urls, *options.public_origins]:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ServerError(f"{url!r} is not an http(s) URL")


def worker_environment(options: ServerOptions, token: str | None,
                       watch_slots: Path | None = None) -> dict[str, str]:
    """What the gunicorn workers' settings read (agentsview/settings.py). *watch_slots* is the
    file through which the workers count their watch streams together."""
    hosts = {"127.0.0.1", "localhost", "[::1]"}
    if not is_loopback(options.host) and options.host not in ("0.0.0.0", "::", ""):
        hosts.add(options.host)
    origins = []
    for url in [*options.public_urls, *options.public_origins]:
        parts = urlsplit(url)
        hosts.add(parts.hostname)
        origins.append(f"{parts.scheme}://{parts.netloc}")
    return {
        "DJANGO_SETTINGS_MODULE": "agentsview.settings",
        "AGENTSVIEW_ALLOWED_HOSTS": ",".join(sorted(hosts)),
        "AGENTSVIEW_TRUSTED_ORIGINS": ",".join(origins),
        "AGENTSVIEW_ALLOWED_SUBNETS": ",".join(options.allowed_subnets),
        "AGENTSVIEW_BASE_PATH": options.base_path,
        "AGENTSVIEW_READ_ONLY": "1" if options.read_only else "",
        "AGENTSVIEW_SERVE_PG": "1" if options.shared_database else "",
        "AGENTSVIEW_REQUIRE_AUTH": "1" if token else "",
        "AGENTSVIEW_AUTH_TOKEN": token or "",
        "AGENTSVIEW_TLS": "1" if options.tls_cert else "",
        # streams in all, counted across the workers: the kernel may hand every stream to
        # one worker, which then still keeps 4 threads for ordinary requests
        "AGENTSVIEW_MAX_WATCH_STREAMS": str(watch_capacity(options)),
        "AGENTSVIEW_WATCH_SLOTS_FILE": str(watch_slots or ""),
    }


def watch_capacity(options: ServerOptions) -> int:
    """Watch streams the server holds open at once, whatever worker each lands on."""
    return max(1, options.threads - 4)


def gunicorn_command(options: ServerOptions, fd: int) -> list[str]:
    """gunicorn serving the already listening socket *fd* (``listen``)."""
    command = [
        sys.executable, "-m", "gunicorn", "agentsview.wsgi:application",
        "--bind", f"fd://{fd}",
        "--worker-class", "gthread",
        "--workers", str(options.workers),
        "--threads", str(options.threads),
        "--graceful-timeout", "5",
        "--access-logfile", "-" if os.environ.get("AGENTSVIEW_ACCESS_LOG") else "/dev/null",
    ]
    if options.tls_cert:
        command += ["--certfile", options.tls_cert, "--keyfile", options.tls_key]
    if gunicorn_version() >= (27,):
        command.append("--no-control-socket")  # we manage the process; nothing under $HOME
    return command


def gunicorn_version() -> tuple[int, ...]:
    import gunicorn

    return tuple(gunicorn.version_info)


def _worker_answers(options: ServerOptions) -> bool:
    """Does a gunicorn worker answer HTTP yet? (The socket accepts connections from the
    start; only a response says that the server serves.)"""
    host = options.host
    target = "127.0.0.1" if host in ("0.0.0.0", "") else ("::1" if host == "::" else host)
    request = f"GET {options.base_path}/api/ping HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n"
    try:
        with socket.create_connection((target.strip("[]"), options.port), timeout=1) as raw:
            if options.tls_cert:
                context = ssl.create_default_context()
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
                with context.wrap_socket(raw) as tls:
                    tls.sendall(request.encode())
                    return bool(tls.recv(1))
            raw.sendall(request.encode())
            return bool(raw.recv(1))
    except OSError:
        return False


def state_file(config: Config, port: int) -> Path:
    return config.data_dir / f"server.{port}.json"


def run(options: ServerOptions, config: Config, listener: socket.socket, *,
        write: Callable[[str], None], tick: Callable[[], None] | None = None,
        tick_seconds: float = 5.0) -> int:
    """Serve on *listener* (from ``listen``) until SIGINT/SIGTERM or until gunicorn dies;
    returns the exit code."""
    token = None
    if options.require_auth or not is_loopback(options.host):
        token, created = resolve_token(config)
        if created:
            write(f"Auth enabled. New token (shown once; saved in {config.data_dir}/auth_token):"
                  f" {token}")
        else:
            write("Auth enabled. Token is configured.")
    slots = config.data_dir / f"server.{options.port}.{os.getpid()}.watch"
    env = {**os.environ, **worker_environment(options, token, slots)}
    try:
        child = subprocess.Popen(gunicorn_command(options, listener.fileno()), env=env,
                                 pass_fds=(listener.fileno(),))
    finally:
        listener.close()  # gunicorn holds the port now; it is free again when gunicorn ends
    path = state_file(config, options.port)
    wrote_state = False
    stopping = False

    def stop(signum, frame) -> None:
        nonlocal stopping
        stopping = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        while not _worker_answers(options):
            if child.poll() is not None:
                raise ServerError(f"gunicorn exited with code {child.returncode} before"
                                  " serving (its output above says why)")
            if time.monotonic() > deadline or stopping:
                raise ServerError("gunicorn did not start listening in time")
            time.sleep(0.1)
        scheme = "https" if options.tls_cert else "http"
        shown = f"[{options.host.strip('[]')}]" if ":" in options.host else options.host
        url = f"{scheme}://{shown}:{options.port}{options.base_path}/"
        # atomically: the session CLI and the tests read it as soon as it exists
        write_atomically(path, json.dumps({
            "pid": os.getpid(), "port": options.port, "host": options.host,
            "version": __version__, "started_at": datetime.now(UTC).isoformat(),
            "read_only": options.read_only, "base_path": options.base_path,
            "auth": bool(token), "tls": bool(options.tls_cert),
        }).encode())
        wrote_state = True
        mode = " (pg read-only)" if options.read_only else ""
        write(f"agentsview {__version__}{mode} at {url}")
        next_tick = time.monotonic() + tick_seconds
        while not stopping and child.poll() is None:
            time.sleep(0.2)
            if tick and time.monotonic() >= next_tick:
                tick()
                next_tick = time.monotonic() + tick_seconds
        return 0 if stopping else (child.returncode or 1)
    finally:
        if wrote_state:
            path.unlink(missing_ok=True)
        if child.poll() is None:
            child.terminate()
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        slots.unlink(missing_ok=True)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
