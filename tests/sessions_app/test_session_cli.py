"""The session CLI as real processes, through its three transports: the local archive, a
running local server, and pg serve over PostgreSQL. The JSON must be the same bytes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import orjson
import pytest

from tests.agentsview.test_server import running
from tests.layouts import build_claude, build_codex
from tests.pg_processes import Machine, throwaway_schema, wait_for

# runs real processes (the console script, gunicorn, a browser): not in the fast loop
pytestmark = pytest.mark.slow

RICH = "7f3c1e2a-5b6d-4e8f-9a0b-1c2d3e4f5a6b"
CODEX = "codex:0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
FORKED = "-home-dev-projects-cli-tool/9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d.jsonl"

JSON_COMMANDS = [
    ("session", "list"),
    ("session", "list", "--include-one-shot", "--include-children", "--limit", "3"),
    ("session", "list", "--project", "webapp", "--include-one-shot", "--order-by",
     "messages:desc"),
    ("session", "list", "--git-branch", "main", "--termination", "awaiting_user",
     "--automated-scope", "all", "--include-one-shot"),
    ("session", "get", RICH),
    ("session", "get", CODEX),
    ("session", "messages", RICH),
    ("session", "messages", RICH, "--from", "5", "--limit", "3"),
    ("session", "messages", RICH, "--direction", "desc", "--limit", "4"),
    ("session", "messages", RICH, "--direction", "desc", "--from", "0"),
    ("session", "tool-calls", RICH),
    ("session", "tool-calls", CODEX),
    ("session", "agents"),
]


def cli(machine: Machine, *args: str, **env: str) -> subprocess.CompletedProcess:
    return machine.run(*args, timeout=120, **env)


def json_outputs(machine: Machine) -> dict[tuple, bytes]:
    outputs = {}
    for command in JSON_COMMANDS:
        proc = cli(machine, *command, "--format", "json")
        assert proc.returncode == 0, (command, proc.stderr)
        outputs[command] = proc.stdout.encode()
    return outputs


def machine_with_archive(tmp_path, url="postgresql://unused@127.0.0.1/x", schema="agentsview",
                         name="laptop-a") -> Machine:
    machine = Machine(tmp_path / name, name, url, schema)
    build_claude(machine.claude)
    machine.env["CODEX_SESSIONS_DIR"] = str(machine.root / "codex")
    build_codex(machine.root / "codex")
    assert machine.run("sync").returncode == 0
    return machine


@pytest.mark.pg
def test_same_json_through_every_transport(tmp_path):
    with throwaway_schema() as (url, schema):
        laptop = machine_with_archive(tmp_path, url, schema)
        direct = json_outputs(laptop)
        with running(laptop, "serve") as server:
            assert server.state_file.exists()
            via_server = json_outputs(laptop)
        assert cli(laptop, "pg_push").returncode == 0
        with running(laptop, "pg_serve"):
            via_pg_serve = json_outputs(laptop)
            refused = cli(laptop, "session", "sync", RICH)
        for command in JSON_COMMANDS:
            assert via_server[command] == direct[command], command
            assert via_pg_serve[command] == direct[command], command
        page = orjson.loads(direct[JSON_COMMANDS[1]])
        assert len(page["sessions"]) == 3 and page["next_cursor"]
        assert refused.returncode == 1
        assert "is read-only: session sync needs the local archive" in refused.stderr


def test_human_output_and_advisory(tmp_path):
    laptop = machine_with_archive(tmp_path)
    listing = cli(laptop, "session", "list")
    assert listing.returncode == 0
    assert listing.stdout.splitlines()[0].split() == [
        "ID", "AGE", "AGENT", "PROJECT", "BRANCH", "MSGS", "NAME", "MACHINE"]
    assert "Login redirect fix" in listing.stdout
    assert listing.stderr.startswith("Excluded ")
    assert "--include-one-shot, --include-automated, --include-children" in listing.stderr
    everything = cli(laptop, "session", "list", "--include-one-shot", "--include-automated",
                     "--include-children")
    assert everything.stderr == ""
    branch = cli(laptop, "session", "list", "--git-branch", "feature/login-redirect",
                 "--include-one-shot", "--format", "json")
    assert [s["id"] for s in json.loads(branch.stdout)["sessions"]] == [RICH]
    detail = cli(laptop, "session", "get", RICH)
    assert "name          Login redirect fix" in detail.stdout
    messages = cli(laptop, "session", "messages", RICH, "--limit", "2")
    assert messages.stdout.startswith("#0  user  2026-03-02T09:00:01Z\n    Fix the login")
    tools = cli(laptop, "session", "tool-calls", RICH)
    assert tools.stdout.splitlines()[0].split() == [
        "ORD", "TIME", "TOOL", "CATEGORY", "RESULT", "INPUT"]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("session", "get", "nope"), 1, "error: session not found: nope"),
        (("session", "messages", "nope"), 1, "error: session not found: nope"),
        (("session", "tool-calls", "nope"), 1, "error: session not found: nope"),
        (("session", "watch", "nope"), 1, "error: watch: session not found: nope"),
        (("session", "list", "--format", "bogus"), 2,
         "argument --format: invalid choice: 'bogus' (choose from 'human', 'json')"),
        (("session", "list", "--date", "2026-13-01"), 2,
         "error: --date 2026-13-01: expected a date YYYY-MM-DD"),
        (("session", "list", "--automated-scope", "bots"), 2,
         'error: --automated-scope bots: expected value to be one of "human, all, automated"'),
        (("session", "messages", RICH, "--direction", "sideways"), 2,
         "argument --direction: invalid choice: 'sideways'"),
        (("session", "export", "nope"), 1, "error: session not in local archive: nope"),
        (("session", "export", RICH, "--format", "json"), 1,
         "error: session export: --server and --format do not apply"),
        (("session", "sync", "nope"), 1, "error: session not in local archive: nope"),
    ],
)
def test_errors_direct_and_through_a_server(tmp_path, args, code, message):
    laptop = machine_with_archive(tmp_path)
    proc = cli(laptop, *args)
    assert proc.returncode == code, proc.stderr
    assert message in proc.stderr
    if args[1] in ("get", "messages", "tool-calls", "watch") or "--limit" in args:
        with running(laptop, "serve"):
            proc = cli(laptop, *args)
        assert proc.returncode == code and message in proc.stderr


def test_stale_state_file_is_removed_and_the_archive_answers(tmp_path):
    laptop = machine_with_archive(tmp_path)
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = laptop.data / "server.9.json"
    stale.write_text(json.dumps({"pid": dead.pid, "port": 9, "host": "127.0.0.1"}))
    proc = cli(laptop, "session", "get", RICH, "--format", "json")
    assert proc.returncode == 0 and orjson.loads(proc.stdout)["id"] == RICH
    assert not stale.exists()


def test_server_that_requires_auth(tmp_path):
    laptop = machine_with_archive(tmp_path)
    with running(laptop, "serve", "--require-auth") as server:
        token = (laptop.data / "auth_token").read_text().strip()
        # the CLI of this data dir knows the token it saved
        assert cli(laptop, "session", "get", RICH).returncode == 0
        url = f"http://127.0.0.1:{server.port}"
        denied = cli(laptop, "session", "get", RICH, "--server", url)
        assert denied.returncode == 1
        assert "requires a token" in denied.stderr and "AGENTSVIEW_SERVER_TOKEN" in denied.stderr
        allowed = cli(laptop, "session", "get", RICH, "--server", url,
                      AGENTSVIEW_SERVER_TOKEN=token)
        assert allowed.returncode == 0
        token_file = tmp_path / "token"
        token_file.write_text(token + "\n")
        assert cli(laptop, "session", "get", RICH, "--server", url, "--server-token-file",
                   str(token_file)).returncode == 0
        assert token not in denied.stderr + allowed.stdout


def test_export_streams_the_raw_file(tmp_path):
    laptop = machine_with_archive(tmp_path)
    source = next(laptop.claude.rglob(f"{RICH}.jsonl"))
    proc = subprocess.run(laptop.command("session", "export", RICH), env=laptop.env,
                          capture_output=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout == source.read_bytes()
    source.unlink()
    gone = cli(laptop, "session", "export", RICH)
    assert gone.returncode == 1 and f"error: source file not found: {source}" in gone.stderr


def test_sync_path_and_id(tmp_path):
    laptop = machine_with_archive(tmp_path)
    single = next(laptop.claude.rglob(f"{RICH}.jsonl"))
    assert cli(laptop, "session", "sync", str(single)).stdout.strip() == f"synced: {RICH}"
    detail = cli(laptop, "session", "sync", RICH, "--format", "json")
    assert orjson.loads(detail.stdout)["id"] == RICH
    forked = cli(laptop, "session", "sync", str(laptop.claude / FORKED))
    assert forked.returncode == 1
    assert "holds 2 sessions; run session sync <id> with one of:" in forked.stderr
    with running(laptop, "serve"):  # through the local server
        via = cli(laptop, "session", "sync", str(single), "--format", "json")
        assert via.returncode == 0, via.stderr
        assert orjson.loads(via.stdout)["id"] == RICH
        outside = tmp_path / "elsewhere.jsonl"
        outside.write_bytes(single.read_bytes())
        refused = cli(laptop, "session", "sync", str(outside))
        assert refused.returncode == 1
        assert "outside the configured agent directories" in refused.stderr


@pytest.mark.parametrize("through_server", [False, True])
def test_watch_prints_ndjson_events(tmp_path, through_server):
    laptop = machine_with_archive(tmp_path)
    context = running(laptop, "serve") if through_server else None
    if context:
        context.__enter__()
    try:
        # Ctrl+C's SIGINT as in a terminal: a background job (CI run with `&`) inherits it
        # ignored, and Python then never turns it into KeyboardInterrupt
        proc = subprocess.Popen(laptop.command("session", "watch", RICH), env=laptop.env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        first = json.loads(proc.stdout.readline())
        assert first == {"event": "session_ready", "data": RICH}
        source = next(laptop.claude.rglob(f"{RICH}.jsonl"))
        with source.open("a") as fh:
            fh.write(json.dumps({"type": "user", "timestamp": "2026-03-02T10:00:00Z",
                                 "message": {"role": "user", "content": "more"}}) + "\n")
        assert cli(laptop, "session", "sync", RICH).returncode == 0
        deadline = time.monotonic() + 30
        update = None
        while time.monotonic() < deadline:
            event = json.loads(proc.stdout.readline())
            if event["event"] == "session_updated":
                update = event
                break
        assert update == {"event": "session_updated", "data": RICH}
        proc.send_signal(signal.SIGINT)  # Ctrl+C
        assert proc.wait(timeout=30) in (0, 1, -2, 130)
    finally:
        if context:
            context.__exit__(None, None, None)
    assert wait_for(lambda: not any(laptop.data.glob("server.*.json")), 10)
    assert os.environ.get("AGENTSVIEW_DATA_DIR") != str(laptop.data)
