"""Live-update benchmark: watch streams on ``pg serve`` fed by the session store.

    python bench/store_watch_bench.py [--pg-url URL] [--streams 500] [--sessions 50]

On a fresh database (``agentsview_store_watch_bench``) it stores --sessions sessions through
the session store, starts two ``pg serve`` processes (A with --threads streams+20, B with the
defaults), and measures: the sessions list's latency on A idle and with --streams watch
streams open on A (target: p95 within 2x of idle); and the time from an append's commit (this
process, a third host) to ``session_updated`` on a stream open on B (target: p95 < 1 s).
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import orjson
import psycopg

REPO_ROOT = Path(__file__).resolve().parent.parent
DATABASE = "agentsview_store_watch_bench"
FIXTURE = (REPO_ROOT / "tests" / "fixtures" / "agents" / "claude" / "synthetic" / "projects"
           / "-home-dev-projects-webapp" / "7f3c1e2a-5b6d-4e8f-9a0b-1c2d3e4f5a6b.jsonl")


def fresh_database(url: str) -> str:
    parts = urlsplit(url)
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        c.execute(f'CREATE DATABASE "{DATABASE}"')
    return urlunsplit(parts._replace(path=f"/{DATABASE}"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(env: dict, *args: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(REPO_ROOT / "manage.py"), "pg_serve",
                             "--port", str(port), *args], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    state = Path(env["AGENTSVIEW_DATA_DIR"]) / f"server.{port}.json"
    deadline = time.time() + 90
    while not state.exists():
        if proc.poll() is not None or time.time() > deadline:
            raise SystemExit("pg serve did not start")
        time.sleep(0.1)
    return proc, port


def latencies(port: int, path: str, count: int) -> list[float]:
    out = []
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for _ in range(count):
        started = time.perf_counter()
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        assert response.status == 200, response.status
        out.append((time.perf_counter() - started) * 1000)
    conn.close()
    return out


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18]


def open_stream(port: int, session_id: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.sendall(f"GET /api/v1/sessions/{session_id}/watch HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                 "\r\n".encode())
    data = b""
    while b"session_ready" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise SystemExit(f"stream closed: {data[:200]!r}")
        data += chunk
    return sock


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg-url", default=os.environ.get(
        "AGENTSVIEW_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--streams", type=int, default=500)
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--appends", type=int, default=40)
    args = parser.parse_args()
    url = fresh_database(args.pg_url)
    tmp = tempfile.mkdtemp(prefix="store-watch-bench-")
    env = {**os.environ, "HOME": tmp, "AGENTSVIEW_DATA_DIR": tmp, "AGENTSVIEW_PG_URL": url,
           "AGENTSVIEW_PG_MACHINE": "bench-runner", "DJANGO_SETTINGS_MODULE":
           "agentsview.settings", "PYTHONPATH": str(REPO_ROOT)}
    os.environ.update(env)
    sys.path.insert(0, str(REPO_ROOT))
    import django

    django.setup()
    from sync_app.store import open_store

    lines = [orjson.loads(x) for x in FIXTURE.read_bytes().splitlines() if x.strip()]
    watched = str(uuid.uuid4())

    async def fill(store):
        for i in range(args.sessions):
            sid = watched if i == 0 else str(uuid.uuid4())
            batch = [{**line, "sessionId": sid, "uuid": f"{sid}-{n}"}
                     for n, line in enumerate(lines)]
            await store.append({"project_key": "bench", "session_id": sid}, batch)
        await store.archiver.flush()

    async def session_store():
        return await open_store(host="bench-runner")

    loop = asyncio.new_event_loop()
    store = loop.run_until_complete(session_store())
    loop.run_until_complete(fill(store))
    servers = []
    result: dict = {"streams": args.streams, "sessions": args.sessions}
    try:
        a, port_a = start_server(env, "--threads", str(args.streams + 20))
        b, port_b = start_server(env)
        servers = [a, b]
        path = "/api/v1/sessions?include_one_shot=true"
        latencies(port_a, path, 10)  # warm
        idle = latencies(port_a, path, 100)
        socks = [open_stream(port_a, watched) for _ in range(args.streams)]
        loaded = latencies(port_a, path, 100)
        result.update(list_idle_p50_ms=round(statistics.median(idle), 1),
                      list_idle_p95_ms=round(p95(idle), 1),
                      list_with_streams_p50_ms=round(statistics.median(loaded), 1),
                      list_with_streams_p95_ms=round(p95(loaded), 1))
        result["p95_ratio"] = round(result["list_with_streams_p95_ms"]
                                    / result["list_idle_p95_ms"], 2)
        watcher = open_stream(port_b, watched)
        watcher.settimeout(10)
        async def appends() -> list[float]:
            """Each append, then the wait for its event (the loop keeps running the store's
            background archiving meanwhile)."""
            delays = []
            for n in range(args.appends):
                entry = {**lines[-1], "sessionId": watched, "uuid": f"{watched}-extra-{n}"}
                await store.append({"project_key": "bench", "session_id": watched}, [entry])
                committed = time.perf_counter()
                data = b""
                while b"session_updated" not in data:
                    data += await asyncio.to_thread(watcher.recv, 65536)
                delays.append((time.perf_counter() - committed) * 1000)
                await asyncio.sleep(0.3)
            return delays

        delays = loop.run_until_complete(appends())
        result.update(append_to_event_p50_ms=round(statistics.median(delays), 1),
                      append_to_event_p95_ms=round(p95(delays), 1))
        for sock in socks:
            sock.close()
        watcher.close()
    finally:
        loop.run_until_complete(store.close())
        for proc in servers:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
    print(json.dumps(result, indent=2))
    ok = result["p95_ratio"] <= 2.0 and result["append_to_event_p95_ms"] < 1000
    return 0 if ok else 1


if __name__ == "__main__":
    threading.stack_size(512 * 1024)
    sys.exit(main())
