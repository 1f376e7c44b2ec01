"""Zed thread databases for the tests, built the way Zed writes them: its ``threads`` table (the
legacy shape of the shared fixture's SQL, or the current one with parent, folders and creation
time) holding each thread's JSON, zstd-compressed or plain.

``tests/fixtures/agents/zed/synthetic/threads/threads.db`` is ``build(path, SYNTHETIC)``;
``python -m tests.sessions_app.zed_threads <path>`` writes it again. It follows Zed's own
serialization (crates/agent: ``DbThread`` version 0.3.0, and the legacy ``SerializedThread``
0.2.0 that Zed still reads), as of Zed 0.2xx (2026).
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import orjson
import zstandard

from tests.layouts import AGENT_FIXTURES

LEGACY_SQL = AGENT_FIXTURES / "zed" / "repo" / "zed-legacy-threads.sql"
SYNTHETIC_DB = AGENT_FIXTURES / "zed" / "synthetic" / "threads" / "threads.db"
CURRENT_SQL = """
CREATE TABLE threads (
  id TEXT PRIMARY KEY,
  summary TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  data_type TEXT NOT NULL,
  data BLOB NOT NULL,
  parent_id TEXT,
  folder_paths TEXT,
  folder_paths_order TEXT,
  created_at TEXT
);
"""

MAIN = "a1c0ffee-0000-4000-8000-000000000001"
CHILD = "a1c0ffee-0000-4000-8000-000000000002"
LEGACY = "5e551e55-0000-4000-8000-000000000003"


def tool_use(tool_id: str, name: str, args: dict) -> dict:
    return {"ToolUse": {"id": tool_id, "name": name, "raw_input": orjson.dumps(args).decode(),
                        "input": args, "is_input_complete": True}}


def tool_result(tool_id: str, name: str, text: str, is_error: bool = False) -> dict:
    return {"tool_use_id": tool_id, "tool_name": name, "is_error": is_error,
            "content": {"Text": text}, "output": None}


MAIN_DOC = {
    "version": "0.3.0",
    "title": "Fix the login redirect",
    "updated_at": "2026-03-05T09:04:00Z",
    "model": {"provider": "anthropic", "model": "claude-sonnet-4-5"},
    "messages": [
        {"User": {"id": "u1", "content": [
            {"Text": "Why does login redirect to /404?"},
            {"Mention": {"uri": {"File": {"abs_path": "/home/dev/projects/webapp/src/auth.ts"}},
                         "content": "export function login() {}"}}]}},
        {"Agent": {"content": [
            {"Thinking": {"text": "Check the auth router first.", "signature": "sig-1"}},
            {"Text": "Let me read the router."},
            tool_use("toolu_01", "read_file", {"path": "webapp/src/auth.ts"})],
            "tool_results": {"toolu_01": tool_result(
                "toolu_01", "read_file", "export const AFTER_LOGIN = '/404';")},
            "reasoning_details": None}},
        {"Agent": {"content": [
            {"Text": "Running the tests."},
            tool_use("toolu_02", "terminal", {"command": "npm test", "cd": "webapp"})],
            "tool_results": {"toolu_02": tool_result("toolu_02", "terminal",
                                                     "1 failing: redirects home", True)},
            "reasoning_details": None}},
        {"Agent": {"content": [
            tool_use("toolu_03", "edit_file", {"path": "webapp/src/auth.ts",
                                               "display_description": "Fix the redirect"}),
            {"Text": "The redirect target was wrong; it now goes home."}],
            "tool_results": {"toolu_03": tool_result("toolu_03", "edit_file", "Edited.")},
            "reasoning_details": None}},
        "Resume",
        {"User": {"id": "u2", "content": [{"Text": "Thanks!"}]}},
        {"Agent": {"content": [{"RedactedThinking": "opaque"}, {"Text": "You're welcome."}],
                   "tool_results": {}, "reasoning_details": None}},
    ],
    "request_token_usage": {
        "u1": {"input_tokens": 1200, "output_tokens": 300, "cache_creation_input_tokens": 100,
               "cache_read_input_tokens": 800},
        "u2": {"input_tokens": 200, "output_tokens": 20, "cache_creation_input_tokens": 0,
               "cache_read_input_tokens": 2400},
    },
    "cumulative_token_usage": {"input_tokens": 1400, "output_tokens": 320},
}

CHILD_DOC = {
    "version": "0.3.0",
    "title": "Find every redirect",
    "updated_at": "2026-03-05T09:02:30Z",
    "model": {"provider": "anthropic", "model": "claude-haiku-4-5"},
    "subagent_context": {"parent_thread_id": MAIN},
    "messages": [
        {"User": {"id": "c1", "content": [{"Text": "Find every redirect in webapp/src."}]}},
        {"Agent": {"content": [tool_use("toolu_11", "grep", {"regex": "redirect"})],
                   "tool_results": {"toolu_11": tool_result(
                       "toolu_11", "grep", "src/auth.ts:3: redirect(AFTER_LOGIN)")},
                   "reasoning_details": None}},
        {"Agent": {"content": [{"Text": "One redirect, in src/auth.ts."}],
                   "tool_results": {}, "reasoning_details": None}},
    ],
    "request_token_usage": {"c1": {"input_tokens": 500, "output_tokens": 40}},
}

LEGACY_DOC = {
    "version": "0.2.0",
    "summary": "List the CLI sources",
    "updated_at": "2025-06-01T12:00:30Z",
    "initial_project_snapshot": {"worktree_snapshots": [
        {"worktree_path": "/home/dev/projects/cli-tool", "git_state": None}],
        "unsaved_buffer_paths": [], "timestamp": "2025-06-01T12:00:00Z"},
    "messages": [
        {"id": 0, "role": "user", "segments": [{"type": "text", "text": "What is in src?"}],
         "tool_uses": [], "tool_results": [], "context": "", "creases": [], "is_hidden": False},
        {"id": 1, "role": "assistant", "segments": [
            {"type": "thinking", "text": "List the folder.", "signature": "s"},
            {"type": "text", "text": "Listing it."}],
         "tool_uses": [{"id": "t1", "name": "list_directory", "input": {"path": "cli-tool/src"}}],
         "tool_results": [{"tool_use_id": "t1", "is_error": False, "content": "main.rs\nlib.rs",
                           "output": None}],
         "context": "", "creases": [], "is_hidden": False},
        {"id": 2, "role": "assistant", "segments": [
            {"type": "text", "text": "src holds main.rs and lib.rs."}],
         "tool_uses": [], "tool_results": [], "context": "", "creases": [], "is_hidden": False},
    ],
    "request_token_usage": [{}, {"input_tokens": 900, "output_tokens": 60},
                            {"input_tokens": 1000, "output_tokens": 15}],
    "model": {"provider": "zed.dev", "model": "claude-3-7-sonnet-latest"},
}

# (id, summary, updated_at, created_at, parent_id, folder_paths, data_type, document)
SYNTHETIC = [
    (MAIN, "Fix the login redirect", "2026-03-05T09:04:00+00:00", "2026-03-05T09:00:00+00:00",
     None, "/home/dev/projects/webapp", "zstd", MAIN_DOC),
    (CHILD, "Find every redirect", "2026-03-05T09:02:30+00:00", "2026-03-05T09:02:00+00:00",
     MAIN, "/home/dev/projects/webapp", "zstd", CHILD_DOC),
    (LEGACY, "List the CLI sources", "2025-06-01T12:00:30+00:00", "2025-06-01T12:00:30+00:00",
     None, None, "json", LEGACY_DOC),
]


def encode(data_type: str, document: object) -> bytes:
    raw = document if isinstance(document, bytes) else orjson.dumps(document)
    return zstandard.ZstdCompressor(level=3).compress(raw) if data_type == "zstd" else raw


def build(path: Path, rows: list[tuple], schema: str = CURRENT_SQL) -> Path:
    """A threads database at *path* holding *rows* (``SYNTHETIC``'s shape)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path)
    try:
        connection.executescript(schema)
        current = "created_at" in schema
        for tid, summary, updated, created, parent, folders, data_type, doc in rows:
            data = encode(data_type, doc)
            if current:
                connection.execute(
                    "INSERT INTO threads (id, summary, updated_at, data_type, data, parent_id,"
                    " folder_paths, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (tid, summary, updated, data_type, data, parent, folders, created))
            else:
                connection.execute(
                    "INSERT INTO threads (id, summary, updated_at, data_type, data)"
                    " VALUES (?, ?, ?, ?, ?)", (tid, summary, updated, data_type, data))
        connection.commit()
    finally:
        connection.close()
    return path


def build_legacy_table(path: Path, rows: list[tuple]) -> Path:
    """A database with the shared fixture's legacy ``threads`` table (no parent, folders or
    creation time)."""
    return build(path, rows, LEGACY_SQL.read_text())


if __name__ == "__main__":  # write the fixture database again (the tests build it at start)
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else SYNTHETIC_DB
    target.unlink(missing_ok=True)
    build(target, SYNTHETIC)
