"""Session store benchmark: appends and loads against a fresh PostgreSQL database.

    python bench/store_bench.py [--pg-url URL] [--entries 20000] [--batch 500]

Creates the database ``agentsview_store_bench`` (dropped first) and its schema with this
release's migrations, then measures from one process, through ``ArchiveSessionStore``:
appends of realistic Claude Code transcript lines (the fixture's lines, fresh uuids) in
batches of the SDK's size (500 entries, its MAX_PENDING_ENTRIES), and in batches of 50; and
``load`` of a 10,000-entry session (median of 5). Targets: >= 2,000 entries/s, load < 200 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import orjson
import psycopg

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
from sync_app.store import ArchiveSessionStore  # noqa: E402

DATABASE = "agentsview_store_bench"
SCHEMA = "agentsview"
FIXTURE = (REPO_ROOT / "tests" / "fixtures" / "agents" / "claude" / "synthetic" / "projects"
           / "-home-dev-projects-webapp" / "7f3c1e2a-5b6d-4e8f-9a0b-1c2d3e4f5a6b.jsonl")
TARGETS = {"appends_per_s": 2000.0, "load_10k_ms": 200.0}


def fresh_database(url: str) -> str:
    parts = urlsplit(url)
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        c.execute(f'CREATE DATABASE "{DATABASE}"')
    target = urlunsplit(parts._replace(path=f"/{DATABASE}"))
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "HOME": tmp, "AGENTSVIEW_DATA_DIR": tmp,
               "AGENTSVIEW_PG_URL": target, "AGENTSVIEW_PG_SCHEMA": SCHEMA}
        subprocess.run([sys.executable, str(REPO_ROOT / "manage.py"), "migrate",
                        "--database", "pg", "-v", "0"], env=env, check=True)
    return target


def entries(count: int) -> list[dict]:
    lines = [orjson.loads(line) for line in FIXTURE.read_bytes().splitlines() if line.strip()]
    out = []
    for i in range(count):
        entry = dict(lines[i % len(lines)])
        entry["uuid"] = str(uuid.uuid4())
        out.append(entry)
    return out


async def measure(url: str, count: int, batch: int) -> dict:
    store = await ArchiveSessionStore.connect_pg(url, schema=SCHEMA, host="bench")
    result: dict = {}
    try:
        data = entries(count)
        size = sum(len(orjson.dumps(e)) for e in data) / count
        result["entry_bytes_avg"] = round(size)
        for label, size_ in ((f"batch_{batch}", batch), ("batch_50", 50)):
            key = {"project_key": "bench", "session_id": f"append-{size_}"}
            started = time.perf_counter()
            for start in range(0, count, size_):
                await store.append(key, data[start:start + size_])
            elapsed = time.perf_counter() - started
            result[f"appends_per_s_{label}"] = round(count / elapsed)
        key = {"project_key": "bench", "session_id": "load-10k"}
        for _ in range(20):  # 10,000 entries
            await store.append(key, entries(500))
        async with store.backend.connection() as conn:  # what autovacuum would have done
            await conn.execute("ANALYZE store_entries")
        times = []
        for _ in range(5):
            started = time.perf_counter()
            loaded = await store.load(key)
            times.append((time.perf_counter() - started) * 1000)
            assert len(loaded) == 10000
        result["load_10k_ms_median"] = round(statistics.median(times), 1)
        result["load_10k_ms_max"] = round(max(times), 1)
    finally:
        await store.close()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg-url", default=os.environ.get(
        "AGENTSVIEW_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--entries", type=int, default=20000)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()
    url = fresh_database(args.pg_url)
    result = asyncio.run(measure(url, args.entries, args.batch))
    result["targets"] = TARGETS
    print(json.dumps(result, indent=2))
    ok = (result[f"appends_per_s_batch_{args.batch}"] >= TARGETS["appends_per_s"]
          and result["load_10k_ms_median"] < TARGETS["load_10k_ms"])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
