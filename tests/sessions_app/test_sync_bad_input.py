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


# --- odd values: each is clamped or dropped with a warning; nothing else is lost ------------

INT64_MAX = 2**63 - 1


def usage_line(usage: bytes, ts: str = "2026-01-01T10:00:05Z", msg_id: str = "m1") -> bytes:
    """An assistant line whose usage object is *usage*, written as raw JSON text (orjson
    cannot write numbers beyond 64 bits or non-finite ones)."""
    return line({"type": "assistant", "timestamp": ts, "message": {
        "id": msg_id, "role": "assistant", "content": [{"type": "text", "text": "Done."}],
        "usage": "USAGE"}}).replace(b'"USAGE"', usage)


def nested(depth: int, leaf: str = '"x"') -> str:
    return "[" * depth + leaf + "]" * depth


def write_codex(env, name: str, items: list[bytes], prompt: str = "go") -> Path:
    day = env["codex"] / "2026" / "01" / "02"
    day.mkdir(parents=True, exist_ok=True)
    path = day / f"rollout-2026-01-02T10-00-00-{name}.jsonl"
    meta = line({"timestamp": "2026-01-02T10:00:00Z", "type": "session_meta",
                 "payload": {"id": name, "cwd": "/home/dev/projects/bad"}})
    prompt = line({"timestamp": "2026-01-02T10:00:01Z", "type": "response_item", "payload": {
        "type": "message", "role": "user", "content": [{"type": "input_text", "text": prompt}]}})
    path.write_bytes(meta + prompt + b"".join(items))
    return path


@pytest.mark.parametrize(("usage", "warning", "context", "output"), [
    (b'{"input_tokens":18446744073709551616,"output_tokens":7}',
     "usage.input_tokens: 18446744073709551616 does not fit in 64 bits, clamped to"
     f" {INT64_MAX}", INT64_MAX, 7),
    (b'{"input_tokens":9223372036854775808,"output_tokens":7}',
     "usage.input_tokens: 9223372036854775808 does not fit in 64 bits, clamped to"
     f" {INT64_MAX}", INT64_MAX, 7),
    (b'{"input_tokens":-9223372036854775809,"output_tokens":1e300}',
     f"usage.output_tokens: 1e+300 does not fit in 64 bits, clamped to {INT64_MAX}",
     -(2**63), INT64_MAX),
    # each fits, their sum does not
    (f'{{"input_tokens":{INT64_MAX},"cache_read_input_tokens":{INT64_MAX},'
     f'"output_tokens":1}}'.encode(), None, INT64_MAX, 1),
], ids=["2^64", "2^63", "negative-and-float", "sum"])
def test_a_token_count_beyond_64_bits_is_clamped_and_stops_nothing(agent_env, usage, warning,
                                                                   context, output):
    bad = write_claude(agent_env, "aaa-huge", line(user("count")) + usage_line(usage))
    write_claude(agent_env, "zzz-good", GOOD)
    out, err, code = sync()
    assert (code, "Traceback" in err) == (0, False), err
    if warning:
        assert f"warning: {bad}: line 2: {warning}" in err
    assert set(Session.objects.values_list("id", flat=True)) == {"aaa-huge", "zzz-good"}
    reply = Message.objects.get(session_id="aaa-huge", ordinal=1)
    assert (reply.context_tokens, reply.output_tokens) == (context, output)
    _, err, code = sync()  # a later sync does not stop at that file either
    assert (code, err) == (0, "")


def test_output_tokens_that_only_overflow_summed_over_the_session(agent_env):
    usage = f'{{"output_tokens":{INT64_MAX}}}'.encode()
    write_claude(agent_env, "sum", line(user("count")) + usage_line(usage, msg_id="a")
                 + line(user("again", "2026-01-01T10:00:06Z"))
                 + usage_line(usage, "2026-01-01T10:00:07Z", msg_id="b"))
    _, err, code = sync()
    assert code == 0, err
    session = Session.objects.get(pk="sum")
    assert (session.message_count, session.total_output_tokens) == (4, INT64_MAX)


@pytest.mark.parametrize("number", ["1e400", "-1e400", "Infinity", "-Infinity", "NaN"])
def test_a_non_finite_token_count_is_dropped(agent_env, number):
    usage = f'{{"input_tokens":{number},"output_tokens":{number}}}'.encode()
    path = write_claude(agent_env, "inf", line(user("count")) + usage_line(usage))
    _, err, code = sync()
    assert code == 0, err
    assert f"warning: {path}: line 2: usage.input_tokens: not a finite number" in err
    assert f"warning: {path}: line 2: usage.output_tokens: not a finite number" in err
    reply = Message.objects.get(session_id="inf", ordinal=1)
    assert (reply.content, reply.context_tokens, reply.output_tokens) == ("Done.", 0, 0)


def _deep_tool_use(depth: int, leaf: str = '"x"') -> bytes:
    call = {"type": "assistant", "timestamp": "2026-01-01T10:00:05Z", "message": {
        "role": "assistant", "content": [
            {"type": "text", "text": "Calling."},
            {"type": "tool_use", "id": "t1", "name": "Bash", "input": {"command": "DEEP"}}]}}
    return line(call).replace(b'"DEEP"', nested(depth, leaf).encode())


def test_a_tool_input_nested_1000_deep_is_cut_with_a_warning(agent_env):
    path = write_claude(agent_env, "deep", line(user("go")) + _deep_tool_use(1000))
    write_claude(agent_env, "zzz-good", GOOD)
    _, err, code = sync()
    assert code == 0, err
    assert f"warning: {path}: line 2: tool input nested deeper than 200 levels" in err
    call = ToolCall.objects.get(session_id="deep")
    value = orjson.loads(call.input_json)["command"]
    for _ in range(198):  # the input object is level 1, its command list level 2
        value = value[0]
    assert value == [None]
    assert Session.objects.filter(pk="zzz-good").exists()


def test_a_codex_call_nested_1000_deep_is_archived(agent_env):
    """Its label, its stored input and its scoring (a code task: the prompt-quality signals
    read the command of a Bash call) all cope."""
    deep_cmd = {"timestamp": "2026-01-02T10:00:02Z", "type": "response_item", "payload": {
        "type": "function_call", "name": "exec_command", "call_id": "c1",
        "arguments": '{"cmd":' + nested(1000) + "}"}}
    deep_object = {"timestamp": "2026-01-02T10:00:03Z", "type": "response_item", "payload": {
        "type": "function_call", "name": "update_plan", "call_id": "c2", "arguments": "DEEP"}}
    path = write_codex(agent_env, "deep", [
        line(deep_cmd), line(deep_object).replace(b'"DEEP"', nested(1000).encode())],
        prompt="fix the failing test")
    _, err, code = sync()
    assert code == 0, err
    assert f"warning: {path}: line 4: tool input nested deeper than 200 levels" in err
    calls = ToolCall.objects.filter(session_id="codex:deep").order_by("message_ordinal")
    assert [c.tool_name for c in calls] == ["exec_command", "update_plan"]
    assert calls[0].input_json == deep_cmd["payload"]["arguments"]  # the agent's own text


@pytest.mark.parametrize("depth", [500, 900])
@pytest.mark.parametrize("leaf", [b'"\\ud800 lone"', b'"\xff invalid"'], ids=["surrogate",
                                                                               "utf8"])
def test_a_bad_string_nested_deep_loses_nothing(agent_env, depth, leaf):
    path = write_claude(agent_env, "deepstr", line(user("go"))
                        + _deep_tool_use(depth, "LEAF").replace(b"LEAF", leaf))
    _, err, code = sync()
    assert code == 0, err
    assert f"warning: {path}: line 2: tool input nested deeper than 200 levels" in err
    messages = Message.objects.filter(session_id="deepstr").order_by("ordinal")
    assert [m.content.split("\n")[0] for m in messages] == ["go", "Calling."]
    assert ToolCall.objects.get(session_id="deepstr").tool_name == "Bash"


def test_a_failing_session_write_is_reported_and_the_others_archived(agent_env, monkeypatch):
    """Whatever goes wrong writing one session (here a fault injected into its scoring) is a
    one-line error for that session; the other sessions and files are archived."""
    from sessions_app.services import ingest

    real = ingest.signal_columns

    def failing(parsed, rules, now):
        if parsed.id == "boom":
            raise ValueError("injected fault")
        return real(parsed, rules, now)

    monkeypatch.setattr(ingest, "signal_columns", failing)
    boom = write_claude(agent_env, "boom", GOOD)
    write_claude(agent_env, "good", GOOD)
    out, err, code = sync()
    assert code == 1
    assert f"error: {boom}: session boom not stored: ValueError: injected fault" in err
    assert "Traceback" not in err and "1 files with errors" in out
    assert list(Session.objects.values_list("id", flat=True)) == ["good"]


def test_a_file_name_that_is_not_utf8_stops_nothing(agent_env):
    project = agent_env["claude"] / PROJECT
    project.mkdir(parents=True)
    odd = os.fsdecode(bytes(project) + b"/odd-\xff.jsonl")
    Path(odd).write_bytes(GOOD)
    write_claude(agent_env, "zzz-good", GOOD)
    out, err, code = sync()
    assert code == 1 and "Traceback" not in err
    assert "odd-" in err and "1 files with errors" in out
    assert list(Session.objects.values_list("id", flat=True)) == ["zzz-good"]


@pytest.mark.parametrize("stamp", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00"])
def test_a_timestamp_past_the_calendar_in_utc_is_dropped(agent_env, stamp):
    write_claude(agent_env, "edge", line(user("early", stamp)) + line(assistant("ok")))
    _, err, code = sync()
    assert code == 0, err
    messages = Message.objects.filter(session_id="edge").order_by("ordinal")
    assert [(m.content, m.timestamp) for m in messages][0] == ("early", None)


def test_a_number_too_long_for_python_loses_only_itself(agent_env):
    usage = b'{"input_tokens":1' + b"0" * 5000 + b',"output_tokens":7}'
    path = write_claude(agent_env, "long", line(user("count")) + usage_line(usage))
    _, err, code = sync()
    assert code == 0, err
    assert f"warning: {path}: line 2: usage.input_tokens: not a finite number (inf)" in err
    reply = Message.objects.get(session_id="long", ordinal=1)
    assert (reply.context_tokens, reply.output_tokens) == (0, 7)
