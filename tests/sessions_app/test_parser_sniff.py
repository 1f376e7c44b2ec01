"""Sniffing: a transcript lying outside every agent directory (``session sync <file>``) is
claimed by its own agent's parser and by no other, whichever order they are asked in."""

from __future__ import annotations

import shutil

import pytest

from sessions_app.parsers.base import ParseOptions
from sessions_app.parsers.registry import parsed_agents, parser_for
from sessions_app.services.sync import agent_of
from tests.layouts import AGENT_FIXTURES
from tests.sessions_app.test_parser_fuzz import FIXTURES, location


def _own(fixture) -> str:
    return location(fixture)[0]


def _sessions(fixture) -> int:
    agent, parts = location(fixture)
    root = fixture.parents[len(parts) - 1]
    return len(parser_for(agent).parse(fixture, root, ParseOptions()).sessions)


# Every fixture file its agent's layout claims. Those holding no session (an index, an empty
# transcript, a trace continued from an earlier file) need not be recognised, but by no other.
TRANSCRIPTS = {f for f in FIXTURES if _sessions(f)}


def test_every_agent_has_a_transcript_to_sniff():
    assert {_own(f) for f in TRANSCRIPTS} == {spec.key for spec in parsed_agents()}


@pytest.mark.parametrize("fixture", FIXTURES,
                         ids=[str(f.relative_to(AGENT_FIXTURES)) for f in FIXTURES])
def test_each_transcript_is_claimed_by_its_own_agent_only(fixture):
    claimed = [spec.key for spec in parsed_agents() if parser_for(spec.key).sniff(fixture)]
    if fixture in TRANSCRIPTS:
        assert claimed == [_own(fixture)]
    else:
        assert claimed in ([], [_own(fixture)])


def test_session_sync_of_a_stray_qwen_chat_names_qwen(tmp_path, settings):
    from agentsview.config import load_config

    chat = next((AGENT_FIXTURES / "qwen").rglob("*.jsonl"))
    stray = tmp_path / "inbox" / chat.name
    stray.parent.mkdir()
    shutil.copyfile(chat, stray)
    assert agent_of(load_config(), stray)[0] == "qwen"
