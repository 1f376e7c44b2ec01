"""``open_store()``: the session store of this installation, for a process of its own (a
script running the SDK, agent-webkit-server). It reads agentsview's configuration (the
``[pg]`` table of config.toml or ``AGENTSVIEW_PG_URL``...), sets Django up when nobody has,
migrates the schema, and returns a store that parses what it is given into the archive."""

from __future__ import annotations

import asyncio
import os
from urllib.parse import quote

from sync_app.store.store import ArchiveSessionStore


def _django() -> None:
    import django
    from django.apps import apps

    if not apps.ready:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "agentsview.settings")
        django.setup()


def url_of(alias: str) -> str:
    """The URL of the PostgreSQL a Django alias reaches (the store's pool and the archive
    must be one database)."""
    from django.db import connections

    s = connections[alias].settings_dict
    auth = quote(s["USER"] or "", safe="")
    if s["PASSWORD"]:
        auth += ":" + quote(s["PASSWORD"], safe="")
    host = s["HOST"] or "127.0.0.1"
    query = ""
    sslmode = s.get("OPTIONS", {}).get("sslmode")
    if sslmode:
        query = f"?sslmode={quote(str(sslmode))}"
    return f"postgresql://{auth}@{host}:{s['PORT'] or 5432}/{quote(s['NAME'], safe='')}{query}"


async def open_store(*, host: str | None = None, archive: bool = True, min_size: int = 1,
                     max_size: int = 10, timeout: float = 10.0) -> ArchiveSessionStore:
    """The shared PostgreSQL's store when ``[pg]`` is configured, else the local archive's;
    *host* (default: the configured machine name) is the machine of its sessions."""
    _django()
    from django.conf import settings
    from django.db import connections

    from agentsview.schema import ensure_schema

    config = settings.AGENTSVIEW
    if config.pg is not None:
        from sync_app.schema import open_for_writing

        pg = config.pg
        await asyncio.to_thread(_closing, "pg", open_for_writing, pg, "session store")
        store = await ArchiveSessionStore.connect_pg(
            url_of("pg"), schema=connections["pg"].settings_dict["SCHEMA"],
            host=host or pg.machine_name, min_size=min_size, max_size=max_size,
            timeout=timeout, archive_into="pg" if archive else None)
    else:
        await asyncio.to_thread(_closing, "default", ensure_schema, "default")
        store = await ArchiveSessionStore.open_sqlite(
            connections["default"].settings_dict["NAME"], host=host or config.machine_name,
            archive_into="default" if archive else None)
    if store.archiver is not None:
        await store.archiver.warm_up()
        await store.archiver.catch_up()  # what a writer that died left unparsed
    return store


def _closing(alias: str, work, *args) -> None:
    from django.db import connections

    try:
        work(*args)
    finally:
        connections[alias].close()
