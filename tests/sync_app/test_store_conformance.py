"""The Claude Agent SDK's own conformance suite, every optional method included, on both
databases of the session store."""

from __future__ import annotations

import asyncio

import pytest
from claude_agent_sdk.testing import run_session_store_conformance

from sync_app.store import ArchiveSessionStore
from tests.sync_app.store_helpers import pg_store, sqlite_archive, wipe

OPTIONAL = ("list_sessions", "list_session_summaries", "delete", "list_subkeys")


def conformance(open_store) -> None:
    async def run() -> None:
        store = await open_store()
        try:
            for method in OPTIONAL:  # the suite skips what a store does not override
                assert getattr(type(store), method) is not getattr(
                    ArchiveSessionStore.__mro__[1], method)

            async def fresh() -> ArchiveSessionStore:
                await wipe(store)
                return store

            await run_session_store_conformance(fresh)
        finally:
            await store.close()
    asyncio.run(run())


@pytest.mark.django_db(databases=["default", "pg"], transaction=True)
def test_conformance_on_postgresql():
    conformance(pg_store)


def test_conformance_on_sqlite(tmp_path, django_db_blocker):
    with django_db_blocker.unblock():
        path = sqlite_archive(tmp_path / "archive.sqlite3")
    conformance(lambda: ArchiveSessionStore.open_sqlite(path))
