"""Bad input: each case gets a message naming the file (and line), is counted, and loses
nothing else."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from io import StringIO
from pathlib import Path

import orjson
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from sessions_app.models import Message, Session, ToolCall

pytestmark = pytest.mark.django_db

REPO = Path(__file__).resolve().parents[2]
PROJECT = "-home-dev-projects-bad"


def line(obj: dict) -> bytes:
    return orjson.dumps(obj) + b"\n"


def user(text: str, ts: str = "2026-01-01T10:00:00Z") -> dict:
    return {"type": "user", "timestamp": ts, "cwd": "/home/dev/projects/bad",
            "message": {"role": "user", "content": text}}


def assistant(text: str, ts: str = "2026-01-01T10:00:05Z") -> dict:
    return {"type": "assistant", "timestamp": ts,
            "message": {"role": "assistant", "content": [{"type": "text", "text": text}]}}


GOOD = line(user("Fix the bug")) + line(assistant("Fixed."))


def write_claude(env, session_id: str, data: bytes) -> Path:
    path = env["claude"] / PROJECT / f"{session_id}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def sync() -> tuple[str, str, int]:
    out, err = StringIO(), StringIO()
    try:
        call_command("sync", stdout=out, stderr=err)
        code = 0
    except CommandError as exc:
        err.write(str(exc))
        code = exc.returncode
    return out.getvalue(), err.getvalue(), code


def test_truncated_last_line(agent_env):
    path = write_claude(agent_env, "trunc", GOOD + b'{"type":"user","message":{"content":"mo')
    out, err, code = sync()
    assert code == 0
    assert f"warning: {path}: line 3: truncated last line (incomplete JSON), skipped" in err
    assert "1 with warnings" in out
    session = Session.objects.get(pk="trunc")
    assert (session.message_count, session.is_truncated, session.parser_malformed_lines) == (
        2, True, 1,
    )


def test_invalid_json_in_the_middle(agent_env):
    path = write_claude(agent_env, "mid", line(user("first")) + b"{not json at all\n"
                        + line(assistant("second")))
    _, err, code = sync()
    assert code == 0
    assert f"warning: {path}: line 2: invalid JSON, skipped" in err
    session = Session.objects.get(pk="mid")
    assert [m.content for m in session.messages.order_by("ordinal")] == ["first", "second"]
    assert session.parser_malformed_lines == 1


def test_invalid_utf8_is_replaced_and_kept(agent_env):
    raw = line(user("caf\u00e9 PLACEHOLDER")).replace(b"PLACEHOLDER", b"\xff\xfe ok")
    path = write_claude(agent_env, "utf8", raw + line(assistant("fine")))
    _, err, code = sync()
    assert code == 0
    assert f"warning: {path}: line 1: invalid UTF-8 replaced with U+FFFD" in err
    first = Message.objects.get(session_id="utf8", ordinal=0).content
    assert first == "café \ufffd\ufffd ok"


def test_nul_bytes_inside_strings(agent_env):
    escaped = line(user("before\u0000after"))  # JSON escape \u0000
    raw_nul = line(assistant("raw PLACE")).replace(b"PLACE", b"x\x00y")  # a literal NUL byte
    write_claude(agent_env, "nul", escaped + raw_nul)
    _, _, code = sync()
    assert code == 0
    contents = list(Message.objects.filter(session_id="nul").order_by("ordinal")
                    .values_list("content", flat=True))
    assert contents == ["before\x00after", "raw x\x00y"]


@pytest.mark.slow
def test_a_50_mb_line_is_archived(agent_env):
    big = "x" * (50 * 1024 * 1024)
    call = {"type": "assistant", "timestamp": "2026-01-01T10:00:05Z", "message": {
        "role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "Bash",
                                          "input": {"command": "cat big.log"}}]}}
    result = {"type": "user", "timestamp": "2026-01-01T10:00:06Z", "message": {
        "role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": big}]}}
    write_claude(agent_env, "big", line(user("show the log")) + line(call) + line(result))
    _, err, code = sync()
    assert code == 0 and "big.jsonl" not in err
    tool = ToolCall.objects.get(session_id="big")
    assert tool.result_content_length == len(big)
    assert len(tool.result_content) == len(big)


def test_a_line_over_the_cap_is_skipped(agent_env, monkeypatch):
    monkeypatch.setenv("AGENTSVIEW_MAX_LINE_BYTES", str(1024 * 1024))
    huge = line(assistant("y" * (2 * 1024 * 1024)))
    path = write_claude(agent_env, "cap", line(user("hello")) + huge + line(assistant("bye")))
    _, err, code = sync()
    assert code == 0
    assert f"warning: {path}: line 2: line longer than 1 MiB, skipped" in err
    assert [m.content for m in Session.objects.get(pk="cap").messages.order_by("ordinal")] == [
        "hello", "bye",
    ]


def test_empty_file(agent_env):
    path = write_claude(agent_env, "empty", b"")
    out, err, code = sync()
    assert code == 0
    assert f"warning: {path}: empty file, no session" in err
    assert "1 without sessions" in out
    assert not Session.objects.filter(pk="empty").exists()
    out, err, _ = sync()  # remembered: not read or reported again until it changes
    assert err == ""


def test_binary_file_named_jsonl(agent_env):
    write_claude(agent_env, "good", GOOD)
    path = write_claude(agent_env, "binary", os.urandom(4096).replace(b"\n", b"") + b"\n" * 3
                        + bytes(range(256)))
    out, err, code = sync()
    assert code == 1
    assert f"error: {path}: no valid JSON lines: not a session file" in err
    assert "1 files with errors" in out
    assert Session.objects.filter(pk="good").exists()


def test_directory_named_like_a_session_file(agent_env):
    write_claude(agent_env, "good", GOOD)
    bogus = agent_env["claude"] / PROJECT / "x.jsonl"
    bogus.mkdir()
    _, err, code = sync()
    assert code == 0
    assert f"warning: {bogus}: is a directory, not a session file; skipped" in err
    assert Session.objects.filter(pk="good").exists()


def test_symlink_loops(agent_env):
    write_claude(agent_env, "good", GOOD)
    project = agent_env["claude"] / PROJECT
    (project / "loop").symlink_to(project, target_is_directory=True)
    (project / "self.jsonl").symlink_to(project / "self.jsonl")
    _, err, code = sync()
    assert code == 0
    assert f"warning: {project / 'loop'}: symlink loop (directory seen before), skipped" in err
    assert f"warning: {project / 'self.jsonl'}: symlink loop, skipped" in err
    assert list(Session.objects.values_list("id", flat=True)) == ["good"]


def test_codex_file_without_session_meta(agent_env):
    day = agent_env["codex"] / "2026" / "01" / "02"
    day.mkdir(parents=True)
    uuid = "0199ffff-0000-7000-8000-000000000001"
    path = day / f"rollout-2026-01-02T10-00-00-{uuid}.jsonl"
    item = {"timestamp": "2026-01-02T10:00:01Z", "type": "response_item", "payload": {
        "type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}}
    path.write_bytes(line(item))
    _, err, code = sync()
    assert code == 0
    assert f"warning: {path}: no session_meta line; id taken from the file name ({uuid})" in err
    session = Session.objects.get(pk=f"codex:{uuid}")
    assert (session.project, session.message_count) == ("unknown", 1)


def test_archived_session_survives_its_file_turning_to_garbage(agent_env):
    path = write_claude(agent_env, "keep", GOOD)
    sync()
    path.write_bytes(b"\x00\x01\x02 garbage \xff\n")
    _, err, code = sync()
    assert code == 1 and f"error: {path}: no valid JSON lines" in err
    assert Session.objects.get(pk="keep").messages.count() == 2


def _drop_file_permission_bypass() -> list[str]:
    """As root, file modes do not stop reads; drop the capabilities that bypass them."""
    if os.geteuid() != 0:
        return []
    caps = "-dac_override,-dac_read_search"
    return ["setpriv", f"--bounding-set={caps}", f"--inh-caps={caps}", "--"]


@pytest.mark.slow
def test_unreadable_file(agent_env, tmp_path):
    write_claude(agent_env, "good", GOOD)
    locked = write_claude(agent_env, "locked", GOOD)
    locked.chmod(0)
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    proc = subprocess.run(
        [*_drop_file_permission_bypass(), sys.executable, str(REPO / "manage.py"), "sync"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 1, proc.stderr
    assert f"error: {locked}: permission denied" in proc.stderr
    assert "1 files with errors" in proc.stdout
    db = sqlite3.connect(agent_env["data"] / "agentsview.db")
    assert db.execute("select id from sessions").fetchall() == [("good",)]
