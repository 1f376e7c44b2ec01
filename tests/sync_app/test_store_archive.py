"""Stored sessions are archive sessions: a transcript imported into the session store with the
SDK's own helper is parsed into the same sessions, messages and tool calls as a sync of the
same file, with the store's host as machine, and shows in the API within a second."""

from __future__ import annotations

import asyncio
import shutil
import time
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path

import orjson
import pytest
from claude_agent_sdk import import_session_to_store
from django.core.management import call_command
from django.db import connections
from django.test import Client

from agentsview.api.errors import SessionMissing
from sessions_app import endpoints
from sessions_app.models import Message, Session, ToolCall, ToolResultEvent
from sessions_app.rows import EVENT_COLUMNS, MESSAGE_COLUMNS, TOOL_CALL_COLUMNS
from sync_app.store import ArchiveSessionStore
from tests.layouts import build_claude
from tests.sync_app.store_helpers import pg_store, sqlite_archive

pytestmark = pytest.mark.django_db(databases=["default", "pg"], transaction=True)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "agents" / "claude"
RICH = "7f3c1e2a-5b6d-4e8f-9a0b-1c2d3e4f5a6b"  # with a subagent
PROJECT = "-home-dev-projects-webapp"
# what differs between a synced and a stored copy: where it came from, when it was written
SOURCE_COLUMNS = {"machine", "file_path", "file_size", "file_mtime", "file_hash",
                  "created_at", "local_modified_at", "pushed_at", "push_owner",
                  "source_missing_at", "content_digest"}  # the digest covers the file path


@pytest.fixture
def claude_home(tmp_path, monkeypatch):
    """A Claude config dir holding the fixture transcripts (what import_session_to_store
    reads)."""
    home = tmp_path / "claude"
    build_claude(home / "projects")
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(home))
    return home


def rows(using: str, session_ids: list[str]) -> dict:
    columns = [f.column for f in Session._meta.concrete_fields
               if f.column not in SOURCE_COLUMNS]
    out = {"sessions": list(Session.objects.using(using).filter(pk__in=session_ids)
                            .order_by("id").values_list(*columns))}
    for model, cols, order in (
        (Message, MESSAGE_COLUMNS, ["session_id", "ordinal"]),
        (ToolCall, TOOL_CALL_COLUMNS, ["session_id", "message_ordinal", "call_index"]),
        (ToolResultEvent, EVENT_COLUMNS, ["session_id", "tool_call_message_ordinal",
                                          "call_index", "event_index"]),
    ):
        out[model.__name__] = list(model.objects.using(using).filter(session_id__in=session_ids)
                                   .order_by(*order).values_list(*cols))
    return out


def test_a_stored_session_is_the_synced_session(claude_home, agent_env):
    shutil.copytree(claude_home / "projects", agent_env["claude"], dirs_exist_ok=True)
    call_command("sync", stdout=StringIO(), stderr=StringIO())
    synced = sorted(Session.objects.filter(file_path__contains=RICH)
                    .values_list("id", flat=True))
    assert len(synced) >= 2  # the session and its subagent

    async def run():
        store = await pg_store(host="ci-runner-7", archive_into="pg")
        try:
            await import_session_to_store(RICH, store, batch_size=3)
        finally:
            await store.close()  # waits for the archiving
    asyncio.run(run())

    stored = Session.objects.using("pg").filter(file_path__startswith=f"store:{PROJECT}/{RICH}")
    assert sorted(stored.values_list("id", flat=True)) == synced
    assert set(stored.values_list("machine", flat=True)) == {"ci-runner-7"}
    child = stored.exclude(pk=RICH).get()
    assert child.parent_session_id == RICH and child.relationship_type == "subagent"
    stored_rows, synced_rows = rows("pg", synced), rows("default", synced)
    columns = [f.column for f in Session._meta.concrete_fields if f.column not in SOURCE_COLUMNS]
    for a, b in zip(stored_rows.pop("sessions"), synced_rows.pop("sessions"), strict=True):
        assert {c: v for c, v in zip(columns, a, strict=True) if v != b[columns.index(c)]} == {}
    assert stored_rows == synced_rows


def test_an_append_shows_in_the_api_within_a_second(settings):
    settings.AGENTSVIEW_API_DATABASE = "pg"
    lines = [orjson.loads(line) for line in
             (FIXTURES / "synthetic" / "projects" / PROJECT / f"{RICH}.jsonl").read_bytes()
             .splitlines() if line.strip()]
    half = len(lines) // 2
    key = {"project_key": PROJECT, "session_id": RICH}

    def message_count() -> int:
        try:
            return endpoints.session_detail(RICH, "pg")["message_count"]
        except SessionMissing:
            return 0
        finally:
            connections["pg"].close()  # a worker thread's connection

    async def run() -> list[float]:
        store = await pg_store(host="ci-runner-7", archive_into="pg")
        delays, seen = [], 0
        try:
            for batch in (lines[:half], lines[half:]):
                await store.append(key, batch)
                start = time.monotonic()
                while (count := await asyncio.to_thread(message_count)) <= seen:
                    assert time.monotonic() - start < 1.0, "not in the API within 1 s"
                    await asyncio.sleep(0.02)
                delays.append(time.monotonic() - start)
                seen = count
        finally:
            await store.close()
        return delays

    delays = asyncio.run(run())
    assert len(delays) == 2 and max(delays) < 1.0
    response = Client().get(f"/api/v1/sessions/{RICH}")
    assert response.status_code == 200
    assert response.json()["machine"] == "ci-runner-7"
    assert response.json()["message_count"] == Message.objects.using("pg").filter(
        session_id=RICH).count()
    page = Client().get(f"/sessions/{RICH}")  # the dashboard, from the same query layer
    assert page.status_code == 200 and b"ci-runner-7" in page.content


def test_the_sqlite_store_archives_into_the_local_archive(tmp_path, claude_home):
    path = sqlite_archive(tmp_path / "store.sqlite3")

    async def run():
        store = await ArchiveSessionStore.open_sqlite(path, host="laptop", archive_into="default")
        try:
            await import_session_to_store(RICH, store)
        finally:
            await store.close()
    asyncio.run(run())
    assert Session.objects.filter(pk=RICH, machine="laptop").exists()
    assert Message.objects.filter(session_id=RICH).count() > 0


def test_open_store_is_this_installations_shared_store():
    from sync_app.store import open_store

    line = {"type": "user", "uuid": "u1", "sessionId": "s-configured", "cwd": "/w/app",
            "timestamp": "2026-01-01T10:00:00Z",
            "message": {"role": "user", "content": "hello from the configured store"}}

    async def run():
        store = await open_store()
        try:
            assert store.backend.vendor == "postgresql" and store.host == "test-machine"
            await store.append({"project_key": "-w-app", "session_id": "s-configured"}, [line])
        finally:
            await store.close()
    asyncio.run(run())
    session = Session.objects.using("pg").get(pk="s-configured")
    assert (session.machine, session.project, session.first_message) == (
        "test-machine", "app", "hello from the configured store")


def conversation(session_id: str) -> list[dict]:
    """Four messages that ended a minute ago with the assistant's answer."""
    stamp = (datetime.now(UTC) - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    lines, parent = [], None
    for i, (role, text) in enumerate([("user", "fix the bug"), ("assistant", "Looking."),
                                      ("user", "and the test"), ("assistant", "Both done.")]):
        content = text if role == "user" else [{"type": "text", "text": text}]
        lines.append({"type": role, "uuid": f"{session_id}-{i}", "parentUuid": parent,
                      "sessionId": session_id, "cwd": "/w/app", "timestamp": stamp,
                      "message": {"role": role, "content": content,
                                  **({"stop_reason": "end_turn"} if role == "assistant"
                                     else {})}})
        parent = f"{session_id}-{i}"
    return lines


@pytest.mark.parametrize("how", ["close", "result entry"])
def test_an_ended_session_gets_its_final_outcome(how):
    session_id = f"ended-{how.replace(' ', '-')}"
    key = {"project_key": "-w-app", "session_id": session_id}

    def outcome() -> tuple:
        try:
            return Session.objects.using("pg").values_list(
                "outcome", "signals_pending_since").get(pk=session_id)
        finally:
            connections["pg"].close()  # when called in a worker thread

    async def run():
        store = await pg_store(host="ci-runner-7", archive_into="pg")
        try:
            await store.append(key, conversation(session_id))
            await store.archiver.flush()
            before = await asyncio.to_thread(outcome)
            if how == "close":
                await store.close(key)  # agent-webkit-server's close of one session
            else:
                await store.append(key, [{"type": "result", "subtype": "success"}])
            await store.archiver.flush()
            return before
        finally:
            await store.close()
    before = asyncio.run(run())
    assert before[0] == "unknown" and before[1] is not None  # still going, for all we knew
    assert outcome() == ("completed", None)


def test_a_fresh_process_archives_what_a_dead_writer_left_unparsed():
    key = {"project_key": "-w-app", "session_id": "orphaned"}

    async def run() -> int:
        writer = await pg_store(host="ci-runner-7")  # its archiver never ran: "killed"
        await writer.append(key, conversation("orphaned"))
        await writer.close()
        fresh = await pg_store(host="ci-runner-8", archive_into="pg")
        try:
            scheduled = await fresh.archiver.catch_up()
            await fresh.archiver.flush()
            assert await fresh.archiver.catch_up() == 0  # nothing left behind now
            return scheduled
        finally:
            await fresh.close()
    assert asyncio.run(run()) == 1
    assert Session.objects.using("pg").get(pk="orphaned").message_count == 4


def test_a_session_pushed_by_a_machine_is_not_overwritten():
    key = {"project_key": "-w-app", "session_id": "contested"}
    lines = conversation("contested")

    async def append(batch):
        store = await pg_store(host="ci-runner-7", archive_into="pg")
        try:
            await store.append(key, batch)
        finally:
            await store.close()
    asyncio.run(append(lines[:2]))
    stored = Session.objects.using("pg").get(pk="contested")
    assert (stored.push_owner, stored.machine) == ("session-store", "ci-runner-7")
    # a laptop's archive pushes the same id (its marker as owner): it is that machine's now
    Session.objects.using("pg").filter(pk="contested").update(push_owner="laptop-marker",
                                                              machine="laptop")
    asyncio.run(append(lines[2:]))
    kept = Session.objects.using("pg").get(pk="contested")
    assert (kept.machine, kept.message_count) == ("laptop", 2)


def test_a_subagent_deleted_through_the_store_goes_to_the_trash(claude_home):
    async def run():
        store = await pg_store(host="ci-runner-7", archive_into="pg")
        try:
            await import_session_to_store(RICH, store)
            await store.archiver.flush()
            await store.delete({"project_key": PROJECT, "session_id": RICH,
                                "subpath": "subagents/agent-a1b2c3d"})
        finally:
            await store.close()
    asyncio.run(run())
    sessions = Session.objects.using("pg").filter(file_path__startswith=f"store:{PROJECT}/")
    trashed = dict(sessions.values_list("id", "deleted_at"))
    assert trashed.pop(RICH) is None and len(trashed) == 1
    assert all(when is not None for when in trashed.values())
