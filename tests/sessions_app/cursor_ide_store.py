"""Cursor IDE stores for the tests, built the way Cursor writes them: VS Code's key-value
tables (``ItemTable``, ``cursorDiskKV``: ``key TEXT UNIQUE ON CONFLICT REPLACE, value
BLOB``) holding composers (``composerData:<id>``) and their turns (``bubbleId:<id>:<bubble>``)
as JSON, and a workspace store naming the workspace of an older composer.

``tests/fixtures/agents/cursor-ide/synthetic/User/globalStorage/state.vscdb`` (with its SQL
beside it) and the workspace store next to it are ``build(<User folder>)``;
``python -m tests.sessions_app.cursor_ide_store <User folder>`` writes them again. The shapes
follow Cursor 2.x (composerData ``_v`` 13, bubbles ``_v`` 3, ``toolFormerData`` with
``rawArgs``, ``result``, ``status`` and ``userDecision``) and, for the older composer, the
inline ``conversation`` of Cursor 0.4x.
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import orjson

from tests.layouts import AGENT_FIXTURES

USER = AGENT_FIXTURES / "cursor-ide" / "synthetic" / "User"
TABLES = """
CREATE TABLE ItemTable (key TEXT UNIQUE ON CONFLICT REPLACE, value BLOB);
CREATE TABLE cursorDiskKV (key TEXT UNIQUE ON CONFLICT REPLACE, value BLOB);
"""
AGENT_CHAT = "4f0b8c2e-1d3a-4e5f-9a6b-7c8d9e0f1a2b"
OLD_CHAT = "5a1c9d3f-2e4b-4f60-8b7c-8d9e0f1a2b3c"
DRAFT = "6b2d0e4a-3f5c-4071-9c8d-9e0f1a2b3c4d"
GAPPY = "7c3e1f5b-4a6d-4182-8d9e-0f1a2b3c4d5e"
WORKSPACE_HASH = "b7e4c1d0a9f8e7d6c5b4a3f2e1d0c9b8"
SECRET = "dummy-access-token-never-archived"
ROOT = "/home/dev/projects/webapp"
T0 = 1772791200000  # 2026-03-06T10:00:00Z


def iso(ms: int) -> str:
    seconds, millis = divmod(ms, 1000)
    from datetime import UTC, datetime

    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S") + \
        f".{millis:03d}Z"


def _bubble(bubble_id: str, kind: int, at: int, text: str = "", **extra) -> dict:
    bubble = {"_v": 3, "type": kind, "bubbleId": bubble_id, "text": text,
              "richText": orjson.dumps({"root": {"children": [], "type": "root"}}).decode()
              if kind == 1 else "", "createdAt": iso(at), "requestId": f"req-{bubble_id[:8]}",
              "isAgentic": True, "unifiedMode": 2, "codeBlocks": [], "images": [],
              "gitDiffs": [], "webReferences": [], "allThinkingBlocks": [],
              "tokenCount": {"inputTokens": 0, "outputTokens": 0}}
    bubble.update(extra)
    return bubble


def _tool(call_id: str, name: str, args: dict, result: object, status: str,
          decision: str | None = None) -> dict:
    data = {"tool": 40, "toolIndex": 0, "modelCallId": f"model-{call_id[-6:]}",
            "toolCallId": call_id, "status": status, "rawArgs": orjson.dumps(args).decode(),
            "name": name, "params": orjson.dumps(args).decode(), "additionalData": {}}
    if result is not None:
        data["result"] = result if isinstance(result, str) else orjson.dumps(result).decode()
    if decision:
        data["userDecision"] = decision
    return data


def agent_chat() -> tuple[dict, list[dict]]:
    """A Cursor 2.x agent composer: thinking, a read, a failing command, a rejected edit."""
    ids = [f"{AGENT_CHAT[:8]}-b{n:03d}-4000-8000-{n:012d}" for n in range(6)]
    bubbles = [
        _bubble(ids[0], 1, T0, "Why does /dashboard redirect to /login after I sign in?",
                modelInfo={"modelName": "claude-4.5-sonnet-thinking"},
                workspaceUris=[f"file://{ROOT}"]),
        _bubble(ids[1], 2, T0 + 4000, "Let me look at the guard first.",
                thinking={"text": "The session cookie may be read before it is set.",
                          "signature": "sig-redacted"},
                tokenCount={"inputTokens": 12840, "outputTokens": 96}),
        _bubble(ids[2], 2, T0 + 6000, capabilityType=15, toolFormerData=_tool(
            "toolu_01ReadGuard", "read_file_v2", {"targetFile": f"{ROOT}/src/auth/guard.ts"},
            {"contents": "export function guard(req) {\n  return req.session?.user;\n}"},
            "completed")),
        _bubble(ids[3], 2, T0 + 9000, capabilityType=15, toolFormerData=_tool(
            "toolu_02RunTests", "run_terminal_command_v2",
            {"command": "npm test -- auth", "isBackground": False},
            {"output": "FAIL src/auth/guard.test.ts\n  expected /dashboard, got /login",
             "exitCode": 1, "rejected": False}, "completed"),
            tokenCount={"inputTokens": 13510, "outputTokens": 41}),
        _bubble(ids[4], 2, T0 + 15000, capabilityType=15, toolFormerData=_tool(
            "toolu_03EditGuard", "edit_file_v2",
            {"targetFile": f"{ROOT}/src/auth/guard.ts", "instructions": "await the session"},
            None, "cancelled", "rejected")),
        _bubble(ids[5], 2, T0 + 21000, "The guard runs before the session middleware; move"
                " `app.use(session())` above `app.use(guard)` in src/server.ts.",
                tokenCount={"inputTokens": 14102, "outputTokens": 188}),
    ]
    composer = {
        "_v": 13, "composerId": AGENT_CHAT, "name": "Dashboard redirects to login",
        "subtitle": "Why does /dashboard redirect", "text": "", "richText": "",
        "hasLoaded": True, "createdAt": T0 - 3000, "lastUpdatedAt": T0 + 21500,
        "status": "completed", "unifiedMode": "agent", "forceMode": "edit", "isAgentic": True,
        "fullConversationHeadersOnly": [
            {"bubbleId": b["bubbleId"], "type": b["type"],
             **({"serverBubbleId": f"srv-{b['bubbleId'][-6:]}"} if b["type"] == 2 else {})}
            for b in bubbles],
        "conversationMap": {}, "modelConfig": {"modelName": "claude-4.5-sonnet-thinking",
                                               "maxMode": False},
        "workspaceIdentifier": {"id": "f3a9b2c1", "uri": {
            "$mid": 1, "fsPath": ROOT, "external": f"file://{ROOT}", "path": ROOT,
            "scheme": "file"}},
        "trackedGitRepos": [{"repoPath": ROOT, "branches": [
            {"branchName": "main", "lastInteractionAt": T0 - 86400000},
            {"branchName": "fix/login-redirect", "lastInteractionAt": T0 + 20000}]}],
        "context": {"fileSelections": [], "selections": [], "mentions": {}},
        "subComposerIds": [], "capabilities": [{"type": 15, "data": {}}],
        "totalLinesAdded": 0, "totalLinesRemoved": 0, "isArchived": False, "isDraft": False,
    }
    return composer, bubbles


def old_chat() -> dict:
    """A chat of Cursor 0.4x: its turns inline, no workspace of its own (the workspace
    store names it)."""
    return {
        "_v": 3, "composerId": OLD_CHAT, "name": "Explain the rate limiter",
        "createdAt": T0 - 7 * 86400000, "lastUpdatedAt": T0 - 7 * 86400000 + 60000,
        "status": "completed", "richText": "", "text": "",
        "conversation": [
            {"type": 1, "bubbleId": "0a1b2c3d-0000-4000-8000-000000000001",
             "text": "How does the token bucket in limiter.go refill?",
             "createdAt": iso(T0 - 7 * 86400000 + 1000)},
            {"type": 2, "bubbleId": "0a1b2c3d-0000-4000-8000-000000000002",
             "text": "It adds `rate` tokens per second up to `burst`, computed lazily on"
                     " each `Allow()`.", "createdAt": iso(T0 - 7 * 86400000 + 8000)},
        ],
    }


def build(user: Path) -> Path:
    """The global store (and a workspace store) under *user*; returns the global store."""
    database = user / "globalStorage" / "state.vscdb"
    database.parent.mkdir(parents=True, exist_ok=True)
    database.unlink(missing_ok=True)
    connection = sqlite3.connect(database)
    connection.executescript(TABLES)
    items = {
        "cursorAuth/accessToken": SECRET, "cursorAuth/cachedEmail": "dev@example.com",
        "workbench.panel.composerChatViewPane.hidden": "false",
        "src.vs.platform.reactivestorage.browser.reactiveStorageServiceImpl.persistentStorage"
        ".applicationUser": orjson.dumps({"composerState": {"defaultModel": "auto"}}).decode(),
    }
    connection.executemany("INSERT INTO ItemTable VALUES (?, ?)", items.items())
    composer, bubbles = agent_chat()
    rows = [(f"composerData:{AGENT_CHAT}", composer)]
    rows += [(f"bubbleId:{AGENT_CHAT}:{b['bubbleId']}", b) for b in bubbles]
    rows += [(f"composerData:{OLD_CHAT}", old_chat())]
    rows += [(f"composerData:{DRAFT}", {"_v": 13, "composerId": DRAFT, "text": "",
                                         "fullConversationHeadersOnly": [],
                                         "conversationMap": {}, "status": "none",
                                         "createdAt": T0 + 3600000})]
    gappy_ids = ["8d4f2a6c-0000-4000-8000-00000000000" + str(n) for n in range(1, 4)]
    rows += [(f"composerData:{GAPPY}", {
        "_v": 13, "composerId": GAPPY, "createdAt": T0 + 7200000,
        "lastUpdatedAt": T0 + 7260000, "status": "completed",
        "fullConversationHeadersOnly": [{"bubbleId": i, "type": t}
                                        for i, t in zip(gappy_ids, (1, 2, 2), strict=True)]}),
             (f"bubbleId:{GAPPY}:{gappy_ids[0]}", _bubble(gappy_ids[0], 1, T0 + 7201000,
                                                           "Rename the env var"))]
    # the gappy chat's second turn was never written; its third is cut short
    connection.executemany("INSERT INTO cursorDiskKV VALUES (?, ?)",
                           [(k, orjson.dumps(v)) for k, v in rows])
    connection.execute("INSERT INTO cursorDiskKV VALUES (?, ?)",
                       (f"bubbleId:{GAPPY}:{gappy_ids[2]}", b'{"_v": 3, "type": 2, "text": "Do'))
    connection.execute("INSERT INTO cursorDiskKV VALUES (?, ?)",
                       (f"checkpointId:{AGENT_CHAT}:x", b'{"files": []}'))
    connection.commit()
    connection.close()
    workspace = user / "workspaceStorage" / WORKSPACE_HASH
    workspace.mkdir(parents=True, exist_ok=True)
    (workspace / "workspace.json").write_bytes(orjson.dumps(
        {"folder": "file:///home/dev/projects/api-server"}))
    store = workspace / "state.vscdb"
    store.unlink(missing_ok=True)
    connection = sqlite3.connect(store)
    connection.executescript(TABLES)
    connection.execute("INSERT INTO ItemTable VALUES (?, ?)", (
        "composer.composerData", orjson.dumps({"allComposers": [
            {"composerId": OLD_CHAT, "name": "Explain the rate limiter",
             "createdAt": T0 - 7 * 86400000, "type": "head", "unifiedMode": "chat"}],
            "selectedComposerIds": [OLD_CHAT]})))
    connection.commit()
    connection.close()
    dump = "\n".join(sqlite3.connect(database).iterdump())
    (database.parent / "state.vscdb.sql").write_text(dump + "\n")
    return database


if __name__ == "__main__":
    build(Path(sys.argv[1]) if len(sys.argv) > 1 else USER)
