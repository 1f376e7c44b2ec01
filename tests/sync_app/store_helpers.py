"""What the session store tests share: the URL of the test PostgreSQL, a SQLite file with
the store tables (made from the models), fresh stores."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from django.db import connections

from sessions_app.models import Message, Session, Tombstone, ToolCall, ToolResultEvent
from sync_app.models import StoreEntry, StoreTranscript
from sync_app.store import ArchiveSessionStore
from sync_app.store.opening import url_of


def pg_url(alias: str = "pg") -> str:
    """The URL of the test PostgreSQL (the database pytest-django created)."""
    return url_of(alias)


def pg_schema(alias: str = "pg") -> str:
    return connections[alias].settings_dict["SCHEMA"]


def sqlite_archive(path: Path, *, archive_tables: bool = False) -> Path:
    """A SQLite file holding the store tables (and the session tables when asked), from the
    SQL Django's schema editor writes for the models."""
    models = [StoreTranscript, StoreEntry]
    if archive_tables:
        models = [Session, Message, ToolCall, ToolResultEvent, Tombstone, *models]
    with connections["default"].schema_editor(collect_sql=True) as editor:
        for model in models:
            editor.create_model(model)
    db = sqlite3.connect(path)
    for statement in editor.collected_sql:
        db.execute(statement)
    db.commit()
    db.close()
    return path


async def pg_store(**kwargs) -> ArchiveSessionStore:
    return await ArchiveSessionStore.connect_pg(pg_url(), schema=pg_schema(), **kwargs)


async def wipe(store: ArchiveSessionStore) -> None:
    """Empty the store's tables (each conformance contract wants a fresh store)."""
    if store.backend.vendor == "postgresql":
        async with store.backend.connection() as conn:
            await conn.execute("TRUNCATE store_entries, store_transcripts")
    else:
        await store.backend.query("DELETE FROM store_entries", [])
        await store.backend.query("DELETE FROM store_transcripts", [])
