"""A fixed number of slots shared by every worker process of one server (the watch streams).

Slot *i* is an exclusive record lock on byte *i* of a file the workers share. The kernel
drops a process's locks when it exits, so a worker that is killed never leaks a slot; record
locks belong to a process, not to a thread, so each process also keeps its own slots apart
under a thread lock. Without a file the slots are this process's alone.
"""

from __future__ import annotations

import errno
import fcntl
import os
import threading
from pathlib import Path

BUSY = (errno.EACCES, errno.EAGAIN)


class SharedSlots:
    def __init__(self, capacity: int, path: str | Path | None = None) -> None:
        self.capacity = capacity
        # never closed: closing any descriptor of the file drops all this process's locks
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600) if path else None
        self._mine: set[int] = set()
        self._lock = threading.Lock()

    def acquire(self) -> int | None:
        """A free slot, now held by the caller; None when all *capacity* are taken."""
        with self._lock:
            for slot in range(self.capacity):
                if slot in self._mine:
                    continue
                if self._fd is not None:
                    try:
                        fcntl.lockf(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, slot)
                    except OSError as exc:
                        if exc.errno in BUSY:
                            continue  # another worker holds it
                        raise
                self._mine.add(slot)
                return slot
        return None

    def release(self, slot: int) -> None:
        with self._lock:
            if slot not in self._mine:
                return
            self._mine.discard(slot)
            if self._fd is not None:
                fcntl.lockf(self._fd, fcntl.LOCK_UN, 1, slot)
