"""Deletes in the local archive: the trash (``session delete|restore``, ``trash list|empty``),
``prune`` with AgentsView's filters, tombstones that no sync brings back, and redaction."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from sessions_app.choices import TombstoneKind
from sessions_app.models import Message, Session, SourceFile, Tombstone, ToolCall, ToolResultEvent
from sessions_app.parsers.base import ParsedMessage, ParsedSession
from sessions_app.services import deletes
from sessions_app.services.ingest import SourceInfo, WriteResult, write_session
from tests.factories import MessageFactory, SessionFactory, ToolCallFactory

pytestmark = pytest.mark.django_db

RICH = "7f3c1e2a-5b6d-4e8f-9a0b-1c2d3e4f5a6b"  # Claude, with the subagent CHILD
CHILD = "agent-a1b2c3d"
CODEX = "codex:0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"  # with the subagent CODEX_CHILD
CODEX_CHILD = "codex:0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a70"


class Terminal(io.StringIO):
    """A stdin that is a terminal, answering *text*."""

    def isatty(self) -> bool:
        return True


def run(command: str, *args: str, stdin=None) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    extra = {"stdin": stdin} if stdin is not None else {}
    call_command(command, *args, stdout=out, stderr=err, **extra)
    return out.getvalue(), err.getvalue()


def ids() -> set[str]:
    return set(Session.objects.values_list("id", flat=True))


def rows_of(session_id: str) -> int:
    return sum(model.objects.filter(session_id=session_id).count()
               for model in (Message, ToolCall, ToolResultEvent))


def browsable(client) -> set[str]:
    body = client.get("/api/v1/sessions?include_children=true&include_one_shot=true"
                      "&include_automated=true&limit=500").json()
    return {s["id"] for s in body["sessions"]}


# --- the trash ------------------------------------------------------------------------------


def test_delete_moves_a_session_and_its_subagent_to_the_trash_and_restore_takes_them_back(
        archive, client):
    before = browsable(client)
    found = {hit["session_id"] for hit in client.get("/api/v1/search?q=redirect").json()["results"]}
    assert RICH in found
    out, _ = run("session", "delete", RICH)
    assert out.strip() == f"Moved to the trash: {RICH} (and 1 session(s) descending from it)"
    trashed = Session.objects.filter(deleted_at__isnull=False)
    assert set(trashed.values_list("id", flat=True)) == {RICH, CHILD}
    assert len({s.deleted_at for s in trashed}) == 1  # one moment: they come back together
    assert all(s.local_modified_at == s.deleted_at for s in trashed)  # the next push sends it
    # out of every list, search and the analytics; still in the archive
    assert browsable(client) == before - {RICH, CHILD}
    hits = client.get("/api/v1/search?q=redirect").json()["results"]
    assert {hit["session_id"] for hit in hits} == found - {RICH, CHILD}
    assert rows_of(RICH) > 0
    out, _ = run("trash", "list")
    assert RICH in out and CHILD not in out.split("\n", 1)[0]
    assert {line.split()[0] for line in out.splitlines()[1:]} == {RICH, CHILD}

    with pytest.raises(CommandError, match="already in the trash"):
        run("session", "delete", RICH)
    out, _ = run("session", "restore", RICH)
    assert out.strip() == f"Restored from the trash: {RICH} (and 1 session(s) trashed with it)"
    assert browsable(client) == before
    assert run("trash", "list")[0].strip() == "The trash is empty."


def test_restore_takes_back_only_what_was_trashed_with_the_session(archive):
    run("session", "delete", CHILD)
    run("session", "delete", RICH)  # the child was already there: it keeps its own moment
    run("session", "restore", RICH)
    assert Session.objects.get(pk=RICH).deleted_at is None
    assert Session.objects.get(pk=CHILD).deleted_at is not None
    with pytest.raises(CommandError, match=f"session is not in the trash: {RICH}"):
        run("session", "restore", RICH)
    with pytest.raises(CommandError, match="session not in local archive: nope"):
        run("session", "delete", "nope")
    with pytest.raises(CommandError, match="session not in the trash nor deleted: nope"):
        run("session", "restore", "nope")


def test_trash_empty_deletes_for_good_and_sync_never_brings_them_back(archive):
    run("session", "delete", CODEX)
    with pytest.raises(CommandError, match="not asking without a terminal; add --yes"):
        run("trash", "empty")
    out, _ = run("trash", "empty", "--dry-run")
    assert "Dry run: 2 session(s) (10 messages, 1 of them along with its parent)" in out
    assert CODEX in ids()
    out, _ = run("trash", "empty", stdin=Terminal("n\n"))
    assert out.rstrip().endswith("Nothing deleted.") and CODEX in ids()
    out, _ = run("trash", "empty", stdin=Terminal("y\n"))
    assert "Delete 2 session(s)" in out and "[y/N]" in out
    assert "Deleted 2 session(s)" in out
    assert {CODEX, CODEX_CHILD} & ids() == set()
    assert rows_of(CODEX) == rows_of(CODEX_CHILD) == 0
    stones = {t.session_id: t for t in Tombstone.objects.all()}
    assert set(stones) == {CODEX, CODEX_CHILD}
    assert stones[CODEX_CHILD].taken_with == CODEX and stones[CODEX].taken_with == ""
    assert {t.kind for t in stones.values()} == {TombstoneKind.DELETED}
    assert stones[CODEX].file_path.endswith(".jsonl") and stones[CODEX].project == "api_server"
    for args in ((), ("--full",)):
        out, _ = run("sync", *args)
        assert {CODEX, CODEX_CHILD} & ids() == set()
    assert "2 deleted sessions not archived again" in out
    assert run("trash", "empty")[0].strip() == "The trash is empty."


# --- prune ----------------------------------------------------------------------------------


def test_prune_needs_a_filter_and_asks_first(archive):
    with pytest.raises(CommandError, match="give at least one filter") as refused:
        run("prune")
    assert refused.value.returncode == 2
    with pytest.raises(CommandError, match="not asking without a terminal"):
        run("prune", "--project", "webapp")
    out, _ = run("prune", "--project", "webapp", "--dry-run")
    assert RICH in out and CHILD in out and f"↳ with {RICH}" in out
    assert out.rstrip().endswith("Dry run: 2 session(s) (16 messages, 1 of them along with its"
                                 " parent) would be deleted; nothing changed.")
    assert {RICH, CHILD} <= ids()
    out, _ = run("prune", "--project", "webapp", stdin=Terminal("no\n"))
    assert "Nothing deleted." in out and {RICH, CHILD} <= ids()
    out, _ = run("prune", "--project", "WEB", "--yes")
    assert "Deleted 2 session(s) (16 messages) for good" in out
    assert {RICH, CHILD} & ids() == set()
    assert run("prune", "--project", "webapp", "--yes")[0].strip() == "No sessions match."


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--agent", "codex", "--project", "API_serv"),
         {CODEX, CODEX_CHILD, "codex:0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a60"}),
        (("--before", "2025-01-01"), None),  # every session last active in 2024
        (("--first-message", "fix THE login bug"), {"11111111-1111-4111-8111-111111111111"}),
        (("--max-messages", "0"), set()),
    ],
    ids=["agent-project", "before", "first-message", "max-messages"],
)
def test_prune_filters(archive, args, expected):
    if expected is None:
        cutoff = datetime(2025, 1, 1, tzinfo=UTC)
        expected = {s.id for s in Session.objects.all()
                    if (s.ended_at or s.started_at or s.created_at) < cutoff}
        assert expected
    before = ids()
    run("prune", *args, "--yes")
    assert before - ids() == expected


def test_prune_max_messages_counts_user_messages(archive):
    run("prune", "--max-messages", "1", "--agent", "claude", "--yes")
    assert not Session.objects.filter(user_message_count__lte=1, agent="claude").exists()
    assert Session.objects.filter(user_message_count__gt=1, agent="claude").exists()
    assert Session.objects.filter(user_message_count__lte=1, agent="codex").exists()


def test_prune_leaves_the_trash_to_trash_empty(archive):
    run("session", "delete", RICH)
    out, _ = run("prune", "--project", "webapp", "--yes")
    assert out.strip() == "No sessions match."
    assert {RICH, CHILD} <= ids()


def test_a_prune_tombstone_survives_sync_full_and_session_restore_undoes_it(archive):
    run("prune", "--project", "webapp", "--yes")
    assert SourceFile.objects.filter(path__endswith=f"{RICH}.jsonl").exists()  # file kept
    out, _ = run("sync", "--full")
    assert "2 deleted sessions not archived again" in out
    assert {RICH, CHILD} & ids() == set()
    out, _ = run("session", "restore", RICH)
    assert out.strip() == (f"Restored: {RICH} archived again from its transcript (and 1"
                           " session(s) deleted with it)")
    assert {RICH, CHILD} <= ids() and not Tombstone.objects.exists()
    assert Session.objects.get(pk=RICH).message_count == 13 == Message.objects.filter(
        session_id=RICH).count()


def test_restore_refuses_when_the_transcript_is_gone(archive):
    run("prune", "--project", "webapp", "--yes")
    path = archive["claude"] / "-home-dev-projects-webapp" / f"{RICH}.jsonl"
    path.unlink()
    with pytest.raises(CommandError, match=f"cannot restore {RICH}: its transcript .* is gone"):
        run("session", "restore", RICH)
    assert Tombstone.objects.filter(session_id=RICH).exists()  # still deleted


def test_a_write_after_a_prune_by_another_process_is_refused(agent_env):
    """The tombstone is checked inside the write's own transaction: a sync that parsed the
    file before a prune committed does not bring the session back."""
    parsed = ParsedSession(id="s-1", project="p", agent="claude",
                           messages=[ParsedMessage(ordinal=0, role="user", content="hi")])
    source = SourceInfo(path="/nowhere/s-1.jsonl", size=1, mtime_ns=1, sha256="x")
    assert write_session(parsed, source, machine="m") is WriteResult.CREATED
    deletes.purge(["s-1"], using="default", by="someone", reason="test")
    assert write_session(parsed, source, machine="m", force=True) is WriteResult.TOMBSTONED
    assert not Session.objects.filter(pk="s-1").exists()


# --- what goes along ------------------------------------------------------------------------


def test_children_go_with_their_parent_unless_a_surviving_session_calls_them():
    SessionFactory(id="root")
    SessionFactory(id="child", parent_session_id="root")
    SessionFactory(id="grandchild", parent_session_id="child")
    SessionFactory(id="shared", parent_session_id="root")
    SessionFactory(id="below-shared", parent_session_id="shared")
    SessionFactory(id="other")
    ToolCallFactory(session=Session.objects.get(pk="other"), subagent_session_id="shared")
    ToolCallFactory(session=Session.objects.get(pk="root"), subagent_session_id="child")
    assert deletes.deletion_set(["root", "missing"], using="default") == {
        "root": "", "child": "root", "grandchild": "root"}
    # asked for explicitly, a called session goes anyway
    assert deletes.deletion_set(["shared"], using="default") == {
        "shared": "", "below-shared": "shared"}
    # both asked for: the child still goes with its parent
    assert deletes.deletion_set(["child", "root"], using="default") == {
        "child": "root", "root": "", "grandchild": "root"}


def test_purge_removes_every_row_and_leaves_a_tombstone_each():
    for sid in ("a", "b"):
        session = SessionFactory(id=sid, message_count=2)
        MessageFactory.create_batch(2, session=session)
        ToolCallFactory(session=session)
    purged = deletes.purge(["a"], using="default", by="me", reason="test")
    assert purged.sessions == ["a"] and purged.messages == 2
    assert ids() == {"b"} and rows_of("a") == 0 and rows_of("b") == 3
    stone = Tombstone.objects.get()
    assert (stone.session_id, stone.kind, stone.created_by, stone.machine) == (
        "a", "deleted", "me", "laptop")


# --- redaction ------------------------------------------------------------------------------


def test_redact_replaces_every_occurrence_and_search_no_longer_finds_it(archive, client):
    secret = "sk-live-0123456789"
    message = Message.objects.filter(session_id=RICH).order_by("ordinal").first()
    message.content += f" my key is {secret} and again {secret}"
    message.thinking_text = f"the user leaked {secret}"
    message.save()
    call = ToolCall.objects.filter(session_id=RICH).first()
    call.input_json = '{"command":"export KEY=\\"' + secret + '\\""}'
    call.result_content = f"KEY={secret}"
    call.save()
    event = ToolResultEvent.objects.filter(session_id=RICH).first()
    event.content = f"{secret}"
    event.save()
    Session.objects.filter(pk=RICH).update(first_message=f"use {secret}")
    assert client.get(f"/api/v1/search?q={secret}").json()["results"]

    done = deletes.redact([RICH, CODEX], secret, using="default")
    assert done.replacements == 7 and done.sessions == [RICH]
    assert client.get(f"/api/v1/search?q={secret}").json()["results"] == []
    message.refresh_from_db()
    assert secret not in message.content and "[REDACTED]" in message.thinking_text
    assert message.content_length == len(message.content.encode())
    call.refresh_from_db()
    assert call.input_json == '{"command":"export KEY=\\"[REDACTED]\\""}'
    assert call.result_content_length == len("KEY=[REDACTED]")
    assert Session.objects.get(pk=RICH).first_message == "use [REDACTED]"
    # only the shared database keeps a redaction tombstone: here the transcript rules
    assert not Tombstone.objects.exists()
    assert deletes.redact([RICH], secret, using="default").replacements == 0
    with pytest.raises(ValueError, match="replacement contains the text"):
        deletes.redact([RICH], "RED", using="default")


def test_a_text_inside_a_json_string_is_found_escaped():
    session = SessionFactory(id="j")
    ToolCallFactory(session=session, input_json='{"q":"say \\"hi\\" now"}')
    done = deletes.redact(["j"], 'say "hi"', using="default", replacement='"gone"')
    assert done.replacements == 1
    assert ToolCall.objects.get().input_json == '{"q":"\\"gone\\" now"}'


def test_before_is_utc_midnight():
    assert deletes.day_start_utc(date(2025, 1, 2)) == datetime(2025, 1, 2, tzinfo=UTC)
