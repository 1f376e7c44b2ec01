#!/usr/bin/env python3
"""Where one API request's time goes, in process: the WSGI application ``pg serve`` runs,
called directly (no socket, no gunicorn) over the benchmark database.

    .venv/bin/python bench/request_profile.py [--database agentsview_bench] [--requests 300]
                                              [--profile LABEL] [PATH ...]

Needs a database ``bench/api_bench.py`` filled (it leaves it in place; ``--database`` names
it). For each path (default: the first page, one project, one session and its messages,
with the inputs ``api_bench`` picks) prints the median wall time of the whole WSGI call, its
CPU time in this thread (what a loaded machine disturbs least), its SQL (every query's
execution through Django's cursor, with the query count) and the rest of the wall time
(middleware, URL resolution, DRF, the endpoint's Python, fetching rows, JSON encoding).
``--profile LABEL`` runs that row under cProfile and prints the 30 costliest functions by own
and by cumulative time. HOME and the data dir are temp dirs: no real agent folder is read.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote, urlencode

import orjson

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from push_bench import BENCH_DATABASE, with_database  # noqa: E402


def environ_for(path: str) -> dict:
    """A GET as gunicorn hands it over (loopback client, keep-alive, Accept */*)."""
    target, _, query = path.partition("?")
    return {
        "REQUEST_METHOD": "GET", "SCRIPT_NAME": "", "PATH_INFO": target, "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8080", "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": "127.0.0.1:8080", "HTTP_ACCEPT": "*/*",
        "HTTP_CONNECTION": "keep-alive", "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(),
        "wsgi.errors": sys.stderr, "wsgi.multithread": True, "wsgi.multiprocess": True,
        "wsgi.run_once": False, "wsgi.version": (1, 0),
    }


def call(app, path: str) -> tuple[str, bytes]:
    status: list[str] = []

    def start_response(s, headers, exc_info=None):
        status.append(s)

    response = app(environ_for(path), start_response)
    try:
        body = b"".join(response)
    finally:
        if hasattr(response, "close"):
            response.close()
    return status[0], body


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--database", default=BENCH_DATABASE)
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--profile", default="", help="row label to run under cProfile")
    ap.add_argument("paths", nargs="*")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-profile-"))
    os.environ.update(
        HOME=str(tmp), AGENTSVIEW_DATA_DIR=str(tmp / "data"),
        AGENTSVIEW_PG_URL=with_database(args.pg_url, args.database),
        AGENTSVIEW_PG_MACHINE="bench-laptop", AGENTSVIEW_SERVE_PG="1",
        DJANGO_SETTINGS_MODULE="agentsview.settings",
    )
    from django.db import connection

    from agentsview.wsgi import application

    first = orjson.loads(call(application, "/api/v1/sessions")[1])
    projects = orjson.loads(call(application, "/api/v1/projects")[1])["projects"]
    project = sorted(projects, key=lambda p: p["session_count"])[len(projects) // 2]["name"]
    big = orjson.loads(call(
        application, "/api/v1/sessions?order_by=messages:desc&include_one_shot=true&limit=1"
    )[1])["sessions"][0]["id"]
    session = f"/api/v1/sessions/{quote(big, safe='')}"
    rows = [(p, p) for p in args.paths] or [
        ("first page", "/api/v1/sessions"),
        ("one project", f"/api/v1/sessions?{urlencode({'project': project})}"),
        ("one session", session),
        ("messages", f"{session}/messages"),
    ]
    assert first["sessions"], "the benchmark database holds no sessions"

    sql: list[float] = []

    def timed(execute, query, params, many, context):
        start = time.perf_counter()
        try:
            return execute(query, params, many, context)
        finally:
            sql.append(time.perf_counter() - start)

    print(f"{'request':<14}{'wall ms':>9}{'cpu ms':>8}{'sql ms':>8}{'queries':>8}{'rest ms':>9}"
          f"{'bytes':>9}")
    for label, path in rows:
        walls, cpus, sqls, counts = [], [], [], []
        with connection.execute_wrapper(timed):
            for _ in range(max(10, args.requests // 10)):
                call(application, path)  # warm: connection, caches
            for _ in range(args.requests):
                sql.clear()
                start, cpu = time.perf_counter(), time.thread_time()
                status, body = call(application, path)
                walls.append(time.perf_counter() - start)
                cpus.append(time.thread_time() - cpu)
                sqls.append(sum(sql))
                counts.append(len(sql))
        if not status.startswith("200"):
            print(f"{label}: {status} {body[:200]!r}")
            return 1
        wall, spent = statistics.median(walls) * 1e3, statistics.median(sqls) * 1e3
        print(f"{label:<14}{wall:>9.2f}{statistics.median(cpus) * 1e3:>8.2f}{spent:>8.2f}"
              f"{statistics.median(counts):>8.0f}"
              f"{wall - spent:>9.2f}{len(body):>9}")
        if label == args.profile:
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(args.requests):
                call(application, path)
            profiler.disable()
            for key in ("tottime", "cumulative"):
                out = io.StringIO()
                pstats.Stats(profiler, stream=out).sort_stats(key).print_stats(30)
                print(out.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
