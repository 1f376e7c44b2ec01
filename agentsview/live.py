"""Live session changes on the shared PostgreSQL, without polling: a trigger numbers every
committed change of a session (``session_changes``) and NOTIFYs ``<id> <session id>``; each
server process holds one LISTEN connection (``Hub``) and hands the notifications to the watch
streams it serves. Change ids are the database's, the same on every server host, so a client
that reconnects elsewhere with ``Last-Event-ID`` is told what it missed.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
from django.db import DatabaseError, connections

from agentsview.timefmt import rfc3339

log = logging.getLogger(__name__)
CHANGES_TABLE = "session_changes"  # sync_app.models.SessionChange (its migration: the trigger)
RESYNC = -1  # queued after a reconnect: notifications may have been missed meanwhile
RECONNECT_DELAYS = (0.5, 1, 2, 5)
EVERY = "*"  # the subscription to every session's changes (the server-wide event stream)


def channel(schema: str) -> str:
    return f"agentsview_sessions:{schema}"


def available(using: str) -> bool:
    """Whether *using* is a PostgreSQL database that announces changes (the trigger's table
    exists: migrated by this release)."""
    connection = connections[using]
    if connection.vendor != "postgresql" or not connection.settings_dict.get("SCHEMA"):
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [CHANGES_TABLE])
        return bool(cursor.fetchone()[0])


def latest_change(session_id: str, using: str) -> int:
    with connections[using].cursor() as cursor:
        cursor.execute(f"SELECT max(id) FROM {CHANGES_TABLE} WHERE session_id = %s",
                       [session_id])
        return cursor.fetchone()[0] or 0


class Hub:
    """One LISTEN connection of this process, in a thread, started by the first subscriber;
    after a lost connection it reconnects and tells every stream to look for what it may have
    missed (one query per stream, then back to waiting)."""

    def __init__(self, using: str) -> None:
        self.using = using
        self.lock = threading.Lock()
        self.subscribers: dict[str, set[queue.SimpleQueue]] = {}
        self.listening = threading.Event()
        self.thread: threading.Thread | None = None
        self.stopping = False

    def subscribe(self, session_id: str) -> queue.SimpleQueue:
        inbox: queue.SimpleQueue = queue.SimpleQueue()
        with self.lock:
            self.subscribers.setdefault(session_id, set()).add(inbox)
            if self.thread is None:
                self.thread = threading.Thread(target=self._listen, daemon=True,
                                               name=f"agentsview-listen-{self.using}")
                self.thread.start()
        return inbox

    def unsubscribe(self, session_id: str, inbox: queue.SimpleQueue) -> None:
        with self.lock:
            boxes = self.subscribers.get(session_id)
            if boxes is not None:
                boxes.discard(inbox)
                if not boxes:
                    del self.subscribers[session_id]

    def _dispatch(self, payload: str) -> None:
        change, _, session_id = payload.partition(" ")
        with self.lock:
            boxes = [*self.subscribers.get(session_id, ()), *self.subscribers.get(EVERY, ())]
        for inbox in boxes:
            inbox.put(int(change))

    def _resync_all(self) -> None:
        with self.lock:
            boxes = [b for group in self.subscribers.values() for b in group]
        for inbox in boxes:
            inbox.put(RESYNC)

    def _listen(self) -> None:
        db = connections[self.using]
        params = db.get_connection_params()
        name = channel(db.settings_dict["SCHEMA"])
        failures = 0
        while not self.stopping:
            try:
                with psycopg.connect(**params, autocommit=True) as conn:
                    conn.execute(f'LISTEN "{name}"')
                    if failures:
                        self._resync_all()
                    failures = 0
                    self.listening.set()
                    while not self.stopping:
                        for notice in conn.notifies(timeout=1.0):
                            self._dispatch(notice.payload)
            except psycopg.Error as exc:
                self.listening.clear()
                delay = RECONNECT_DELAYS[min(failures, len(RECONNECT_DELAYS) - 1)]
                failures += 1
                log.warning("live updates: %s; listening again in %ss",
                            str(exc).strip().splitlines()[0] if str(exc).strip() else exc,
                            delay)
                time.sleep(delay)


def _release(using: str) -> None:
    """No database connection held while a stream waits (500 streams, not 500 connections);
    left alone inside a transaction (a test's)."""
    connection = connections[using]
    if not connection.in_atomic_block:
        connection.close()


_hubs: dict[str, Hub] = {}
_hubs_lock = threading.Lock()


def hub(using: str) -> Hub:
    with _hubs_lock:
        if using not in _hubs:
            _hubs[using] = Hub(using)
        return _hubs[using]


def stop_all() -> None:
    """Close every LISTEN connection of this process (tests: before dropping the database)."""
    with _hubs_lock:
        hubs = list(_hubs.values())
        _hubs.clear()
    for each in hubs:
        each.stopping = True
        if each.thread is not None:
            each.thread.join(timeout=5)


def watch(session_id: str, using: str, *, heartbeat: float, last_event_id: int | None = None
          ) -> Iterator[tuple[str, str, int | None]]:
    """``(event, data, id)`` forever, as ``endpoints.watch_events`` yields them, from the
    notifications: session_ready (its id the session's latest change), session_updated for
    each change (a burst is one event, with the latest id; one for the changes after
    *last_event_id* at once), a heartbeat without id on an interval."""
    live = hub(using)
    inbox = live.subscribe(session_id)
    try:
        live.listening.wait(timeout=5)  # LISTEN first: a commit from now on is heard
        last = latest_change(session_id, using)
        _release(using)
        yield "session_ready", session_id, last
        if last_event_id is not None and last > last_event_id:
            yield "session_updated", session_id, last
        next_beat = time.monotonic() + heartbeat
        while True:
            try:
                change = inbox.get(timeout=max(0.0, next_beat - time.monotonic()))
            except queue.Empty:
                next_beat = time.monotonic() + heartbeat
                yield "heartbeat", rfc3339(datetime.now(UTC).replace(microsecond=0)), None
                continue
            changes = [change]
            while not inbox.empty():  # a burst (a push of many messages): one event
                changes.append(inbox.get_nowait())
            if RESYNC in changes:
                try:
                    changes.append(latest_change(session_id, using))
                    _release(using)
                except DatabaseError:
                    continue  # the listener's reconnect asks again
            newest = max(changes)
            if newest > last:
                last = newest
                yield "session_updated", session_id, last
    finally:
        live.unsubscribe(session_id, inbox)


def watch_every(using: str, *, heartbeat: float, coalesce: float
                ) -> Iterator[tuple[str, str, None]]:
    """``(event, data, None)`` forever for the server-wide stream (``/api/v1/events``):
    events_ready, then one data_changed for the changes of any session within *coalesce*
    seconds, a heartbeat on an interval."""
    live = hub(using)
    inbox = live.subscribe(EVERY)
    try:
        live.listening.wait(timeout=5)
        _release(using)
        yield "events_ready", "{}", None
        next_beat = time.monotonic() + heartbeat
        while True:
            try:
                inbox.get(timeout=max(0.0, next_beat - time.monotonic()))
            except queue.Empty:
                next_beat = time.monotonic() + heartbeat
                yield "heartbeat", rfc3339(datetime.now(UTC).replace(microsecond=0)), None
                continue
            deadline = time.monotonic() + coalesce
            while (left := deadline - time.monotonic()) > 0:  # a burst: one event
                try:
                    inbox.get(timeout=left)
                except queue.Empty:
                    break
            yield "data_changed", DATA_CHANGED, None
    finally:
        live.unsubscribe(EVERY, inbox)


DATA_CHANGED = '{"scope":"sessions"}'
