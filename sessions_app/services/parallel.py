"""Parse a large sync's files in parser processes while this one stores them.

Parsing a transcript and building its rows (digest, signals, costs) is pure, per file, and
about half of a cold sync's time; storing needs the one database connection. So a sync with
enough to do hands each file source to a pool of processes and stores their results here,
in discovery order, as they come back: one core writes while the others parse. At most
``WINDOW`` files per process, and ``WINDOW_BYTES`` of source files in all (but always one
file per process), are parsed ahead of the store, so memory stays bounded however large the
sync. Database sources are parsed here: they compare with the archive's markers.

If a parser process dies (killed, out of memory), the files not yet stored are parsed here,
one by one, as without a pool: a sync never loses a file to the pool.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

MIN_FILES = 16  # fewer files: parsing them here is quicker than starting processes
MIN_BYTES = 16 * 1024 * 1024  # likewise for less to parse (a second or so of work)
# Files per process parsed ahead of the store, and the source bytes they may add up to. Files
# differ a lot in size, and the store takes them in order: with 2 per process, the processes
# sat idle half the cold sync while a large file held up the queue (the store waited 10-11 s
# of 26 s on the 2,000-session corpus; 3.5-4.7 s of 21-23 s with 8). 16 MB syncs as fast
# as 64 MB and keeps the mixed corpus's peak summed RSS under 300 MB (296 MB; 300.5 at 64)
WINDOW = 8
WINDOW_BYTES = 16 * 1024 * 1024
WORKERS_VARIABLE = "AGENTSVIEW_SYNC_WORKERS"
_END = object()  # no item left


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def pool_size(workers: int | None, files: int, pending_bytes: int) -> int:
    """How many parser processes a sync of *files* (*pending_bytes* in all) starts: 0 for
    none. *workers* None: ``AGENTSVIEW_SYNC_WORKERS`` if set, else one per usable core."""
    if workers is None:
        configured = os.environ.get(WORKERS_VARIABLE, "").strip()
        workers = int(configured) if configured.isdigit() else usable_cores()
    if workers <= 1 or files < MIN_FILES or pending_bytes < MIN_BYTES:
        return 0
    return min(workers, files)


def _start_worker() -> None:
    # Ctrl-C reaches the whole process group: the sync itself stops the pool, the parser
    # processes need not each print a traceback
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import django
    from django.apps import apps

    if not apps.ready:  # a spawned process (not Linux) starts without the app
        django.setup()


def _context() -> multiprocessing.context.BaseContext:
    # fork on Linux: the parser processes start with the app already imported (~10 ms
    # each, instead of a Django start-up); elsewhere fork is unsafe and spawn is the default
    if sys.platform == "linux":
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def in_order(items: Iterable[T], size: int, here: Callable[[T], R], task: Callable[[T], R],
             in_pool: Callable[[T], bool],
             weight: Callable[[T], int] = lambda item: 0) -> Iterator[tuple[T, R]]:
    """``(item, result)`` for each item, in order: ``task(item)`` in a pool of *size*
    processes for the items *in_pool* accepts (*task* must pickle), ``here(item)`` in this
    process for the others, for every item when *size* is 0, and for those left when the
    pool breaks. *weight*: an item's bytes, counted against ``WINDOW_BYTES``."""
    items = iter(items)
    if size == 0:
        for item in items:
            yield item, here(item)
        return
    pool = ProcessPoolExecutor(size, mp_context=_context(), initializer=_start_worker)
    window: deque[tuple[T, Future | None]] = deque()
    broken = False
    ahead = 0  # the weight of the items in the window

    def submit_next() -> bool:
        nonlocal broken, ahead
        item = next(items, _END)
        if item is _END:
            return False
        ahead += weight(item)
        future = None
        if in_pool(item) and not broken:
            try:
                future = pool.submit(task, item)
            except BrokenProcessPool:  # a process died since the last result came back
                log.warning("a parser process stopped; parsing the rest in this one")
                broken = True
        window.append((item, future))
        return True

    def fill() -> None:
        while len(window) < size * WINDOW and (ahead < WINDOW_BYTES or len(window) < size):
            if not submit_next():
                return

    try:
        fill()
        while window:
            item, future = window.popleft()
            ahead -= weight(item)
            if future is None:
                yield item, here(item)
            else:
                try:
                    result = future.result()
                except BrokenProcessPool:
                    if not broken:
                        log.warning("a parser process stopped; parsing the rest in this one")
                    broken = True
                    result = here(item)
                except Exception:  # the result did not come back (it would not pickle)
                    log.debug("parser process failed on %s", item, exc_info=True)
                    result = here(item)
                yield item, result
            fill()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)

