"""Push benchmark: ``manage.py pg_push`` of a synced corpus into a fresh PostgreSQL database.

    python bench/push_bench.py --sessions 2000 [--corpus DIR] [--pg-url URL]

Measures, each as a separate process with its own peak RSS: the full push, a no-change push,
and a push after appending to 1% of the transcripts (the sync that picks the appends up runs
before, untimed). Then it measures the ceiling: a raw ``COPY`` of the same message rows, read
from the same local archive, into a copy of the messages table with the same indexes.
Targets for 2,000 sessions: full push < 30 s, no-change < 1 s, 1% changed < 2 s, RSS < 300 MB.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import corpus
import psycopg
from sync_bench import REPO_ROOT, build_env, check_run, ensure_corpus, run_measured

TARGETS = {"full_s": 30.0, "nochange_s": 1.0, "changed_s": 2.0, "peak_rss_mb": 300.0}
BENCH_DATABASE = "agentsview_bench"


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def fresh_database(url: str, name: str = BENCH_DATABASE) -> str:
    with psycopg.connect(with_database(url, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return with_database(url, name)


def raw_copy_rate(db: Path, pg_url: str) -> tuple[int, float]:
    """COPY every local message row into a twin of the pushed messages table (same indexes)."""
    local = sqlite3.connect(db)
    # every stored column but the surrogate key (importing the app's column list would need
    # Django set up in this process)
    cols = ", ".join(r[1] for r in local.execute("PRAGMA table_info(messages)") if r[1] != "id")
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS bench_raw CASCADE")
        conn.execute("CREATE SCHEMA bench_raw")
        conn.execute("CREATE TABLE bench_raw.messages (LIKE agentsview.messages INCLUDING ALL)")
        started = time.perf_counter()
        rows = 0
        with conn.cursor() as cur, cur.copy(f"COPY bench_raw.messages ({cols}) FROM STDIN") as cp:
            for row in local.execute(f"SELECT {cols} FROM messages ORDER BY session_id, ordinal"):
                cp.write_row(row)
                rows += 1
        elapsed = time.perf_counter() - started
        conn.execute("DROP SCHEMA bench_raw CASCADE")
    local.close()
    return rows, elapsed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--corpus", type=Path)
    ap.add_argument("--python", default=str(REPO_ROOT / ".venv/bin/python"))
    ap.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--timeout", type=float, default=1800)
    args = ap.parse_args(argv)

    corpus_dir = args.corpus or Path(f"/tmp/bench-corpus-{args.sessions}")
    ensure_corpus(corpus_dir, args.sessions, args.seed)
    work = Path(tempfile.mkdtemp(prefix="bench-push-"))
    try:
        env = build_env(corpus_dir, work)
        pg_url = fresh_database(args.pg_url)
        env.update(AGENTSVIEW_PG_URL=pg_url, AGENTSVIEW_PG_MACHINE="bench-laptop")
        manage = [args.python, str(REPO_ROOT / "manage.py")]
        print("syncing the corpus into a fresh local archive ...", flush=True)
        check_run(run_measured("sync", [*manage, "sync"], env, args.timeout))

        print("full push ...", flush=True)
        full = run_measured("full push", [*manage, "pg_push", "--no-sync"], env, args.timeout)
        check_run(full)
        print("no-change push ...", flush=True)
        nochange = run_measured("no-change push", [*manage, "pg_push", "--no-sync"], env,
                                args.timeout)
        check_run(nochange)
        appended = corpus.append_to_fraction(corpus_dir, 0.01, args.seed)
        try:
            check_run(run_measured("sync", [*manage, "sync"], env, args.timeout))
            print(f"push after changing {len(appended)} sessions ...", flush=True)
            changed = run_measured("1% changed push", [*manage, "pg_push", "--no-sync"], env,
                                   args.timeout)
            check_run(changed)
        finally:
            corpus.restore_appended(corpus_dir)
        verify = run_measured("verify", [*manage, "pg_status", "--verify"], env, args.timeout)
        check_run(verify)
        rows, copy_s = raw_copy_rate(work / "data" / "agentsview.db", pg_url)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    pushed_messages = int(full.stdout.split("Pushed ", 1)[1].split(" messages in ", 1)[0]
                          .rsplit(", ", 1)[1])
    copy_rate = rows / copy_s
    push_rate = pushed_messages / full.wall_s
    print()
    print(f"pg push benchmark: {args.sessions} sessions, {pushed_messages} messages")
    print(f"{'run':<20}{'wall s':>9}{'target s':>10}{'peak RSS MB':>13}  app summary")
    for run, target in ((full, TARGETS["full_s"]), (nochange, TARGETS["nochange_s"]),
                        (changed, TARGETS["changed_s"])):
        status = "ok" if run.wall_s < target and run.peak_rss_mb < TARGETS["peak_rss_mb"] \
            else "MISSED"
        summary = next((line for line in run.stdout.splitlines() if line.startswith("Pushed")),
                       "")
        print(f"{run.label:<20}{run.wall_s:>9.2f}{target:>10.1f}{run.peak_rss_mb:>13.1f}"
              f"  {summary}  [{status}]")
    print(f"verify: {verify.stdout.strip().splitlines()[-1]} ({verify.wall_s:.1f}s)")
    print(f"raw COPY of the same {rows} message rows (same indexes): {copy_s:.2f}s ="
          f" {copy_rate:,.0f} rows/s; the full push moved {push_rate:,.0f} messages/s"
          f" ({push_rate / copy_rate:.0%} of that ceiling, while also writing sessions,"
          " tool calls and result events)")
    result = {
        "sessions": args.sessions, "messages": pushed_messages, "full_s": round(full.wall_s, 2),
        "nochange_s": round(nochange.wall_s, 2), "changed_s": round(changed.wall_s, 2),
        "peak_rss_mb": {r.label: round(r.peak_rss_mb, 1) for r in (full, nochange, changed)},
        "raw_copy_rows_per_s": round(copy_rate), "push_messages_per_s": round(push_rate),
        "targets": TARGETS,
    }
    print("RESULT " + json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
