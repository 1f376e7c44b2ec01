#!/usr/bin/env python3
"""Admin benchmark: the Django admin of ``manage.py pg_serve`` over a pushed corpus.

    .venv/bin/python bench/admin_bench.py --sessions 10000 [--reuse-db] [--requests N]

Syncs the corpus into a fresh local archive and pushes it into a fresh PostgreSQL database
(``agentsview_bench``; ``--reuse-db`` serves it as it is, as ``api_bench.py --reuse-db``
does), creates a staff account there, starts ``pg_serve`` on a free loopback port, signs in
to the admin and times each admin page (p50 / p95 of ``--requests`` sequential requests after
a warm-up), the confirmation pages of the actions included (nothing is deleted or redacted).
Then it counts each page's database queries in-process, on the same database. Target: every
page under 300 ms. Prints a table and one ``RESULT {json}`` line.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

# push_bench (through api_bench) imports the models: Django is set up first, on a throwaway
# data dir and home, so this process reads nothing of the machine's own archive.
_ISOLATED = Path(tempfile.mkdtemp(prefix="bench-admin-setup-"))
os.environ.update(DJANGO_SETTINGS_MODULE="agentsview.settings", HOME=str(_ISOLATED),
                  AGENTSVIEW_DATA_DIR=str(_ISOLATED / "data"))
os.environ.pop("AGENTSVIEW_PG_URL", None)
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import django  # noqa: E402

django.setup()

from api_bench import (  # noqa: E402
    HOST,
    BenchError,
    bench_database_ready,
    free_port,
    percentile,
    start_server,
    stop_server,
    wait_ready,
)
from push_bench import BENCH_DATABASE, fresh_database, with_database  # noqa: E402
from sync_bench import REPO_ROOT, build_env, check_run, ensure_corpus, run_measured  # noqa: E402

TARGET_MS = 300.0
USER, PASSWORD = "bench-admin", "bench-admin-password-123"
COUNT_QUERIES = r"""
import json, os, sys
import django
django.setup()
from django.contrib.auth import get_user_model
from django.db import connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
client = Client(HTTP_HOST="127.0.0.1")
client.force_login(get_user_model().objects.get(username=sys.argv[1]))
result = {}
for label, method, path, data in json.loads(sys.argv[2]):
    with CaptureQueriesContext(connections["default"]) as queries:
        response = getattr(client, method)(path, data) if data else client.get(path)
    result[label] = [response.status_code, len(queries)]
print(json.dumps(result))
"""


class Browser:
    """One keep-alive connection that keeps its cookies (the admin's session and CSRF)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}
        self.conn = http.client.HTTPConnection(HOST, port, timeout=60)

    def request(self, method: str, path: str, form: dict | list | None = None
                ) -> tuple[int, bytes, dict[str, str]]:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if form is not None:
            body = urlencode(form, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Referer"] = f"http://{HOST}:{self.port}{path}"
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        data = response.read()
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key] = rest.split(";", 1)[0]
        if response.will_close:
            self.conn.close()
            self.conn = http.client.HTTPConnection(HOST, self.port, timeout=60)
        return response.status, data, dict(response.getheaders())

    def csrf(self, html: bytes) -> str:
        found = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', html)
        if not found:
            raise BenchError("no CSRF token on the page")
        return found.group(1).decode()

    def sign_in(self) -> None:
        status, html, _ = self.request("GET", "/admin/login/?next=/admin/")
        form = {"username": USER, "password": PASSWORD, "next": "/admin/",
                "csrfmiddlewaretoken": self.csrf(html)}
        status, body, headers = self.request("POST", "/admin/login/?next=/admin/", form)
        if status != 302:
            raise BenchError(f"admin sign-in answered {status}: {body[:500]!r}")


def pick(env: dict[str, str], pg_url: str) -> dict[str, str]:
    """The biggest session, two ids, a marker and a word of the first messages."""
    import psycopg

    with psycopg.connect(pg_url, options="-c search_path=agentsview") as conn:
        biggest = conn.execute("SELECT id FROM sessions ORDER BY message_count DESC, id"
                               " LIMIT 1").fetchone()[0]
        two = [r[0] for r in conn.execute("SELECT id FROM sessions ORDER BY id LIMIT 2")]
        marker = conn.execute("SELECT marker_id FROM push_markers LIMIT 1").fetchone()[0]
        machine, agent, project = conn.execute(
            "SELECT machine, agent, project FROM sessions GROUP BY 1, 2, 3"
            " ORDER BY count(*) DESC LIMIT 1").fetchone()
        sessions = conn.execute("SELECT count(*) FROM sessions").fetchone()[0]
    return {"biggest": biggest, "two": two, "marker": marker, "machine": machine,
            "agent": agent, "project": project, "sessions": sessions}


def plan(inputs: dict) -> list[tuple[str, str, str, dict | None]]:
    sessions = "/admin/sessions_app/session/"
    detail = f"{sessions}{inputs['biggest']}/change/"
    selected = {"_selected_action": inputs["two"]}
    return [
        ("index", "get", "/admin/", None),
        ("sessions", "get", sessions, None),
        ("sessions, filtered", "get", f"{sessions}?machine={inputs['machine']}"
         f"&agent={inputs['agent']}&trashed=no", None),
        ("sessions, one project", "get", f"{sessions}?project={inputs['project']}", None),
        ("sessions, search", "get", f"{sessions}?q=refactor", None),
        ("sessions, by messages", "get", f"{sessions}?o=-6", None),
        ("sessions, page 100", "get", f"{sessions}?p=100", None),
        ("session detail (largest)", "get", detail, None),
        ("session detail, later pages", "get", f"{detail}?messages_from=500&tools_from=200",
         None),
        ("tombstones", "get", "/admin/sessions_app/tombstone/", None),
        ("machines", "get", "/admin/sync_app/pushmarker/", None),
        ("confirm delete of 2", "post", sessions, {"action": "delete_permanently", **selected}),
        ("redact form for 2", "post", sessions, {"action": "redact_text", **selected}),
        ("confirm delete of a machine", "post", "/admin/sync_app/pushmarker/",
         {"action": "delete_machine", "_selected_action": [inputs["marker"]]}),
    ]


def measure(browser: Browser, method: str, path: str, data: dict | None, requests: int,
            warmup: int) -> list[float]:
    times = []
    for index in range(warmup + requests):
        form = None
        if method == "post":
            _, html, _ = browser.request("GET", path.split("?")[0])
            form = {**data, "csrfmiddlewaretoken": browser.csrf(html)}
        started = time.perf_counter()
        status, body, _ = browser.request(method.upper(), path, form)
        elapsed = (time.perf_counter() - started) * 1000
        if status != 200:
            raise BenchError(f"{method.upper()} {path}: status {status}: {body[:500]!r}")
        if index >= warmup:
            times.append(elapsed)
    return times


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=10000, help="corpus size (sessions)")
    ap.add_argument("--seed", type=int, default=1, help="corpus seed")
    ap.add_argument("--corpus", type=Path, help="corpus dir (default /tmp/bench-corpus-<N>)")
    default_py = REPO_ROOT / ".venv/bin/python"
    ap.add_argument("--python", default=str(default_py) if default_py.exists()
                    else sys.executable, help="interpreter that runs manage.py")
    ap.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres",
                    help="PostgreSQL server (its database is replaced by agentsview_bench)")
    ap.add_argument("--requests", type=int, default=30, help="timed requests per page")
    ap.add_argument("--warmup", type=int, default=3, help="untimed requests before each page")
    ap.add_argument("--timeout", type=float, default=3600, help="sync/push timeout, seconds")
    ap.add_argument("--reuse-db", action="store_true",
                    help="serve the existing benchmark database as it is (skip sync and push)")
    args = ap.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="bench-admin-", dir="/tmp"))
    proc = None
    try:
        env = build_env((args.corpus or Path(f"/tmp/bench-corpus-{args.sessions}")).resolve(),
                        work)
        manage = [args.python, str(REPO_ROOT / "manage.py")]
        reuse = args.reuse_db and bench_database_ready(args.pg_url)
        if not reuse:
            ensure_corpus((args.corpus or Path(f"/tmp/bench-corpus-{args.sessions}")).resolve(),
                          args.sessions, args.seed)
        pg_url = with_database(args.pg_url, BENCH_DATABASE) if reuse else fresh_database(
            args.pg_url)
        env.update(AGENTSVIEW_PG_URL=pg_url, AGENTSVIEW_PG_MACHINE="bench-laptop")
        if not reuse:
            for label, command in (("sync", "sync"), ("push", "pg_push --no-sync")):
                print(f"{label} ...", flush=True)
                run = run_measured(label, [*manage, *command.split()], env, args.timeout)
                check_run(run)
                print(f"  {run.wall_s:.1f}s", flush=True)
        made = subprocess.run([*manage, "shell", "-c", (
            "from django.contrib.auth import get_user_model as g; U = g();"
            f" u = U.objects.using('pg').filter(username={USER!r}).first() or"
            f" U(username={USER!r}); u.is_staff = u.is_superuser = True;"
            f" u.set_password({PASSWORD!r}); u.save(using='pg')")],
            cwd=REPO_ROOT, env=env, capture_output=True, text=True)
        if made.returncode:
            raise BenchError(f"creating the staff account failed: {made.stderr[-2000:]}")
        inputs = pick(env, pg_url)
        pages = plan(inputs)

        port = free_port()
        cmd = [*manage, "pg_serve", "--host", HOST, "--port", str(port)]
        proc = start_server(cmd, env, work / "server.log")
        wait_ready(proc, port, cmd, work / "server.log")
        browser = Browser(port)
        browser.sign_in()
        rows = []
        for label, method, path, data in pages:
            print(f"measuring {label} ...", flush=True)
            times = measure(browser, method, path, data, args.requests, args.warmup)
            rows.append({"page": label, "p50_ms": round(percentile(times, 50), 1),
                         "p95_ms": round(percentile(times, 95), 1)})
        stop_server(proc)
        proc = None

        counted = subprocess.run(
            [args.python, "-c", COUNT_QUERIES, USER,
             json.dumps([[label, m, p, d] for label, m, p, d in pages])],
            cwd=REPO_ROOT, env={**env, "AGENTSVIEW_SERVE_PG": "1",
                                "DJANGO_SETTINGS_MODULE": "agentsview.settings"},
            capture_output=True, text=True)
        if counted.returncode:
            raise BenchError(f"counting queries failed: {counted.stderr[-3000:]}")
        counts = json.loads(counted.stdout.strip().splitlines()[-1])
    except BenchError as exc:
        print(f"\nadmin_bench: the application failed: {exc}", file=sys.stderr)
        return 1
    finally:
        if proc is not None:
            print(f"server {proc.pid}: {stop_server(proc)}", flush=True)
        shutil.rmtree(work, ignore_errors=True)

    print(f"\n{inputs['sessions']} sessions; largest session {inputs['biggest']}")
    print(f"{'page':<32} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8}")
    for row in rows:
        status, queries = counts[row["page"]]
        row["queries"] = queries
        flag = "" if row["p95_ms"] < TARGET_MS and status == 200 else "  <-- over target"
        print(f"{row['page']:<32} {row['p50_ms']:>8} {row['p95_ms']:>8} {queries:>8}{flag}")
    print("RESULT " + json.dumps({"sessions": inputs["sessions"], "pages": rows,
                                  "target_ms": TARGET_MS}))
    return 0 if all(r["p95_ms"] < TARGET_MS for r in rows) else 2


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
