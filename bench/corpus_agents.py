"""The corpus's other agents: Gemini CLI, Copilot CLI, Cursor agent transcripts, OpenCode and
VS Code Copilot Chat, each written in the agent's own layout (see ``corpus.py``).

Every session is first drawn as one agent-neutral script (prompts, assistant steps with
thinking, text and tool runs whose inputs and outputs come from ``corpus.ToolFactory``), then
written in the agent's format. The per-session random stream is the caller's, so the same
seed and index always give the same bytes.
"""

from __future__ import annotations

import hashlib
import os
import random
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import corpus as base  # the sibling module: text pools, tools, prompts, helpers

GEMINI_SUBDIR = Path("gemini")
COPILOT_SUBDIR = Path("copilot")
CURSOR_SUBDIR = Path("cursor/projects")
OPENCODE_SUBDIR = Path("opencode")
VSCODE_SUBDIR = Path("vscode/User")
SUBDIRS = {
    "gemini": GEMINI_SUBDIR,
    "copilot": COPILOT_SUBDIR,
    "cursor": CURSOR_SUBDIR,
    "opencode": OPENCODE_SUBDIR,
    "vscode-copilot": VSCODE_SUBDIR,
}
# The environment variable that points each agent at its corpus root.
ENV_VARS = {
    "gemini": "GEMINI_DIR",
    "copilot": "COPILOT_DIR",
    "cursor": "CURSOR_PROJECTS_DIR",
    "opencode": "OPENCODE_DIR",
    "vscode-copilot": "VSCODE_COPILOT_DIR",
}
# The generic tools a script uses, drawn like Claude's mix (no Glob/TodoWrite here).
TOOL_MIX = (("Read", 30), ("Bash", 27), ("Edit", 20), ("Grep", 10), ("Write", 6))
_NAMES = [n for n, _ in TOOL_MIX]
_WEIGHTS = [w for _, w in TOOL_MIX]


# --- the agent-neutral script ----------------------------------------------------------------


@dataclass
class Action:
    """One tool run: ``kind`` is Read, Bash, Edit, Write or Grep."""

    kind: str
    args: dict[str, Any]  # path, command, description, old, new, content, pattern
    output: str
    failed: bool
    exit_code: int | None
    start: int
    end: int


@dataclass
class Step:
    """One assistant message: thinking, then text, then tool runs."""

    ms: int
    thinking: str
    text: str
    actions: list[Action]
    input_tokens: int
    output_tokens: int


@dataclass
class Turn:
    ms: int
    prompt: str
    steps: list[Step]


@dataclass
class Script:
    id: str
    project: Any  # corpus.Project
    model: str
    branch: str
    start: int
    turns: list[Turn] = field(default_factory=list)
    messages: int = 0

    @property
    def end(self) -> int:
        last = self.turns[-1].steps[-1] if self.turns[-1].steps else None
        return last.ms if last else self.turns[-1].ms


def _action(tools: Any, rng: random.Random, now: int) -> Action:
    run = tools.claude(rng.choices(_NAMES, _WEIGHTS)[0])
    inp = run.input
    exit_code = None
    output = run.output
    if run.name == "Read":
        args = {"path": inp["file_path"]}
        output = run.result["file"]["content"]
    elif run.name == "Bash":
        args = {"command": inp["command"], "description": inp["description"]}
        exit_code = 0
        if run.is_error:  # "Error: Exit code N\n<output>"
            head, _, output = run.output.partition("\n")
            exit_code = int(head.rsplit(" ", 1)[-1])
    elif run.name == "Edit":
        args = {"path": inp["file_path"], "old": inp["old_string"], "new": inp["new_string"]}
    elif run.name == "Write":
        args = {"path": inp["file_path"], "content": inp["content"]}
    else:
        args = {"pattern": inp["pattern"], "path": inp["path"]}
    end = now + max(20, int(run.seconds * 1000))
    return Action(run.name, args, output, run.is_error, exit_code, now, end)


def draw_script(ctx: Any, rng: random.Random, project: Any, start: int, target: int,
                models: tuple[str, ...], sid: str) -> Script:
    """A session of about *target* messages (prompts and assistant steps)."""
    tools = base.ToolFactory(ctx.pools, project, rng)
    script = Script(sid, project, rng.choice(models), rng.choice(project.branches), start)
    now = start
    context = 6_000
    while script.messages < target:
        first = not script.turns
        now += 500 if first else int(rng.uniform(30, 1800 if rng.random() < 0.9 else 20_000)
                                     * 1000)
        turn = Turn(now, base.make_prompt(rng, ctx.pools, tools, first), [])
        script.messages += 1
        budget = target - script.messages
        steps = min(max(0, budget - 1), int(rng.expovariate(1 / 7)))
        for _ in range(steps):
            now += int(rng.uniform(1, 25) * 1000)
            thinking = ctx.pools.prose(rng, rng.randint(1, 4)) if rng.random() < 0.5 else ""
            text = rng.choice(base.SHORT_TEXTS) if rng.random() < 0.5 else ""
            actions = []
            for _ in range(1 if rng.random() < 0.85 else 2):
                action = _action(tools, rng, now)
                now = action.end + rng.randrange(50, 700)
                actions.append(action)
            weight = sum(len(a.output) for a in actions) // 4
            context = min(200_000, context + weight + rng.randrange(200, 2000))
            turn.steps.append(Step(now, thinking, text, actions, context,
                                   rng.randrange(40, 1500)))
            script.messages += 1
        now += int(rng.uniform(2, 40) * 1000)
        turn.steps.append(Step(now, "", base.final_summary(rng, ctx.pools, tools), [],
                               context, rng.randrange(100, 900)))
        script.messages += 1
        script.turns.append(turn)
    return script


# --- Gemini CLI ------------------------------------------------------------------------------

GEMINI_MODELS = ("gemini-2.5-pro", "gemini-2.5-pro", "gemini-2.5-flash", "gemini-3-pro-preview")
_GEMINI_TOOLS = {
    "Read": ("read_file", "ReadFile"),
    "Bash": ("run_shell_command", "Shell"),
    "Edit": ("replace", "Edit"),
    "Write": ("write_file", "WriteFile"),
    "Grep": ("search_file_content", "SearchText"),
}


def _gemini_args(a: Action) -> dict[str, Any]:
    if a.kind == "Read":
        return {"file_path": a.args["path"]}
    if a.kind == "Bash":
        return {"command": a.args["command"], "description": a.args["description"]}
    if a.kind == "Edit":
        return {"file_path": a.args["path"], "old_string": a.args["old"],
                "new_string": a.args["new"]}
    if a.kind == "Write":
        return {"file_path": a.args["path"], "content": a.args["content"]}
    return {"pattern": a.args["pattern"], "dir_path": a.args["path"]}


def gemini_records(script: Script, rng: random.Random) -> list[dict[str, Any]]:
    """The session's message records; tokens are cumulative, as Gemini CLI writes them."""
    records: list[dict[str, Any]] = []
    totals = {"input": 0, "output": 0, "cached": 0, "thoughts": 0, "tool": 0, "total": 0}
    n = 0
    for turn in script.turns:
        records.append({"id": base.uuid4(rng), "timestamp": base.iso(turn.ms), "type": "user",
                        "content": [{"text": turn.prompt}]})
        for step in turn.steps:
            totals["input"] += step.input_tokens
            totals["cached"] += int(step.input_tokens * 0.8)
            totals["output"] += step.output_tokens
            totals["thoughts"] += len(step.thinking) // 4
            totals["total"] = totals["input"] + totals["output"] + totals["thoughts"]
            rec: dict[str, Any] = {"id": base.uuid4(rng), "timestamp": base.iso(step.ms),
                                   "type": "gemini", "content": step.text,
                                   "model": script.model}
            if step.thinking:
                rec["thoughts"] = [{"subject": "Planning", "description": step.thinking,
                                    "timestamp": base.iso(step.ms - 300)}]
            calls = []
            for a in step.actions:
                n += 1
                name, display = _GEMINI_TOOLS[a.kind]
                call_id = f"{name}-{step.ms}-{n}"
                output = a.output if a.exit_code is None else (
                    f"Command: {a.args['command']}\nDirectory: (root)\nOutput: {a.output}\n"
                    f"Error: (none)\nExit Code: {a.exit_code}")
                response = {"error": output} if a.failed else {"output": output}
                calls.append({"id": call_id, "name": name, "args": _gemini_args(a),
                              "result": [{"functionResponse": {"id": call_id, "name": name,
                                                               "response": response}}],
                              "status": "error" if a.failed else "success",
                              "timestamp": base.iso(a.end), "displayName": display,
                              "resultDisplay": output[:2000]})
            if calls:
                rec["toolCalls"] = calls
            rec["tokens"] = dict(totals)
            records.append(rec)
    return records


def write_gemini(ctx: Any, rng: random.Random, project: Any, start: int, target: int) -> int:
    root = ctx.out / GEMINI_SUBDIR
    sid = base.uuid4(rng)
    script = draw_script(ctx, rng, project, start, target, GEMINI_MODELS, sid)
    project_hash = hashlib.sha256(project.cwd.encode()).hexdigest()
    stamp = time.strftime("%Y-%m-%dT%H-%M", time.gmtime(start // 1000))
    chats = root / "tmp" / project_hash / "chats"
    records = gemini_records(script, rng)
    head = {"sessionId": sid, "projectHash": project_hash, "startTime": base.iso(start),
            "lastUpdated": base.iso(script.end)}
    if rng.random() < 0.3:  # the older single JSON document
        out = base.JsonlFile(chats / f"session-{stamp}-{sid[:8]}.json", ctx.stats)
        out.write({**head, "messages": records})
    else:
        out = base.JsonlFile(chats / f"session-{stamp}-{sid[:8]}.jsonl", ctx.stats)
        out.write({**head, "kind": "main"})
        for rec in records:
            out.write(rec)
            if rec["type"] == "gemini":
                out.write({"$set": {"lastUpdated": rec["timestamp"]}})
    out.close()
    ctx.gemini_projects[project.cwd] = project.cwd.rstrip("/").rsplit("/", 1)[-1]
    return script.messages


def finish_gemini(ctx: Any) -> None:
    """``projects.json``: the project names Gemini CLI keeps beside ``tmp/``."""
    if ctx.gemini_projects:
        path = ctx.out / GEMINI_SUBDIR / "projects.json"
        data = base.dumps({"projects": dict(sorted(ctx.gemini_projects.items()))})
        path.write_bytes(data)
        ctx.stats.files += 1
        ctx.stats.bytes += len(data)
        ctx.stats.agent_bytes["gemini"] += len(data)


# --- Copilot CLI -----------------------------------------------------------------------------

COPILOT_MODELS = ("claude-sonnet-4.5", "claude-sonnet-4.5", "gpt-5", "claude-haiku-4.5")
_COPILOT_TOOLS = {"Read": "view", "Bash": "bash", "Edit": "edit", "Write": "create",
                  "Grep": "grep"}


def _copilot_args(a: Action) -> dict[str, Any]:
    if a.kind == "Read":
        return {"path": a.args["path"]}
    if a.kind == "Bash":
        return {"command": a.args["command"], "description": a.args["description"]}
    if a.kind == "Edit":
        return {"path": a.args["path"], "old_str": a.args["old"], "new_str": a.args["new"]}
    if a.kind == "Write":
        return {"path": a.args["path"], "file_text": a.args["content"]}
    return {"pattern": a.args["pattern"], "path": a.args["path"]}


def write_copilot(ctx: Any, rng: random.Random, project: Any, start: int, target: int) -> int:
    sid = base.uuid4(rng)
    script = draw_script(ctx, rng, project, start, target, COPILOT_MODELS, sid)
    path = ctx.out / COPILOT_SUBDIR / "session-state" / sid / "events.jsonl"
    out = base.JsonlFile(path, ctx.stats)
    seq = 0
    parent: str | None = None

    def event(kind: str, ms: int, data: dict[str, Any]) -> None:
        nonlocal seq, parent
        seq += 1
        eid = base.uuid4(rng)
        out.write({"type": kind, "data": data, "id": eid, "timestamp": base.iso(ms),
                   "parentId": parent})
        parent = eid

    slug = project.repo_url.rsplit("/", 1)[-1].removesuffix(".git")
    event("session.start", start, {
        "sessionId": sid, "version": 1, "producer": "copilot-agent",
        "copilotVersion": "0.0.350", "startTime": base.iso(start),
        "context": {"cwd": project.cwd, "gitRoot": project.cwd, "branch": script.branch,
                    "repository": f"acme/{slug}"}})
    event("session.model_change", start + 300, {"newModel": script.model})
    usage = [0, 0]
    for turn in script.turns:
        event("user.message", turn.ms, {"content": turn.prompt, "attachments": []})
        for step in turn.steps:
            usage[0] += step.input_tokens
            usage[1] += step.output_tokens
            requests = [{"toolCallId": f"toolu_{base.token(rng, 24)}",
                         "name": _COPILOT_TOOLS[a.kind], "arguments": _copilot_args(a)}
                        for a in step.actions]
            data: dict[str, Any] = {"messageId": base.uuid4(rng), "content": step.text,
                                    "toolRequests": requests,
                                    "outputTokens": step.output_tokens}
            if step.thinking:
                data["reasoningText"] = step.thinking
            event("assistant.message", step.ms, data)
            for req, a in zip(requests, step.actions, strict=True):
                event("tool.execution_start", a.start, {
                    "toolCallId": req["toolCallId"], "toolName": req["name"],
                    "arguments": req["arguments"]})
                done: dict[str, Any] = {"toolCallId": req["toolCallId"],
                                        "success": not a.failed}
                if a.failed:
                    done["error"] = {"message": a.output[:4000]}
                else:
                    done["result"] = {"content": a.output}
                event("tool.execution_complete", a.end, done)
    event("session.shutdown", script.end + 5000, {"modelMetrics": {script.model: {
        "requests": {"count": script.messages, "cost": 1},
        "usage": {"inputTokens": usage[0], "outputTokens": usage[1],
                  "cacheReadTokens": int(usage[0] * 0.8), "cacheWriteTokens": 0}}}})
    out.close()
    return script.messages


# --- Cursor agent transcripts ----------------------------------------------------------------

_CURSOR_TOOLS = {"Read": "Read", "Bash": "Shell", "Edit": "StrReplace", "Write": "Write",
                 "Grep": "Grep"}


def _cursor_args(a: Action) -> dict[str, Any]:
    if a.kind == "Read":
        return {"path": a.args["path"]}
    if a.kind == "Bash":
        return {"command": a.args["command"]}
    if a.kind == "Edit":
        return {"path": a.args["path"], "old_string": a.args["old"],
                "new_string": a.args["new"]}
    if a.kind == "Write":
        return {"path": a.args["path"], "contents": a.args["content"]}
    return {"pattern": a.args["pattern"], "path": a.args["path"]}


def _indent(text: str, pad: str) -> list[str]:
    return [pad + line if line.strip() else "" for line in text.split("\n")]


def cursor_text(script: Script) -> str:
    lines: list[str] = []
    for turn in script.turns:
        lines += ["user:", "<user_query>", turn.prompt, "</user_query>", "", "assistant:"]
        for step in turn.steps:
            if step.thinking:
                lines.append(f"[Thinking] {step.thinking}")
            if step.text:
                lines += [step.text, ""]
            for a in step.actions:
                name = _CURSOR_TOOLS[a.kind]
                lines.append(f"[Tool call] {name}")
                for key, value in _cursor_args(a).items():
                    first, *rest = str(value).split("\n")
                    lines.append(f"  {key}: {first}")
                    lines += ["    " + line for line in rest]
                lines.append(f"[Tool result] {name}")
                lines += _indent(a.output or "ok", "  ")
                lines.append("")
        lines.append("")
    return "\n".join(lines) + "\n"


def cursor_jsonl(script: Script, rng: random.Random) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for turn in script.turns:
        rows.append({"role": "user", "message": {"content": [
            {"type": "text", "text": f"<user_query>\n{turn.prompt}\n</user_query>"}]}})
        for step in turn.steps:
            blocks: list[dict[str, Any]] = []
            if step.thinking:
                blocks.append({"type": "thinking", "thinking": step.thinking})
            if step.text:
                blocks.append({"type": "text", "text": step.text})
            ids = [f"toolu_{base.token(rng, 24)}" for _ in step.actions]
            for call_id, a in zip(ids, step.actions, strict=True):
                blocks.append({"type": "tool_use", "id": call_id, "name": _CURSOR_TOOLS[a.kind],
                               "input": _cursor_args(a)})
            rows.append({"role": "assistant", "message": {"content": blocks}})
            if step.actions:
                rows.append({"role": "user", "message": {"content": [
                    {"type": "tool_result", "tool_use_id": call_id, "content": a.output,
                     "is_error": a.failed}
                    for call_id, a in zip(ids, step.actions, strict=True)]}})
    return rows


def write_cursor(ctx: Any, rng: random.Random, project: Any, start: int, target: int) -> int:
    sid = base.uuid4(rng)
    script = draw_script(ctx, rng, project, start, target, ("",), sid)
    folder = "".join(c if c.isalnum() else "-" for c in project.cwd.strip("/"))
    transcripts = ctx.out / CURSOR_SUBDIR / folder / "agent-transcripts"
    if rng.random() < 0.25:
        path = transcripts / f"{sid}.jsonl"
        out = base.JsonlFile(path, ctx.stats)
        for row in cursor_jsonl(script, rng):
            out.write(row)
        out.close()
    else:
        path = transcripts / f"{sid}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        data = cursor_text(script).encode()
        path.write_bytes(data)
        ctx.stats.files += 1
        ctx.stats.bytes += len(data)
    # Cursor records no times: the file's mtime is the session's clock.
    os.utime(path, ns=(script.end * 1_000_000, script.end * 1_000_000))
    return script.messages


# --- OpenCode (its SQLite database) ----------------------------------------------------------

OPENCODE_MODELS = ("claude-sonnet-4-5", "gpt-5", "gpt-5-codex", "kimi-k2")
_OPENCODE_TOOLS = {"Read": "read", "Bash": "bash", "Edit": "edit", "Write": "write",
                   "Grep": "grep"}
OPENCODE_SCHEMA = (
    "CREATE TABLE project (id TEXT PRIMARY KEY, worktree TEXT NOT NULL, vcs TEXT, name TEXT, "
    "time_created INTEGER NOT NULL, time_updated INTEGER NOT NULL)",
    "CREATE TABLE session (id TEXT PRIMARY KEY, project_id TEXT NOT NULL, parent_id TEXT, "
    "slug TEXT, directory TEXT, title TEXT, version TEXT, time_created INTEGER NOT NULL, "
    "time_updated INTEGER NOT NULL)",
    "CREATE TABLE message (id TEXT PRIMARY KEY, session_id TEXT NOT NULL, "
    "time_created INTEGER NOT NULL, time_updated INTEGER NOT NULL, data TEXT NOT NULL)",
    "CREATE TABLE part (id TEXT PRIMARY KEY, message_id TEXT NOT NULL, session_id TEXT NOT "
    "NULL, time_created INTEGER NOT NULL, time_updated INTEGER NOT NULL, data TEXT NOT NULL)",
    "CREATE INDEX message_session_idx ON message(session_id)",
    "CREATE INDEX part_session_idx ON part(session_id)",
    "CREATE INDEX part_message_idx ON part(message_id)",
)


def _opencode_args(a: Action) -> dict[str, Any]:
    if a.kind == "Read":
        return {"filePath": a.args["path"]}
    if a.kind == "Bash":
        return {"command": a.args["command"], "description": a.args["description"]}
    if a.kind == "Edit":
        return {"filePath": a.args["path"], "oldString": a.args["old"],
                "newString": a.args["new"]}
    if a.kind == "Write":
        return {"filePath": a.args["path"], "content": a.args["content"]}
    return {"pattern": a.args["pattern"], "path": a.args["path"]}


class OpenCodeDb:
    """The one ``opencode.db`` every OpenCode session of the corpus goes into."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=DELETE")
        self.db.execute("BEGIN")
        for sql in OPENCODE_SCHEMA:
            self.db.execute(sql)
        self.projects: set[str] = set()
        self.counter = 0

    def next_id(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}_{self.counter:012x}"

    def close(self) -> int:
        self.db.execute("COMMIT")
        self.db.close()
        return self.path.stat().st_size


def write_opencode(ctx: Any, rng: random.Random, project: Any, start: int, target: int) -> int:
    if ctx.opencode is None:
        ctx.opencode = OpenCodeDb(ctx.out / OPENCODE_SUBDIR / "opencode.db")
    store: OpenCodeDb = ctx.opencode
    sid = f"ses_{base.token(rng, 26)}"
    script = draw_script(ctx, rng, project, start, target, OPENCODE_MODELS, sid)
    db = store.db
    pid = hashlib.sha1(project.cwd.encode()).hexdigest()
    if pid not in store.projects:
        store.projects.add(pid)
        db.execute("INSERT INTO project VALUES (?,?,?,?,?,?)",
                   (pid, project.cwd, "git", project.cwd.rsplit("/", 1)[-1], start, start))
    title = script.turns[0].prompt.split("\n", 1)[0][:80]
    db.execute("INSERT INTO session VALUES (?,?,?,?,?,?,?,?,?)",
               (sid, pid, None, base.token(rng, 10).lower(), project.cwd, title, "1.0.0",
                start, script.end))
    messages: list[tuple] = []
    parts: list[tuple] = []
    for turn in script.turns:
        mid = store.next_id("msg")
        messages.append((mid, sid, turn.ms, turn.ms,
                         base.dumps({"role": "user", "time": {"created": turn.ms}}).decode()))
        parts.append((store.next_id("prt"), mid, sid, turn.ms, turn.ms,
                      base.dumps({"type": "text", "text": turn.prompt}).decode()))
        for step in turn.steps:
            mid = store.next_id("msg")
            data = {"role": "assistant", "modelID": script.model, "providerID": "openai",
                    "time": {"created": step.ms, "completed": step.ms + 500},
                    "tokens": {"input": step.input_tokens, "output": step.output_tokens,
                               "reasoning": len(step.thinking) // 4,
                               "cache": {"read": int(step.input_tokens * 0.8), "write": 0}}}
            messages.append((mid, sid, step.ms, step.ms + 500, base.dumps(data).decode()))

            def part(ms: int, body: dict[str, Any], mid: str = mid) -> None:
                parts.append((store.next_id("prt"), mid, sid, ms, ms, base.dumps(body).decode()))

            part(step.ms, {"type": "step-start"})
            if step.thinking:
                part(step.ms, {"type": "reasoning", "text": step.thinking})
            if step.text:
                part(step.ms, {"type": "text", "text": step.text})
            for a in step.actions:
                state: dict[str, Any] = {"status": "error" if a.failed and a.exit_code is None
                                         else "completed",
                                         "input": _opencode_args(a),
                                         "time": {"start": a.start, "end": a.end}}
                if state["status"] == "error":
                    state["error"] = a.output[:4000]
                else:
                    state["output"] = a.output
                    state["title"] = a.args.get("path") or a.args.get("command", "")
                    state["metadata"] = {} if a.exit_code is None else {"exit": a.exit_code}
                part(a.end, {"type": "tool", "callID": f"call_{base.token(rng, 24)}",
                             "tool": _OPENCODE_TOOLS[a.kind], "state": state})
            part(step.ms + 500, {"type": "step-finish", "tokens": {
                "input": step.input_tokens, "output": step.output_tokens}})
    db.executemany("INSERT INTO message VALUES (?,?,?,?,?)", messages)
    db.executemany("INSERT INTO part VALUES (?,?,?,?,?,?)", parts)
    return script.messages


def finish_opencode(ctx: Any) -> None:
    """Close the database and count its size on disk."""
    if ctx.opencode is not None:
        size = ctx.opencode.close()
        ctx.stats.bytes += size
        ctx.stats.agent_bytes["opencode"] = size
        ctx.stats.files += 1
        ctx.opencode = None


# --- VS Code Copilot Chat --------------------------------------------------------------------

VSCODE_MODELS = ("claude-sonnet-4.5", "gpt-5", "gpt-5-mini", "gemini-2.5-pro")
_VSCODE_TOOLS = {
    "Read": ("read_file", "copilot_readFile"),
    "Bash": ("run_in_terminal", "run_in_terminal"),
    "Edit": ("replace_string_in_file", "copilot_replaceString"),
    "Write": ("create_file", "copilot_createFile"),
    "Grep": ("grep_search", "copilot_findTextInFiles"),
}


def _vscode_args(a: Action) -> dict[str, Any]:
    if a.kind == "Read":
        return {"filePath": a.args["path"], "startLine": 1, "endLine": 400}
    if a.kind == "Bash":
        return {"command": a.args["command"], "explanation": a.args["description"],
                "isBackground": False}
    if a.kind == "Edit":
        return {"filePath": a.args["path"], "oldString": a.args["old"],
                "newString": a.args["new"]}
    if a.kind == "Write":
        return {"filePath": a.args["path"], "content": a.args["content"]}
    return {"query": a.args["pattern"], "isRegexp": True}


def _markdown(text: str, cwd: str) -> dict[str, Any]:
    return {"value": text, "supportThemeIcons": False, "supportHtml": False,
            "baseUri": {"$mid": 1, "path": cwd + "/", "scheme": "file"}}


def vscode_request(turn: Turn, script: Script, rng: random.Random) -> dict[str, Any]:
    cwd = script.project.cwd
    response: list[dict[str, Any]] = []
    rounds: list[dict[str, Any]] = []
    results: dict[str, Any] = {}
    prompt_tokens = output_tokens = 0
    for n, step in enumerate(turn.steps):
        prompt_tokens = step.input_tokens
        output_tokens += step.output_tokens
        if step.thinking:
            response.append({"kind": "thinking", "value": [step.thinking], "id": f"thinking_{n}"})
        if step.text:
            response.append(_markdown(step.text, cwd))
        calls = []
        for a in step.actions:
            name, tool_id = _VSCODE_TOOLS[a.kind]
            call_id = f"toolu_vrtx_{base.token(rng, 24)}"
            calls.append({"name": name, "arguments": base.dumps(_vscode_args(a)).decode(),
                          "id": call_id})
            invocation: dict[str, Any] = {
                "kind": "toolInvocationSerialized", "presentation": None,
                "invocationMessage": _markdown(f"Using \"{name}\"", cwd),
                "pastTenseMessage": _markdown(f"Used \"{name}\"", cwd),
                "isConfirmed": {"type": 1}, "isComplete": True,
                "source": {"type": "internal", "label": "Built-In"},
                "toolCallId": call_id, "toolId": tool_id}
            if a.kind == "Bash":
                invocation["toolSpecificData"] = {
                    "kind": "terminal", "commandLine": {"original": a.args["command"]},
                    "language": "sh",
                    "terminalCommandState": {"exitCode": a.exit_code, "timestamp": a.start,
                                             "duration": a.end - a.start},
                    "terminalCommandOutput": {"text": a.output, "truncated": False}}
            else:
                results[call_id] = {"$mid": 20, "content": [{"$mid": 21, "value": a.output}]}
            response.append(invocation)
        rounds.append({"response": step.text, "toolCalls": calls, "toolInputRetry": 0,
                       "id": f"round_{base.token(rng, 8)}"})
    last = turn.steps[-1].ms if turn.steps else turn.ms
    return {
        "requestId": f"request_{base.uuid4(rng)}",
        "message": {"parts": [{"range": {"start": 0, "endExclusive": len(turn.prompt)},
                               "text": turn.prompt, "kind": "text"}], "text": turn.prompt},
        "variableData": {"variables": []},
        "response": response,
        "responseId": f"response_{base.uuid4(rng)}",
        "result": {"timings": {"firstProgress": 900, "totalElapsed": last - turn.ms},
                   "metadata": {"codeBlocks": [], "toolCallRounds": rounds,
                                "toolCallResults": results, "promptTokens": prompt_tokens,
                                "outputTokens": output_tokens,
                                "resolvedModel": script.model}},
        "followups": [],
        "isCanceled": False,
        "agent": {"id": "github.copilot.editsAgent", "name": "agent",
                  "fullName": "GitHub Copilot", "extensionVersion": "0.32.4"},
        "contentReferences": [],
        "codeCitations": [],
        "timestamp": turn.ms,
        "modelId": f"copilot/{script.model}",
    }


def write_vscode(ctx: Any, rng: random.Random, project: Any, start: int, target: int) -> int:
    sid = base.uuid4(rng)
    script = draw_script(ctx, rng, project, start, target, VSCODE_MODELS, sid)
    folder = ctx.out / VSCODE_SUBDIR / "workspaceStorage" / hashlib.md5(
        project.cwd.encode()).hexdigest()
    if not (folder / "workspace.json").exists():
        folder.mkdir(parents=True, exist_ok=True)
        data = base.dumps({"folder": f"file://{project.cwd}"})
        (folder / "workspace.json").write_bytes(data)
        ctx.stats.files += 1
        ctx.stats.bytes += len(data)
    requests = [vscode_request(turn, script, rng) for turn in script.turns]
    head = {"version": 3, "requesterUsername": "dev", "responderUsername": "GitHub Copilot",
            "initialLocation": "panel", "sessionId": sid, "creationDate": start}
    if rng.random() < 0.2:  # the newer operation log
        out = base.JsonlFile(folder / "chatSessions" / f"{sid}.jsonl", ctx.stats)
        out.write({"kind": 0, "v": {**head, "requests": []}})
        for request in requests:
            out.write({"kind": 2, "k": ["requests"], "v": [request]})
    else:
        out = base.JsonlFile(folder / "chatSessions" / f"{sid}.json", ctx.stats)
        out.write({**head, "requests": requests, "lastMessageDate": script.end})
    out.close()
    return script.messages


WRITERS = {
    "gemini": write_gemini,
    "copilot": write_copilot,
    "cursor": write_cursor,
    "opencode": write_opencode,
    "vscode-copilot": write_vscode,
}
