"""The benchmark's corpus generator (``bench/corpus.py``): each agent's files are read by that
agent's parser as the sessions the generator wrote, and the same seed gives the same bytes.
A small corpus only; the benchmark itself is not part of the suite."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from sessions_app.parsers.registry import parser_for
from sessions_app.services.discovery import discover

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import corpus  # noqa: E402
import sync_bench  # noqa: E402

SESSIONS = 60


@pytest.fixture(scope="module")
def mixed(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("corpus")
    return out, corpus.generate(out, SESSIONS, seed=7, agents=corpus.ALL_AGENTS)


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.name != corpus.MARKER_NAME}


def test_every_agent_of_the_corpus_parses_to_the_sessions_written(mixed):
    out, info = mixed
    assert set(info["agent_sessions"]) == set(corpus.ALL_AGENTS)  # 60 sessions hold them all
    for agent in corpus.ALL_AGENTS:
        var, sub = sync_bench.AGENT_ROOTS[agent]
        found = discover({agent: [out / sub]})
        assert found.files and not found.issues, agent
        parser = parser_for(agent)
        sessions = []
        for f in found.files:
            result = parser.parse(f.path, f.root)
            assert not result.issues and not result.malformed_lines, (agent, f.path)
            sessions += result.sessions
        expected = info["agent_sessions"][agent]
        if agent == "claude":
            expected += info["subagent_files"]
        assert len(sessions) == expected, agent
        assert all(s.messages and s.project != "unknown" for s in sessions), agent
        assert any(c.result_events for s in sessions for m in s.messages for c in m.tool_calls)
        on_disk = sum(p.stat().st_size for p in (out / sub).rglob("*") if p.is_file())
        assert on_disk == info["agent_bytes"][agent], agent


def test_the_same_seed_gives_the_same_bytes(mixed, tmp_path):
    out, _ = mixed
    again = tmp_path / "again"
    corpus.generate(again, SESSIONS, seed=7, agents=corpus.ALL_AGENTS)
    assert _files(again) == _files(out)


def test_the_default_corpus_holds_claude_and_codex_only(tmp_path):
    info = corpus.generate(tmp_path / "c", 12, seed=7)
    assert info["agents"] == ["claude", "codex"]
    assert {p.name for p in (tmp_path / "c").iterdir()} <= {"claude", "codex",
                                                           corpus.MARKER_NAME}
