"""Deletes that reach the shared PostgreSQL (real database, in-process): a prune or an emptied
trash removes exactly those sessions and their rows there, only when this machine owns them;
a trash travels as ``deleted_at``; what a person did on the server (delete, trash, redact,
``pg prune``) is not undone by a push; ``pg status --verify`` accounts for all of it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO

import orjson
import psycopg
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connections
from django.test.utils import CaptureQueriesContext

from sessions_app.choices import TombstoneKind
from sessions_app.models import Message, Session, Tombstone, ToolCall, ToolResultEvent
from sessions_app.services import deletes
from sync_app.models import PushedSession, PushMarker
from sync_app.services import push as push_service
from sync_app.services.push import DELIVERED

pytestmark = pytest.mark.django_db(databases=["default", "pg"], transaction=True)

RICH = "7f3c1e2a-5b6d-4e8f-9a0b-1c2d3e4f5a6b"
CHILD = "agent-a1b2c3d"
CODEX = "codex:0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
CODEX_CHILD = "codex:0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a70"
PARTS = (Message, ToolCall, ToolResultEvent)


def run(command: str, *args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(command, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def push(*args: str) -> str:
    return run("pg_push", "--no-sync", *args)[0]


def pg_ids() -> set[str]:
    return set(Session.objects.using("pg").values_list("id", flat=True))


def pg_rows(session_ids) -> dict[str, int]:
    """Rows per table in PostgreSQL for these sessions."""
    return {model._meta.db_table: model.objects.using("pg").filter(
        session_id__in=list(session_ids)).count() for model in PARTS}


def local_rows(session_ids) -> dict[str, int]:
    return {model._meta.db_table: model.objects.filter(
        session_id__in=list(session_ids)).count() for model in PARTS}


def append_prompt(archive, text: str = "One more thing.") -> None:
    path = archive["claude"] / "-home-dev-projects-webapp" / f"{RICH}.jsonl"
    line = {"type": "user", "timestamp": "2026-03-02T10:00:00Z",
            "message": {"role": "user", "content": text}}
    with path.open("ab") as fh:
        fh.write(orjson.dumps(line) + b"\n")
    run("sync")


# --- this machine's deletes -------------------------------------------------------------------


def test_prune_then_push_removes_exactly_the_pruned_sessions_and_their_rows(archive):
    push()
    everything = pg_ids()
    kept = everything - {RICH, CHILD, CODEX, CODEX_CHILD}
    kept_rows = pg_rows(kept)
    assert all(pg_rows([RICH, CODEX]).values())
    run("prune", "--project", "webapp", "--yes")
    run("session", "delete", CODEX)
    run("trash", "empty", "--yes")
    out = push()
    assert out.startswith("Pushed 0 sessions, deleted 4, 0 messages in "), out
    assert pg_ids() == kept
    assert pg_rows([RICH, CHILD, CODEX, CODEX_CHILD]) == {t: 0 for t in pg_rows([])}
    assert pg_rows(kept) == kept_rows == local_rows(kept)
    marker = PushMarker.objects.using("pg").get()
    assert marker.sessions == len(kept)
    # delivered once: the next push sends no delete at all
    with CaptureQueriesContext(connections["pg"]) as queries:
        out = push()
    assert out.startswith("Pushed 0 sessions, deleted 0, 0 messages in ")
    assert not [q for q in queries if q["sql"].lstrip().upper().startswith("DELETE")]
    out, _ = run("pg_status", "--verify")
    assert f"Verified:    {len(kept)} sessions identical in PostgreSQL" in out
    assert "Deleted:     4 sessions deleted here are gone from PostgreSQL" in out


def test_a_delete_sent_again_is_harmless(archive):
    push()
    run("prune", "--project", "webapp", "--yes")
    push()
    # as if the run that delivered it was killed before recording it
    PushedSession.objects.filter(fingerprint=DELIVERED).delete()
    out = push()
    assert out.startswith("Pushed 0 sessions, deleted 0, ")
    assert PushedSession.objects.filter(fingerprint=DELIVERED).count() == 2
    # and a database reset gets them again, finding nothing to delete
    out = push("--full")
    assert ", deleted 0, " in out and not {RICH, CHILD} & pg_ids()


def test_a_delete_before_the_first_push_sends_nothing(archive):
    run("prune", "--project", "webapp", "--yes")
    out = push()
    assert ", deleted 0, " in out and not {RICH, CHILD} & pg_ids()
    assert pg_ids() == set(Session.objects.values_list("id", flat=True))


def test_another_machines_session_is_never_deleted(archive):
    push()
    Session.objects.using("pg").filter(pk=RICH).update(machine="bobs-box", push_owner="f" * 32)
    run("prune", "--project", "webapp", "--yes")
    out, err = run("pg_push", "--no-sync")
    assert out.startswith("Pushed 0 sessions, deleted 1, ")  # the child, which is ours
    assert "1 delete(s) refused (another machine's)" in out
    assert f"delete refused: {RICH} is owned by machine 'bobs-box' in PostgreSQL" in err
    assert RICH in pg_ids() and CHILD not in pg_ids()
    assert all(pg_rows([RICH]).values())
    assert ", deleted 0, " in push() and "refused" not in push()  # reported once
    out, _ = run("pg_status", "--verify")  # not ours: not a difference
    assert "Deleted:     1 sessions deleted here" in out


def test_trash_and_restore_travel_as_deleted_at(archive):
    push()
    run("session", "delete", RICH)
    assert push().startswith("Pushed 2 sessions, deleted 0, ")
    trashed = dict(Session.objects.using("pg").filter(pk__in=[RICH, CHILD])
                   .values_list("id", "deleted_at"))
    assert trashed == dict(Session.objects.filter(pk__in=[RICH, CHILD])
                           .values_list("id", "deleted_at"))
    assert all(trashed.values())
    run("session", "restore", RICH)
    assert push().startswith("Pushed 2 sessions")
    assert not Session.objects.using("pg").filter(deleted_at__isnull=False).exists()
    run("pg_status", "--verify")


def test_a_killed_delete_batch_leaves_whole_sessions(archive, monkeypatch):
    """A batch that fails half way is rolled back whole: no session loses its rows alone."""
    push()
    run("prune", "--project", "webapp", "--yes")
    real = push_service.Pusher._delete_batch

    def failing(self, ids, marker):
        with connections["pg"].cursor() as cursor:
            cursor.execute("SELECT 1")
        raise push_service.DatabaseError("connection cut mid-batch")

    monkeypatch.setattr(push_service.Pusher, "_delete_batch", failing)
    with pytest.raises(CommandError, match="2 session.s. failed"):
        push()
    assert {RICH, CHILD} <= pg_ids() and all(pg_rows([RICH]).values())
    monkeypatch.setattr(push_service.Pusher, "_delete_batch", real)
    assert ", deleted 2, " in push()


# --- what a person did on the server ----------------------------------------------------------


def test_a_session_deleted_on_the_server_is_not_pushed_again(archive):
    push()
    deletes.purge([RICH], using="pg", by="admin", reason="leaked a key")
    assert not {RICH, CHILD} & pg_ids()
    append_prompt(archive)  # its machine keeps working on it
    out, err = run("pg_push", "--no-sync", "-v", "2")
    assert out.startswith("Pushed 0 sessions, deleted 0, ")
    assert "1 deleted on the server (not sent again)" in out
    assert f"deleted on the server: {RICH}; not sent again" in err
    assert not {RICH, CHILD} & pg_ids()
    assert "deleted on the server" not in push()  # unchanged since: not examined again
    out = push("--full")
    assert "2 deleted on the server" in out and not {RICH, CHILD} & pg_ids()
    out, _ = run("pg_status", "--verify")
    assert "On server:   2 deleted there by a person (not compared)" in out


def test_a_session_trashed_on_the_server_stays_trashed(archive):
    push()
    moved = deletes.trash([RICH], using="pg", by="admin")
    assert set(moved) == {RICH, CHILD}
    when = Session.objects.using("pg").get(pk=RICH).deleted_at
    append_prompt(archive)
    assert push().startswith("Pushed 1 sessions")
    pg = Session.objects.using("pg").get(pk=RICH)
    assert pg.deleted_at == when and pg.message_count == 14  # new rows, still trashed
    out, _ = run("pg_status", "--verify")
    assert "On server:   2 trashed there" in out
    deletes.restore([RICH], using="pg")  # a person takes it out there: the push rules again
    assert not Tombstone.objects.using("pg").exists()
    push("--full")
    assert Session.objects.using("pg").get(pk=RICH).deleted_at is None


def test_the_redaction_rule(archive):
    """Kept against every push, --full included, until the transcript changes and its owner
    pushes with --full: then the new transcript replaces the redacted copy."""
    secret = "regression test for the redirect guard"
    push()
    done = deletes.redact([RICH], secret, using="pg", by="admin")
    assert done.replacements >= 1
    stone = Tombstone.objects.using("pg").get(session_id=RICH)
    assert stone.kind == TombstoneKind.REDACTED
    assert stone.content_digest == Session.objects.get(pk=RICH).content_digest

    def pg_text() -> str:
        return " ".join(Message.objects.using("pg").filter(session_id=RICH)
                        .values_list("content", flat=True))

    assert secret not in pg_text()
    out = push("--full")  # the same transcript: kept
    assert "1 redacted on the server (kept)" in out and secret not in pg_text()
    append_prompt(archive)  # changed, but an ordinary push: kept
    assert "1 redacted on the server (kept)" in push() and secret not in pg_text()
    out, _ = run("pg_status", "--verify")
    assert "On server:   1 redacted there by a person" in out
    out = push("--full")  # changed, and --full: the owner's transcript wins
    assert "redacted on the server" not in out
    assert secret in pg_text() and Message.objects.using("pg").filter(session_id=RICH).count() == 14
    assert not Tombstone.objects.using("pg").exists()
    out, _ = run("pg_status", "--verify")
    assert "On server" not in out


def delete_elsewhere(session_id: str) -> None:
    """What the admin does, committed from another connection (another process)."""
    params = connections["pg"].get_connection_params()
    with psycopg.connect(**params, autocommit=True) as other, other.transaction():
        other.execute("INSERT INTO session_tombstones (session_id, kind, machine, push_owner,"
                      " project, first_message, message_count, file_path, taken_with,"
                      " content_digest, created_at, created_by, reason) VALUES (%s, 'deleted',"
                      " '', '', '', '', 0, '', '', '', now(), 'admin', 'meanwhile')",
                      [session_id])
        for table in ("tool_result_events", "tool_calls", "messages"):
            other.execute(f"DELETE FROM {table} WHERE session_id = %s", [session_id])
        other.execute("DELETE FROM sessions WHERE id = %s", [session_id])


def test_a_delete_on_the_server_during_a_push_is_respected(archive, monkeypatch):
    """A person deleting a session while a batch writes it: the batch's check after writing
    sees the new tombstone, the batch is rolled back and retried one by one."""
    push()
    append_prompt(archive)
    real = push_service.Pusher._admit
    calls = []

    def late(self, cursor, rows, full):
        result = real(self, cursor, rows, full)
        if not calls:
            delete_elsewhere(RICH)  # after this batch looked for tombstones
        calls.append([r[0] for r in rows])
        return result

    monkeypatch.setattr(push_service.Pusher, "_admit", late)
    out = push()
    assert calls == [[RICH], [RICH]]  # the batch, then the retry
    assert "1 deleted on the server" in out and RICH not in pg_ids()
    assert not Message.objects.using("pg").filter(session_id=RICH).exists()


def test_pg_prune_deletes_old_sessions_and_a_push_does_not_bring_them_back(archive):
    push()
    # the fixtures ran in 2024 and in 2026: cut between them, whatever today is
    age = f"{(datetime.now(UTC) - datetime(2025, 6, 1, tzinfo=UTC)).days}d"
    cutoff = datetime.now(UTC) - timedelta(days=int(age[:-1]))
    old = {sid for sid, ended, started, created in Session.objects.values_list(
        "id", "ended_at", "started_at", "created_at") if (ended or started or created) < cutoff}
    assert old and old != pg_ids()
    out, _ = run("pg_prune", "--older-than", age, "--machine", "someone-else")
    assert out.startswith("No sessions last active before ")
    out, _ = run("pg_prune", "--older-than", age, "--dry-run")
    assert "Dry run: " in out and pg_ids() >= old
    out, _ = run("pg_prune", "--older-than", age, "--machine", "test-machine")
    assert out.startswith(f"Deleted {len(old)} session(s)")
    assert not old & pg_ids()
    assert set(Tombstone.objects.using("pg").values_list("session_id", flat=True)) == old
    assert {t.created_by for t in Tombstone.objects.using("pg").all()} == {"pg prune"}
    out = push("--full")
    assert f"{len(old)} deleted on the server" in out and not old & pg_ids()
    with pytest.raises(CommandError, match="expected a duration"):
        run("pg_prune", "--older-than", "soon")
