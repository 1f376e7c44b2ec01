"""VS Code Copilot Chat: our sessions (a serialized JSON chat in agent mode, an operation log,
an empty window's chat), the log's operations, documents cut short or holding wrong types,
both forms of one session, and a real sync."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from sessions_app.models import Session
from sessions_app.parsers.base import ParseOptions
from sessions_app.parsers.vscode_copilot import parser
from tests.layouts import AGENT_FIXTURES
from tests.sessions_app.agent_sync_checks import assert_synced_end_to_end
from tests.sessions_app.store_helpers import copy_tree, sync_report, wrong_type_mutants
from tests.sessions_app.test_parser_fuzz import check

USER = AGENT_FIXTURES / "vscode-copilot" / "synthetic" / "User"
HASH = "3f9a1c7e5b2d48a6c0e1f2a3b4c5d6e7"
AGENT_MODE = "6b1f2c3d-4e5a-4b6c-8d7e-9f0a1b2c3d4e"
OPLOG = "8c2d3e4f-5a6b-4c7d-9e8f-0a1b2c3d4e5f"
EMPTY_WINDOW = "9d3e4f5a-6b7c-4d8e-8f9a-1b2c3d4e5f60"


@pytest.fixture
def user(tmp_path) -> Path:
    return copy_tree(USER, tmp_path / "User")


def chats(user: Path) -> Path:
    return user / "workspaceStorage" / HASH / "chatSessions"


def parse(path: Path, root: Path):
    return parser.parse(path, root, ParseOptions(max_line_bytes=1024 * 1024))


def test_an_agent_mode_chat(user):
    result = parse(chats(user) / f"{AGENT_MODE}.json", user)
    assert result.issues == [] and result.records == 1
    (session,) = result.sessions
    assert session.id == f"vscode-copilot:{AGENT_MODE}" and session.agent == "vscode-copilot"
    assert (session.project, session.cwd) == ("webapp", "/home/dev/projects/webapp")
    assert session.display_name == "Rename the auth guard"
    assert session.first_message == (
        "Rename guard to requireLogin in src/auth/redirect.ts and run the tests")
    assert (session.message_count, session.user_message_count) == (4, 2)
    assert session.started_at == datetime(2026, 3, 6, 9, 59, 55, tzinfo=UTC)
    assert session.ended_at == datetime(2026, 3, 6, 10, 2, 3, 100000, tzinfo=UTC)
    answer = session.messages[1]
    assert answer.timestamp == datetime(2026, 3, 6, 10, 0, 14, 200000, tzinfo=UTC)
    assert answer.model == "claude-sonnet-4.5" and answer.has_thinking
    assert answer.thinking_text == "The guard is exported from redirect.ts; read it before editing."
    assert orjson.loads(answer.token_usage) == {"input_tokens": 14820, "output_tokens": 512}
    read, edit, test, remove = answer.tool_calls
    assert [(c.tool_name, c.category) for c in answer.tool_calls] == [
        ("copilot_readFile", "Read"), ("copilot_replaceString", "Edit"),
        ("run_in_terminal", "Bash"), ("run_in_terminal", "Bash")]
    # the model's own arguments, from the request's tool-call rounds
    assert orjson.loads(edit.input_json)["newString"] == "export function requireLogin("
    assert read.file_path == edit.file_path == "/home/dev/projects/webapp/src/auth/redirect.ts"
    assert read.result_content is None and read.result_content_length > 0  # Read: not kept
    assert edit.result_content.startswith("The following files were successfully edited")
    assert [e.status for e in test.result_events] == ["errored"]  # npm test exited 1
    assert "guard is not defined" in test.result_content
    assert [e.status for e in remove.result_events] == ["cancelled"]  # the user refused it
    assert "[Bash]\n$ npm test" in answer.content
    assert answer.content.startswith("[Thinking]\n") and "I'll start with `" in answer.content
    assert (session.total_output_tokens, session.peak_context_tokens) == (550, 15410)


def test_an_operation_log(user):
    result = parse(chats(user) / f"{OPLOG}.jsonl", user)
    assert result.issues == [] and result.records == 13
    (session,) = result.sessions
    assert session.id == f"vscode-copilot:{OPLOG}" and session.display_name == "Pin Node 20"
    assert session.project == "webapp" and session.user_message_count == 2
    answer = session.messages[1]
    # a part pushed with "i" replaced the streamed one it cut
    assert answer.content == ("[Thinking]\nA one-line file is enough.\n[/Thinking]\n"
                              "Creating `.nvmrc`.\n[Write: /home/dev/projects/webapp/.nvmrc]\n"
                              "Added `.nvmrc` with `20`.")
    (create,) = answer.tool_calls
    assert create.category == "Write" and [e.status for e in create.result_events] == [
        "completed"]
    assert answer.timestamp == datetime(2026, 3, 7, 10, 0, 7, 200000, tzinfo=UTC)
    assert session.messages[-1].content.startswith("Sorry, your request failed.")
    assert session.termination_status == "errored"


def test_an_empty_windows_chat(user):
    path = user / "globalStorage" / "emptyWindowChatSessions" / f"{EMPTY_WINDOW}.json"
    (session,) = parse(path, user).sessions
    assert (session.project, session.cwd) == ("unknown", "")
    assert session.first_message == "What does `git rebase --onto` do?"
    assert session.messages[1].model == "gpt-4.1"
    assert parser.root_of(path) == user and parser.root_of(chats(user) / "x.json") == user


def test_layout_and_sniff(user):
    assert parser.matches(("workspaceStorage", HASH, "chatSessions", "a.jsonl"))
    assert parser.matches(("globalStorage", "transferredChatSessions", "a.json"))
    assert not parser.matches(("workspaceStorage", HASH, "workspace.json"))
    assert not parser.matches(("globalStorage", "github.copilot-chat", "a.json"))
    assert not parser.matches(("workspaceStorage", HASH, "chatEditingSessions", "a.json"))
    assert parser.sniff(chats(user) / f"{OPLOG}.jsonl")
    assert not parser.sniff(user / "workspaceStorage" / HASH / "workspace.json")


@pytest.mark.parametrize(("folder", "project", "cwd"), [
    ({"folder": "file:///home/dev/work/my-api"}, "my_api", "/home/dev/work/my-api"),
    ({"workspace": "file:///home/dev/mono.code-workspace"}, "mono", ""),
    ({"folder": "vscode-remote://ssh-remote%2Bbox/srv/app"}, "app", "/srv/app"),
    ({"folder": "file:///c%3A/Users/bob/shop"}, "shop", "c:/Users/bob/shop"),
    ({"folder": 5}, "unknown", ""),
])
def test_the_workspace_names_the_project(user, folder, project, cwd):
    (user / "workspaceStorage" / HASH / "workspace.json").write_text(json.dumps(folder))
    (session,) = parse(chats(user) / f"{AGENT_MODE}.json", user).sessions
    assert (session.project, session.cwd) == (project, cwd)


def test_odd_operations_are_skipped(tmp_path):
    path = tmp_path / "workspaceStorage" / "h" / "chatSessions" / "s.jsonl"
    path.parent.mkdir(parents=True)
    ops = [
        {"kind": 1, "k": ["customTitle"], "v": "before any state"},
        {"kind": 0, "v": {"sessionId": "s", "requests": [
            {"message": {"text": "hi"}, "response": [{"value": "hello"}], "timestamp": 1e400}]}},
        {"kind": 2, "k": ["requests", 0, "message"], "v": [1]},
        {"kind": 1, "k": ["requests", "zero", "x"], "v": 1},
        {"kind": 2, "k": ["requests", 0, "response"], "v": "not a list", "i": -4},
        {"kind": 3, "k": ["requests", 9]},
        {"kind": 7, "k": ["x"]},
        {"kind": 1, "k": [], "v": None},
    ]
    path.write_bytes(b"".join(orjson.dumps(op) + b"\n" for op in ops) + b'{"kind": 1, "k": [')
    result = parse(path, tmp_path)
    assert result.is_truncated and result.malformed_lines == 1
    assert any("before the first state" in issue for issue in result.issues)
    (session,) = result.sessions
    assert [m.content for m in session.messages] == ["hi", "hello"]
    assert session.termination_status == "truncated"
    check("vscode-copilot", path, tmp_path)


def test_a_document_cut_in_half_keeps_its_complete_requests(user):
    path = chats(user) / f"{AGENT_MODE}.json"
    doc = json.loads(path.read_text())
    text = json.dumps(doc, indent=2)
    cut = text.index('"requestId": "request_6f1d2b3c')  # inside the second request
    path.write_text(text[:cut + 60])
    result = parse(path, user)
    assert result.is_truncated and any("cut short" in issue for issue in result.issues)
    (session,) = result.sessions
    assert session.user_message_count == 1 and session.messages[1].tool_calls
    check("vscode-copilot", path, user)


@pytest.mark.parametrize("data", [b"", b"\x00\xff" * 40, b"[1, 2]", b'{"requests": 5}',
                                  b'{"requests": [null, 1, {"message": 3, "response": {}}]}'])
def test_files_without_a_session(tmp_path, data):
    path = tmp_path / "globalStorage" / "emptyWindowChatSessions" / "x.json"
    path.parent.mkdir(parents=True)
    path.write_bytes(data)
    assert parse(path, tmp_path).sessions == []
    check("vscode-copilot", path, tmp_path)


def test_wrong_types_in_any_field(tmp_path):
    doc = json.loads((USER / "workspaceStorage" / HASH / "chatSessions" /
                      f"{AGENT_MODE}.json").read_text())
    folder = tmp_path / "workspaceStorage" / "h" / "chatSessions"
    folder.mkdir(parents=True)
    path = folder / "s.json"
    for where, mutant in wrong_type_mutants(doc, exhaustive=False):
        path.write_bytes(mutant)
        try:
            check("vscode-copilot", path, tmp_path)
        except Exception as exc:  # pragma: no cover - the failure names the mutant
            raise AssertionError(where) from exc


def test_both_forms_of_one_session(user):
    folder = chats(user)
    log = folder / f"{OPLOG}.jsonl"
    old = folder / f"{OPLOG}.json"
    old.write_text(json.dumps({"version": 3, "sessionId": OPLOG, "requests": [
        {"message": {"text": "Add a .nvmrc pinning Node 20"}, "response": []}]}))
    (session,) = parse(old, user).sessions  # the .json archives it, read from the log
    assert session.display_name == "Pin Node 20" and session.user_message_count == 2
    assert any("read from" in issue for issue in parse(old, user).issues)
    assert parse(log, user).sessions == []
    assert old in parser.companion_paths(log)


@pytest.mark.django_db
def test_sync_and_incremental(agent_env):
    root = copy_tree(USER, agent_env["vscode-copilot"])
    ids = {f"vscode-copilot:{i}" for i in (AGENT_MODE, OPLOG, EMPTY_WINDOW)}
    assert_synced_end_to_end("vscode-copilot", ids)
    stored = Session.objects.get(pk=f"vscode-copilot:{AGENT_MODE}")
    assert stored.project == "webapp" and stored.tool_failure_signal_count >= 1
    # the workspace moved: workspace.json is watched, its chats are read again
    (root / "workspaceStorage" / HASH / "workspace.json").write_text(
        json.dumps({"folder": "file:///home/dev/projects/storefront"}))
    report = sync_report()
    assert report.files_parsed == 2 and not report.errors
    assert Session.objects.get(pk=f"vscode-copilot:{OPLOG}").project == "storefront"
    assert sync_report().files_parsed == 0
