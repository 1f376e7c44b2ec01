#!/usr/bin/env python3
"""HTTP API benchmark: ``manage.py pg_serve`` (gunicorn, gthread) over a pushed corpus.

    .venv/bin/python bench/api_bench.py --sessions 2000 [--corpus DIR] [--requests N]
                                        [--python PATH]

Syncs the corpus into a fresh local archive, pushes it into a fresh PostgreSQL database
(``agentsview_bench``), starts ``manage.py pg_serve`` on a free loopback port and measures p50,
p95 and requests/s of six read endpoints at concurrency 1 and 4 with a stdlib keep-alive load
generator, then again (concurrency 1) with 20 SSE watch streams open. Prints a table with the
Go implementation's reference p50 on the same corpus, the server's gunicorn worker settings and
one ``RESULT {json}`` line. Exits non-zero if any response is not 200 with a JSON body.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import http.client
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from push_bench import BENCH_DATABASE, fresh_database, with_database
from sync_bench import REPO_ROOT, build_env, check_run, ensure_corpus, run_measured

HOST = "127.0.0.1"
CONCURRENCY = (1, 4)
READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0
STREAM_READY_TIMEOUT_S = 20.0
# The Go implementation (AgentsView 0.46.1) on the same 2,000-session corpus and machine, the
# day issue 20 was filed: p50 at concurrency 1, ms, and requests/s at concurrency 8.
GO_REFERENCE_P50_MS = {
    "first page": 13.5,
    "one project": 4.0,
    "one session": 0.58,
    "messages": 3.0,
    "rare-word search": 111.0,
}
GO_REFERENCE_RPS_C8 = {"first page": 129.0, "one session": 2959.0, "messages": 592.0}
TARGET_SEARCH_P50_MS = 50.0
STREAM_CHECKED = ("one session", "first page")
FLOOR_LABEL = "bare gunicorn"
STARTUP_KEYWORDS = ("Starting gunicorn", "Listening at", "Using worker", "Booting worker",
                    "agentsview", "Error", "error")
# Search terms: identifiers, dotted names and paths, 8-80 characters.
WORD_RE = re.compile(r"[A-Za-z][A-Za-z0-9_./-]{6,78}[A-Za-z0-9]")
RARE_WORD_SESSIONS = 10
RARE_WORD_TRIES_PER_SESSION = 25
RARE_WORD_TRIES = 80


class BenchError(Exception):
    """Something in the application failed; the message says what (command, status, body)."""


# --- HTTP client ----------------------------------------------------------------------------


class Client:
    """One keep-alive HTTP/1.1 connection; a request on a connection the server closed while
    idle is retried once on a fresh one (counted in ``reconnects``)."""

    def __init__(self, port: int, timeout: float) -> None:
        self.port = port
        self.timeout = timeout
        self.conn: http.client.HTTPConnection | None = None
        self.reconnects = 0

    def get(self, path: str) -> tuple[int, str, bytes]:
        """``(status, content type, body)`` of ``GET path``."""
        for attempt in range(2):
            reused = self.conn is not None
            if self.conn is None:
                self.conn = http.client.HTTPConnection(HOST, self.port, timeout=self.timeout)
            try:
                self.conn.request("GET", path, headers={"Accept": "application/json"})
                response = self.conn.getresponse()
                body = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()
                if not reused or attempt:
                    raise
                self.reconnects += 1
                continue
            if response.will_close:
                self.close()
            return response.status, response.getheader("Content-Type") or "", body
        raise AssertionError("unreachable")

    def get_json(self, path: str) -> Any:
        """The decoded JSON of a 200 response; anything else is a ``BenchError``."""
        try:
            status, ctype, body = self.get(path)
        except OSError as exc:
            raise BenchError(f"GET {path}: {type(exc).__name__}: {exc}") from None
        if status != 200:
            raise BenchError(f"GET {path}: status {status}, body: {body[:2000]!r}")
        try:
            return json.loads(body)
        except ValueError:
            raise BenchError(f"GET {path}: 200 but not JSON ({ctype}): {body[:2000]!r}") from None

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


# --- load generator -------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile (``None`` for no values)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


@dataclass
class Measurement:
    """Latencies of one request at one concurrency."""

    label: str
    path: str
    concurrency: int
    streams: int
    latencies_ms: list[float] = field(default_factory=list)
    wall_s: float = 0.0
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    reconnects: int = 0
    truncated: bool = False

    @property
    def p50(self) -> float | None:
        return percentile(self.latencies_ms, 50)

    @property
    def p95(self) -> float | None:
        return percentile(self.latencies_ms, 95)

    @property
    def rps(self) -> float | None:
        return len(self.latencies_ms) / self.wall_s if self.wall_s > 0 else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "request": self.label, "path": self.path, "concurrency": self.concurrency,
            "streams": self.streams, "requests": len(self.latencies_ms),
            "p50_ms": rounded(self.p50), "p95_ms": rounded(self.p95), "rps": rounded(self.rps),
            "errors": self.errors, "reconnects": self.reconnects, "truncated": self.truncated,
        }


def rounded(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


@dataclass
class _WorkerState:
    latencies_ms: list[float] = field(default_factory=list)
    bodies: dict[bytes, tuple[bytes, int]] = field(default_factory=dict)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    reconnects: int = 0
    end: float = 0.0

    def record_error(self, text: str) -> None:
        self.errors += 1
        if len(self.error_samples) < 3:
            self.error_samples.append(text)


def measure(port: int, label: str, path: str, *, concurrency: int, requests: int, warmup: int,
            max_seconds: float, request_timeout: float, streams: int = 0) -> Measurement:
    """``warmup`` untimed then ``requests`` timed GETs of ``path`` over ``concurrency``
    keep-alive connections (one thread each), stopping early after ``max_seconds``.

    Every response must be 200 with a JSON (for dashboard pages, HTML) body: each distinct
    body is decoded once after the run, so JSON parsing does not compete with the timed
    requests for the GIL."""
    result = Measurement(label, path, concurrency, streams)
    states = [_WorkerState() for _ in range(concurrency)]
    lock = threading.Lock()
    issued = 0
    started = 0.0
    deadline = time.monotonic() + max_seconds

    def start_clock() -> None:
        nonlocal started
        started = time.perf_counter()

    barrier = threading.Barrier(concurrency, action=start_clock)

    def one(client: Client, state: _WorkerState, timed: bool) -> None:
        t0 = time.perf_counter()
        try:
            status, ctype, body = client.get(path)
        except Exception as exc:  # a failed request is an error, never a crashed thread
            client.close()
            state.record_error(f"{type(exc).__name__}: {exc}")
            return
        elapsed_ms = (time.perf_counter() - t0) * 1000
        if status != 200 or ("json" not in ctype and "html" not in ctype):
            state.record_error(f"status {status} ({ctype}): {body[:300]!r}")
            return
        digest = hashlib.blake2b(body, digest_size=16).digest()
        first, count = state.bodies.get(digest, (body, 0))
        state.bodies[digest] = (first, count + 1)
        if timed:
            state.latencies_ms.append(elapsed_ms)

    def work(index: int) -> None:
        nonlocal issued
        state = states[index]
        client = Client(port, request_timeout)
        try:
            for _ in range(warmup // concurrency + (index < warmup % concurrency)):
                if time.monotonic() < deadline:
                    one(client, state, timed=False)
            barrier.wait()
            while True:
                with lock:
                    if issued >= requests or time.monotonic() > deadline:
                        break
                    issued += 1
                one(client, state, timed=True)
            state.end = time.perf_counter()
        finally:
            state.reconnects = client.reconnects
            client.close()

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    bodies: dict[bytes, tuple[bytes, int]] = {}
    for state in states:
        result.latencies_ms += state.latencies_ms
        result.errors += state.errors
        result.error_samples += state.error_samples
        result.reconnects += state.reconnects
        for digest, (body, count) in state.bodies.items():
            bodies[digest] = (body, bodies.get(digest, (body, 0))[1] + count)
    for body, count in bodies.values():
        if body.lstrip()[:1] == b"<":  # a dashboard page
            continue
        try:
            json.loads(body)
        except ValueError:
            result.errors += count
            result.error_samples.append(f"200 but not JSON: {body[:300]!r}")
    result.wall_s = max(s.end for s in states) - started
    result.truncated = len(result.latencies_ms) + result.errors < requests
    return result


# --- SSE watch streams ----------------------------------------------------------------------


class WatchStream:
    """``GET /api/v1/sessions/<id>/watch`` held open by a background thread that reads events."""

    def __init__(self, port: int, session_id: str, timeout: float, accept: str = "*/*") -> None:
        self.path = f"/api/v1/sessions/{quote(session_id, safe='')}/watch"
        self.accept = accept
        self.conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
        self.ready = threading.Event()
        self.closing = False
        self.events: dict[str, int] = {}
        self.error = ""
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _run(self) -> None:
        try:
            self.conn.request("GET", self.path, headers={"Accept": self.accept})
            response = self.conn.getresponse()
            ctype = response.getheader("Content-Type") or ""
            if response.status != 200 or not ctype.startswith("text/event-stream"):
                self.error = f"status {response.status} ({ctype}): {response.read(300)!r}"
                self.ready.set()
                return
            while True:
                line = response.readline()
                if not line:
                    break
                if line.startswith(b"event:"):
                    name = line[6:].strip().decode(errors="replace")
                    self.events[name] = self.events.get(name, 0) + 1
                    if name == "session_ready":
                        self.ready.set()
        except Exception as exc:
            if not self.closing:
                self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self.ready.set()  # wake whoever waits for it: ready, refused or ended

    def close(self) -> None:
        self.closing = True
        sock = self.conn.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self.conn.close()
        self.thread.join(timeout=5)

    @property
    def state(self) -> str:
        if self.error:
            return "error"
        if self.events.get("session_ready"):
            return "open" if self.thread.is_alive() else "ended"
        return "pending"


def probe_event_source(port: int, session_id: str) -> str:
    """Open one stream the way a browser's EventSource does (``Accept: text/event-stream``);
    ``""`` if it streams, else what failed."""
    stream = WatchStream(port, session_id, timeout=10, accept="text/event-stream")
    stream.start()
    stream.ready.wait(timeout=10)
    state, error = stream.state, stream.error
    stream.close()
    if state == "open":
        return ""
    return (f"GET {stream.path} with Accept: text/event-stream (what a browser EventSource"
            f" sends): {error or state}")


# --- the server -----------------------------------------------------------------------------


def bench_database_ready(url: str, name: str = BENCH_DATABASE) -> bool:
    """Does the benchmark database exist with pushed sessions in it?"""
    import psycopg

    try:
        with psycopg.connect(with_database(url, name), connect_timeout=5) as conn:
            row = conn.execute("SELECT count(*) FROM agentsview.sessions").fetchone()
    except psycopg.Error:
        return False
    return bool(row and row[0])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def tail(path: Path, chars: int = 4000) -> str:
    text = path.read_text(errors="replace") if path.exists() else ""
    return text[-chars:] or "(no output)"


def start_server(cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start ``pg_serve`` in its own process group, stdout and stderr into ``log``."""
    with log.open("wb") as out:
        return subprocess.Popen(cmd, cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def wait_ready(proc: subprocess.Popen[bytes], port: int, cmd: list[str], log: Path) -> float:
    """Seconds until ``GET /api/ping`` answers 200; ``BenchError`` if it never does."""
    started = time.perf_counter()
    last = "no answer"
    while time.perf_counter() - started < READY_TIMEOUT_S:
        if proc.poll() is not None:
            raise BenchError(f"`{' '.join(cmd)}` exited with {proc.returncode} before answering"
                             f" /api/ping; its output:\n{tail(log)}")
        client = Client(port, timeout=2)
        try:
            status, _, body = client.get("/api/ping")
            if status == 200:
                return time.perf_counter() - started
            last = f"status {status}: {body[:500]!r}"
        except OSError as exc:
            last = f"{type(exc).__name__}: {exc}"
        finally:
            client.close()
        time.sleep(0.2)
    raise BenchError(f"`{' '.join(cmd)}`: GET /api/ping did not answer 200 within"
                     f" {READY_TIMEOUT_S:.0f}s (last: {last}); its output:\n{tail(log)}")


def stop_server(proc: subprocess.Popen[bytes]) -> str:
    """SIGTERM to the server's process id and wait; SIGKILL its process group after 15 s."""
    if proc.poll() is not None:
        return f"had already exited with {proc.returncode}"
    os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=STOP_TIMEOUT_S)
        how = f"stopped by SIGTERM (exit {proc.returncode})"
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        how = f"did not stop within {STOP_TIMEOUT_S:.0f}s of SIGTERM; killed with SIGKILL"
    left = group_members(proc.pid)
    if not left:
        return how
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    return how + f"; still running in its process group, killed with SIGKILL: {'; '.join(left)}"


def group_members(pgid: int) -> list[str]:
    """``pid state command`` of the live (non-zombie) processes of process group ``pgid``."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            argv = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(f"{entry.name} {fields[0]} {argv[:160]}")
    return members


def child_pids(pid: int) -> list[int]:
    """Process ids whose parent is ``pid`` (from /proc)."""
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            children.append(int(entry.name))
    return sorted(children)


def gunicorn_settings(server_pid: int, log: Path) -> dict[str, Any]:
    """The gunicorn master's command-line options, its worker count and its startup lines."""
    settings: dict[str, Any] = {"startup": [
        line.strip() for line in log.read_text(errors="replace").splitlines()
        if any(k in line for k in STARTUP_KEYWORDS)
    ][:12]}
    for pid in child_pids(server_pid):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
        except OSError:
            continue
        if "gunicorn" not in argv:
            continue
        for name in ("--worker-class", "--workers", "--threads", "--graceful-timeout",
                     "--bind", "--access-logfile"):
            if name in argv:
                settings[name.lstrip("-")] = argv[argv.index(name) + 1]
        settings["master_pid"] = pid
        settings["worker_processes"] = len(child_pids(pid))
    return settings


def measure_floor(args: argparse.Namespace, server: dict[str, Any], env: dict[str, str],
                  work: Path, concurrencies: tuple[int, ...], options: dict[str, Any]
                  ) -> list[Measurement]:
    """The "bare gunicorn" rows: ``floor_app`` (a fixed JSON body, no Django, no database)
    under the options the benchmarked ``pg_serve`` ran with, measured like the API rows."""
    port = free_port()
    cmd = [args.python, "-m", "gunicorn", "floor_app:application",
           "--chdir", str(Path(__file__).resolve().parent), "--bind", f"{HOST}:{port}"]
    for name in ("worker-class", "workers", "threads", "graceful-timeout", "access-logfile"):
        if name in server:
            cmd += [f"--{name}", str(server[name])]
    log = work / "floor.log"
    print(f"  starting the floor: `{' '.join(cmd[1:])}` ...", flush=True)
    proc = start_server(cmd, env, log)
    try:
        wait_ready(proc, port, cmd, log)
        rows = []
        for concurrency in concurrencies:
            print(f"measuring bare gunicorn at concurrency {concurrency} ...", flush=True)
            rows.append(measure(port, FLOOR_LABEL, "/", concurrency=concurrency, **options))
        return rows
    finally:
        print(f"floor server {proc.pid}: {stop_server(proc)}", flush=True)


# --- inputs ---------------------------------------------------------------------------------


@dataclass
class Inputs:
    sessions_total: int
    project: str
    project_sessions: int
    session_id: str
    session_messages: int
    word: str
    word_hits: int
    word_source: str
    stream_session_ids: list[str]
    page_session_id: str = ""
    page_session_messages: int = 0


def pick_rare_word(client: Client, session_ids: list[str]) -> tuple[str, int, str]:
    """A token from one message of some session that the search finds in 1-5 sessions.

    Plain identifiers repeat across the corpus, so dotted and path-like tokens are tried too:
    identifiers first, then paths, the longest first, a bounded number of searches."""
    tried = 0
    for session_id in session_ids[:RARE_WORD_SESSIONS]:
        page = client.get_json(f"/api/v1/sessions/{quote(session_id, safe='')}/messages?limit=50")
        origin: dict[str, int] = {}
        for message in page.get("messages", []):
            for token in WORD_RE.findall(message.get("content") or ""):
                origin.setdefault(token, message.get("ordinal", -1))
        candidates = sorted(origin, key=lambda t: ("/" in t, -len(t)))
        for token in candidates[:RARE_WORD_TRIES_PER_SESSION]:
            if tried >= RARE_WORD_TRIES:
                break
            tried += 1
            found = client.get_json(f"/api/v1/search?{urlencode({'q': token})}")
            if 1 <= found.get("count", 0) <= 5 and "next" not in found:
                return token, found["count"], f"session {session_id}, message #{origin[token]}"
    raise BenchError(f"found no rare word: none of the {tried} tokens searched (from the first"
                     " messages of the newest sessions) was in 1-5 sessions")


def pick_inputs(client: Client, streams: int) -> Inputs:
    """Everything the measured URLs need, read from the API itself."""
    first = client.get_json("/api/v1/sessions")
    sessions = first.get("sessions") or []
    if not sessions:
        raise BenchError(f"GET /api/v1/sessions returned no sessions: {str(first)[:500]}")
    projects = client.get_json("/api/v1/projects").get("projects") or []
    if not projects:
        raise BenchError("GET /api/v1/projects returned no projects")
    # A typical project, not the biggest: the median by session count.
    project = sorted(projects, key=lambda p: p["session_count"])[len(projects) // 2]
    big = client.get_json("/api/v1/sessions?order_by=messages:desc&include_one_shot=true"
                          "&limit=1")["sessions"][0]
    word, hits, source = pick_rare_word(client, [s["id"] for s in sessions])
    ids = [s["id"] for s in sessions]
    # the dashboard target names a 1,000-message session: the smallest with at least that many
    thousand = client.get_json("/api/v1/sessions?min_messages=1000&order_by=messages:asc"
                               "&include_one_shot=true&include_children=true&limit=1")
    page = (thousand.get("sessions") or [big])[0]
    return Inputs(first.get("total", len(sessions)), project["name"], project["session_count"],
                  big["id"], big["message_count"], word, hits, source,
                  (ids * (streams // len(ids) + 1))[:streams], page["id"],
                  page["message_count"])


def request_plan(inputs: Inputs) -> list[tuple[str, str]]:
    session = f"/api/v1/sessions/{quote(inputs.session_id, safe='')}"
    return [
        ("ping", "/api/ping"),  # every middleware and DRF, no query: our floor
        ("first page", "/api/v1/sessions"),
        ("one project", f"/api/v1/sessions?{urlencode({'project': inputs.project})}"),
        ("one session", session),
        ("messages", f"{session}/messages"),
        ("rare-word search", f"/api/v1/search?{urlencode({'q': inputs.word})}"),
        ("stats", "/api/v1/stats"),
        ("sessions page", "/"),
        (f"session page ({inputs.page_session_messages} msgs)",
         f"/sessions/{quote(inputs.page_session_id, safe='')}"),
    ]


ANALYTICS_ENDPOINTS = (
    "summary", "activity", "activity?granularity=week", "heatmap", "projects", "tools",
    "velocity", "top-sessions", "top-sessions?metric=duration", "sessions", "hour-of-week",
    "signals", "signal-sessions?signal=tool_failure_signals", "skills",
)
TARGET_ANALYTICS_P95_MS = 200.0


def analytics_plan(client: Client) -> list[tuple[str, str]]:
    """Every analytics endpoint over the whole corpus (every session in range, the worst
    case) and over its last 30 days (the dashboard's default window, moved to the data)."""
    def day(order: str) -> str:
        s = client.get_json(f"/api/v1/sessions?order_by=started:{order}&limit=1"
                            "&include_one_shot=true&include_automated=true")["sessions"][0]
        return s["started_at"][:10]

    first, last = day("asc"), day("desc")
    month = (datetime.fromisoformat(last) - timedelta(days=30)).date().isoformat()
    plan = []
    for window, start in (("all", first), ("30d", month)):
        for endpoint in ANALYTICS_ENDPOINTS:
            sep = "&" if "?" in endpoint else "?"
            plan.append((f"{endpoint} [{window}]",
                         f"/api/v1/analytics/{endpoint}{sep}from={start}&to={last}"))
    return plan


def usage_plan(client: Client) -> list[tuple[str, str]]:
    """The usage endpoints (issue 18) over the whole corpus and its last 30 days, the costliest
    session's usage with its subagents and the Usage page."""
    def day(order: str) -> str:
        s = client.get_json(f"/api/v1/sessions?order_by=started:{order}&limit=1"
                            "&include_one_shot=true&include_automated=true")["sessions"][0]
        return s["started_at"][:10]

    first, last = day("asc"), day("desc")
    month = (datetime.fromisoformat(last) - timedelta(days=30)).date().isoformat()
    plan = []
    for window, start in (("all", first), ("30d", month)):
        span = f"from={start}&to={last}"
        plan += [(f"usage summary [{window}]", f"/api/v1/usage/summary?{span}"),
                 (f"usage summary agent [{window}]",
                  f"/api/v1/usage/summary?{span}&agent=claude&timezone=America/New_York"),
                 (f"top-sessions [{window}]", f"/api/v1/usage/top-sessions?{span}"),
                 (f"top-sessions tokens [{window}]",
                  f"/api/v1/usage/top-sessions?{span}&sort=tokens&limit=100"),
                 (f"usage page [{window}]", f"/usage?{span}")]
    top = client.get_json(f"/api/v1/usage/top-sessions?from={first}&to={last}&limit=1")
    if top:
        sid = quote(top[0]["sessionId"], safe="")
        plan.append(("session usage (costliest)",
                     f"/api/v1/sessions/{sid}/usage?breakdown=true&subagents=true"))
    return plan


def print_analytics_report(stats: dict[str, Any], plain: list[Measurement],
                           what: str = "analytics") -> None:
    print()
    print(f"{what} endpoints on {stats.get('session_count')} sessions,"
          f" {stats.get('message_count')} messages (PostgreSQL, pg serve under gunicorn);"
          f" target p95 < {TARGET_ANALYTICS_P95_MS:.0f} ms")
    header = f"{'request':<40}{'p50 ms':>9}{'p95 ms':>9}{'req/s':>9}{'errors':>8}  target"
    print(header)
    print("-" * len(header))
    for m in plain:
        ok = m.p95 is not None and m.p95 < TARGET_ANALYTICS_P95_MS
        print(f"{m.label:<40}{fmt(m.p50, '.2f'):>9}{fmt(m.p95, '.2f'):>9}{fmt(m.rps):>9}"
              f"{m.errors:>8}  {'ok' if ok else 'MISSED'}")


# --- report ---------------------------------------------------------------------------------


def fmt(value: float | None, spec: str = ".1f") -> str:
    return "-" if value is None else format(value, spec)


def anchor_figure(m: Measurement) -> str:
    """The anchor's figure comparable with row *m*: its p50 at concurrency 1, its requests/s
    at concurrency 8; '' where there is none."""
    if m.concurrency == 1 and m.label in GO_REFERENCE_P50_MS:
        return fmt(GO_REFERENCE_P50_MS[m.label], ".2f")
    if m.concurrency == 8 and m.label in GO_REFERENCE_RPS_C8:
        return f"{GO_REFERENCE_RPS_C8[m.label]:.0f}/s"
    return ""


def print_report(inputs: Inputs, stats: dict[str, Any], server: dict[str, Any],
                 plain: list[Measurement], with_streams: list[Measurement],
                 stream_states: dict[str, int], stream_events: dict[str, int],
                 args: argparse.Namespace) -> None:
    print()
    print(f"agentsview pg_serve API benchmark: {stats.get('session_count')} sessions,"
          f" {stats.get('message_count')} messages in PostgreSQL; {args.requests} requests"
          f" after {args.warmup} warm-up per row; client and server share this machine"
          f" ({os.cpu_count()} CPUs)")
    print(f"gunicorn: worker class {server.get('worker-class', '?')}, {server.get('workers', '?')}"
          f" workers x {server.get('threads', '?')} threads, graceful timeout"
          f" {server.get('graceful-timeout', '?')}s ({server.get('worker_processes', '?')} worker"
          f" processes running, master pid {server.get('master_pid', '?')})")
    for line in server.get("startup", []):
        print(f"  | {line}")
    print(f"inputs: project {inputs.project!r} ({inputs.project_sessions} sessions); session"
          f" {inputs.session_id} ({inputs.session_messages} messages); rare word"
          f" {inputs.word!r} ({inputs.word_hits} search results; from {inputs.word_source})")
    header = (f"{'request':<18}{'conc':>5}{'p50 ms':>9}{'p95 ms':>9}{'req/s':>9}"
              f"{'anchor':>10}{'errors':>8}")
    print()
    print(header)
    print("-" * len(header))
    for m in plain:
        print(f"{m.label:<18}{m.concurrency:>5}{fmt(m.p50, '.2f'):>9}{fmt(m.p95, '.2f'):>9}"
              f"{fmt(m.rps):>9}{anchor_figure(m):>10}{m.errors:>8}"
              + ("  (stopped at --max-seconds)" if m.truncated else ""))
    print("anchor: AgentsView 0.46.1 (Go) on the same corpus the day issue 20 was filed: p50 ms"
          " at concurrency 1, req/s at concurrency 8; 'bare gunicorn' (--floor) answers a fixed"
          " body with pg_serve's gunicorn options and no Django")
    search = next((m for m in plain if m.label == "rare-word search" and m.concurrency == 1),
                  None)
    if search is not None:
        ok = search.p50 is not None and search.p50 < TARGET_SEARCH_P50_MS
        print(f"target: rare-word search p50 < {TARGET_SEARCH_P50_MS:.0f} ms at concurrency 1:"
              f" {fmt(search.p50, '.2f')} ms [{'ok' if ok else 'MISSED'}]")

    if not with_streams:
        _print_errors(plain)
        return
    print()
    states = ", ".join(f"{n} {s}" for s, n in sorted(stream_states.items()))
    events = ", ".join(f"{n} {e}" for e, n in sorted(stream_events.items())) or "none"
    print(f"with {args.streams} SSE watch streams open ({states}; events received: {events}),"
          " concurrency 1:")
    header = (f"{'request':<18}{'p50 ms':>9}{'+streams':>10}{'p95 ms':>9}{'+streams':>10}"
              f"{'req/s':>9}{'+streams':>10}{'errors':>8}")
    print(header)
    print("-" * len(header))
    for m in with_streams:
        base = next((p for p in plain if p.label == m.label and p.concurrency == 1), m)
        print(f"{m.label:<18}{fmt(base.p50, '.2f'):>9}{fmt(m.p50, '.2f'):>10}"
              f"{fmt(base.p95, '.2f'):>9}{fmt(m.p95, '.2f'):>10}{fmt(base.rps):>9}"
              f"{fmt(m.rps):>10}{m.errors:>8}")

    _print_errors([*plain, *with_streams])


def _print_errors(measurements: list[Measurement]) -> None:
    errors = [m for m in measurements if m.errors]
    for m in errors:
        print(f"ERRORS {m.label} (conc {m.concurrency}, streams {m.streams}) GET {m.path}:"
              f" {m.errors}; e.g. {' | '.join(m.error_samples[:3])}")
    reconnects = sum(m.reconnects for m in measurements)
    if reconnects:
        print(f"note: {reconnects} requests were retried on a fresh connection (server closed"
              " an idle keep-alive connection)")


# --- main -----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=2000, help="corpus size (sessions)")
    ap.add_argument("--seed", type=int, default=1, help="corpus seed")
    ap.add_argument("--corpus", type=Path, help="corpus dir (default /tmp/bench-corpus-<N>)")
    default_py = REPO_ROOT / ".venv/bin/python"
    ap.add_argument("--python", default=str(default_py) if default_py.exists()
                    else sys.executable, help="interpreter that runs manage.py")
    ap.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres",
                    help="PostgreSQL server (its database is replaced by agentsview_bench)")
    ap.add_argument("--requests", type=int, default=200, help="timed requests per row")
    ap.add_argument("--warmup", type=int, default=20, help="untimed requests before each row")
    ap.add_argument("--streams", type=int, default=20, help="SSE watch streams to hold open")
    ap.add_argument("--max-seconds", type=float, default=120,
                    help="time limit of one row (warm-up included)")
    ap.add_argument("--request-timeout", type=float, default=30, help="per request, seconds")
    ap.add_argument("--timeout", type=float, default=1800, help="sync/push timeout, seconds")
    ap.add_argument("--analytics", action="store_true",
                    help="measure the analytics endpoints instead (concurrency 1, no streams)")
    ap.add_argument("--usage", action="store_true",
                    help="measure the usage endpoints and page instead (concurrency 1)")
    ap.add_argument("--reuse-db", action="store_true",
                    help="serve the existing benchmark database as it is (skip sync and push)")
    ap.add_argument("--database", default=BENCH_DATABASE,
                    help=f"benchmark database name (default {BENCH_DATABASE}); one per person"
                         " benchmarking on a shared server")
    ap.add_argument("--concurrency", default=",".join(map(str, CONCURRENCY)),
                    help="comma-separated concurrencies of the main rows (default 1,4)")
    ap.add_argument("--server-arg", action="append", default=[],
                    help="an option passed on to pg_serve (repeat; e.g. --server-arg=--workers=4)")
    ap.add_argument("--only", default="",
                    help="comma-separated row labels to measure (default: every row), e.g."
                         " 'first page,one project,one session,messages'")
    ap.add_argument("--floor", action="store_true",
                    help="also measure 'bare gunicorn': a WSGI app answering a fixed body (no"
                         " Django, no database) under pg_serve's gunicorn options, at each"
                         " concurrency: the floor of any request on this machine")
    args = ap.parse_args(argv)
    try:
        concurrencies = tuple(int(c) for c in args.concurrency.split(",") if c.strip())
    except ValueError:
        ap.error(f"--concurrency: not a comma-separated list of integers: {args.concurrency!r}")
    if not concurrencies or min(concurrencies) < 1:
        ap.error("--concurrency: each value must be >= 1")
    only = {label.strip() for label in args.only.split(",") if label.strip()}
    if args.requests < 1 or args.warmup < 0 or args.streams < 0:
        ap.error("--requests must be >= 1, --warmup and --streams >= 0")

    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    wall_start = time.perf_counter()
    corpus_dir = (args.corpus or Path(f"/tmp/bench-corpus-{args.sessions}")).resolve()
    ensure_corpus(corpus_dir, args.sessions, args.seed)
    work = Path(tempfile.mkdtemp(prefix="bench-api-", dir="/tmp"))
    proc: subprocess.Popen[bytes] | None = None
    streams: list[WatchStream] = []
    try:
        env = build_env(corpus_dir, work)
        manage = [args.python, str(REPO_ROOT / "manage.py")]
        reuse = args.reuse_db and bench_database_ready(args.pg_url, args.database)
        pg_url = with_database(args.pg_url, args.database) if reuse else fresh_database(
            args.pg_url, args.database)
        env.update(AGENTSVIEW_PG_URL=pg_url, AGENTSVIEW_PG_MACHINE="bench-laptop")
        if reuse:
            print(f"reusing {pg_url} as it is (no sync, no push)", flush=True)
            sync = push = None
        else:
            print("syncing the corpus into a fresh local archive ...", flush=True)
            sync = run_measured("sync", [*manage, "sync"], env, args.timeout)
            check_run(sync)
            print(f"  {sync.wall_s:.1f}s; pushing it into {pg_url} ...", flush=True)
            push = run_measured("push", [*manage, "pg_push", "--no-sync"], env, args.timeout)
            check_run(push)

        port = free_port()
        cmd = [*manage, "pg_serve", "--host", HOST, "--port", str(port), *args.server_arg]
        log = work / "server.log"
        print(f"  starting `{' '.join(cmd[1:])}` ...", flush=True)
        proc = start_server(cmd, env, log)
        ready_s = wait_ready(proc, port, cmd, log)
        server = gunicorn_settings(proc.pid, log)
        print(f"  answering /api/ping after {ready_s:.1f}s", flush=True)

        client = Client(port, args.request_timeout)
        if args.analytics or args.usage:
            stats = client.get_json("/api/v1/stats")
            plan = usage_plan(client) if args.usage else analytics_plan(client)
            client.close()
            options = {"requests": args.requests, "warmup": args.warmup,
                       "max_seconds": args.max_seconds, "request_timeout": args.request_timeout}
            plain = []
            for label, path in plan:
                print(f"measuring {label} ...", flush=True)
                plain.append(measure(port, label, path, concurrency=1, **options))
            what = "usage" if args.usage else "analytics"
            print_analytics_report(stats, plain, what)
            print("RESULT " + json.dumps({what: [m.as_dict() for m in plain],
                                          "target_p95_ms": TARGET_ANALYTICS_P95_MS}))
            return 1 if any(m.errors for m in plain) else 0
        inputs = pick_inputs(client, args.streams)
        stats = client.get_json("/api/v1/stats")
        client.close()
        print(f"rare word for search: {inputs.word!r} ({inputs.word_hits} results,"
              f" from {inputs.word_source})", flush=True)

        plan = [(label, path) for label, path in request_plan(inputs)
                if not only or label in only]
        options = {"requests": args.requests, "warmup": args.warmup,
                   "max_seconds": args.max_seconds, "request_timeout": args.request_timeout}
        plain = []
        for concurrency in concurrencies:
            for label, path in plan:
                print(f"measuring {label} at concurrency {concurrency} ...", flush=True)
                plain.append(measure(port, label, path, concurrency=concurrency, **options))

        if args.floor:
            plain += measure_floor(args, server, env, work, concurrencies, options)

        probe_error = probe_event_source(port, inputs.session_id)
        if probe_error:
            print(f"APPLICATION FAILURE: {probe_error}; the streams below send Accept: */*",
                  flush=True)
        print(f"opening {args.streams} SSE watch streams ...", flush=True)
        streams = [WatchStream(port, sid, timeout=args.max_seconds * 3)
                   for sid in inputs.stream_session_ids]
        for stream in streams:
            stream.start()
        deadline = time.monotonic() + STREAM_READY_TIMEOUT_S
        for stream in streams:
            stream.ready.wait(timeout=max(0.0, deadline - time.monotonic()))
        with_streams = []
        for label, path in plan:
            if label in STREAM_CHECKED and streams:
                print(f"measuring {label} at concurrency 1 with the streams open ...", flush=True)
                with_streams.append(measure(port, label, path, concurrency=1,
                                            streams=len(streams), **options))
        stream_states: dict[str, int] = {}
        for stream in streams:
            stream_states[stream.state] = stream_states.get(stream.state, 0) + 1
        stream_errors = [f"GET {s.path}: {s.error}" for s in streams if s.error]
        stream_errors += [probe_error] if probe_error else []
    except BenchError as exc:
        print(f"\napi_bench: the application failed: {exc}", file=sys.stderr)
        return 1
    finally:
        for stream in streams:
            stream.close()
        if proc is not None:
            print(f"server {proc.pid}: {stop_server(proc)}", flush=True)
        shutil.rmtree(work, ignore_errors=True)

    stream_events: dict[str, int] = {}
    for stream in streams:
        for name, count in stream.events.items():
            stream_events[name] = stream_events.get(name, 0) + count
    print_report(inputs, stats, server, plain, with_streams, stream_states, stream_events, args)
    for line in stream_errors:
        print(f"STREAM ERROR {line}")
    errors = sum(m.errors for m in [*plain, *with_streams]) + len(stream_errors)
    wall_s = time.perf_counter() - wall_start
    sync_s = round(sync.wall_s, 1) if sync else None
    push_s = round(push.wall_s, 1) if push else None
    print(f"whole run: {wall_s:.1f}s (sync {fmt(sync_s)}s, push {fmt(push_s)}s,"
          f" server ready {ready_s:.1f}s)")
    result = {
        "sessions": stats.get("session_count"), "messages": stats.get("message_count"),
        "requests_per_row": args.requests, "warmup": args.warmup,
        "server": {k: v for k, v in server.items() if k != "startup"},
        "inputs": {"project": inputs.project, "project_sessions": inputs.project_sessions,
                   "session_id": inputs.session_id, "session_messages": inputs.session_messages,
                   "word": inputs.word, "word_hits": inputs.word_hits},
        "results": [m.as_dict() for m in plain],
        "with_streams": [m.as_dict() for m in with_streams],
        "streams": {"opened": len(streams), "states": stream_states, "events": stream_events,
                    "errors": stream_errors},
        "go_reference_p50_ms": GO_REFERENCE_P50_MS,
        "go_reference_rps_c8": GO_REFERENCE_RPS_C8,
        "targets": {"search_p50_ms": TARGET_SEARCH_P50_MS},
        "errors": errors, "wall_s": round(wall_s, 1), "sync_s": sync_s, "push_s": push_s,
    }
    print("RESULT " + json.dumps(result, ensure_ascii=False))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
