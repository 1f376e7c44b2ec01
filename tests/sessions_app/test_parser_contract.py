"""The parser contract: every registered parser implements ``AgentParser``, comes with its
fixtures, and is what sync asks (recognising a stray file, re-parsing after a version bump)."""

from __future__ import annotations

import shutil
from io import StringIO

import orjson
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from agentsview.config import load_config
from sessions_app.models import Session, SourceFile
from sessions_app.parsers import registry
from sessions_app.parsers.base import AgentParser
from sessions_app.services.sync import run_sync
from tests.layouts import AGENT_FIXTURES, build_claude, build_codex

RICH = "7f3c1e2a-5b6d-4e8f-9a0b-1c2d3e4f5a6b"
CODEX = "codex:0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
CODEX_FILE = "2026/03/04/rollout-2026-03-04T14-00-00-0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b.jsonl"


@pytest.mark.parametrize("key", sorted(registry.AGENTS))
def test_every_agent_is_parsed_with_its_fixtures_or_not_yet_parsed(key):
    fixtures = AGENT_FIXTURES / key
    if registry.AGENTS[key].parser_path is None:
        with pytest.raises(LookupError):
            registry.parser_for(key)
        assert not fixtures.exists(), f"fixtures for {key}, which has no parser"
        return
    parser = registry.parser_for(key)
    assert isinstance(parser, AgentParser)
    assert isinstance(parser.version, int) and parser.version >= 1
    assert parser.label_heads and parser.tool_categories
    assert any(fixtures.rglob("*")), f"no fixtures under {fixtures}"


def test_fixture_directories_name_registered_agents():
    assert {p.name for p in AGENT_FIXTURES.iterdir() if p.is_dir()} <= set(registry.AGENTS)


def test_the_parsers_tool_tables_merge_without_contradiction():
    merged = registry.tool_categories()  # raises on a name two tables place differently
    for spec in registry.parsed_agents():
        parser = registry.parser_for(spec.key)
        assert parser.tool_categories.items() <= merged.items()
        assert parser.label_heads <= registry.tool_label_heads()
    assert registry.category_of("Read") == "Read"
    assert registry.category_of("run_subagent_now") == "Task"
    assert registry.category_of("no_such_tool") == "Other"


def session_sync(target) -> dict:
    out = StringIO()
    call_command("session", "sync", str(target), "--format", "json", stdout=out,
                 stderr=StringIO())
    return orjson.loads(out.getvalue())


@pytest.mark.django_db
def test_session_sync_recognises_files_outside_the_agent_dirs(agent_env, tmp_path):
    build_claude(tmp_path / "claude")
    build_codex(tmp_path / "codex")
    stray = tmp_path / "stray"
    stray.mkdir()
    codex_file = stray / "rollout.jsonl"
    shutil.copyfile(tmp_path / "codex" / CODEX_FILE, codex_file)
    claude_file = stray / "project" / f"{RICH}.jsonl"
    claude_file.parent.mkdir()
    shutil.copyfile(next((tmp_path / "claude").rglob(f"{RICH}.jsonl")), claude_file)

    assert session_sync(codex_file)["id"] == CODEX
    assert session_sync(claude_file)["id"] == RICH
    stored = dict(Session.objects.values_list("id", "agent"))
    assert stored == {CODEX: "codex", RICH: "claude"}
    assert set(SourceFile.objects.values_list("path", "agent")) == {
        (str(codex_file), "codex"), (str(claude_file), "claude"),
    }

    unknown = stray / "notes.jsonl"
    unknown.write_text('{"hello": "world"}\n')
    with pytest.raises(CommandError, match="not a transcript of any agent"):
        session_sync(unknown)


@pytest.mark.django_db
def test_bumping_one_parsers_version_reparses_only_its_files(agent_env, monkeypatch):
    build_claude(agent_env["claude"])
    build_codex(agent_env["codex"])
    config = load_config()
    first = run_sync(config)
    files = {agent: set(SourceFile.objects.filter(agent=agent).values_list("path", "synced_at"))
             for agent in ("claude", "codex")}
    assert first.files_parsed == len(files["claude"]) + len(files["codex"])
    assert run_sync(config).files_parsed == 0

    codex = registry.parser_for("codex")
    monkeypatch.setattr(codex, "version", codex.version + 1)
    again = run_sync(config)
    assert again.files_parsed == len(files["codex"])
    assert again.files_unchanged == len(files["claude"])
    assert set(SourceFile.objects.filter(agent="claude").values_list("path", "synced_at")) \
        == files["claude"]
    assert set(SourceFile.objects.filter(agent="codex").values_list("parser_version", flat=True)) \
        == {codex.version}
    assert run_sync(config).files_parsed == 0
