"""How we talk to the shared PostgreSQL: the TLS rule, the target's identity, and error
messages that never carry a password."""

from __future__ import annotations

import hashlib
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlsplit

from django.db import DatabaseError, OperationalError, connections

from agentsview.config import PgConfig
from agentsview.redact import scrub

PLAINTEXT_SSLMODES = frozenset({"", "disable", "allow", "prefer"})
# SQLSTATEs that mean "this role may not write here": insufficient privilege, read-only.
NO_WRITE_STATES = frozenset({"42501", "25006"})


class PgError(Exception):
    """A one-line, password-free reason a PostgreSQL command cannot go on (exit code 1)."""

    exit_code = 1


@dataclass(frozen=True)
class Target:
    hosts: tuple[str, ...]
    port: str
    database: str
    user: str
    schema: str

    @property
    def key(self) -> str:
        """Stable identity of the shared database, for local push state (no credentials)."""
        text = "|".join([",".join(self.hosts), self.port, self.database, self.user, self.schema])
        return hashlib.sha256(text.encode()).hexdigest()

    @property
    def description(self) -> str:
        host = ",".join(self.hosts) or "local socket"
        return f"{host}:{self.port or 5432}/{self.database} (schema {self.schema})"


def target_of(pg: PgConfig, environ: Mapping[str, str] | None = None) -> Target:
    env = os.environ if environ is None else environ
    parts = urlsplit(pg.url)
    query = dict(parse_qsl(parts.query))
    netloc = parts.netloc.rsplit("@", 1)[-1]
    hosts: list[str] = []
    port = ""
    for item in filter(None, netloc.split(",")):
        if item.startswith("["):  # [ipv6]:port
            host, _, rest = item[1:].partition("]")
            hosts.append(host)
            port = port or rest.lstrip(":")
        else:
            host, _, item_port = item.partition(":")
            hosts.append(unquote(host))
            port = port or item_port
    if query.get("host"):
        hosts = query["host"].split(",")
    if not hosts and env.get("PGHOST"):
        hosts = env["PGHOST"].split(",")
    user = unquote(parts.username or "") or query.get("user", "") or env.get("PGUSER", "")
    return Target(
        hosts=tuple(hosts),
        port=query.get("port", port) or env.get("PGPORT", ""),
        database=unquote(parts.path.lstrip("/")),
        user=user,
        schema=pg.schema,
    )


def is_local_host(host: str) -> bool:
    """Loopback names and addresses, and unix-socket directories."""
    if not host or host.startswith("/") or host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_transport(pg: PgConfig, command: str,
                    environ: Mapping[str, str] | None = None) -> str | None:
    """Refuse a plaintext-capable connection to a remote host unless the config allows it.

    Returns a warning to print when ``allow_insecure`` let it through, else None.
    """
    env = os.environ if environ is None else environ
    query = dict(parse_qsl(urlsplit(pg.url).query))
    sslmode = (query.get("sslmode") or env.get("PGSSLMODE") or "").lower()
    if sslmode not in PLAINTEXT_SSLMODES:
        return None
    for host in target_of(pg, env).hosts or ("",):
        if is_local_host(host):
            continue
        message = (
            f"pg connection to {host} permits plaintext; set sslmode=require (or verify-full)"
            " for non-local hosts, or set allow_insecure = true under [pg] in config to override"
        )
        if pg.allow_insecure:
            return f"warning: {message}"
        raise PgError(f"{command}: {message}")
    return None


def sqlstate(exc: BaseException) -> str:
    """The SQLSTATE of a database error (Django wraps psycopg's), or ''."""
    for candidate in (exc, exc.__cause__, exc.__context__):
        state = getattr(candidate, "sqlstate", None)
        if state:
            return state
    return ""


def describe(exc: BaseException, pg: PgConfig) -> str:
    """The first line of a database error, with any password of the URL masked."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return scrub(text, pg.url)


# Connection exceptions, and the server shutting the session down.
LOST_CONNECTION_STATES = frozenset({"57P01", "57P02", "57P03"})


def lost_connection(exc: BaseException) -> bool:
    """Did *exc* end the session (server gone, backend terminated, network cut)?

    Judged from the error, not by probing the connection: Django reconnects on its own when
    a failed transaction block ends, so a probe would find a fresh, healthy session.
    """
    if not isinstance(exc, OperationalError):
        return False
    state = sqlstate(exc)
    return not state or state.startswith("08") or state in LOST_CONNECTION_STATES


def connect(using: str, pg: PgConfig, command: str) -> None:
    """Open the connection now, so a bad host, port or password is one clear line."""
    try:
        connections[using].ensure_connection()
    except DatabaseError as exc:
        raise PgError(f"{command}: cannot connect to {pg.safe_url}: {describe(exc, pg)}") from None
