"""``manage.py sync`` against the real SQLite archive: what is stored, what is skipped, what
survives."""

from __future__ import annotations

import os
import shutil
from io import StringIO

import orjson
import pytest
from django.core.management import call_command

from agentsview.config import load_config
from sessions_app.models import Message, Session, SourceFile, ToolCall, ToolResultEvent
from sessions_app.parsers.base import ParsedMessage, ParsedSession
from sessions_app.services.ingest import SourceInfo, write_session
from tests.layouts import build_claude, build_codex, golden

pytestmark = pytest.mark.django_db

RICH = "7f3c1e2a-5b6d-4e8f-9a0b-1c2d3e4f5a6b"
CODEX = "codex:0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"


def sync(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("sync", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def fixtures(agent_env):
    build_claude(agent_env["claude"])
    build_codex(agent_env["codex"])
    return agent_env


def _rich_file(env):
    return env["claude"] / "-home-dev-projects-webapp" / f"{RICH}.jsonl"


def test_sync_archives_every_fixture_session(fixtures):
    out, err = sync()
    expected = {s["id"] for s in golden("session-list-all.json")["sessions"]
                if s["agent"] in ("claude", "codex")}
    assert set(Session.objects.values_list("id", flat=True)) == expected
    total_messages = Message.objects.count()
    assert out.strip().startswith(f"Synced {len(expected)} sessions ({total_messages} messages)")
    assert "0 unchanged, 0 files with errors" in out
    # the truncated fixture is reported, with its file and line
    assert "33333333-3333-4333-8333-333333333333.jsonl: line 3: truncated last line" in err


def test_stored_rows_match_the_parse(fixtures):
    sync()
    session = Session.objects.get(pk=RICH)
    assert session.message_count == 13 == session.messages.count()
    assert session.user_message_count == 3
    assert session.display_name == "Login redirect fix"
    assert session.machine == "test-machine"  # the configured machine name, readable
    assert session.file_path == str(_rich_file(fixtures))
    assert session.file_size == _rich_file(fixtures).stat().st_size
    assert session.file_mtime == _rich_file(fixtures).stat().st_mtime_ns
    assert len(session.file_hash) == 64
    assert session.total_output_tokens == 1395 and session.peak_context_tokens == 26005
    assert list(session.messages.order_by("ordinal").values_list("ordinal", flat=True)) == [
        0, 1, 3, 5, 7, 9, 11, 12, 13, 15, 16, 17, 19,
    ]
    task = ToolCall.objects.get(session=session, tool_name="Task")
    assert (task.message_ordinal, task.call_index) == (5, 0)
    assert task.subagent_session_id == "agent-a1b2c3d"
    bash = ToolCall.objects.get(tool_use_id="toolu_02BASH")
    assert bash.result_content.startswith("FAIL src/auth/login.test.ts")
    event = ToolResultEvent.objects.get(tool_use_id="toolu_02BASH")
    assert (event.status, event.source, event.tool_call_message_ordinal) == (
        "errored", "tool_result", 3,
    )
    usage = Message.objects.get(session=session, ordinal=1).token_usage
    assert orjson.loads(usage)["cache_read_input_tokens"] == 18000


def test_second_sync_changes_nothing(fixtures):
    sync()
    before = dict(Session.objects.values_list("id", "local_modified_at"))
    out, err = sync()
    assert out.startswith("Synced 0 sessions (0 messages)")
    assert f"{len(before)} unchanged" in out
    assert err == ""
    assert dict(Session.objects.values_list("id", "local_modified_at")) == before


def test_appending_to_one_file_rewrites_only_its_session(fixtures):
    sync()
    before = dict(Session.objects.values_list("id", "local_modified_at"))
    lines = [
        {"type": "user", "timestamp": "2026-03-02T10:00:00Z", "uuid": "x1", "parentUuid": None,
         "message": {"role": "user", "content": "One more thing: update the changelog."}},
        {"type": "assistant", "timestamp": "2026-03-02T10:00:05Z", "uuid": "x2",
         "parentUuid": "x1", "message": {"role": "assistant", "id": "msg_new",
                                          "content": [{"type": "text", "text": "Done."}]}},
    ]
    with _rich_file(fixtures).open("ab") as fh:
        for line in lines:
            fh.write(orjson.dumps(line) + b"\n")
    out, _ = sync()
    assert out.startswith("Synced 1 sessions (15 messages)")
    after = dict(Session.objects.values_list("id", "local_modified_at"))
    changed = {sid for sid in after if after[sid] != before[sid]}
    assert changed == {RICH}
    session = Session.objects.get(pk=RICH)
    assert session.message_count == 15
    assert session.messages.order_by("-ordinal").first().content == "Done."


def test_touched_but_identical_file_is_not_marked_modified(fixtures):
    sync()
    before = Session.objects.get(pk=RICH).local_modified_at
    stat = _rich_file(fixtures).stat()
    os.utime(_rich_file(fixtures), ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    out, _ = sync()
    assert out.startswith("Synced 0 sessions")
    session = Session.objects.get(pk=RICH)
    assert session.local_modified_at == before
    assert session.file_mtime == stat.st_mtime_ns + 5_000_000_000


def test_deleted_source_file_keeps_the_session(fixtures):
    sync()
    _rich_file(fixtures).unlink()
    out, _ = sync()
    session = Session.objects.get(pk=RICH)
    assert session.source_missing_at is not None
    assert session.messages.count() == 13
    assert "1 sessions' files gone (kept)" in out
    assert SourceFile.objects.get(path=str(_rich_file(fixtures))).missing_at is not None


def test_restored_file_clears_the_missing_mark(fixtures, tmp_path):
    sync()
    saved = tmp_path / "saved.jsonl"
    shutil.move(_rich_file(fixtures), saved)
    sync()
    shutil.move(saved, _rich_file(fixtures))
    os.utime(_rich_file(fixtures))
    sync()
    assert Session.objects.get(pk=RICH).source_missing_at is None


def test_shorter_rewrite_keeps_the_archived_copy(fixtures):
    sync()
    path = _rich_file(fixtures)
    path.write_bytes(b"".join(path.read_bytes().splitlines(keepends=True)[:6]))
    _, err = sync()
    assert Session.objects.get(pk=RICH).message_count == 13
    assert "fewer than archived; kept the archived copy" in err
    sync("--full")  # an explicit full sync takes the file as it now is
    assert Session.objects.get(pk=RICH).message_count < 13


def test_full_sync_rewrites_everything(fixtures):
    sync()
    before = dict(Session.objects.values_list("id", "local_modified_at"))
    out, _ = sync("--full")
    assert out.startswith(f"Synced {len(before)} sessions")
    after = dict(Session.objects.values_list("id", "local_modified_at"))
    assert all(after[sid] > before[sid] for sid in before)


def test_a_failing_session_write_leaves_nothing_behind():
    """One transaction per session: a row that cannot be inserted rolls back the session."""
    from django.db import IntegrityError

    duplicate = [ParsedMessage(role="user", content="a", ordinal=0),
                 ParsedMessage(role="assistant", content="b", ordinal=0)]
    parsed = ParsedSession(id="broken", agent="claude", messages=duplicate)
    source = SourceInfo(path="/nowhere/broken.jsonl", size=1, mtime_ns=1, sha256="0" * 64)
    with pytest.raises(IntegrityError):
        write_session(parsed, source, machine="m")
    assert not Session.objects.filter(pk="broken").exists()
    assert not Message.objects.filter(session_id="broken").exists()


def test_configured_machine_name_is_used(fixtures, monkeypatch):
    monkeypatch.setenv("AGENTSVIEW_PG_MACHINE", "alices-laptop")
    sync()
    assert set(Session.objects.values_list("machine", flat=True)) == {"alices-laptop"}
    assert load_config().machine_name == "alices-laptop"
