"""The session store across processes, on the real PostgreSQL: two writers of one session
serialise (nothing lost, nothing doubled, each writer's order kept), and a writer killed
mid-session is followed by a fresh process that loads everything and appends where it left
off."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sync_app.store import ArchiveSessionStore
from tests.sync_app.store_helpers import pg_schema, pg_store, pg_url, sqlite_archive

pytestmark = [pytest.mark.slow,
              pytest.mark.django_db(databases=["default", "pg"], transaction=True)]
REPO = Path(__file__).resolve().parents[2]


def worker(session: str, name: str, count: int, *, resume: bool = False,
           start_at: float = 0.0, url: str | None = None) -> subprocess.Popen:
    args = [sys.executable, "-m", "tests.sync_app.store_worker", url or pg_url(), pg_schema(),
            session, name, str(count)]
    return subprocess.Popen([*args, *(["--resume"] if resume else [])], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO),
                                 "STORE_START_AT": str(start_at)})


def load(session: str) -> list[dict]:
    async def run():
        store = await pg_store()
        try:
            return await store.load({"project_key": "concurrency", "session_id": session})
        finally:
            await store.close()
    return asyncio.run(run())


def check(entries: list[dict], writers: dict[str, int]) -> None:
    """Every writer's entries once and in order, every shared entry once."""
    uuids = [e["uuid"] for e in entries]
    assert len(uuids) == len(set(uuids)), "an entry was stored twice"
    for name, count in writers.items():
        assert [e["n"] for e in entries if e["writer"] == name] == list(range(count))
    assert sorted(e["n"] for e in entries if e["writer"] == "shared") == list(
        range(max(writers.values())))


def test_two_processes_append_a_thousand_each_to_one_session():
    start_at = time.time() + 2.0  # both connected by then
    procs = [worker("two-writers", name, 1000, start_at=start_at) for name in ("alpha", "beta")]
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert out.strip().endswith("appended 1000")
    entries = load("two-writers")
    assert len(entries) == 3000  # 2 x 1,000 of their own, 1,000 shared
    check(entries, {"alpha": 1000, "beta": 1000})
    writers = [e["writer"] for e in entries if e["writer"] != "shared"]
    switches = sum(1 for a, b in zip(writers, writers[1:], strict=False) if a != b)
    assert switches > 100, "the two writers did not run at the same time"


def test_two_processes_append_to_one_sqlite_session(tmp_path):
    path = sqlite_archive(tmp_path / "archive.sqlite3")
    start_at = time.time() + 2.0
    procs = [worker("sqlite", name, 200, start_at=start_at, url=f"sqlite:{path}")
             for name in ("alpha", "beta")]
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert out.strip().endswith("appended 200")

    async def load_all():
        store = await ArchiveSessionStore.open_sqlite(path)
        try:
            return await store.load({"project_key": "concurrency", "session_id": "sqlite"})
        finally:
            await store.close()
    entries = asyncio.run(load_all())
    assert len(entries) == 600
    check(entries, {"alpha": 200, "beta": 200})


def test_a_killed_writer_is_followed_by_a_fresh_process():
    first = worker("failover", "gamma", 100000)
    assert first.stdout.readline().strip() == "started"
    time.sleep(1.0)
    first.send_signal(signal.SIGKILL)  # mid-session: no close, maybe mid-transaction
    first.wait(timeout=10)
    before = load("failover")
    assert 10 < len(before) < 200000
    check(before, {"gamma": len(before) // 2})  # whole appends only: a prefix, no gap
    second = worker("failover", "gamma", len(before) // 2 + 300, resume=True)
    out, err = second.communicate(timeout=60)
    assert second.returncode == 0, err
    assert out.strip().endswith("appended 300")
    after = load("failover")
    assert after[:len(before)] == before
    check(after, {"gamma": len(before) // 2 + 300})
