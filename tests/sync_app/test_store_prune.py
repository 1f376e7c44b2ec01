"""``agentsview store prune``: stored sessions not written to for a while are deleted (their
subagents' transcripts too), the archive sessions stay, --project-key narrows, --dry-run
lists."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from sessions_app.models import Session
from sync_app.models import SessionChange, StoreEntry, StoreTranscript
from tests.sync_app.store_helpers import pg_store

pytestmark = pytest.mark.django_db(databases=["default", "pg"], transaction=True)

CLAUDE_LINE = {"type": "user", "uuid": "u1", "sessionId": "s-old", "cwd": "/w/app",
               "timestamp": "2026-01-01T10:00:00Z",
               "message": {"role": "user", "content": "hello there"}}


def store_some() -> None:
    async def run():
        store = await pg_store(host="ci", archive_into="pg")
        try:
            for project, session in (("p1", "s-old"), ("p2", "s-old2"), ("p1", "s-new")):
                key = {"project_key": project, "session_id": session}
                await store.append(key, [{**CLAUDE_LINE, "sessionId": session}])
            await store.append({"project_key": "p1", "session_id": "s-old",
                                "subpath": "subagents/agent-x"}, [{"type": "user", "n": 1}])
        finally:
            await store.close()
    asyncio.run(run())
    long_ago = datetime.now(UTC) - timedelta(days=40)
    StoreTranscript.objects.using("pg").exclude(session_id="s-new").update(updated_at=long_ago)
    SessionChange.objects.using("pg").update(changed_at=long_ago)


def prune(*args: str) -> str:
    out = StringIO()
    call_command("store_prune", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_dry_run_lists_and_changes_nothing():
    store_some()
    out = prune("--older-than", "30d", "--dry-run")
    assert "p1  s-old  (2 transcript(s))" in out and "p2  s-old2" in out and "s-new" not in out
    assert "Dry run: 2 stored session(s), 3 entries" in out
    assert StoreTranscript.objects.using("pg").count() == 4


def test_prune_deletes_old_sessions_and_keeps_the_archive():
    store_some()
    assert "Deleted 1 stored session(s) (2 entries)" in prune("--older-than", "30d",
                                                             "--project-key", "p1")
    assert sorted(StoreTranscript.objects.using("pg").values_list("session_id", flat=True)) == [
        "s-new", "s-old2"]
    assert "Deleted 1 stored session(s) (1 entries)" in prune("--older-than", "30d")
    assert list(StoreTranscript.objects.using("pg").values_list("session_id", flat=True)) == [
        "s-new"]
    assert StoreEntry.objects.using("pg").count() == 1
    assert not SessionChange.objects.using("pg").filter(
        changed_at__lt=datetime.now(UTC) - timedelta(days=30)).exists()
    assert set(Session.objects.using("pg").values_list("id", flat=True)) == {
        "s-old", "s-old2", "s-new"}  # archived sessions stay
    assert prune("--older-than", "30d").startswith("No stored sessions last written before")


def test_a_bad_age_is_one_line():
    with pytest.raises(CommandError, match="expected a duration such as 30s"):
        call_command("store_prune", "--older-than", "soon", stdout=StringIO(), stderr=StringIO())
