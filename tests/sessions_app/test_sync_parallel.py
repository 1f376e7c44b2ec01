"""A large sync parses in parser processes (``services/parallel.py``): the archive it makes is
the one a sync in one process makes, and a parser process that dies costs no file."""

from __future__ import annotations

import os
import shutil

import pytest

from agentsview.config import load_config
from sessions_app.models import Message, Session, SourceFile, ToolCall, ToolResultEvent
from sessions_app.services import parallel, sync
from sessions_app.services.parallel import in_order, pool_size
from tests.layouts import AGENT_FIXTURES, build_claude, build_codex

pytestmark = pytest.mark.django_db

OPENCODE_DB = AGENT_FIXTURES / "opencode" / "synthetic" / "opencode_dir"


@pytest.fixture
def agents(agent_env, monkeypatch):
    """Claude and Codex transcripts and an OpenCode database (a source parsed here, not in
    the pool), with the pool's thresholds lowered so these few files use it."""
    build_claude(agent_env["claude"])
    build_codex(agent_env["codex"])
    shutil.copytree(OPENCODE_DB, agent_env["opencode"], dirs_exist_ok=True)
    monkeypatch.setattr(parallel, "MIN_FILES", 1)
    monkeypatch.setattr(parallel, "MIN_BYTES", 0)
    return agent_env


def archive_contents() -> dict:
    """Everything a sync stores that does not depend on when it ran."""
    return {
        "sessions": sorted(Session.objects.values_list(
            "id", "content_digest", "message_count", "file_path", "file_hash",
            "health_score", "cost_microdollars", "usage_rollup")),
        "messages": sorted(Message.objects.values_list(
            "session_id", "ordinal", "role", "timestamp", "content", "cost_microdollars")),
        "tool_calls": sorted(ToolCall.objects.values_list(
            "session_id", "message_ordinal", "call_index", "tool_name", "result_content")),
        "events": sorted(ToolResultEvent.objects.values_list(
            "session_id", "tool_call_message_ordinal", "event_index", "status", "timestamp")),
        "files": sorted(SourceFile.objects.values_list(
            "path", "size", "mtime_ns", "sha256", "session_ids", "error")),
    }


def report_figures(report: sync.SyncReport) -> tuple:
    return (report.sessions_written, report.messages_written, report.files_parsed,
            sorted(report.errors), sorted(report.warnings))


def test_a_parallel_sync_stores_what_a_sync_in_one_process_stores(agents, monkeypatch):
    config = load_config()
    sizes: list[int] = []

    def spy(items, size, **kwargs):
        sizes.append(size)
        return in_order(items, size, **kwargs)

    monkeypatch.setattr(parallel, "in_order", spy)
    alone = sync.run_sync(config, workers=1)
    expected = archive_contents()
    assert expected["sessions"] and any(
        path.endswith("opencode.db") for path, *_ in expected["files"])
    Session.objects.all().delete()
    SourceFile.objects.all().delete()

    pooled = sync.run_sync(config, workers=2)

    assert sizes == [0, 2]  # the second sync parsed in two parser processes
    assert archive_contents() == expected
    assert report_figures(pooled) == report_figures(alone)


def _dies_in_a_parser_process(found, **kwargs):
    """``prepare_file``, except that a parser process given the rich Claude file exits."""
    if os.getpid() != PARENT[0] and found.path.name.startswith("7f3c1e2a"):
        os._exit(3)
    return REAL_PREPARE(found, **kwargs)


REAL_PREPARE = sync.prepare_file
PARENT = [0]


def test_a_parser_process_that_dies_loses_no_file(agents, monkeypatch, caplog):
    PARENT[0] = os.getpid()
    monkeypatch.setattr(sync, "prepare_file", _dies_in_a_parser_process)

    report = sync.run_sync(load_config(), workers=2)

    assert report.ok, report.errors
    assert Session.objects.filter(pk="7f3c1e2a-5b6d-4e8f-9a0b-1c2d3e4f5a6b").exists()
    stored = set(SourceFile.objects.values_list("path", flat=True))
    assert {str(p) for p in agents["claude"].rglob("*.jsonl")} <= stored
    assert "a parser process stopped" in caplog.text


def test_results_come_back_in_order_with_some_items_kept_here():
    here_pid = os.getpid()
    results = list(in_order(range(20), 2, here=lambda n: (n, os.getpid()),
                            task=_square_elsewhere, in_pool=lambda n: n % 3 != 0))
    assert [n for n, _ in results] == list(range(20))
    for n, value in results:
        if n % 3 == 0:
            assert value == (n, here_pid)
        else:
            assert value[0] == n * n and value[1] != here_pid


@pytest.mark.parametrize(("each", "most_ahead"), [
    (0, 2 * parallel.WINDOW),  # small files: WINDOW per process
    (parallel.WINDOW_BYTES // 2, 2),  # two fill the bytes
    (parallel.WINDOW_BYTES * 2, 2),  # larger than the bytes: still one per process
])
def test_the_window_holds_its_files_and_bytes_at_most(each, most_ahead):
    submitted: set[int] = set()

    def weight(n: int) -> int:
        submitted.add(n)  # asked first as the item enters the window (again as it leaves)
        return each

    seen = []
    for n, value in in_order(range(40), 2, here=lambda n: n, task=_square_elsewhere,
                             in_pool=lambda n: True, weight=weight):
        assert value[0] == n * n
        seen.append(len(submitted) - n)  # in the window, this one included
    assert seen == [min(most_ahead, 40 - n) for n in range(40)]


def _square_elsewhere(n: int) -> tuple[int, int]:
    return n * n, os.getpid()


@pytest.mark.parametrize(("workers", "files", "pending", "size"), [
    (1, 100, 10**9, 0),  # one process asked for: no pool
    (4, 3, 10**9, 0),  # too few files to be worth a process
    (4, 100, 1024, 0),  # too little to parse
    (4, 100, 10**9, 4),
    (8, 20, 10**9, 8),
])
def test_pool_size(workers, files, pending, size):
    assert pool_size(workers, files, pending) == size


def test_pool_size_reads_the_variable_when_not_told(monkeypatch):
    monkeypatch.setenv(parallel.WORKERS_VARIABLE, "1")
    assert pool_size(None, 100, 10**9) == 0
    monkeypatch.setenv(parallel.WORKERS_VARIABLE, "3")
    assert pool_size(None, 100, 10**9) == 3
