"""``pg push --watch``: keep the shared PostgreSQL up to date without cron.

One loop in one process. Every few seconds it syncs the agent files into the archive; once the
archive has changed (through that sync or any other writer) it waits ``debounce`` for more
changes, then pushes; and it pushes at least every ``interval`` whatever happens, since even a
push with nothing to send refreshes this machine's last push, which ``/health/db`` reports.
While PostgreSQL cannot be reached it retries with exponential back-off (2 s, 4 s, ... up to
``interval`` or 5 minutes, whichever is shorter), one line per failed attempt, never a
traceback. On SIGTERM or SIGINT the push in flight runs to its end, then what is pending is
synced and pushed, and the process exits; a second signal stops it after the batch in flight.
"""

from __future__ import annotations

import fcntl
import os
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.db import DatabaseError, connections
from django.db.models import Count, Max

from agentsview.config import Config, PgConfig
from agentsview.durations import format_duration
from sessions_app.models import Session
from sessions_app.services.sync import run_sync
from sync_app.pg_connection import PgError, Target, describe
from sync_app.schema import open_for_writing
from sync_app.services.push import Pusher, Scope

BACKOFF_START = 2.0  # seconds before the first retry; doubled after each failure
BACKOFF_CAP = 300.0
POLL_MIN, POLL_MAX = 0.5, 5.0  # seconds between two syncs of the agent files
MAX_LISTED = 20
LOCK_NAME = "push-watch.lock"


class AlreadyWatching(Exception):
    """Another ``pg push --watch`` runs on this archive."""


@dataclass(frozen=True)
class WatchOptions:
    interval: float = 300.0  # push at least this often (seconds)
    debounce: float = 30.0  # after a change, wait this long for more before pushing
    sync: bool = True  # sync the agent files (False: another process keeps the archive)
    full: bool = False  # the first push sends every session

    @property
    def poll(self) -> float:
        return max(POLL_MIN, min(POLL_MAX, self.debounce / 2))

    def backoff(self, failures: int) -> float:
        """Seconds to wait after the *failures*-th failure in a row."""
        cap = min(self.interval, BACKOFF_CAP)
        return min(cap, BACKOFF_START * 2 ** min(failures - 1, 20))


@contextmanager
def only_watcher(data_dir: Path) -> Iterator[None]:
    """Hold ``<data dir>/push-watch.lock`` while watching: two watchers of one archive would
    sync and push everything twice. Raises ``AlreadyWatching`` naming the other one."""
    path = data_dir / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            other = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            raise AlreadyWatching(f"another pg push --watch (pid {other}) is watching"
                                  f" {data_dir}") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock


def archive_signature(using: str = "default") -> tuple | None:
    """Changes whenever a session is written to the archive (by anyone): every write stamps
    ``local_modified_at``, which is also what the push selects on. None when the archive
    cannot be read just now (locked): taken as a change."""
    try:
        row = Session.objects.using(using).aggregate(n=Count("pk"),
                                                     last=Max("local_modified_at"))
    except DatabaseError:
        return None
    return row["n"], row["last"]


class Watcher:
    def __init__(self, config: Config, pg: PgConfig, target: Target, scope: Scope,
                 options: WatchOptions, *, out: Callable[[str], None],
                 err: Callable[[str], None], verbosity: int = 1,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.config, self.pg, self.target, self.scope = config, pg, target, scope
        self.options = options
        self.out, self.err, self.verbosity, self.clock = out, err, verbosity, clock
        self.signals = 0
        self.failures = 0
        self.next_attempt = 0.0
        self.last_push: float | None = None
        self.dirty_since: float | None = None
        self.pushed: tuple | None = None  # the archive's signature when the last push began
        self.shown: set[str] = set()  # sync issues and conflicts already reported

    # --- the loop ------------------------------------------------------------------------
    def run(self) -> int:
        """Watch until SIGTERM/SIGINT; returns the exit code (1: pending changes could not
        be pushed before exiting)."""
        previous = {sig: signal.signal(sig, self._on_signal)
                    for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            self.say(f"Watching: pushing to {self.target.description}"
                     f" {format_duration(self.options.debounce)} after the archive changes"
                     f" and at least every {format_duration(self.options.interval)};"
                     " Ctrl+C pushes what is pending and stops")
            self._sync()
            self._attempt(full=self.options.full)
            while not self.signals:
                self._sleep(self.options.poll)
                if self.signals:
                    break
                self._sync()
                self._notice_changes()
                if self._due():
                    self._attempt()
            return self._finish()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _on_signal(self, signum, frame) -> None:
        self.signals += 1

    def _sleep(self, seconds: float) -> None:
        deadline = self.clock() + seconds
        while not self.signals and self.clock() < deadline:
            time.sleep(min(0.1, max(0.0, deadline - self.clock())))

    def _notice_changes(self) -> None:
        if self.dirty_since is None and (self.pushed is None
                                         or archive_signature() != self.pushed):
            self.dirty_since = self.clock()

    def _due(self) -> bool:
        now = self.clock()
        if now < self.next_attempt:
            return False  # backing off
        if self.failures:
            return True
        if self.dirty_since is not None and now - self.dirty_since >= self.options.debounce:
            return True
        return self.last_push is None or now - self.last_push >= self.options.interval

    def _finish(self) -> int:
        if self.signals > 1:
            self.say("Stopped after the batch in flight; the next run pushes the rest")
            return 0
        self._sync()
        if not self.failures and self.pushed is not None and archive_signature() == self.pushed:
            self.say("Stopped; nothing pending")
            return 0
        if not self._attempt(final=True):
            return 1
        self.say("Stopped; everything pushed")
        return 0

    # --- one sync, one push ----------------------------------------------------------------
    def _sync(self) -> None:
        if not self.options.sync:
            return
        try:
            report = run_sync(self.config)
        except DatabaseError as exc:  # the archive is busy or unusable: the next poll retries
            self._once(f"error: sync: {str(exc).strip() or type(exc).__name__}")
            return
        for line in [*(f"error: {e}" for e in report.errors),
                     *(f"warning: {w}" for w in report.warnings)]:
            self._once(line)
        if report.sessions_written and self.verbosity >= 2:
            self.say(report.summary_line())

    def _attempt(self, *, full: bool = False, final: bool = False) -> bool:
        """One push; False when PostgreSQL could not take it (then back off)."""
        signature = archive_signature()
        try:
            open_for_writing(self.pg, "pg push")
            pusher = Pusher(self.pg, self.target, self.scope, stop=lambda: self.signals > 1)
            report = pusher.run(full=full)
        except (PgError, DatabaseError) as exc:
            reason = "error: " + (str(exc) if isinstance(exc, PgError)
                                  else f"pg push: {describe(exc, self.pg)}")
            self.failures += 1
            if final:
                self.say(f"{reason}; not pushed before exiting: the next run pushes it",
                         err=True)
                return False
            delay = self.options.backoff(self.failures)
            self.next_attempt = self.clock() + delay
            self.say(f"{reason}; retrying in {format_duration(delay)}", err=True)
            return False
        finally:
            connections["pg"].close()  # a fresh connection per push: nothing stale survives
        if self.failures:
            self.say(f"PostgreSQL answers again after {self.failures} failed attempt(s)")
        self.failures, self.next_attempt = 0, 0.0
        self.last_push = self.clock()
        self.pushed = None if report.stopped else signature
        unchanged = signature is not None and archive_signature() == signature
        self.dirty_since = None if unchanged else self.clock()
        for session_id in report.conflicts[:MAX_LISTED]:
            self._once(f"ownership conflict: {session_id} is owned by another machine in"
                       " PostgreSQL; not overwritten")
        for session_id, reason in report.errors[:MAX_LISTED]:
            self.say(f"error: session {session_id}: {reason}", err=True)
        if report.sessions or report.errors or report.full_reason or self.verbosity >= 2:
            self.say(report.summary_line())
            if report.full_reason:
                self.say(f"PostgreSQL push mode: full ({report.full_reason})")
        return True

    # --- output --------------------------------------------------------------------------
    def say(self, line: str, *, err: bool = False) -> None:
        if self.verbosity < 1 and not err:
            return
        # journald stamps each line itself; a plain log file (launchd) needs the time
        stamp = "" if os.environ.get("JOURNAL_STREAM") else time.strftime("%Y-%m-%d %H:%M:%S ")
        (self.err if err else self.out)(stamp + line)

    def _once(self, line: str) -> None:
        """Report a line the first time only: a broken transcript is met at every sync."""
        if line not in self.shown:
            self.shown.add(line)
            self.say(line, err=line.startswith("error"))
