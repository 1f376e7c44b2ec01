"""``pg push --watch`` as a real process against the real PostgreSQL: it pushes a new session
within the debounce, rides out PostgreSQL being cut off (a relay of our own between it and the
server, closed and reopened: the server itself is never touched), and on SIGTERM finishes the
push in flight and pushes what is pending, leaving no half session."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import threading
import time
from contextlib import contextmanager, suppress
from urllib.parse import urlsplit, urlunsplit

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


class Watching:
    """A running watcher and its output lines, read as they come."""

    def __init__(self, machine: Machine, *args: str) -> None:
        self.proc = subprocess.Popen(machine.command("pg_push", "--watch", *args),
                                     env=machine.env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        threading.Thread(target=lambda: self.lines.extend(self.proc.stdout), daemon=True).start()

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def stop(self, timeout: float = 60) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@contextmanager
def watching(machine: Machine, *args: str):
    watcher = Watching(machine, *args)
    try:
        yield watcher
    finally:
        watcher.kill()


class Relay:
    """A TCP relay to PostgreSQL that can be cut (open connections reset, new ones refused)
    and restored on the same port."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.listener: socket.socket | None = None
        self.restore()

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        with self.lock:
            for sock in self.sockets:
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self.sockets.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            with self.lock:
                self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


def through(relay: Relay, url: str) -> str:
    parts = urlsplit(url)
    user = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
    return urlunsplit(parts._replace(netloc=f"{user}127.0.0.1:{relay.port}"))


@pytest.fixture
def schema():
    with throwaway_schema() as (url, name):
        yield url, name


def test_a_new_session_is_pushed_within_the_debounce(tmp_path, schema):
    url, name = schema
    laptop = Machine(tmp_path / "laptop", "laptop-w", url, name)
    write_corpus(laptop.claude, sessions=2, messages=4, size=40)
    with watching(laptop, "--debounce", "2s", "--interval", "1h") as watcher:
        assert wait_for(lambda: pg_session_count(url, name) == 2, 60), watcher.output
        second = laptop.run("pg_push", "--watch")
        assert second.returncode == 1
        assert re.search(r"error: pg push: another pg push --watch \(pid \d+\) is watching",
                         second.stderr), second.stderr
        written = time.monotonic()
        write_corpus(laptop.claude, sessions=1, messages=4, size=40, prefix="new")
        assert wait_for(lambda: pg_session_count(url, name) == 3, 30), watcher.output
        # the debounce, plus at most one poll (1s here) and the push itself
        assert time.monotonic() - written < 2 + 1 + 3
        assert watcher.stop() == 0, watcher.output
    assert "Pushed 1 sessions, deleted 0, 4 messages" in watcher.output
    assert "Stopped; nothing pending" in watcher.output


def test_postgresql_cut_off_and_back(tmp_path, schema):
    url, name = schema
    parts = urlsplit(url)
    relay = Relay(parts.hostname, parts.port or 5432)
    laptop = Machine(tmp_path / "laptop", "laptop-cut", through(relay, url), name)
    write_corpus(laptop.claude, sessions=2, messages=4, size=40)
    with watching(laptop, "--debounce", "1s", "--interval", "5s") as watcher:
        assert wait_for(lambda: pg_session_count(url, name) == 2, 60), watcher.output
        relay.cut()
        write_corpus(laptop.claude, sessions=1, messages=4, size=40, prefix="offline")
        assert wait_for(lambda: watcher.output.count("retrying in") >= 3, 60), watcher.output
        assert pg_session_count(url, name) == 2
        relay.restore()
        assert wait_for(lambda: pg_session_count(url, name) == 3, 30), watcher.output
        assert watcher.stop() == 0, watcher.output
    failures = [line for line in watcher.lines if "retrying in" in line]
    # refused when a push connects; a push already under way when the cut came (a periodic
    # one, on a slow machine) meets it when Django opens its next connection
    assert all(("error: pg push: cannot connect to " + through(relay, url) + ": " in line
                or "error: pg push: connection failed: " in line)
               and "Connection refused" in line for line in failures), failures
    assert sum(f"cannot connect to {through(relay, url)}: " in line for line in failures) >= 2
    delays = [re.search(r"retrying in (\w+)$", line.strip()).group(1) for line in failures]
    assert delays[:3] == ["2s", "4s", "5s"], failures  # doubling, capped by the interval
    assert all(d == "5s" for d in delays[3:])
    assert "PostgreSQL answers again after" in watcher.output
    assert "Traceback" not in watcher.output
    assert inconsistent_sessions(url, name) == []


def test_sigterm_during_a_push_finishes_it_and_pushes_what_is_pending(tmp_path, schema):
    url, name = schema
    laptop = Machine(tmp_path / "laptop", "laptop-term", url, name)
    ids = write_corpus(laptop.claude, sessions=200, messages=6, size=200)
    first = laptop.run("pg_push")
    assert first.returncode == 0, first.stderr
    # every transcript grows by a message: the watcher's first push rewrites all 200
    write_corpus(laptop.claude, sessions=200, messages=7, size=200)
    middle = sorted(ids)[len(ids) // 2]
    with psycopg.connect(url, options=f"-c search_path={name}") as blocker:
        blocker.execute("SELECT 1 FROM sessions WHERE id = %s FOR UPDATE", [middle])
        with watching(laptop, "--debounce", "1s", "--interval", "1h") as watcher:
            blocked = wait_for(lambda: watcher.proc.poll() is not None or bool(query(
                url, name, "SELECT 1 FROM pg_stat_activity WHERE application_name = %s"
                " AND wait_event_type = 'Lock'", [f"agentsview {laptop.name}"])), 120)
            assert blocked and watcher.proc.poll() is None, watcher.output
            before = query(url, name, "SELECT COUNT(*) FROM sessions WHERE message_count = 7")
            assert 0 < before[0][0] < len(ids)  # half way: earlier batches committed
            pending = write_corpus(laptop.claude, sessions=3, messages=4, size=40,
                                   prefix="pending")
            watcher.proc.send_signal(signal.SIGTERM)
            time.sleep(0.5)
            assert watcher.proc.poll() is None  # still finishing the push in flight
            blocker.rollback()
            assert watcher.proc.wait(timeout=120) == 0, watcher.output
    assert inconsistent_sessions(url, name) == []
    rows = dict(query(url, name, "SELECT id, message_count FROM sessions"))
    assert all(rows[sid] == 7 for sid in ids)
    assert all(rows[sid] == 4 for sid in pending)
    assert "Stopped; everything pushed" in watcher.output, watcher.output
    assert "Traceback" not in watcher.output
    verify = laptop.run("pg_status", "--verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr
