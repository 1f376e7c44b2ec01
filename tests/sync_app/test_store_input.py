"""Bad input to the session store: refused in one clear line, nothing half-written; odd but
valid entries come back deep-equal; the lock key is the same in every process."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time

import psycopg
import pytest

from sync_app.store import (
    ArchiveSessionStore,
    StoreInputError,
    StoreSchemaError,
    StoreUnavailable,
    TranscriptKey,
)
from sync_app.store.entries import MAX_ENTRY_BYTES
from tests.sync_app.store_helpers import pg_store, pg_url, sqlite_archive

KEY = {"project_key": "proj", "session_id": "sess"}
ODD = [
    {"type": "user", "uuid": "u1", "text": "caf\u00e9 \U0001f600 \u0000 nul", "n": 2**70},
    {"type": "user", "uuid": "u2", "lone": "\ud800", "f": 1.5e-300, "neg": -0.0,
     "deep": [[[{"a": None, "b": True}]]], "empty": {}, "list": []},
    {"type": "tag", "tag": ""},  # no uuid: appended without dedup
    {"type": "tag", "tag": ""},
]


@pytest.fixture(params=["pg", "sqlite"])
def open_store(request, tmp_path, django_db_blocker):
    if request.param == "pg":  # the tests using it are marked django_db with pg
        return pg_store
    with django_db_blocker.unblock():
        path = sqlite_archive(tmp_path / "store.sqlite3")
    return lambda: ArchiveSessionStore.open_sqlite(path)


def with_store(open_store, work):
    async def run():
        store = await open_store()
        try:
            return await work(store)
        finally:
            await store.close()
    return asyncio.run(run())


@pytest.mark.django_db(databases=["default", "pg"], transaction=True)
@pytest.mark.parametrize("batch, message", [
    ([{"type": "user"}, "not an object"], "entry 1 is not a JSON object (str)"),
    ([{"type": "user"}, {"uuid": "x"}], "entry 1 has no 'type' string"),
    ([{"type": 3}], "entry 0 has no 'type' string"),
    ([{"type": "user", "x": object()}], "entry 0 is not JSON-serialisable"),
    ([{"type": "user", "blob": "x" * (50 * 1024 * 1024)}], "entry 0 is 52.4 MB, over the 32"),
    ([{"type": "user", "uuid": "u" * 300}], "entry 0: uuid is longer than 256"),
    ("entries", "entries must be a list, got str"),
])
def test_a_bad_entry_refuses_the_whole_batch(open_store, batch, message):
    async def work(store):
        with pytest.raises(StoreInputError, match="^session store append: " + message[:20]):
            await store.append(KEY, batch)
        return await store.load(KEY)
    assert with_store(open_store, work) is None  # nothing written, not even the good entry


@pytest.mark.django_db(databases=["default", "pg"], transaction=True)
@pytest.mark.parametrize("key, message", [
    ({"project_key": "p"}, "session_id must be a non-empty string"),
    ({"project_key": "p", "session_id": "s", "subpath": ""}, "subpath must be a non-empty"),
    ({"project_key": "p", "session_id": "s", "tenant": "t"}, "unknown field(s) ['tenant']"),
    ({"project_key": "p", "session_id": "a/b"}, "session_id 'a/b' is not a file name"),
    ({"project_key": "p", "session_id": "s", "subpath": "../x"}, "subpath '../x' must be"),
    ({"project_key": 5, "session_id": "s"}, "project_key must be a non-empty string"),
    (["p", "s"], "session store key must be a mapping"),
])
def test_an_unknown_key_shape_is_refused(open_store, key, message):
    async def work(store):
        with pytest.raises(StoreInputError) as caught:
            await store.append(key, [{"type": "user"}])
        assert message in str(caught.value)
        with pytest.raises(StoreInputError):
            await store.load(key)
    with_store(open_store, work)


@pytest.mark.django_db(databases=["default", "pg"], transaction=True)
def test_odd_entries_come_back_deep_equal(open_store):
    async def work(store):
        await store.append(KEY, ODD)
        await store.append(KEY, ODD[:2])  # a retried batch: uuids already stored
        return await store.load(KEY)
    loaded = with_store(open_store, work)
    assert loaded == ODD  # the retried entries once, the two uuid-less tags both
    assert repr(loaded) == repr(ODD)  # -0.0 and the lone surrogate too


def test_an_unreachable_database_raises_within_the_timeout():
    start = time.monotonic()
    with pytest.raises(StoreUnavailable) as caught:
        asyncio.run(ArchiveSessionStore.connect_pg(
            "postgresql://alice:s3cret@127.0.0.1:9/nowhere", timeout=2))
    assert time.monotonic() - start < 6
    assert "s3cret" not in str(caught.value) and "127.0.0.1" in str(caught.value)
    assert str(caught.value).startswith("session store: PostgreSQL ")


@pytest.mark.django_db(databases=["default", "pg"], transaction=True)
def test_a_schema_without_store_tables_or_of_another_release_is_refused():
    with psycopg.connect(pg_url(), autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS store_empty, store_old CASCADE")
        conn.execute("CREATE SCHEMA store_empty; CREATE SCHEMA store_old")
        conn.execute("CREATE TABLE store_old.store_transcripts (id bigint, project_key text)")
        conn.execute("CREATE TABLE store_old.store_entries (id bigint, data text)")
    try:
        with pytest.raises(StoreSchemaError, match="schema store_empty has no table"):
            asyncio.run(ArchiveSessionStore.connect_pg(pg_url(), schema="store_empty"))
        with pytest.raises(StoreSchemaError, match="store_transcripts of another release.*"
                                                   "lacks archived_seq"):
            asyncio.run(ArchiveSessionStore.connect_pg(pg_url(), schema="store_old"))
    finally:
        with psycopg.connect(pg_url(), autocommit=True) as conn:
            conn.execute("DROP SCHEMA store_empty, store_old CASCADE")


def test_the_lock_key_is_the_same_in_every_process():
    key = TranscriptKey("proj", "sess", "subagents/agent-1")
    code = ("from sync_app.store import TranscriptKey;"
            "print(TranscriptKey('proj', 'sess', 'subagents/agent-1').lock_key)")
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True, env={"PYTHONHASHSEED": "12345", "PATH": ""}).stdout
    assert int(other) == key.lock_key
    assert key.lock_key != TranscriptKey("proj", "sess").lock_key
    assert -(2**63) <= key.lock_key < 2**63


def test_the_store_columns_are_the_models():
    from sync_app.models import StoreEntry, StoreTranscript
    from sync_app.store.backends import COLUMNS

    assert {m._meta.db_table: frozenset(f.column for f in m._meta.concrete_fields)
                       for m in (StoreTranscript, StoreEntry)} == COLUMNS
    assert MAX_ENTRY_BYTES < 50 * 1024 * 1024


@pytest.mark.django_db(databases=["default", "pg"], transaction=True)
def test_connections_killed_under_the_pool_are_replaced():
    async def run():
        store = await pg_store(host="failover-host")
        try:
            await store.append(KEY, [{"type": "user", "uuid": "a"}])
            with psycopg.connect(pg_url(), autocommit=True) as conn:
                killed = conn.execute(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE application_name = 'agentsview store failover-host'").fetchone()[0]
            assert killed >= 1
            await store.append(KEY, [{"type": "user", "uuid": "b"}])  # a fresh connection
            return await store.load(KEY)
        finally:
            await store.close()
    assert [e["uuid"] for e in asyncio.run(run())] == ["a", "b"]


def test_a_sqlite_store_in_a_missing_folder_is_one_line(tmp_path):
    with pytest.raises(StoreUnavailable, match="^session store: no directory "):
        asyncio.run(ArchiveSessionStore.open_sqlite(tmp_path / "gone" / "archive.sqlite3"))
