"""The TRAE CLI (TraeX) parser: Codex's parse of a TRAE rollout, moved onto its own agent and
ids; told apart from Codex's rollouts; a real sync."""

from __future__ import annotations

import shutil

import orjson
import pytest

from sessions_app.models import Session, ToolCall
from sessions_app.parsers import codex
from sessions_app.parsers.base import ParseOptions
from sessions_app.parsers.traex import parser, relabel
from tests.layouts import AGENT_FIXTURES
from tests.sessions_app.agent_sync_checks import assert_synced_end_to_end

FIXTURE = AGENT_FIXTURES / "traex" / "repo" / "rollout_subagent.jsonl"
CODEX_FIXTURE = AGENT_FIXTURES / "codex" / "repo" / "standard_session.jsonl"
CHILD = "019fbcca-9fd4-7d20-83dc-0762b2f839b3"
PARENT = "019fbc4a-48b9-7472-a0da-6d92901383db"
SPAWNED = "019fbcd0-1111-7000-8000-000000000001"
FILE = f"rollout-2026-08-01T18-07-03-{CHILD}.jsonl"


def parse(path=FIXTURE):
    return parser.parse(path, path.parent, ParseOptions(max_line_bytes=1024 * 1024))


def test_the_fixture_subagent_rollout():
    result = parse()
    assert result.issues == []
    (session,) = result.sessions
    assert session.id == f"traex:{CHILD}"
    assert session.agent == "traex"
    assert session.parent_session_id == f"traex:{PARENT}"
    assert session.relationship_type == "subagent"
    assert session.project == "api" and session.cwd == "/home/user/code/api"
    assert session.git_branch == "main" and session.source_version == "0.200.19"
    assert session.first_message == "Explore the parser package."
    assert session.user_message_count == 1 and session.message_count == 5
    assert [m.ordinal for m in session.messages] == list(range(5))
    assert session.termination_status == "awaiting_user"
    spawn, wait, command = (m.tool_calls[0] for m in session.messages[1:4])
    assert (spawn.tool_name, spawn.category) == ("spawn_agent", "Task")
    assert spawn.subagent_session_id == f"traex:{SPAWNED}"  # not a codex: id
    assert (command.tool_name, command.category) == ("exec_command", "Bash")
    assert session.messages[3].content == "[Bash]\n$ ls internal/parser"
    assert orjson.loads(session.messages[3].token_usage) == {
        "input_tokens": 600, "cache_read_input_tokens": 3600, "output_tokens": 180}
    assert session.messages[3].context_tokens == 4200
    assert all(m.model == "gpt-5-codex" for m in session.messages)
    assert wait.result_content_length


def test_relabel_touches_codex_ids_only():
    assert relabel("codex:abc") == "traex:abc"
    assert relabel("codex:codex:abc") == "traex:codex:abc"
    assert relabel("traex:abc") == "traex:abc"
    assert relabel("other") == "other" and relabel(None) is None and relabel("") == ""


def test_traex_and_codex_rollouts_are_told_apart(tmp_path):
    assert parser.sniff(FIXTURE)
    assert not codex.parser.sniff(FIXTURE)
    assert codex.parser.sniff(CODEX_FIXTURE)
    assert not parser.sniff(CODEX_FIXTURE)
    assert parser.matches(("2026", "08", "01", FILE)) and parser.matches((FILE,))
    assert parser.root_of(tmp_path / "2026" / "08" / "01" / FILE) == tmp_path


def test_its_version_moves_with_the_codex_parser(monkeypatch):
    before = parser.version
    monkeypatch.setattr(codex.parser, "version", codex.parser.version + 1)
    assert parser.version > before
    assert parser.tool_categories == codex.parser.tool_categories


@pytest.mark.parametrize("mutation", [
    lambda lines: lines[:-1] + [lines[-1][:40]],
    lambda lines: [lines[0].replace(b'"cwd":"/home/user/code/api"', b'"cwd":["x"]')] + lines[1:],
    lambda lines: [lines[0].replace(b'"parent_thread_id":"019fbc4a', b'"parent_thread_id":7,"x":"'
                                    )] + lines[1:],
])
def test_bad_lines_cost_only_themselves(tmp_path, mutation):
    lines = FIXTURE.read_bytes().splitlines()
    path = tmp_path / FILE
    path.write_bytes(b"\n".join(mutation(lines)))
    (session,) = parse(path).sessions
    assert session.agent == "traex" and session.id.startswith("traex:")
    assert session.first_message == "Explore the parser package."


@pytest.mark.django_db
def test_sync_archives_the_subagent_without_its_parent(agent_env):
    day = agent_env["traex"] / "2026" / "08" / "01"
    day.mkdir(parents=True)
    shutil.copyfile(FIXTURE, day / FILE)
    assert_synced_end_to_end("traex", {f"traex:{CHILD}"})
    stored = Session.objects.get(pk=f"traex:{CHILD}")
    assert stored.parent_session_id == f"traex:{PARENT}"
    assert not Session.objects.filter(agent="codex").exists()
    assert ToolCall.objects.get(session=stored, tool_name="spawn_agent").subagent_session_id \
        == f"traex:{SPAWNED}"
