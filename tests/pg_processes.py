"""Real processes against the real PostgreSQL: isolated machines (data dir + agent dirs), a
throwaway schema per test, a synthetic transcript corpus, and a password-protected cluster."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import orjson
import psycopg

from sessions_app.parsers.registry import AGENTS
from tests.helpers import REPO

FAULT_DATABASE = "agentsview_faults"


def base_url() -> str:
    return os.environ.get("AGENTSVIEW_TEST_PG_URL",
                          "postgresql://postgres@127.0.0.1:5432/agentsview")


def url_for(database: str, url: str | None = None) -> str:
    parts = urlsplit(url or base_url())
    return urlunsplit(parts._replace(path=f"/{database}"))


def ensure_database(name: str) -> None:
    with psycopg.connect(url_for("postgres"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            # another test worker (pytest-xdist) may create it at the same moment
            with suppress(psycopg.errors.DuplicateDatabase, psycopg.errors.UniqueViolation):
                conn.execute(f'CREATE DATABASE "{name}"')


@contextmanager
def throwaway_schema() -> Iterator[tuple[str, str]]:
    """(database url, schema name) of a schema that is dropped afterwards."""
    ensure_database(FAULT_DATABASE)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    url = url_for(FAULT_DATABASE)
    try:
        yield url, schema
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def query(url: str, schema: str, sql: str, params=()) -> list[tuple]:
    with psycopg.connect(url, autocommit=True, options=f"-c search_path={schema}") as conn:
        return conn.execute(sql, params).fetchall()


def table_exists(url: str, schema: str, table: str) -> bool:
    return bool(query(url, schema, "SELECT to_regclass(%s) IS NOT NULL",
                      [f'"{schema}"."{table}"'])[0][0])


def inconsistent_sessions(url: str, schema: str) -> list[tuple]:
    """Sessions whose stored messages do not add up to their message_count."""
    if not table_exists(url, schema, "sessions"):
        return []
    return query(url, schema, """
        SELECT s.id, s.message_count, COALESCE(m.n, 0) FROM sessions s
        LEFT JOIN (SELECT session_id, COUNT(*) AS n FROM messages GROUP BY session_id) m
          ON m.session_id = s.id
        WHERE s.message_count <> COALESCE(m.n, 0)""")


def pg_session_count(url: str, schema: str) -> int:
    if not table_exists(url, schema, "sessions"):
        return 0
    return query(url, schema, "SELECT COUNT(*) FROM sessions")[0][0]


class Machine:
    """A developer machine: its own data dir and agent dirs, pushing to one schema."""

    def __init__(self, root: Path, name: str, url: str, schema: str) -> None:
        self.name = name
        self.root = root
        self.data = root / "data"
        self.claude = root / "claude"
        empty = root / "empty"
        for d in (self.data, self.claude, empty, root / "home"):
            d.mkdir(parents=True, exist_ok=True)
        self.env = {k: v for k, v in os.environ.items()
                    if k != "DJANGO_SETTINGS_MODULE" and not k.startswith("AGENTSVIEW_")}
        self.env.update({spec.env_var: str(empty) for spec in AGENTS.values()})
        self.env.update(
            HOME=str(root / "home"),
            AGENTSVIEW_DATA_DIR=str(self.data),
            CLAUDE_PROJECTS_DIR=str(self.claude),
            AGENTSVIEW_PG_URL=url,
            AGENTSVIEW_PG_SCHEMA=schema,
            AGENTSVIEW_PG_MACHINE=name,
        )

    def command(self, *args: str) -> list[str]:
        return [sys.executable, str(REPO / "manage.py"), *args]

    def run(self, *args: str, timeout: float = 300, **env: str) -> subprocess.CompletedProcess:
        return subprocess.run(self.command(*args), cwd=REPO, env={**self.env, **env},
                              capture_output=True, text=True, timeout=timeout)

    def start(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen(self.command(*args), cwd=REPO, env=self.env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def watermark(self) -> str | None:
        import sqlite3

        db = sqlite3.connect(self.data / "agentsview.db")
        try:
            rows = db.execute("SELECT last_push_at FROM push_targets").fetchall()
        except sqlite3.OperationalError:
            return None
        finally:
            db.close()
        return rows[0][0] if rows else None


def write_corpus(claude_root: Path, *, sessions: int, messages: int, size: int,
                 prefix: str = "") -> list[str]:
    """Claude transcripts with *messages* rows of about *size* bytes each; returns the ids."""
    ids = []
    words = ("alpha", "beta", "gamma", "delta", "naïve", "日本語", "emoji 🎉", "redirect")
    for i in range(sessions):
        sid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{prefix}session-{i}"))
        project = claude_root / f"-home-dev-projects-p{i % 5}"
        project.mkdir(parents=True, exist_ok=True)
        lines = []
        for j in range(messages):
            role = "user" if j % 2 == 0 else "assistant"
            text = f"{prefix}{i}/{j} " + " ".join(words[(i + j + k) % len(words)]
                                                   for k in range(size // 7))
            body = text if role == "user" else [{"type": "text", "text": text}]
            lines.append(orjson.dumps({
                "type": role, "timestamp": f"2026-02-{1 + i % 28:02d}T10:{j // 60 % 60:02d}:"
                                           f"{j % 60:02d}Z",
                "cwd": f"/home/dev/projects/p{i % 5}",
                "message": {"role": role, "content": body},
            }))
        (project / f"{sid}.jsonl").write_bytes(b"\n".join(lines) + b"\n")
        ids.append(sid)
    return ids


def wait_for(predicate, timeout: float, interval: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


@contextmanager
def push_blocked_midway(machine: Machine, url: str, schema: str, ids: list[str],
                        *args: str) -> Iterator[subprocess.Popen]:
    """A ``pg push --full`` held up half way: earlier batches committed, the batch holding a
    session in the middle waiting on a row lock this helper holds. Yields the process."""
    first_project = ids[0::5]  # write_corpus puts session i in project p{i % 5}
    first = machine.run("pg_push", "--no-sync", "--projects", "p0")
    assert first.returncode == 0, first.stderr
    order = sorted(ids)
    middle = min(first_project, key=lambda sid: abs(order.index(sid) - len(order) // 2))
    with psycopg.connect(url, options=f"-c search_path={schema}") as blocker:
        blocker.execute("SELECT 1 FROM sessions WHERE id = %s FOR UPDATE", [middle])
        proc = machine.start("pg_push", "--no-sync", "--full", *args)
        try:
            waiting = wait_for(lambda: proc.poll() is not None or bool(query(
                url, schema, "SELECT 1 FROM pg_stat_activity WHERE application_name = %s"
                " AND wait_event_type = 'Lock'", [f"agentsview {machine.name}"])), 120)
            assert waiting and proc.poll() is None, "the push should be waiting on the lock"
            yield proc
        finally:
            blocker.rollback()
            if proc.poll() is None:
                proc.wait(timeout=120)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _pg_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not found:
        raise FileNotFoundError("no PostgreSQL server binaries under /usr/lib/postgresql")
    return found[-1].parent


@contextmanager
def password_cluster(password: str) -> Iterator[int]:
    """A throwaway PostgreSQL cluster that checks passwords (scram), on a free port; stopped
    and deleted afterwards. initdb refuses root, so it runs as the postgres user."""
    bin_dir = _pg_bin()
    root = Path(tempfile.mkdtemp(prefix="agentsview-pgcluster-"))
    root.chmod(0o755)
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    (root / "pw").write_text(password)
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(root / "pw", "postgres")
    port = _free_port()
    data = root / "data"
    subprocess.run([*as_postgres, str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres",
                    "--auth=scram-sha-256", f"--pwfile={root / 'pw'}"],
                   check=True, capture_output=True, timeout=120)
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1"
    subprocess.run([*as_postgres, str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options,
                    "-l", str(root / "log"), "-w", "start"],
                   check=True, capture_output=True, timeout=120)
    try:
        yield port
    finally:
        subprocess.run([*as_postgres, str(bin_dir / "pg_ctl"), "-D", str(data), "-m",
                        "immediate", "-w", "stop"], capture_output=True, timeout=120)
        shutil.rmtree(root, ignore_errors=True)
