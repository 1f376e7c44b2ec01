"""The Claude Agent SDK's store helpers against our store, on both databases: import, list,
messages, fork, rename, tag, delete; and what each does to the archive."""

from __future__ import annotations

import asyncio
import uuid

import orjson
import pytest
from claude_agent_sdk import (
    delete_session_via_store,
    fork_session_via_store,
    get_session_messages,
    get_session_messages_from_store,
    import_session_to_store,
    list_sessions_from_store,
    rename_session_via_store,
    tag_session_via_store,
)
from django.db import connections

from sessions_app.models import Session
from sync_app.store import ArchiveSessionStore
from tests.layouts import build_claude
from tests.sync_app.store_helpers import pg_store, sqlite_archive

pytestmark = pytest.mark.django_db(databases=["default", "pg"], transaction=True)

RICH = "7f3c1e2a-5b6d-4e8f-9a0b-1c2d3e4f5a6b"
DIRECTORY = "/home/dev/projects/webapp"  # its project key is the fixture's folder name


@pytest.fixture
def claude_home(tmp_path, monkeypatch):
    home = tmp_path / "claude"
    build_claude(home / "projects")
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(home))
    return home


@pytest.fixture(params=["pg", "sqlite"])
def backend(request, tmp_path):
    """(open the store, the archive alias it parses into)."""
    if request.param == "pg":
        return (lambda: pg_store(host="ci-runner-7", archive_into="pg")), "pg"
    path = sqlite_archive(tmp_path / "store.sqlite3")
    return (lambda: ArchiveSessionStore.open_sqlite(path, host="ci-runner-7",
                                                    archive_into="default")), "default"


def live_sessions(using: str) -> set:
    try:
        return set(Session.objects.using(using).filter(deleted_at__isnull=True)
                   .values_list("id", "display_name"))
    finally:
        connections[using].close()


def test_every_store_helper(claude_home, backend):
    open_store, using = backend

    async def run() -> dict:
        store = await open_store()
        out: dict = {}
        try:
            await import_session_to_store(RICH, store)
            await import_session_to_store(RICH, store)  # again: uuids make it idempotent
            out["listed"] = await list_sessions_from_store(store, directory=DIRECTORY)
            out["messages"] = await get_session_messages_from_store(store, RICH,
                                                                    directory=DIRECTORY)
            await rename_session_via_store(store, RICH, "  Login loop fix  ",
                                           directory=DIRECTORY)
            await tag_session_via_store(store, RICH, "auth", directory=DIRECTORY)
            out["renamed"] = await list_sessions_from_store(store, directory=DIRECTORY)
            fork = await fork_session_via_store(store, RICH, directory=DIRECTORY,
                                                title="Fork of the fix")
            out["fork"] = fork.session_id
            out["fork_messages"] = await get_session_messages_from_store(
                store, fork.session_id, directory=DIRECTORY)
            await store.archiver.flush()
            out["archived"] = await asyncio.to_thread(live_sessions, using)
            await delete_session_via_store(store, RICH, directory=DIRECTORY)
            out["after_delete"] = await list_sessions_from_store(store, directory=DIRECTORY)
            out["subkeys"] = await store.list_subkeys({"project_key": "-home-dev-projects-webapp",
                                                       "session_id": RICH})
        finally:
            await store.close()
        return out

    out = asyncio.run(run())
    disk = get_session_messages(RICH, directory=DIRECTORY)
    assert [m.uuid for m in out["messages"]] == [m.uuid for m in disk]  # as from the file
    assert [m.message for m in out["messages"]] == [m.message for m in disk]
    (info,) = out["listed"]
    assert info.session_id == RICH and info.first_prompt and info.cwd
    (renamed,) = out["renamed"]
    assert (renamed.custom_title, renamed.tag) == ("Login loop fix", "auth")
    uuid.UUID(out["fork"])
    assert len(out["fork_messages"]) == len(out["messages"])
    assert {m.uuid for m in out["fork_messages"]}.isdisjoint(m.uuid for m in out["messages"])
    archived = dict(out["archived"])
    assert archived[RICH] == "Login loop fix"  # the rename reached the archive
    assert archived[out["fork"]] == "Fork of the fix"
    assert [s.session_id for s in out["after_delete"]] == [out["fork"]]
    assert out["subkeys"] == []
    # deleted through the store: the archived session and its subagent go to the trash
    live = Session.objects.using(using).filter(deleted_at__isnull=True)
    assert set(live.values_list("id", flat=True)) == {out["fork"]}


def test_the_sdk_resumes_from_the_store(claude_home, backend):
    """What the SDK does before spawning Claude Code with resume or continue_conversation:
    it materializes the stored transcript (and its subagents') as files; they must equal the
    originals line for line (as JSON)."""
    from claude_agent_sdk import ClaudeAgentOptions
    from claude_agent_sdk._internal.session_resume import materialize_resume_session

    open_store, _ = backend
    original = claude_home / "projects" / "-home-dev-projects-webapp"

    async def run():
        store = await open_store()
        try:
            await import_session_to_store(RICH, store)
            results = []
            for extra in ({"resume": RICH}, {"continue_conversation": True}):
                options = ClaudeAgentOptions(session_store=store, cwd=DIRECTORY, **extra)
                done = await materialize_resume_session(options)
                files = {p.relative_to(done.config_dir / "projects").as_posix(): p.read_bytes()
                         for p in (done.config_dir / "projects").rglob("*.jsonl")}
                results.append((done.resume_session_id, files))
                await done.cleanup()
            return results
        finally:
            await store.close()

    for session_id, files in asyncio.run(run()):
        assert session_id == RICH
        assert sorted(files) == [
            f"-home-dev-projects-webapp/{RICH}.jsonl",
            f"-home-dev-projects-webapp/{RICH}/subagents/agent-a1b2c3d.jsonl"]
        for name, content in files.items():
            source = original / name.split("/", 1)[1]
            as_json = [orjson.loads(x) for x in content.splitlines() if x.strip()]
            assert as_json == [orjson.loads(x) for x in source.read_bytes().splitlines()
                               if x.strip()]
