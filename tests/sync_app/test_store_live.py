"""Live updates from the shared PostgreSQL: a watch stream hears a change committed by another
host (a store append, a push-like write) within a second, through LISTEN/NOTIFY, with change
ids; a client reconnecting with Last-Event-ID is told what it missed; a waiting stream runs no
query."""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from pathlib import Path

import orjson
import psycopg
import pytest
from django.db import connections
from django.test import Client

from agentsview import live
from tests.sync_app.store_helpers import pg_schema, pg_store, pg_url

pytestmark = pytest.mark.django_db(databases=["default", "pg"], transaction=True)

RICH = "7f3c1e2a-5b6d-4e8f-9a0b-1c2d3e4f5a6b"
FIXTURE = (Path(__file__).resolve().parents[1] / "fixtures" / "agents" / "claude" / "synthetic"
           / "projects" / "-home-dev-projects-webapp" / f"{RICH}.jsonl")
KEY = {"project_key": "-home-dev-projects-webapp", "session_id": RICH}
LINES = [orjson.loads(x) for x in FIXTURE.read_bytes().splitlines() if x.strip()]


def append(lines: list[dict], host: str) -> float:
    """Append through a store of another host, and wait for its archiving; returns when the
    append had committed (time.monotonic)."""
    async def run() -> float:
        store = await pg_store(host=host, archive_into="pg")
        try:
            await store.append(KEY, lines)
            return time.monotonic()
        finally:
            await store.close()
    committed = asyncio.run(run())
    connections["pg"].close()
    return committed


class Stream:
    """A watch stream read in a thread: its events in a queue, and whether the thread held a
    database connection after each event (a polling stream would)."""

    def __init__(self, query: str = "", **headers) -> None:
        self.response = Client().get(f"/api/v1/sessions/{RICH}/watch{query}", **headers)
        assert self.response.status_code == 200
        self.events: queue.Queue = queue.Queue()
        self.timings: queue.Queue = queue.Queue()
        self.connected: list[bool] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for chunk in self.response.streaming_content:
            fields = dict(line.split(": ", 1) for line in chunk.decode().strip().split("\n"))
            self.connected.append(connections["pg"].connection is not None)
            if fields["event"] == "session.timing":  # after each change (issue 19): set apart
                self.timings.put(fields)
                continue
            self.events.put(fields)

    def next(self, timeout: float = 3.0) -> dict:
        return self.events.get(timeout=timeout)

    def next_change(self, timeout: float = 3.0) -> tuple[dict, float]:
        """The next event other than a heartbeat, and when it came (time.monotonic)."""
        while (event := self.next(timeout))["event"] == "heartbeat":
            pass
        return event, time.monotonic()

    def close(self) -> None:
        self.response.close()


@pytest.fixture
def serve_pg(settings):
    settings.AGENTSVIEW_API_DATABASE = "pg"
    settings.AGENTSVIEW_SSE_HEARTBEAT_SECONDS = 0.4
    append(LINES[:4], "ci-runner-1")
    yield
    live.stop_all()  # its LISTEN connection would keep the test database from being dropped


def test_a_commit_through_another_host_reaches_the_stream_within_a_second(serve_pg):
    stream = Stream()
    try:
        ready = stream.next()
        assert ready["event"] == "session_ready" and int(ready["id"]) > 0
        committed = append(LINES[4:8], "ci-runner-2")  # another host's; archived, NOTIFY
        updated, arrived = stream.next_change()
        assert arrived - committed < 1.0
        assert updated["event"] == "session_updated" and updated["data"] == RICH
        assert int(updated["id"]) > int(ready["id"])
        # a push or an admin action: any committed write of the session row
        with psycopg.connect(pg_url(), autocommit=True,
                             options=f"-c search_path={pg_schema()}") as conn:
            conn.execute("UPDATE sessions SET display_name = 'renamed' WHERE id = %s", [RICH])
            committed = time.monotonic()
        pushed, arrived = stream.next_change()
        assert arrived - committed < 1.0
        assert pushed["event"] == "session_updated" and int(pushed["id"]) > int(updated["id"])
        beat = stream.next()
        assert beat["event"] == "heartbeat" and "id" not in beat
        assert stream.connected[-1] is False  # waited 0.4 s holding no connection, no query
    finally:
        stream.close()


def test_a_rolled_back_change_is_not_announced(serve_pg):
    stream = Stream()
    try:
        stream.next()
        with psycopg.connect(pg_url(), options=f"-c search_path={pg_schema()}") as conn:
            conn.execute("UPDATE sessions SET display_name = 'x' WHERE id = %s", [RICH])
            conn.rollback()
        assert stream.next()["event"] == "heartbeat"
    finally:
        stream.close()


def test_last_event_id_tells_a_reconnecting_client_what_it_missed(serve_pg):
    first = Stream()
    seen = int(first.next()["id"])
    first.close()
    append(LINES[4:8], "ci-runner-2")  # while the client was away
    again = Stream(HTTP_LAST_EVENT_ID=str(seen))
    try:
        ready, missed = again.next(), again.next()
        assert ready["event"] == "session_ready" and int(ready["id"]) > seen
        assert missed == {"id": ready["id"], "event": "session_updated", "data": RICH}
    finally:
        again.close()
    current = Stream(HTTP_LAST_EVENT_ID=ready["id"])  # nothing missed: no update
    try:
        assert current.next()["event"] == "session_ready"
        assert current.next()["event"] == "heartbeat"
    finally:
        current.close()


def test_last_event_id_as_a_parameter(serve_pg):
    first = Stream()
    seen = int(first.next()["id"])
    first.close()
    append(LINES[4:8], "ci-runner-2")
    response = Client().get(f"/api/v1/sessions/{RICH}/watch?last_event_id=x")
    assert response.status_code == 400 and "last_event_id" in response.json()["error"]
    again = Stream(f"?last_event_id={seen}")
    try:
        assert again.next()["event"] == "session_ready"
        assert again.next()["event"] == "session_updated"
    finally:
        again.close()
