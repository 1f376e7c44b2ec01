"""How the session CLI reaches the sessions: a running server over HTTP, or the local archive.

A server is found through ``<data dir>/server.<port>.json``: its pid must be alive (a stale file
is removed) and its port must answer. A writable local server wins over a read-only
``pg serve``. Without a server the CLI calls the API's own endpoints on the local archive, so
the JSON is the same bytes either way.
"""

from __future__ import annotations

import json
import os
import socket
import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from agentsview.api.errors import ApiError, SessionMissing
from agentsview.api.renderers import dumps
from agentsview.config import Config
from sessions_app import endpoints

HTTP_TIMEOUT = 60


class CliError(Exception):
    """A one-line failure (exit code 1)."""


@dataclass(frozen=True)
class ServerInfo:
    url: str  # base URL, no trailing slash
    read_only: bool
    auth: bool
    state_file: Path | None = None


def _pid_alive(pid: object) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host.strip("[]"), port), timeout=1):
            return True
    except OSError:
        return False


def discover(config: Config) -> ServerInfo | None:
    """The server advertised in the data dir, if one is really there."""
    found: list[ServerInfo] = []
    for path in sorted(config.data_dir.glob("server.*.json")):
        try:
            state = json.loads(path.read_text())
            port = int(state["port"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if not _pid_alive(state.get("pid")):
            path.unlink(missing_ok=True)  # its server is gone
            continue
        host = state.get("host") or "127.0.0.1"
        host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
        if not _answers(host, port):
            continue
        shown = f"[{host.strip('[]')}]" if ":" in host else host
        scheme = "https" if state.get("tls") else "http"
        found.append(ServerInfo(
            url=f"{scheme}://{shown}:{port}{state.get('base_path') or ''}",
            read_only=bool(state.get("read_only")),
            auth=bool(state.get("auth")),
            state_file=path,
        ))
    found.sort(key=lambda info: info.read_only)  # a writable local server first
    return found[0] if found else None


def local_token(config: Config) -> str | None:
    """The token of a server started from this data dir (config, else its saved file)."""
    configured = config.raw.get("auth_token")
    if isinstance(configured, str) and configured.strip():
        return configured.strip()
    try:
        return (config.data_dir / "auth_token").read_text().strip() or None
    except OSError:
        return None


class DirectTransport:
    """The local archive, through the endpoints the API calls."""

    read_only = False
    description = "the local archive"

    def __init__(self, using: str = "default") -> None:
        self.using = using

    def _call(self, fn, *args):
        try:
            return dumps(fn(*args))
        except SessionMissing as exc:
            raise CliError(f"session not found: {exc.session_id}") from None
        except ApiError as exc:
            raise CliError(str(exc)) from None

    def list(self, params: Mapping[str, str]) -> bytes:
        return self._call(endpoints.session_list, params, self.using)

    def get(self, session_id: str) -> bytes:
        return self._call(endpoints.session_detail, session_id, self.using)

    def messages(self, session_id: str, params: Mapping[str, str]) -> bytes:
        return self._call(endpoints.session_messages, session_id, params, self.using)

    def tool_calls(self, session_id: str) -> bytes:
        return self._call(endpoints.session_tool_calls, session_id, self.using)

    def usage(self, session_id: str, params: Mapping[str, str]) -> bytes:
        return self._call(partial(endpoints.session_usage, server_running=False), session_id,
                          params, self.using)

    def search_content(self, params: Mapping[str, str]) -> bytes:
        return self._call(endpoints.content_search, params, self.using)

    def agents(self, params: Mapping[str, str]) -> bytes:
        return self._call(endpoints.agents, params, self.using)

    def sync(self, target: str, config: Config) -> bytes:
        from sessions_app.services.sync import SyncTargetError, sync_one

        try:
            session_id = sync_one(config, target, using=self.using)
        except SyncTargetError as exc:
            raise CliError(str(exc)) from None
        return self.get(session_id)

    def watch(self, session_id: str, *, poll: float = 1.5, heartbeat: float = 30.0
              ) -> Iterator[tuple[str, str]]:
        from sessions_app.selectors import session_exists

        if not session_exists(session_id, using=self.using):
            raise CliError(f"session not found: {session_id}")
        return endpoints.watch_events(session_id, self.using, poll=poll, heartbeat=heartbeat)


class HttpTransport:
    """A running server, over HTTP (with its bearer token when it wants one)."""

    def __init__(self, server: ServerInfo, token: str | None) -> None:
        self.server = server
        self.token = token
        self.read_only = server.read_only
        kind = "read-only pg serve" if server.read_only else "server"
        self.description = f"the {kind} at {server.url}"
        self.context = None
        if server.url.startswith("https://") and server.state_file is not None:
            # a server found in our own data dir, on loopback, with its own certificate
            self.context = ssl.create_default_context()
            self.context.check_hostname = False
            self.context.verify_mode = ssl.CERT_NONE

    def _open(self, method: str, path: str, params: Mapping[str, str] | None = None,
              body: dict | None = None, stream: bool = False, session_id: str | None = None):
        query = f"?{urllib.parse.urlencode(list(params.items()))}" if params else ""
        request = urllib.request.Request(self.server.url + path + query, method=method)
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            request.add_header("Content-Type", "application/json")
        if stream:
            request.add_header("Accept", "text/event-stream")
        try:
            return urllib.request.urlopen(request, data=data, timeout=HTTP_TIMEOUT,
                                          context=self.context)
        except urllib.error.HTTPError as exc:
            if exc.code == 404 and session_id is not None:
                raise CliError(f"session not found: {session_id}") from None
            raise self._error(method, path, exc) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise CliError(f"cannot reach {self.server.url}: {reason}") from None

    def _error(self, method: str, path: str, exc: urllib.error.HTTPError) -> CliError:
        raw = exc.read()
        try:
            message = json.loads(raw)["error"]
        except (ValueError, KeyError, TypeError):
            message = raw.decode("utf-8", "replace").strip()[:300]
        if exc.code == 401:
            return CliError(f"{self.description} requires a token ({message}); set"
                            " AGENTSVIEW_SERVER_TOKEN or --server-token-file")
        if exc.code in (400, 404, 409):
            return CliError(message)
        return CliError(f"{method} {path}: HTTP {exc.code}: {message}")

    def _get(self, path: str, params: Mapping[str, str] | None = None,
             session_id: str | None = None) -> bytes:
        with self._open("GET", path, params, session_id=session_id) as response:
            return response.read()

    def list(self, params: Mapping[str, str]) -> bytes:
        return self._get("/api/v1/sessions", params)

    def get(self, session_id: str) -> bytes:
        quoted = urllib.parse.quote(session_id, safe=":")
        return self._get(f"/api/v1/sessions/{quoted}", session_id=session_id)

    def messages(self, session_id: str, params: Mapping[str, str]) -> bytes:
        quoted = urllib.parse.quote(session_id, safe=":")
        body = self._get(f"/api/v1/sessions/{quoted}/messages", params, session_id=session_id)
        return self._known(session_id, body)

    def tool_calls(self, session_id: str) -> bytes:
        quoted = urllib.parse.quote(session_id, safe=":")
        body = self._get(f"/api/v1/sessions/{quoted}/tool-calls", session_id=session_id)
        return self._known(session_id, body)

    def _known(self, session_id: str, body: bytes) -> bytes:
        """An empty answer may be an unknown session (the API answers those with an empty
        list, as AgentsView's does): the session itself says which."""
        try:
            empty = json.loads(body).get("count") == 0
        except (ValueError, AttributeError):
            empty = False
        if empty:
            self.get(session_id)  # 404: session not found
        return body

    def usage(self, session_id: str, params: Mapping[str, str]) -> bytes:
        quoted = urllib.parse.quote(session_id, safe=":")
        return self._get(f"/api/v1/sessions/{quoted}/usage", params, session_id=session_id)

    def search_content(self, params: Mapping[str, str]) -> bytes:
        return self._get("/api/v1/search/content", params)

    def agents(self, params: Mapping[str, str]) -> bytes:
        return self._get("/api/v1/agents", params)

    def sync(self, target: str, config: Config) -> bytes:
        if self.read_only:
            raise CliError(f"{self.description} is read-only: session sync needs the local"
                           " archive (stop it, or run a local `agentsview serve`)")
        path = Path(target).expanduser()
        body = {"path": str(path.resolve())} if path.exists() else {"id": target}
        with self._open("POST", "/api/v1/sessions/sync", body=body) as response:
            return response.read()

    def watch(self, session_id: str, **_) -> Iterator[tuple[str, str]]:
        quoted = urllib.parse.quote(session_id, safe=":")
        response = self._open("GET", f"/api/v1/sessions/{quoted}/watch", stream=True,
                              session_id=session_id)

        def events() -> Iterator[tuple]:
            event, data, event_id = "", [], None
            with response:
                for raw in response:
                    line = raw.decode("utf-8", "replace").rstrip("\r\n")
                    if not line:
                        if event:
                            yield event, "\n".join(data), event_id
                        event, data, event_id = "", [], None
                    elif line.startswith("id:"):
                        event_id = int(line[3:].strip()) if line[3:].strip().isdigit() else None
                    elif line.startswith("event:"):
                        event = line[6:].strip()
                    elif line.startswith("data:"):
                        data.append(line[5:].lstrip())

        return events()


def add_server_arguments(parser) -> None:
    parser.add_argument("--server", metavar="URL",
                        help="ask this server instead of the one found in the data dir")
    parser.add_argument("--server-token-file", metavar="PATH",
                        help="file holding the server's token (else $AGENTSVIEW_SERVER_TOKEN)")


def choose_transport(options: Mapping[str, object], config: Config
                     ) -> HttpTransport | DirectTransport:
    """``--server`` if given, else a server advertised in the data dir, else the archive."""
    from agentsview.schema import ensure_schema

    token = os.environ.get("AGENTSVIEW_SERVER_TOKEN")
    token_file = options.get("server_token_file")
    if token_file:
        try:
            token = Path(str(token_file)).read_text().strip()
        except OSError as exc:
            raise CliError(f"--server-token-file: {exc.strerror}") from None
    if options.get("server"):
        url = str(options["server"]).rstrip("/")
        return HttpTransport(ServerInfo(url, read_only=False, auth=bool(token)), token)
    server = discover(config)
    if server is not None:
        return HttpTransport(server, token or (local_token(config) if server.auth else None))
    ensure_schema("default")
    return DirectTransport()
