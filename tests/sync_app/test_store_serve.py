"""End to end, real processes: a store on one host appends; a watch stream open on one
``pg serve`` hears it within a second; a client reconnecting to the other ``pg serve`` with
Last-Event-ID is told what it missed; both servers answer the session."""

from __future__ import annotations

import http.client
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

import orjson
import pytest

from tests.agentsview.test_server import running
from tests.helpers import REPO
from tests.pg_processes import Machine, throwaway_schema, wait_for

pytestmark = pytest.mark.slow

RICH = "7f3c1e2a-5b6d-4e8f-9a0b-1c2d3e4f5a6b"
FIXTURE = (Path(__file__).resolve().parents[1] / "fixtures" / "agents" / "claude" / "synthetic"
           / "projects" / "-home-dev-projects-webapp" / f"{RICH}.jsonl")
APPEND = """
import asyncio, sys, time, orjson
from sync_app.store import open_store
async def main():
    store = await open_store()
    lines = [orjson.loads(x) for x in open(sys.argv[1], 'rb').read().splitlines() if x.strip()]
    start, end = int(sys.argv[2]), int(sys.argv[3])
    await store.append({'project_key': '-home-dev-projects-webapp',
                        'session_id': sys.argv[4]}, lines[start:end])
    print(time.time(), flush=True)  # committed
    await store.close()
asyncio.run(main())
"""


def append(machine: Machine, start: int, end: int) -> float:
    """Append lines [start:end) from a process of another host; when its commit returned."""
    done = subprocess.run([sys.executable, "-c", APPEND, str(FIXTURE), str(start), str(end), RICH],
                          cwd=REPO, env={**machine.env, "PYTHONPATH": str(REPO)},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return float(done.stdout.split()[0])


def watch(port: int, headers: dict | None = None) -> queue.Queue:
    """The SSE events of one stream but its timing events, (arrival time, fields), read in a
    thread."""
    events: queue.Queue = queue.Queue()

    def read():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", f"/api/v1/sessions/{RICH}/watch", headers=headers or {})
        response = conn.getresponse()
        assert response.status == 200
        fields: dict = {}
        for raw in response:
            line = raw.decode().rstrip("\n")
            if not line:
                if fields.get("event") != "session.timing":  # follows each change (issue 19)
                    events.put((time.time(), fields))
                fields = {}
            else:
                name, _, value = line.partition(": ")
                fields[name] = value
    threading.Thread(target=read, daemon=True).start()
    return events


def test_an_append_on_one_host_reaches_a_stream_on_another_server(tmp_path):
    lines = len([x for x in FIXTURE.read_bytes().splitlines() if x.strip()])
    with throwaway_schema() as (url, schema):
        team = Machine(tmp_path / "team", "team-server", url, schema)
        runner = Machine(tmp_path / "runner", "ci-runner-3", url, schema)
        append(runner, 0, lines // 2)  # open_store creates the schema
        with running(team, "pg_serve") as one, running(team, "pg_serve") as two:
            assert wait_for(lambda: one.request("GET", f"/api/v1/sessions/{RICH}")[0] == 200, 5)
            stream = watch(one.port)
            _, ready = stream.get(timeout=10)
            assert ready["event"] == "session_ready"
            committed = append(runner, lines // 2, lines)
            arrived, updated = stream.get(timeout=5)
            assert updated["event"] == "session_updated" and updated["data"] == RICH
            assert arrived - committed < 1.0, f"{arrived - committed:.2f} s"
            assert int(updated["id"]) > int(ready["id"])
            again = watch(two.port, {"Last-Event-ID": ready["id"]})  # the other server
            first, missed = again.get(timeout=10)[1], again.get(timeout=5)[1]
            assert first["event"] == "session_ready"
            assert missed["event"] == "session_updated" and int(missed["id"]) >= int(
                updated["id"])
            detail = two.json(f"/api/v1/sessions/{RICH}")
            assert detail["machine"] == "ci-runner-3"
            assert detail == one.json(f"/api/v1/sessions/{RICH}")
            assert orjson.loads(two.request("GET", "/api/v1/machines")[1])
