"""A push carrying deletes, killed (SIGKILL) wherever it is, as real processes against the real
PostgreSQL: no session is ever left half-deleted, and the next push converges."""

from __future__ import annotations

import signal

import orjson
import psycopg
import pytest

from tests.pg_processes import (
    Machine,
    inconsistent_sessions,
    pg_session_count,
    query,
    throwaway_schema,
    wait_for,
    write_corpus,
)

pytestmark = [pytest.mark.pg, pytest.mark.slow]


def orphans(url: str, schema: str) -> int:
    """Rows left behind by a session that is gone."""
    return sum(query(url, schema, f"SELECT count(*) FROM {table} t WHERE NOT EXISTS"
                                  " (SELECT 1 FROM sessions s WHERE s.id = t.session_id)")[0][0]
               for table in ("messages", "tool_calls", "tool_result_events"))


def waiting_on_a_lock(url: str, schema: str, machine: Machine) -> bool:
    return bool(query(url, schema, "SELECT 1 FROM pg_stat_activity WHERE application_name = %s"
                                   " AND wait_event_type = 'Lock'", [f"agentsview {machine.name}"]))


def test_a_killed_push_with_deletes_converges(tmp_path):
    with throwaway_schema() as (url, schema):
        laptop = Machine(tmp_path / "laptop", "laptop-a", url, schema)
        ids = write_corpus(laptop.claude, sessions=300, messages=20, size=800)
        assert laptop.run("pg_push").returncode == 0
        assert pg_session_count(url, schema) == 300
        pruned = set()
        for project in ("p1", "p2", "p3"):  # write_corpus puts session i in project p{i % 5}
            done = laptop.run("prune", "--project", project, "--yes")
            assert done.returncode == 0, done.stderr
            pruned |= {sid for i, sid in enumerate(ids) if f"p{i % 5}" == project}
        # and every session of p0 changed: the push deletes first, then sends those
        for path in (laptop.claude / "-home-dev-projects-p0").glob("*.jsonl"):
            with path.open("ab") as fh:
                fh.write(orjson.dumps({"type": "user", "timestamp": "2026-02-01T11:00:00Z",
                                       "message": {"role": "user", "content": "more"}}) + b"\n")
        assert laptop.run("sync").returncode == 0
        survivors = set(ids) - pruned

        # 1. killed while its delete batch waits on a row lock: nothing of it is committed
        victim = min(pruned)
        with psycopg.connect(url, options=f"-c search_path={schema}") as blocker:
            blocker.execute("SELECT 1 FROM sessions WHERE id = %s FOR UPDATE", [victim])
            proc = laptop.start("pg_push", "--no-sync")
            assert wait_for(lambda: proc.poll() is not None
                            or waiting_on_a_lock(url, schema, laptop), 60)
            assert proc.poll() is None, "the push should be waiting on the lock"
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            blocker.rollback()
        assert pg_session_count(url, schema) == 300
        assert inconsistent_sessions(url, schema) == [] and orphans(url, schema) == 0

        # 2. killed while it sends the changed sessions, its deletes committed before
        first_changed = min(sid for i, sid in enumerate(ids) if i % 5 == 0)
        with psycopg.connect(url, options=f"-c search_path={schema}") as blocker:
            blocker.execute("SELECT 1 FROM sessions WHERE id = %s FOR UPDATE", [first_changed])
            proc = laptop.start("pg_push", "--no-sync")
            assert wait_for(lambda: proc.poll() is not None
                            or waiting_on_a_lock(url, schema, laptop), 60)
            assert proc.poll() is None
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            blocker.rollback()
        assert proc.returncode == -signal.SIGKILL
        remaining = {row[0] for row in query(url, schema, "SELECT id FROM sessions")}
        assert remaining == survivors  # the deletes had landed, whole
        assert inconsistent_sessions(url, schema) == [] and orphans(url, schema) == 0

        # 3. wherever else a kill lands, then a push that finishes
        for delay in (0.2, 0.6):
            proc = laptop.start("pg_push", "--no-sync", "--full")
            wait_for(lambda p=proc: p.poll() is not None, delay)
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            assert inconsistent_sessions(url, schema) == [] and orphans(url, schema) == 0
        final = laptop.run("pg_push", "--no-sync")
        assert final.returncode == 0, final.stderr
        assert {row[0] for row in query(url, schema, "SELECT id FROM sessions")} == survivors
        assert query(url, schema, "SELECT count(*) FROM messages WHERE session_id = ANY(%s)",
                     [sorted(pruned)])[0][0] == 0
        verify = laptop.run("pg_status", "--verify")
        assert verify.returncode == 0, verify.stdout + verify.stderr
        assert f"Verified:    {len(survivors)} sessions identical" in verify.stdout
        assert f"Deleted:     {len(pruned)} sessions deleted here are gone" in verify.stdout
        again = laptop.run("pg_push", "--no-sync")
        assert again.stdout.startswith("Pushed 0 sessions, deleted 0, 0 messages")
