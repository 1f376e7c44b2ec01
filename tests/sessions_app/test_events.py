"""/api/v1/events, the server-wide event stream (issue 19): on a SQLite archive by looking at
it, on the shared PostgreSQL from its notifications (a commit of another host is heard
within a second, a burst is one event)."""

from __future__ import annotations

import json
import queue
import threading
import time

import pytest
from django.test import Client

from sessions_app.models import Session
from tests.sessions_app.api_fixtures import HOST, load_archive
from tests.sync_app.test_store_live import LINES, Stream, append, serve_pg  # noqa: F401

RICH = "7f3c1e2a-5b6d-4e8f-9a0b-1c2d3e4f5a6b"


def read_in_thread(response) -> queue.Queue:
    events: queue.Queue = queue.Queue()

    def run() -> None:
        for chunk in response.streaming_content:
            fields = dict(line.split(": ", 1) for line in chunk.decode().strip().split("\n"))
            events.put(fields)

    threading.Thread(target=run, daemon=True).start()
    return events


@pytest.mark.django_db
def test_events_on_a_sqlite_archive(agent_env, settings, client):
    load_archive(agent_env, "default", settings)
    settings.AGENTSVIEW_SSE_POLL_SECONDS = 0.01
    settings.AGENTSVIEW_SSE_HEARTBEAT_SECONDS = 0.05
    response = client.get("/api/v1/events", HTTP_HOST=HOST)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream"
    events = iter(response.streaming_content)
    assert next(events) == b"event: events_ready\ndata: {}\n\n"
    Session.objects.filter(pk=RICH).update(deleted_at="2026-03-02T10:00:00Z")
    received = [next(events) for _ in range(3)]
    assert b'event: data_changed\ndata: {"scope":"sessions"}\n\n' in received
    assert any(e.startswith(b"event: heartbeat\ndata: 20") for e in received)
    response.close()
    assert client.get("/api/v1/events?since=1", HTTP_HOST=HOST).status_code == 400


@pytest.mark.pg
@pytest.mark.django_db(databases=["default", "pg"], transaction=True)
def test_events_hear_any_session_change_on_postgresql(serve_pg, settings):  # noqa: F811
    settings.AGENTSVIEW_SSE_POLL_SECONDS = 0.3
    response = Client().get("/api/v1/events")
    assert response.status_code == 200
    events = read_in_thread(response)
    try:
        assert events.get(timeout=5) == {"event": "events_ready", "data": "{}"}
        started = time.monotonic()
        append(LINES[4:9], "ci-runner-2")  # another host's store: several commits
        changed = events.get(timeout=5)
        assert changed == {"event": "data_changed", "data": '{"scope":"sessions"}'}
        assert time.monotonic() - started < 3
        # the burst was one event: the next is a heartbeat, not another data_changed
        assert events.get(timeout=3)["event"] == "heartbeat"
    finally:
        response.close()


@pytest.mark.pg
@pytest.mark.django_db(databases=["default", "pg"], transaction=True)
def test_watch_sends_session_timing_after_each_change(serve_pg, settings):  # noqa: F811
    stream = Stream()
    try:
        assert stream.next()["event"] == "session_ready"
        first = json.loads(stream.timings.get(timeout=3)["data"])
        assert first["session_id"] == RICH
        append(LINES[4:12], "ci-runner-2")
        updated, _ = stream.next_change()
        assert updated["event"] == "session_updated"
        later = json.loads(stream.timings.get(timeout=3)["data"])
        assert later["tool_call_count"] >= first["tool_call_count"]
        assert stream.next()["event"] == "heartbeat"
        assert stream.connected[-1] is False  # the timing's query gave its connection back
    finally:
        stream.close()
