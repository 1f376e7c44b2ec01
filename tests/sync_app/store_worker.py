"""A process appending to the session store (the concurrency and failover tests start two):
``python -m tests.sync_app.store_worker URL SCHEMA SESSION NAME COUNT [--resume]`` (URL
``sqlite:<path>`` for a SQLite archive).

Appends entries ``NAME-0`` .. ``NAME-<COUNT-1>`` one per append, each with a ``shared-i``
entry also sent by the other worker (the same uuid from two processes must be kept once).
With ``--resume`` it first loads the session and continues after the last ``NAME-i`` found.
Prints ``appended N`` at the end.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time

from sync_app.store import ArchiveSessionStore


async def main(url: str, schema: str, session: str, name: str, count: int, resume: bool) -> int:
    if url.startswith("sqlite:"):  # sqlite:<path of the archive file>
        store = await ArchiveSessionStore.open_sqlite(url[7:], host=name)
    else:
        store = await ArchiveSessionStore.connect_pg(url, schema=schema, host=name, max_size=2)
    key = {"project_key": "concurrency", "session_id": session}
    start = 0
    if resume:
        mine = [e["n"] for e in await store.load(key) or [] if e.get("writer") == name]
        start = mine[-1] + 1 if mine else 0
    appended = 0
    start_at = float(os.environ.get("STORE_START_AT", "0"))  # both writers start together
    await asyncio.sleep(max(0.0, start_at - time.time()))
    try:
        for i in range(start, count):
            await store.append(key, [
                {"type": "user", "uuid": f"{name}-{i}", "writer": name, "n": i},
                {"type": "user", "uuid": f"shared-{i}", "writer": "shared", "n": i},
            ])
            appended += 1
            if appended == 1:
                print("started", flush=True)
    finally:
        await store.close()
    print(f"appended {appended}", flush=True)
    return 0


if __name__ == "__main__":
    args = sys.argv[1:]
    resume = "--resume" in args
    args = [a for a in args if a != "--resume"]
    sys.exit(asyncio.run(main(args[0], args[1], args[2], args[3], int(args[4]), resume)))
