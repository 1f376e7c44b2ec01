"""``pg push`` as real processes against the real PostgreSQL, with faults: killed pushers, cut
connections, a missing server, a dropped schema, two machines at once, a read-only role, and
wrong passwords."""

from __future__ import annotations

import shutil
import signal
import uuid

import psycopg
import pytest

from tests.pg_processes import (
    Machine,
    inconsistent_sessions,
    password_cluster,
    pg_session_count,
    push_blocked_midway,
    query,
    throwaway_schema,
    wait_for,
    write_corpus,
)

pytestmark = [pytest.mark.pg, pytest.mark.slow]


@pytest.fixture
def schema():
    with throwaway_schema() as (url, name):
        yield url, name


def make_machine(tmp_path, schema, name="laptop-a") -> Machine:
    url, schema_name = schema
    return Machine(tmp_path / name, name, url, schema_name)


def test_killed_pushes_never_leave_half_a_session(tmp_path, schema):
    url, name = schema
    laptop = make_machine(tmp_path, schema)
    ids = write_corpus(laptop.claude, sessions=400, messages=30, size=1500)
    assert laptop.run("sync").returncode == 0
    # wherever a kill lands (timing decides for these two) ...
    for threshold in (1, 150):
        proc = laptop.start("pg_push", "--no-sync")
        wait_for(lambda p=proc, t=threshold: p.poll() is not None or
                 pg_session_count(url, name) >= t, timeout=120)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        assert inconsistent_sessions(url, name) == []
    # ... and certainly in the middle of a push, with a batch open
    with push_blocked_midway(laptop, url, name, ids) as proc:
        before = pg_session_count(url, name)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert 0 < before <= len(ids)  # some of the --full push had landed
    assert inconsistent_sessions(url, name) == []
    final = laptop.run("pg_push", "--no-sync")
    assert final.returncode == 0, final.stderr
    assert pg_session_count(url, name) == len(ids)
    verify = laptop.run("pg_status", "--verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert f"Verified:    {len(ids)} sessions identical" in verify.stdout


def test_cut_connection_fails_cleanly_and_the_next_push_converges(tmp_path, schema):
    url, name = schema
    laptop = make_machine(tmp_path, schema)
    ids = write_corpus(laptop.claude, sessions=400, messages=30, size=1500)
    assert laptop.run("sync").returncode == 0
    laptop.run("pg_push", "--no-sync", "--projects", "p1")
    watermark = laptop.watermark()
    with push_blocked_midway(laptop, url, name, ids) as proc:
        killed = query(url, name, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                                  " WHERE application_name = %s", [f"agentsview {laptop.name}"])
        out, err = proc.communicate(timeout=120)
    assert killed and proc.returncode == 1, (out, err)
    assert "error: pg push: lost the connection to PostgreSQL after" in err
    assert "Traceback" not in err
    assert laptop.watermark() == watermark  # the full push's watermark did not move
    assert inconsistent_sessions(url, name) == []
    again = laptop.run("pg_push", "--no-sync")
    assert again.returncode == 0, again.stderr
    assert pg_session_count(url, name) == len(ids)
    assert laptop.run("pg_status", "--verify").returncode == 0
    assert laptop.watermark() is not None


def test_unreachable_server(tmp_path, schema):
    laptop = make_machine(tmp_path, schema)
    write_corpus(laptop.claude, sessions=3, messages=4, size=50)
    down = laptop.run("pg_push", AGENTSVIEW_PG_URL="postgresql://postgres@127.0.0.1:1/x")
    assert down.returncode == 1
    assert down.stderr.strip().splitlines()[-1].startswith(
        "error: pg push: cannot connect to postgresql://postgres@127.0.0.1:1/x:"
    )
    assert "Traceback" not in down.stderr
    assert laptop.watermark() is None


def test_dropped_schema_is_detected_recreated_and_refilled(tmp_path, schema):
    url, name = schema
    laptop = make_machine(tmp_path, schema)
    ids = write_corpus(laptop.claude, sessions=20, messages=6, size=100)
    first = laptop.run("pg_push")
    assert first.returncode == 0, first.stderr
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{name}" CASCADE')
    status = laptop.run("pg_status")
    assert "PG sessions: 0" in status.stdout and "Last push:   never" not in status.stdout
    again = laptop.run("pg_push")
    assert again.returncode == 0, again.stderr
    assert "PostgreSQL push mode: full (PG push marker missing)" in again.stdout
    assert f"Pushed {len(ids)} sessions" in again.stdout
    assert pg_session_count(url, name) == len(ids)


def test_two_machines_pushing_at_once(tmp_path, schema):
    url, name = schema
    alice = make_machine(tmp_path, schema, "alice-laptop")
    bob = make_machine(tmp_path, schema, "bob-desktop")
    a_ids = write_corpus(alice.claude, sessions=150, messages=10, size=400, prefix="a")
    b_ids = write_corpus(bob.claude, sessions=150, messages=10, size=400, prefix="b")
    shared = next(alice.claude.rglob(f"{a_ids[0]}.jsonl"))
    target = bob.claude / shared.parent.name / shared.name
    shutil.copyfile(shared, target)  # the same session id on both machines
    for machine in (alice, bob):
        assert machine.run("sync").returncode == 0
    procs = [machine.start("pg_push", "--no-sync") for machine in (alice, bob)]
    results = [p.communicate(timeout=300) for p in procs]
    for proc, (_, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
        assert "deadlock" not in err
    conflicts = [out for out, _ in results if "1 ownership conflict(s)" in out]
    assert len(conflicts) == 1
    assert pg_session_count(url, name) == len(set(a_ids) | set(b_ids) | {a_ids[0]})
    owners = dict(query(url, name, "SELECT machine, COUNT(*) FROM sessions GROUP BY machine"))
    assert sum(owners.values()) == 300 and set(owners) == {"alice-laptop", "bob-desktop"}
    assert inconsistent_sessions(url, name) == []


def test_read_only_role(tmp_path, schema):
    url, name = schema
    owner = make_machine(tmp_path, schema, "owner")
    write_corpus(owner.claude, sessions=5, messages=4, size=50)
    assert owner.run("pg_push").returncode == 0
    role = f"ro_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{role}" LOGIN')
        conn.execute(f'GRANT USAGE ON SCHEMA "{name}" TO "{role}"')
        conn.execute(f'GRANT SELECT ON ALL TABLES IN SCHEMA "{name}" TO "{role}"')
    try:
        reader = make_machine(tmp_path, schema, "reader")
        write_corpus(reader.claude, sessions=3, messages=4, size=50, prefix="r")
        ro_url = url.replace("postgres@", f"{role}@")
        denied = reader.run("pg_push", AGENTSVIEW_PG_URL=ro_url)
        assert denied.returncode == 1
        assert f"error: pg push: the PostgreSQL role may not write to schema {name}" \
            in denied.stderr
        fresh = reader.run("pg_push", AGENTSVIEW_PG_URL=ro_url,
                           AGENTSVIEW_PG_SCHEMA=f"{name}_new")
        assert fresh.returncode == 1
        assert f"error: pg push: cannot create or update the schema {name}_new:" in fresh.stderr
        status = reader.run("pg_status", AGENTSVIEW_PG_URL=ro_url)  # reading is fine
        assert status.returncode == 0 and "PG sessions: 5" in status.stdout
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP OWNED BY "{role}" CASCADE')
            conn.execute(f'DROP ROLE "{role}"')


def test_passwords_never_appear(tmp_path):
    secret = "Wr0ng-Pa55-s3cr3t"
    with password_cluster("right-password") as port:
        machine = Machine(tmp_path / "m", "m", f"postgresql://postgres:right-password@127.0.0.1:"
                          f"{port}/postgres", "agentsview")
        ok = machine.run("pg_status")
        assert ok.returncode == 0, ok.stderr  # the right password works: auth is real
        urls = [
            f"postgresql://postgres:{secret}@127.0.0.1:{port}/postgres",
            f"postgresql://postgres@127.0.0.1:{port}/postgres?password={secret}",
        ]
        for url in urls:
            for args in (("pg_status",), ("pg_push", "--no-sync"), ("pg_push", "--traceback")):
                proc = machine.run(*args, AGENTSVIEW_PG_URL=url, AGENTSVIEW_LOG_LEVEL="DEBUG")
                assert proc.returncode == 1, (args, proc.stderr)
                assert "password authentication failed" in proc.stderr
                assert secret not in proc.stdout + proc.stderr, (args, url)
