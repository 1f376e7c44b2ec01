"""``pg push`` and ``pg status`` in-process, against the real PostgreSQL (test database)."""

from __future__ import annotations

from datetime import UTC, datetime
from io import StringIO

import orjson
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connections
from django.test.utils import CaptureQueriesContext

from sessions_app.models import Message, Session, ToolCall, ToolResultEvent
from sessions_app.rows import EVENT_COLUMNS, MESSAGE_COLUMNS, TOOL_CALL_COLUMNS
from sync_app.models import PushMarker, PushTarget
from sync_app.services.push import SESSION_PUSH_COLUMNS
from tests.layouts import build_codex

pytestmark = pytest.mark.django_db(databases=["default", "pg"], transaction=True)

RICH = "7f3c1e2a-5b6d-4e8f-9a0b-1c2d3e4f5a6b"


def run(command: str, *args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(command, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def push(*args: str) -> str:
    return run("pg_push", "--no-sync", *args)[0]


def rich_file(env):
    return env["claude"] / "-home-dev-projects-webapp" / f"{RICH}.jsonl"


def rewrite(env, old: str, new: str) -> None:
    path = rich_file(env)
    text = path.read_text()
    assert text.count(old) >= 1
    path.write_text(text.replace(old, new))


def table_rows(using: str, model, columns, order) -> list[tuple]:
    return list(model.objects.using(using).order_by(*order).values_list(*columns))


def assert_pg_equals_local() -> None:
    columns = [c for c in SESSION_PUSH_COLUMNS if c != "machine"]
    assert table_rows("pg", Session, columns, ["id"]) == table_rows("default", Session, columns,
                                                                       ["id"])
    for model, cols, order in (
        (Message, MESSAGE_COLUMNS, ["session_id", "ordinal"]),
        (ToolCall, TOOL_CALL_COLUMNS, ["session_id", "message_ordinal", "call_index"]),
        (ToolResultEvent, EVENT_COLUMNS, ["session_id", "tool_call_message_ordinal",
                                          "call_index", "event_index"]),
    ):
        assert table_rows("pg", model, cols, order) == table_rows("default", model, cols, order)


def test_first_push_copies_every_row_field_by_field(archive):
    out = push()
    total = Session.objects.count()
    messages = Message.objects.count()
    assert f"Pushed {total} sessions, deleted 0, {messages} messages in " in out
    assert "PostgreSQL push mode: full (first push to this database)" in out
    assert_pg_equals_local()
    assert set(Session.objects.using("pg").values_list("machine", flat=True)) == {"test-machine"}
    state = PushTarget.objects.get()
    assert set(Session.objects.using("pg").values_list("push_owner", flat=True)) == {
        state.marker_id
    }
    marker = PushMarker.objects.using("pg").get(marker_id=state.marker_id)
    assert (marker.machine_name, marker.sessions) == ("test-machine", total)


def test_second_push_pushes_nothing_and_runs_no_ddl(archive):
    push()
    with CaptureQueriesContext(connections["pg"]) as queries:
        out = push()
    assert out.startswith("Pushed 0 sessions, deleted 0, 0 messages in ")
    ddl = [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith(
        ("CREATE", "ALTER", "DROP"))]
    assert ddl == []


def test_appended_message_repushes_exactly_that_session(archive):
    push()
    line = {"type": "user", "timestamp": "2026-03-02T10:00:00Z",
            "message": {"role": "user", "content": "And the changelog, please."}}
    with rich_file(archive).open("ab") as fh:
        fh.write(orjson.dumps(line) + b"\n")
    run("sync")
    out = push()
    assert out.startswith("Pushed 1 sessions, deleted 0, 14 messages in ")
    assert Message.objects.using("pg").filter(session_id=RICH).count() == 14
    assert_pg_equals_local()


@pytest.mark.parametrize(
    ("old", "new", "check"),
    [
        # a same-length rewrite of the text
        ("regression test for the redirect guard", "regression test for the redirect GUARD",
         lambda: Message.objects.using("pg").get(session_id=RICH, ordinal=12).content
         .endswith("redirect GUARD.")),
        # a prompt that becomes a system row: same length, same counts, a flag flips
        ("Use vitest's describe/it style instead.", "[Request interrupted: use vitest's dsc]",
         lambda: Message.objects.using("pg").get(session_id=RICH, ordinal=16).is_system),
        # a tool input changed without changing its length
        ('"npm test -- src/auth","description":"Run auth tests"',
         '"npm test -- src/AUTH","description":"Run auth tests"',
         lambda: "src/AUTH" in ToolCall.objects.using("pg").get(tool_use_id="toolu_02BASH")
         .input_json),
    ],
    ids=["same-length-rewrite", "flipped-is-system", "changed-tool-input"],
)
def test_changes_that_keep_every_length_are_pushed(archive, old, new, check):
    assert len(old) == len(new)
    push()
    rewrite(archive, old, new)
    run("sync")
    out = push()
    assert out.startswith("Pushed 1 sessions, deleted 0, 13 messages in ")
    assert check()
    assert_pg_equals_local()


def test_status_before_and_after(archive):
    out, _ = run("pg_status")
    assert out.splitlines() == [
        "Machine:     test-machine", "Last push:   never", "PG sessions: 0", "PG messages: 0",
    ]
    push()
    out, _ = run("pg_status")
    lines = out.splitlines()
    assert lines[0] == "Machine:     test-machine"
    pushed_at = datetime.fromisoformat(lines[1].split()[-1])
    assert pushed_at.tzinfo == UTC and lines[1].endswith("Z")
    assert lines[2:] == [f"PG sessions: {Session.objects.count()}",
                         f"PG messages: {Message.objects.count()}"]


def test_verify_proves_equality_and_catches_tampering(archive):
    push()
    out, _ = run("pg_status", "--verify")
    assert f"Verified:    {Session.objects.count()} sessions identical in PostgreSQL" in out
    Message.objects.using("pg").filter(session_id=RICH, ordinal=0).update(content="tampered")
    ToolCall.objects.using("pg").filter(tool_use_id="toolu_02BASH").update(category="Edit")
    with pytest.raises(CommandError) as info:
        run("pg_status", "--verify")
    assert info.value.returncode == 1
    assert "1 of" in str(info.value) and "differ" in str(info.value)
    push("--full")
    out, _ = run("pg_status", "--verify")
    assert "sessions identical in PostgreSQL" in out


def test_verify_reports_missing_sessions(archive):
    push()
    Session.objects.using("pg").filter(pk=RICH).delete()
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("pg_status", "--verify", stdout=out, stderr=StringIO())
    assert f"{RICH}: missing in PostgreSQL" in out.getvalue()


def test_session_of_another_machine_is_never_overwritten(archive):
    push()
    Session.objects.using("pg").filter(pk=RICH).update(
        machine="bobs-box", push_owner="f" * 32, first_message="Bob's own session"
    )
    rewrite(archive, "redirect guard", "redirect GUARD")
    run("sync")
    out, err = run("pg_push", "--no-sync")
    assert "1 ownership conflict(s)" in out
    assert f"ownership conflict: {RICH} is owned by another machine" in err
    assert Session.objects.using("pg").get(pk=RICH).first_message == "Bob's own session"


def test_soft_delete_is_pushed(archive):
    push()
    now = datetime.now(UTC)
    Session.objects.filter(pk=RICH).update(deleted_at=now, local_modified_at=now)
    out = push()
    assert out.startswith("Pushed 1 sessions")
    assert Session.objects.using("pg").get(pk=RICH).deleted_at == now


def test_text_is_sanitised_and_a_10_mb_message_arrives(agent_env):
    big = "z" * (10 * 1024 * 1024)
    lines = [
        {"type": "user", "timestamp": "2026-01-01T10:00:00Z", "cwd": "/home/dev/p",
         "message": {"role": "user", "content": "nul\u0000 bell\u0007 tab\t nl\n del\u007f end"}},
        {"type": "assistant", "timestamp": "2026-01-01T10:00:01Z",
         "message": {"role": "assistant", "content": [{"type": "text", "text": big}]}},
    ]
    path = agent_env["claude"] / "-home-dev-p" / "dirty.jsonl"
    path.parent.mkdir()
    path.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines)
                     + b'{"type":"user","timestamp":"2026-01-01T10:00:02Z","message":'
                       b'{"content":"bad \xff\xfe utf8"}}\n')
    run("sync")
    push()
    stored = dict(Message.objects.using("pg").filter(session_id="dirty")
                  .values_list("ordinal", "content"))
    assert stored[0] == "nul bell tab\t nl\n del end"
    assert stored[1] == big
    assert stored[2] == "bad \ufffd\ufffd utf8"
    out, _ = run("pg_status", "--verify")
    assert "identical" in out


def test_texts_longer_than_their_column_are_cut_with_a_warning_and_pushed(agent_env):
    """SQLite ignores a column's length; PostgreSQL refuses a longer value. The sync cuts it
    (the same on both) and says so, so the push does not fail that session forever."""
    lines = [
        {"type": "user", "timestamp": "2026-01-01T10:00:00Z", "cwd": "/home/dev/p",
         "gitBranch": "b" * 300, "message": {"role": "user", "content": "long values"}},
        {"type": "assistant", "timestamp": "2026-01-01T10:00:01Z",
         "message": {"role": "assistant", "id": "m" * 200, "model": "x" * 300,
                     "content": [{"type": "tool_use", "id": "t" * 400, "name": "n" * 300,
                                  "input": {}}]}},
    ]
    path = agent_env["claude"] / "-home-dev-p" / "long.jsonl"
    path.parent.mkdir()
    path.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))
    _, err = run("sync")
    assert "session long: git_branch is 300 characters, cut to 255" in err
    assert "session long: message 1: model is 300 characters, cut to 128" in err
    assert "message 1 tool call 0: tool_name is 300 characters, cut to 255" in err
    out = push()
    assert out.startswith("Pushed 1 sessions"), out
    model, message_id = Message.objects.using("pg").filter(
        session_id="long", ordinal=1).values_list("model", "claude_message_id").get()
    assert (model, message_id) == ("x" * 128, "m" * 128)
    assert Session.objects.using("pg").get(pk="long").git_branch == "b" * 255
    out, _ = run("pg_status", "--verify")
    assert "identical" in out


def test_project_filters(archive):
    out = push("--projects", "webapp")
    webapp = Session.objects.filter(project="webapp").count()
    assert out.startswith(f"Pushed {webapp} sessions")
    assert set(Session.objects.using("pg").values_list("project", flat=True)) == {"webapp"}
    out = push("--exclude-projects", "webapp")
    assert out.startswith(f"Pushed {Session.objects.count() - webapp} sessions")
    assert PushTarget.objects.count() == 2  # one watermark per scope
    with pytest.raises(CommandError, match="mutually exclusive"):
        push("--projects", "a", "--exclude-projects", "b")


def test_not_configured(archive, monkeypatch):
    monkeypatch.delenv("AGENTSVIEW_PG_URL")
    for command in ("pg_push", "pg_status"):
        with pytest.raises(CommandError) as info:
            run(command)
        name = command.replace("_", " ")
        assert str(info.value) == (
            f"{name}: url not configured (set [pg] url in"
            f" {archive['data'] / 'config.toml'} or AGENTSVIEW_PG_URL)"
        )
        assert info.value.returncode == 1


def test_plaintext_to_a_remote_host_is_refused_before_connecting(archive, monkeypatch):
    monkeypatch.setenv("AGENTSVIEW_PG_URL", "postgres://app:hunter2@10.1.2.3:5432/team")
    with pytest.raises(CommandError) as info:
        run("pg_push", "--no-sync")
    assert str(info.value).startswith(
        "pg push: pg connection to 10.1.2.3 permits plaintext; set sslmode=require"
    )
    assert "hunter2" not in str(info.value)


def test_push_runs_a_sync_first(agent_env):
    build_codex(agent_env["codex"])
    out, _ = run("pg_push")
    assert out.splitlines()[0].startswith("Synced ")
    assert Session.objects.using("pg").count() == Session.objects.count() > 0


def _pending_pages() -> int:
    with connections["pg"].cursor() as cursor:
        cursor.execute("CREATE EXTENSION IF NOT EXISTS pgstattuple")
        cursor.execute("SELECT pending_pages FROM pgstatginindex('messages_content_trgm')")
        return cursor.fetchone()[0]


def test_the_search_index_queues_pushed_messages_and_the_push_merges_them(archive,
                                                                          monkeypatch):
    """Migration 0014: the trigram index keeps a pending list (fast inserts) bounded at
    4 MB, and a push that wrote messages leaves it empty, so searches read none."""
    from sync_app.services.push import Pusher

    with connections["pg"].cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE oid ="
                       " to_regclass('messages_content_trgm')")
        assert set(cursor.fetchone()[0]) == {"fastupdate=on", "gin_pending_list_limit=4096"}
    with monkeypatch.context() as without_merge:  # the pushed messages wait in the list
        without_merge.setattr(Pusher, "_merge_search_list", lambda self: None)
        push()
        assert _pending_pages() > 0
    rewrite(archive, "Login redirect fix", "Login redirect fixed")
    run("sync")
    out = push()
    assert out.startswith("Pushed 1 sessions")
    assert _pending_pages() == 0
