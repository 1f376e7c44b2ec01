#!/usr/bin/env python3
"""Seeded, deterministic generator of a synthetic session corpus: Claude Code + Codex by
default, with ``--agents all`` also Gemini CLI, Copilot CLI, Cursor, OpenCode and VS Code
Copilot Chat (``corpus_agents.py``).

The corpus mimics the agents' real on-disk layouts so it can be pointed at directly:

* ``<out>/claude/projects/<encoded-cwd>/<session-uuid>.jsonl`` (Claude Code), with subagent
  transcripts in ``<encoded-cwd>/<parent-uuid>/subagents/agent-<id>.jsonl``;
* ``<out>/codex/sessions/YYYY/MM/DD/rollout-<ts>-<uuid>.jsonl`` (Codex rollouts);
* ``<out>/gemini/tmp/<sha256 of cwd>/chats/session-*.json[l]`` and ``projects.json``;
* ``<out>/copilot/session-state/<id>/events.jsonl``;
* ``<out>/cursor/projects/<encoded cwd>/agent-transcripts/<id>.txt|.jsonl``;
* ``<out>/opencode/opencode.db`` (every OpenCode session in one SQLite database);
* ``<out>/vscode/User/workspaceStorage/<hash>/chatSessions/<id>.json|.jsonl``.

Files are written one at a time (never the whole corpus in memory; OpenCode's database is
written as it goes). The same ``--seed``, ``--sessions`` and ``--agents`` always produce
byte-identical files. Usage::

    python bench/corpus.py --sessions 2000 --seed 1 --out /tmp/bench-corpus
    python bench/corpus.py --sessions 2000 --agents all --out /tmp/bench-corpus-mixed
    python bench/corpus.py --append-fraction 0.01 --out /tmp/bench-corpus   # grow 1% of files
    python bench/corpus.py --restore --out /tmp/bench-corpus                 # undo the append
"""

from __future__ import annotations

import argparse
import base64
import json
import math
import os
import random
import re
import shutil
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

try:  # orjson is optional; both encoders produce identical bytes for what we emit.
    import orjson

    def dumps(obj: Any) -> bytes:
        """Compact JSON, raw UTF-8 (like JSON.stringify / serde_json)."""
        return orjson.dumps(obj)

except ImportError:  # pragma: no cover - depends on the environment
    _ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False)

    def dumps(obj: Any) -> bytes:
        """Compact JSON, raw UTF-8 (like JSON.stringify / serde_json)."""
        return _ENCODER.encode(obj).encode()


# 2: other agents (--agents); the Claude + Codex corpus (the default) is byte-identical to 1's.
GENERATOR_VERSION = 2
MARKER_NAME = ".bench-corpus.json"
CLAUDE_SUBDIR = Path("claude/projects")
CODEX_SUBDIR = Path("codex/sessions")

CLAUDE_SHARE = 0.70
LEGACY_AGENTS = ("claude", "codex")  # the corpus of generator version 1, byte for byte
# The share of each agent in a corpus of several (``--agents``), before renormalising.
AGENT_WEIGHTS = {
    "claude": 0.45,
    "codex": 0.20,
    "gemini": 0.08,
    "copilot": 0.07,
    "cursor": 0.07,
    "opencode": 0.07,
    "vscode-copilot": 0.06,
}
ALL_AGENTS = tuple(AGENT_WEIGHTS)
SUBAGENT_SHARE = 0.05
# Message count per session: log-normal, clamped. Mean ~60, median ~26, a few 1,000+.
MSG_MU, MSG_SIGMA, MSG_MIN, MSG_MAX = 3.25, 1.28, 5, 2400
# Corpus time window: ~7 months ending at a fixed date (no dependency on "now").
ANCHOR_MS = 1_774_915_200_000  # 2026-03-31T00:00:00Z
SPAN_MS = 210 * 86_400_000

# --- small helpers ---------------------------------------------------------------------------


def iso(ms: int) -> str:
    """Epoch milliseconds -> ``2026-03-02T09:00:01.000Z``."""
    sec, rem = divmod(ms, 1000)
    t = time.gmtime(sec)
    return (
        f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}T"
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}.{rem:03d}Z"
    )


def parse_iso_ms(text: str) -> int:
    """Inverse of :func:`iso` (any RFC 3339 timestamp)."""
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return int(dt.timestamp()) * 1000 + dt.microsecond // 1000


def uuid4(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


def uuid7(rng: random.Random, ms: int) -> str:
    h = f"{ms & (2**48 - 1):012x}{rng.getrandbits(80):020x}"
    return f"{h[:8]}-{h[8:12]}-7{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:32]}"


def token(rng: random.Random, n: int, alphabet: str = "") -> str:
    chars = alphabet or "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(rng.choices(chars, k=n))


def lognorm_int(rng: random.Random, median: float, sigma: float, lo: int, hi: int) -> int:
    return max(lo, min(hi, int(rng.lognormvariate(math.log(median), sigma))))


def encode_claude_dir(cwd: str) -> str:
    """Claude Code's project dir name: every char outside [A-Za-z0-9-] becomes '-'."""
    return re.sub(r"[^A-Za-z0-9-]", "-", cwd)


# --- deterministic text pools ---------------------------------------------------------------

LANGS = ("python", "typescript", "go", "rust")
EXT = {"python": ".py", "typescript": ".ts", "go": ".go", "rust": ".rs"}
NON_ASCII = (
    "café",
    "naïve",
    "résumé",
    "Größe",
    "Straße",
    "señal",
    "ça marche",
    "über",
    "Ærø",
    "日本語のテスト",
    "修复登录重定向",
    "数据库连接",
    "테스트 추가",
    "データベース",
    "Привет",
    "Ελληνικά",
    "🚀",
    "✅",
    "🐛",
    "🔥",
    "✨",
    "👍",
    "→",
    "—",
    "…",
    "≈",
    "½",
    "€",
)
IDENTS = (
    "user",
    "session",
    "token",
    "cache",
    "config",
    "request",
    "response",
    "handler",
    "router",
    "parser",
    "message",
    "payload",
    "account",
    "invoice",
    "order",
    "item",
    "queue",
    "worker",
    "job",
    "event",
    "record",
    "index",
    "schema",
    "client",
    "server",
    "buffer",
    "stream",
    "metric",
    "report",
    "filter",
    "limit",
    "offset",
    "cursor",
    "batch",
    "retry",
    "timeout",
    "auth",
    "login",
    "redirect",
    "profile",
    "search",
    "export",
    "import",
    "sync",
    "state",
)
PROJECT_NAMES = (
    "webapp",
    "api-server",
    "cli-tool",
    "data-pipeline",
    "ml-experiments",
    "mobile-app",
    "infra",
    "docs-site",
    "payments",
    "auth-service",
    "search-indexer",
    "chat-bot",
    "game-engine",
    "compiler",
    "dotfiles",
    "scraper",
    "analytics",
    "billing",
    "notifications",
    "k8s-operator",
    "etl-jobs",
    "design-system",
    "blog",
    "rust-raytracer",
    "go-proxy",
    "café-menu",
    "数据分析",
    "home-automation",
    "trading-sim",
    "vector-db",
)
CWD_PATTERNS = (
    "/home/dev/projects/{name}",
    "/home/dev/work/acme.io/{name}",
    "/Users/alice/code/{name}",
    "/home/dev/src/github.com/acme/{name}",
    "/Users/alice/My Projects/{name}",
    "/home/dev/projects/{name}/services/{svc}",
    "/srv/worktrees/{name}-wt_{svc}",
)


def _camel(rng: random.Random) -> str:
    return rng.choice(IDENTS).capitalize() + rng.choice(IDENTS).capitalize()


def _snake(rng: random.Random) -> str:
    return f"{rng.choice(IDENTS)}_{rng.choice(IDENTS)}"


def _sentence(rng: random.Random) -> str:
    a, b, c = rng.choice(IDENTS), rng.choice(IDENTS), rng.choice(IDENTS)
    fn = _snake(rng)
    templates = (
        f"The {a} {b} is computed before the {c} is validated, so `{fn}` sees stale data.",
        f"I need to check how `{fn}` handles an empty {a} list.",
        f"This looks like an off-by-one error in the {b} {c} loop.",
        f"The test expects the {a} to be normalised, but `{fn}` keeps the raw value.",
        f"Let me verify that the {a} {b} still round-trips after the change.",
        f"The {c} module already has a helper for this, so I should reuse `{fn}`.",
        f"Switching the {a} lookup to a dict keeps it O(1) per {b}.",
        f"We should keep backwards compatibility for existing {a} {c} records.",
        f"The failure only happens when the {b} is missing, which the fixture never covers.",
        f"`{fn}` is called from three places; only the {a} path passes a None {c}.",
        f"I'll add a regression test so the {a} {b} case stays covered.",
        f"The stack trace points at the {c} serializer rather than the {a} model.",
    )
    s = rng.choice(templates)
    if rng.random() < 0.12:
        s = f"{s} ({rng.choice(NON_ASCII)})"
    return s


def _code_line(rng: random.Random, lang: str, depth: int) -> str:
    a, b, c = _snake(rng), rng.choice(IDENTS), _camel(rng)
    n = rng.randrange(1, 500)
    if lang == "python":
        ind = "    " * depth
        opts = (
            f"def {a}(self, {b}: {c} | None = None) -> dict[str, Any]:",
            f'{ind}"""Return the {b} for {a.replace("_", " ")}."""',
            f"{ind}if {b} is None:",
            f"{ind}    return {{}}",
            f"{ind}for {b} in self.{a}:",
            f"{ind}{a} = {c}({b}, limit={n})",
            f"{ind}result[{b}.id] = {a}.get({b!r}, {n})",
            f"{ind}# {_sentence(rng)}",
            f"{ind}raise ValueError(f'invalid {b}: {{{b}!r}}')",
            f"{ind}return {a}",
            f"from {b}.{a} import {c}",
            f"class {c}({_camel(rng)}):",
            "",
            f"{ind}logger.debug('{a} %s', {b})",
            f"{ind}await self.{a}({b}, timeout={n})",
        )
    elif lang == "typescript":
        ind = "  " * depth
        opts = (
            f"export async function {c[0].lower()}{c[1:]}({b}: {c}): Promise<void> {{",
            f"{ind}const {b} = await {a}(req.params.{b});",
            f"{ind}if (!{b}) {{",
            f"{ind}  return res.status(404).json({{ error: '{b} not found' }});",
            f"{ind}}}",
            f"{ind}// {_sentence(rng)}",
            f"import {{ {c} }} from './{b}/{a}';",
            f"{ind}for (const {b} of {a}) {{",
            f"{ind}  total += {b}.{a} ?? {n};",
            f"{ind}return {{ ...{b}, updatedAt: new Date() }};",
            "",
            f"interface {c} {{ id: string; {b}: number; }}",
            f"{ind}expect({a}({b})).toEqual({{ {b}: {n} }});",
        )
    elif lang == "go":
        ind = "\t" * depth
        opts = (
            f"func (s *{c}) {c}({b} string) (*{_camel(rng)}, error) {{",
            f"{ind}if err != nil {{",
            f'{ind}\treturn nil, fmt.Errorf("{a}: %w", err)',
            f"{ind}}}",
            f"{ind}{b}, err := s.{c}(ctx, {n})",
            f"{ind}// {_sentence(rng)}",
            f"{ind}for _, {b} := range {a} {{",
            f"{ind}\tout = append(out, {b})",
            f'import "github.com/acme/{b}/{a}"',
            "",
            f"type {c} struct {{ {c} int }}",
            f"{ind}return {b}, nil",
        )
    else:
        ind = "    " * depth
        opts = (
            f"pub fn {a}(&self, {b}: &{c}) -> Result<{_camel(rng)}, Error> {{",
            f"{ind}let {b} = self.{a}.get(&{b}).ok_or(Error::Missing)?;",
            f"{ind}if {b}.is_empty() {{",
            f"{ind}    return Ok(Default::default());",
            f"{ind}}}",
            f"{ind}// {_sentence(rng)}",
            f"use crate::{b}::{c};",
            f"{ind}for {b} in {a}.iter() {{",
            f"{ind}    total += {b}.len() as u64 * {n};",
            "",
            f"#[derive(Debug, Clone)]\npub struct {c} {{ {b}: u32 }}",
            f"{ind}Ok({b})",
        )
    return rng.choice(opts)


def _log_line(rng: random.Random, lang: str) -> str:
    a, b = _snake(rng), rng.choice(IDENTS)
    pct = rng.randrange(0, 101)
    ms = rng.randrange(1, 4000)
    if rng.random() < 0.04:
        return f"\x1b[31mE   AssertionError: expected {b} == {ms}, got None\x1b[0m"
    if lang == "python":
        opts = (
            f"tests/test_{b}.py::test_{a} PASSED{' ' * 20}[{pct:3d}%]",
            f"tests/test_{b}.py::test_{a} FAILED{' ' * 20}[{pct:3d}%]",
            f'  File "/app/src/{b}/{a}.py", line {ms % 400}, in {a}',
            f"    return self.{a}({b})",
            f"E       KeyError: '{b}'",
            f"{ms / 1000:.2f}s call     tests/test_{b}.py::test_{a}",
            f"WARNING  {b}.{a}:{a}.py:{pct} deprecated {b} option used",
        )
    elif lang == "typescript":
        opts = (
            f" ✓ src/{b}/{a}.test.ts > {b} > handles {a} ({ms}ms)",
            f" × src/{b}/{a}.test.ts > {b} > rejects invalid {a} ({ms}ms)",
            f"   at {a} (src/{b}/{a}.ts:{pct}:{ms % 80})",
            f"npm WARN deprecated {b}@{pct % 9}.{pct}.0: use @acme/{b} instead",
            f"   → expected {{ {b}: {pct} }} to deeply equal {{ {b}: {ms} }}",
        )
    elif lang == "go":
        opts = (
            f"=== RUN   Test{a.title().replace('_', '')}",
            f"--- PASS: Test{a.title().replace('_', '')} ({ms / 1000:.2f}s)",
            f"--- FAIL: Test{b.title()} ({ms / 1000:.2f}s)",
            f"    {b}_test.go:{pct}: got {ms}, want {pct}",
            f"ok  \tgithub.com/acme/{b}/{a}\t{ms / 1000:.3f}s",
        )
    else:
        opts = (
            f"test {b}::tests::{a} ... ok",
            f"test {b}::tests::{a} ... FAILED",
            f"   Compiling {b}-{a} v0.{pct}.{ms % 10}",
            f"warning: unused variable: `{b}` --> src/{a}.rs:{pct}:{ms % 60}",
            f"thread '{b}::tests::{a}' panicked at src/{a}.rs:{pct}:9:",
        )
    return rng.choice(opts)


class Pools:
    """Large, fixed text pools sliced at random offsets (fast, realistic-looking bulk text)."""

    def __init__(self) -> None:
        rng = random.Random("agentsview-bench-pools-v1")
        self.code: dict[str, list[str]] = {}
        self.logs: dict[str, list[str]] = {}
        for lang in LANGS:
            lines: list[str] = []
            depth = 0
            for _ in range(14_000):
                depth = max(0, min(3, depth + rng.choice((-1, 0, 0, 1))))
                lines.append(_code_line(rng, lang, depth))
            self.code[lang] = lines
            self.logs[lang] = [_log_line(rng, lang) for _ in range(9_000)]
        self.sentences = [_sentence(rng) for _ in range(6_000)]
        self.b64 = base64.b64encode(rng.randbytes(120_000)).decode()

    def window(self, lines: Sequence[str], rng: random.Random, n: int) -> list[str]:
        n = max(1, min(n, len(lines)))
        start = rng.randrange(len(lines) - n + 1)
        return list(lines[start : start + n])

    def prose(self, rng: random.Random, sentences: int) -> str:
        pool = self.sentences
        return " ".join(pool[rng.randrange(len(pool))] for _ in range(sentences))

    def blob(self, rng: random.Random, n: int) -> str:
        n = min(n, len(self.b64) - 1)
        start = rng.randrange(len(self.b64) - n)
        return self.b64[start : start + n]


# --- projects --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Project:
    cwd: str
    lang: str
    files: tuple[str, ...]
    branches: tuple[str, ...]
    repo_url: str
    weight: float


def make_projects(seed: int) -> list[Project]:
    """10-30 distinct working directories with a skewed (Zipf-like) popularity."""
    rng = random.Random(f"agentsview-bench-projects:{seed}")
    count = rng.randint(14, 24)
    names = rng.sample(PROJECT_NAMES, count)
    projects = []
    dirs = {
        "python": ("src", "src/api", "src/core", "tests", "scripts"),
        "typescript": ("src", "src/components", "src/lib", "src/routes", "tests"),
        "go": ("cmd/server", "internal/store", "internal/http", "pkg/util"),
        "rust": ("src", "src/bin", "src/net", "tests"),
    }
    for rank, name in enumerate(names):
        lang = rng.choice(LANGS)
        cwd = rng.choice(CWD_PATTERNS).format(name=name, svc=rng.choice(IDENTS))
        files = sorted(
            {f"{rng.choice(dirs[lang])}/{_snake(rng)}{EXT[lang]}" for _ in range(60)}
            | {"README.md", "CHANGELOG.md", ".github/workflows/ci.yml"}
        )
        branches = ("main",) + tuple(
            f"{rng.choice(('feature', 'fix', 'chore', 'refactor'))}/{_snake(rng).replace('_', '-')}"
            for _ in range(rng.randint(3, 8))
        )
        slug = re.sub(r"[^a-z0-9-]", "", name.lower()) or "repo"
        projects.append(
            Project(
                cwd,
                lang,
                tuple(files),
                branches,
                f"git@github.com:acme/{slug}.git",
                1.0 / (rank + 1) ** 0.9,
            )
        )
    return projects


# --- output bookkeeping ----------------------------------------------------------------------


@dataclass
class Stats:
    sessions: int = 0
    claude_sessions: int = 0
    codex_sessions: int = 0
    subagent_files: int = 0
    files: int = 0
    bytes: int = 0
    messages: int = 0
    max_session_messages: int = 0
    session_messages: list[int] = field(default_factory=list)
    agent_sessions: dict[str, int] = field(default_factory=dict)
    agent_bytes: dict[str, int] = field(default_factory=dict)


class JsonlFile:
    """Streams JSON lines to one file, counting bytes."""

    def __init__(self, path: Path, stats: Stats) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.fh = path.open("wb", buffering=1 << 20)
        self.stats = stats
        stats.files += 1

    def write(self, obj: dict[str, Any]) -> None:
        data = dumps(obj) + b"\n"
        self.fh.write(data)
        self.stats.bytes += len(data)

    def close(self) -> None:
        self.fh.close()


# --- tool call content -----------------------------------------------------------------------


@dataclass
class ToolRun:
    """One tool invocation: the call input and what came back."""

    name: str
    input: dict[str, Any]
    output: str
    is_error: bool = False
    result: Any = None  # Claude ``toolUseResult``
    seconds: float = 1.0
    weight: int = 0  # rough token cost, for usage numbers


def _numbered(lines: Sequence[str], first: int = 1) -> str:
    return "\n".join(f"{i:>6}→{line}" for i, line in enumerate(lines, first))


class ToolFactory:
    """Builds realistic tool inputs/outputs for one project."""

    def __init__(self, pools: Pools, project: Project, rng: random.Random) -> None:
        self.pools = pools
        self.p = project
        self.rng = rng

    def path(self) -> str:
        return f"{self.p.cwd}/{self.rng.choice(self.p.files)}"

    def code(self, n: int) -> list[str]:
        return self.pools.window(self.pools.code[self.p.lang], self.rng, n)

    def log(self, n: int) -> list[str]:
        return self.pools.window(self.pools.logs[self.p.lang], self.rng, n)

    def test_command(self) -> str:
        return {
            "python": "uv run pytest -q tests/",
            "typescript": "npm test -- --run",
            "go": "go test ./...",
            "rust": "cargo test --all-features",
        }[self.p.lang]

    # Claude tools --------------------------------------------------------------------------
    def claude(self, name: str) -> ToolRun:
        return getattr(self, f"_c_{name.lower()}")()

    def _c_read(self) -> ToolRun:
        rng = self.rng
        path = self.path()
        total = lognorm_int(rng, 18, 1.15, 3, 3000)
        n = min(total, 2000)
        lines = self.code(n)
        content = "\n".join(lines)
        inp: dict[str, Any] = {"file_path": path}
        if total > 2000 or rng.random() < 0.1:
            inp.update(offset=1, limit=n)
        res = {
            "type": "text",
            "file": {
                "filePath": path,
                "content": content,
                "numLines": n,
                "startLine": 1,
                "totalLines": total,
            },
        }
        return ToolRun(
            "Read", inp, _numbered(lines), result=res, seconds=0.05, weight=len(content) // 4
        )

    def _c_bash(self) -> ToolRun:
        rng = self.rng
        kind = rng.random()
        if kind < 0.35:
            cmd, desc = self.test_command(), "Run the test suite"
            lines = self.log(lognorm_int(rng, 15, 1.25, 4, 2600))
            secs = rng.uniform(2, 120)
        elif kind < 0.55:
            cmd, desc = "git diff", "Show working tree changes"
            body = self.code(lognorm_int(rng, 12, 1.0, 3, 900))
            lines = [f"diff --git a/{self.p.files[0]} b/{self.p.files[0]}", "@@ -1,9 +1,12 @@"]
            lines += [f"{rng.choice('+- ')}{x}" for x in body]
            secs = 0.1
        elif kind < 0.75:
            cmd, desc = "git status && git log --oneline -20", "Show git status and history"
            lines = [
                f"{token(rng, 7, '0123456789abcdef')} {self.pools.prose(rng, 1)[:70]}"
                for _ in range(20)
            ]
            lines += [f"\tmodified:   {f}" for f in rng.sample(self.p.files, 4)]
            secs = 0.1
        else:
            d = self.rng.choice(self.p.files).rsplit("/", 1)[0]
            cmd, desc = f"ls -la {d}", f"List {d}"
            lines = [
                f"-rw-r--r--  1 dev staff {rng.randrange(100, 90000):6d} Mar  2 09:00 "
                f"{f.rsplit('/', 1)[-1]}"
                for f in rng.sample(self.p.files, 12)
            ]
            secs = 0.02
        out = "\n".join(lines)
        if rng.random() < 0.08:  # failing command
            text = f"Error: Exit code {rng.choice((1, 1, 2, 127))}\n{out}"
            return ToolRun(
                "Bash", {"command": cmd, "description": desc}, text, True, text, secs, len(out) // 4
            )
        res = {"stdout": out, "stderr": "", "interrupted": False, "isImage": False}
        inp = {"command": cmd, "description": desc}
        if secs > 30:
            inp["timeout"] = 300000
        return ToolRun("Bash", inp, out, result=res, seconds=secs, weight=len(out) // 4)

    def _c_edit(self) -> ToolRun:
        rng = self.rng
        path = self.path()
        original = self.code(lognorm_int(rng, 22, 0.9, 5, 1600))
        at = rng.randrange(len(original))
        old = original[at : at + rng.randint(1, 12)]
        new = old + self.code(rng.randint(1, 10))
        inp = {"file_path": path, "old_string": "\n".join(old), "new_string": "\n".join(new)}
        if rng.random() < 0.06:
            text = (
                "<tool_use_error>String to replace not found in file.\nString: "
                f"{inp['old_string'][:200]}</tool_use_error>"
            )
            return ToolRun("Edit", inp, text, True, f"Error: {text}", 0.02, 50)
        snippet = _numbered(new[:12], at + 1)
        out = (
            f"The file {path} has been updated. Here's the result of running `cat -n` on a "
            f"snippet of the edited file:\n{snippet}"
        )
        patch = [
            {
                "oldStart": at + 1,
                "oldLines": len(old),
                "newStart": at + 1,
                "newLines": len(new),
                "lines": [f"-{x}" for x in old] + [f"+{x}" for x in new],
            }
        ]
        res = {
            "filePath": path,
            "oldString": inp["old_string"],
            "newString": inp["new_string"],
            "originalFile": "\n".join(original),
            "structuredPatch": patch,
            "userModified": False,
            "replaceAll": False,
        }
        return ToolRun("Edit", inp, out, result=res, seconds=0.05, weight=400)

    def _c_write(self) -> ToolRun:
        path = self.path()
        content = "\n".join(self.code(lognorm_int(self.rng, 30, 0.9, 5, 700))) + "\n"
        res = {"type": "create", "filePath": path, "content": content, "structuredPatch": []}
        return ToolRun(
            "Write",
            {"file_path": path, "content": content},
            f"File created successfully at: {path}",
            result=res,
            seconds=0.03,
            weight=len(content) // 4,
        )

    def _c_grep(self) -> ToolRun:
        rng = self.rng
        pattern = rng.choice(
            (_snake(rng), f"def {_snake(rng)}", f"{rng.choice(IDENTS)}\\(", "TODO|FIXME")
        )
        files = rng.sample(self.p.files, min(len(self.p.files), rng.randint(1, 12)))
        lines = [
            f"{self.p.cwd}/{rng.choice(files)}:{rng.randrange(1, 900)}:{x.strip()}"
            for x in self.code(lognorm_int(rng, 7, 1.0, 1, 500))
        ]
        out = "\n".join(lines)
        res = {
            "mode": "content",
            "numFiles": len(files),
            "filenames": [],
            "content": out,
            "numLines": len(lines),
        }
        return ToolRun(
            "Grep",
            {"pattern": pattern, "path": self.p.cwd, "output_mode": "content", "-n": True},
            out,
            result=res,
            seconds=0.2,
            weight=len(out) // 4,
        )

    def _c_glob(self) -> ToolRun:
        rng = self.rng
        ext = EXT[self.p.lang]
        names = [f"{self.p.cwd}/{f}" for f in self.p.files if f.endswith(ext)]
        names = rng.sample(names, min(len(names), rng.randint(2, 25)))
        res = {
            "filenames": names,
            "durationMs": rng.randrange(5, 300),
            "numFiles": len(names),
            "truncated": False,
        }
        return ToolRun(
            "Glob",
            {"pattern": f"**/*{ext}"},
            "\n".join(names),
            result=res,
            seconds=0.05,
            weight=len(names) * 12,
        )

    def _c_todowrite(self) -> ToolRun:
        rng = self.rng
        todos = []
        for i in range(rng.randint(2, 7)):
            text = self.pools.prose(rng, 1)[:80]
            status = "completed" if i < 2 else ("in_progress" if i == 2 else "pending")
            todos.append({"content": text, "status": status, "activeForm": f"Working on {i + 1}"})
        out = (
            "Todos have been modified successfully. Ensure that you continue to use the todo "
            "list to track your progress. Please proceed with the current tasks if applicable"
        )
        return ToolRun(
            "TodoWrite",
            {"todos": todos},
            out,
            result={"oldTodos": [], "newTodos": todos},
            seconds=0.01,
            weight=60,
        )

    # Codex tools ---------------------------------------------------------------------------
    def codex_shell(self) -> tuple[str, str, int, float]:
        """Returns (shell command, output, exit code, seconds)."""
        rng = self.rng
        kind = rng.random()
        if kind < 0.35:
            path = rng.choice(self.p.files)
            n = lognorm_int(rng, 38, 0.9, 10, 1200)
            return f"sed -n '1,{n}p' {path}", "\n".join(self.code(n)), 0, 0.01
        if kind < 0.6:
            cmd = self.test_command()
            out = "\n".join(self.log(lognorm_int(rng, 30, 1.1, 5, 1800)))
            code = 1 if rng.random() < 0.25 else 0
            return cmd, out, code, round(rng.uniform(1, 90), 3)
        if kind < 0.8:
            pat = _snake(rng)
            lines = [
                f"{rng.choice(self.p.files)}:{rng.randrange(1, 800)}:{x.strip()}"
                for x in self.code(lognorm_int(rng, 14, 1.0, 1, 300))
            ]
            return f'rg -n "{pat}" .', "\n".join(lines), 0, 0.05
        if kind < 0.93:
            return (
                "git status --short",
                "\n".join(f" M {f}" for f in rng.sample(self.p.files, 5)),
                0,
                0.02,
            )
        missing = rng.choice(self.p.files) + ".bak"
        return f"cat {missing}", f"cat: {missing}: No such file or directory\n", 1, 0.0

    def codex_patch(self) -> tuple[str, str]:
        """Returns (apply_patch input, touched path)."""
        rng = self.rng
        path = rng.choice(self.p.files)
        old = self.code(rng.randint(1, 6))
        new = self.code(rng.randint(2, 25))
        body = "\n".join(
            [f" {x}" for x in old[:2]] + [f"-{x}" for x in old[2:]] + [f"+{x}" for x in new]
        )
        return f"*** Begin Patch\n*** Update File: {path}\n@@\n{body}\n*** End Patch\n", path


# --- prompts ---------------------------------------------------------------------------------


def make_prompt(rng: random.Random, pools: Pools, tools: ToolFactory, first: bool) -> str:
    f = rng.choice(tools.p.files)
    fn = _snake(rng)
    if not first and rng.random() < 0.55:
        return rng.choice(
            (
                "Looks good, now also handle the empty case.",
                "Yes, go ahead.",
                "Please commit this with a descriptive message.",
                "continue",
                "No — keep the old behaviour for v1 clients.",
                "Great, thanks! 👍",
                f"Can you also update the docs in README.md for `{fn}`?",
                "The CI is still red, can you check the latest run?",
                "Hmm, that broke the integration tests. Revert the last change and try again.",
                "Ok. Now run the full test suite.",
                "Parfait, merci ! Peux-tu aussi ajouter un test ?",
                "好的，继续。",
                "ありがとう！次はリファクタリングをお願いします。",
            )
        )
    if rng.random() < 0.1:
        trace = "\n".join(tools.log(lognorm_int(rng, 30, 1.0, 5, 400)))
        return (
            f"I'm getting this error when running `{tools.test_command()}`:\n\n```\n{trace}"
            f"\n```\n\nPlease fix it."
        )
    base = rng.choice(
        (
            f"Fix the failing test in {f}. The error is `KeyError: '{rng.choice(IDENTS)}'`.",
            f"Add input validation to `{fn}` in {f} and cover it with tests.",
            f"Why does `{fn}` return None when the cache is empty? Investigate and fix.",
            f"Refactor {f} to remove the duplicated {rng.choice(IDENTS)} logic.",
            "Run the test suite and fix whatever is broken.",
            "Can you review the changes on this branch and summarize them?",
            f"Implement pagination for the {rng.choice(IDENTS)} list endpoint (limit/offset).",
            f"请帮我修复 {f} 中的空指针问题，并补充单元测试。",
            f"{f} のエラーハンドリングを改善してください。テストも追加して 🙏",
            f"Peux-tu optimiser la requête dans {f} ? Elle est très lente en production (≈ 3 s).",
            f"Bitte die Größenberechnung in `{fn}` korrigieren – "
            "sie liefert falsche Werte für ä/ö/ü.",
            f"Add a CHANGELOG entry for the ✨ new {rng.choice(IDENTS)} feature "
            "and bump the version.",
            f"테스트가 실패합니다: {f} 확인 부탁드려요",
        )
    )
    if rng.random() < 0.3:
        base += "\n\n" + pools.prose(rng, rng.randint(1, 6))
    return base


def final_summary(rng: random.Random, pools: Pools, tools: ToolFactory) -> str:
    files = rng.sample(tools.p.files, min(len(tools.p.files), rng.randint(1, 4)))
    bullets = "\n".join(f"- `{f}`: {pools.prose(rng, 1)}" for f in files)
    text = (
        f"{rng.choice(('Done.', 'Fixed.', 'Summary of the changes:', 'All set ✅'))}\n\n{bullets}"
    )
    if rng.random() < 0.4:
        text += "\n\n```\n" + "\n".join(tools.code(rng.randint(3, 25))) + "\n```"
    if rng.random() < 0.5:
        text += "\n\n" + pools.prose(rng, rng.randint(1, 5))
    return text


# --- Claude Code sessions --------------------------------------------------------------------

CLAUDE_VERSIONS = ("1.0.98", "2.0.5", "2.0.14", "2.0.28", "2.0.42", "2.0.55", "2.1.3")
CLAUDE_MODELS = (
    "claude-sonnet-4-5-20250929",
    "claude-sonnet-4-5-20250929",
    "claude-opus-4-1-20250805",
    "claude-opus-4-5-20251101",
)
SUBAGENT_MODEL = "claude-haiku-4-5-20251001"
CLAUDE_TOOL_MIX = (
    ("Read", 30),
    ("Bash", 25),
    ("Edit", 18),
    ("Grep", 8),
    ("Glob", 5),
    ("Write", 5),
    ("TodoWrite", 6),
)
_TOOL_NAMES = [n for n, _ in CLAUDE_TOOL_MIX]
_TOOL_WEIGHTS = [w for _, w in CLAUDE_TOOL_MIX]
SHORT_TEXTS = (
    "Let me look at the relevant file first.",
    "Now I'll run the tests to confirm.",
    "I see the problem.",
    "Let me search for other usages.",
    "Let me check the git history.",
    "Now let me update the implementation.",
    "Let me verify the fix.",
    "I'll track the remaining work in the todo list.",
)


def version_for(ms: int, versions: Sequence[str]) -> str:
    frac = (ms - (ANCHOR_MS - SPAN_MS)) / SPAN_MS
    return versions[max(0, min(len(versions) - 1, int(frac * len(versions))))]


class ClaudeSession:
    """Writes one Claude Code transcript (and, optionally, a subagent transcript)."""

    def __init__(
        self,
        ctx: Generator,
        rng: random.Random,
        project: Project,
        session_id: str,
        start_ms: int,
        *,
        agent_id: str = "",
        model: str = "",
    ) -> None:
        self.ctx = ctx
        self.rng = rng
        self.p = project
        self.sid = session_id
        self.now = start_ms
        self.agent_id = agent_id
        self.tools = ToolFactory(ctx.pools, project, rng)
        self.version = version_for(start_ms, CLAUDE_VERSIONS)
        self.model = model or rng.choice(CLAUDE_MODELS)
        self.branch = rng.choice(project.branches)
        self.split_blocks = rng.random() < 0.5  # newer CLIs write one line per content block
        self.thinking = rng.random() < 0.6
        self.parent: str | None = None
        self.context = rng.randrange(12_000, 30_000)
        self.messages = 0
        self.out: JsonlFile | None = None

    # line building ---------------------------------------------------------------------------
    def _base(self, kind: str) -> dict[str, Any]:
        d: dict[str, Any] = {
            "parentUuid": self.parent,
            "isSidechain": bool(self.agent_id),
            "userType": "external",
            "cwd": self.p.cwd,
            "sessionId": self.sid,
            "version": self.version,
            "gitBranch": self.branch,
        }
        if self.agent_id:
            d["agentId"] = self.agent_id
        d["type"] = kind
        return d

    def _emit(self, d: dict[str, Any], extra: dict[str, Any] | None = None) -> str:
        uid = uuid4(self.rng)
        d["uuid"] = uid
        d["timestamp"] = iso(self.now)
        if extra:
            d.update(extra)
        assert self.out is not None
        self.out.write(d)
        self.parent = uid
        return uid

    def tick(self, lo: float, hi: float) -> None:
        self.now += int(self.rng.uniform(lo, hi) * 1000)

    def user_text(self, text: str, **flags: Any) -> str:
        d = self._base("user")
        content: Any = text if self.rng.random() < 0.8 else [{"type": "text", "text": text}]
        d["message"] = {"role": "user", "content": content}
        return self._emit(d, flags or None)

    def snapshot(self) -> None:
        mid = uuid4(self.rng)
        tracked = {
            f: {
                "backupFileName": f"{token(self.rng, 16, '0123456789abcdef')}@v2",
                "version": 2,
                "backupTime": iso(self.now),
            }
            for f in self.rng.sample(self.p.files, self.rng.randint(0, 3))
        }
        assert self.out is not None
        self.out.write(
            {
                "type": "file-history-snapshot",
                "messageId": mid,
                "snapshot": {
                    "messageId": mid,
                    "trackedFileBackups": tracked,
                    "timestamp": iso(self.now),
                },
                "isSnapshotUpdate": False,
            }
        )

    def usage(self, out_tokens: int) -> dict[str, Any]:
        rng = self.rng
        created = rng.randrange(0, 4000)
        self.context = min(190_000, self.context + created + out_tokens)
        return {
            "input_tokens": rng.randrange(3, 60),
            "cache_creation_input_tokens": created,
            "cache_read_input_tokens": self.context,
            "cache_creation": {
                "ephemeral_5m_input_tokens": created,
                "ephemeral_1h_input_tokens": 0,
            },
            "output_tokens": out_tokens,
            "service_tier": "standard",
        }

    def assistant(self, blocks: list[dict[str, Any]], stop: str) -> None:
        msg_id = f"msg_01{token(self.rng, 22)}"
        req_id = f"req_011{token(self.rng, 21)}"
        out_tokens = self.rng.randrange(20, 900)
        usage = self.usage(out_tokens)
        groups = [[b] for b in blocks] if self.split_blocks else [blocks]
        for group in groups:
            d = self._base("assistant")
            d["message"] = {
                "id": msg_id,
                "type": "message",
                "role": "assistant",
                "model": self.model,
                "content": group,
                "stop_reason": stop,
                "stop_sequence": None,
                "usage": usage,
            }
            d["requestId"] = req_id
            self._emit(d)
        self.messages += 1

    def tool_result(self, tool_id: str, run: ToolRun) -> None:
        rng = self.rng
        block: dict[str, Any] = {"tool_use_id": tool_id, "type": "tool_result"}
        if rng.random() < 0.15:
            block["content"] = [{"type": "text", "text": run.output}]
        else:
            block["content"] = run.output
        if run.is_error:
            block["is_error"] = True
        d = self._base("user")
        d["message"] = {"role": "user", "content": [block]}
        self.context = min(190_000, self.context + run.weight)
        self._emit(d, {"toolUseResult": run.result} if run.result is not None else None)

    def thinking_block(self) -> dict[str, Any]:
        rng = self.rng
        return {
            "type": "thinking",
            "thinking": self.ctx.pools.prose(rng, rng.randint(2, 9)),
            "signature": self.ctx.pools.blob(rng, rng.randrange(300, 2400)),
        }

    # structure -------------------------------------------------------------------------------
    def write(self, path: Path, target: int, spawn_subagent: bool = False) -> int:
        """Write the transcript with about ``target`` counted messages; returns the count."""
        rng = self.rng
        self.out = JsonlFile(path, self.ctx.stats)
        try:
            if not self.agent_id:
                self._preamble()
            turn = 0
            subagent_turn = rng.randrange(max(1, target // 8))
            while self.messages < target:
                self._maybe_compact()
                if turn and not self.agent_id and rng.random() < 0.01:
                    self._rename()
                with_subagent = spawn_subagent and turn >= subagent_turn
                self._turn(turn, target - self.messages, with_subagent)
                spawn_subagent = spawn_subagent and not with_subagent
                turn += 1
                self.tick(20, 1800 if rng.random() < 0.9 else 30_000)
        finally:
            self.out.close()
        return self.messages

    def _preamble(self) -> None:
        rng = self.rng
        assert self.out is not None
        if rng.random() < 0.2:
            for _ in range(rng.randint(1, 3)):
                self.out.write(
                    {
                        "type": "summary",
                        "summary": self.ctx.pools.prose(rng, 1)[:60],
                        "leafUuid": uuid4(rng),
                    }
                )
        if rng.random() < 0.1:  # session started after /clear
            self.user_text(
                "<local-command-caveat>Caveat: The messages below were generated by "
                "the user while running local commands. DO NOT respond to these "
                "messages or otherwise consider them in your response unless the "
                "user explicitly asks you to.</local-command-caveat>",
                isMeta=True,
            )
            self.tick(0, 1)
            self.user_text(
                "<command-name>/clear</command-name>\n<command-message>clear"
                "</command-message>\n<command-args></command-args>"
            )
            self.messages += 1
            self.user_text("<local-command-stdout></local-command-stdout>")
            self.tick(5, 60)

    def _rename(self) -> None:
        d = self._base("system")
        name = self.ctx.pools.prose(self.rng, 1)[:40]
        d.update(
            subtype="local_command",
            content=f"<command-name>/rename</command-name>\n"
            f"<command-message>rename</command-message>\n<command-args>{name}"
            "</command-args>",
            level="info",
            isMeta=False,
        )
        self._emit(d)

    def _maybe_compact(self) -> None:
        if self.context < 160_000 or self.agent_id:
            return
        rng = self.rng
        d = self._base("system")
        last = self.parent
        self.parent = None
        d.update(
            subtype="compact_boundary",
            content="Conversation compacted",
            level="info",
            isMeta=False,
            logicalParentUuid=last,
            compactMetadata={"trigger": "auto", "preTokens": self.context},
        )
        self._emit(d)
        self.tick(20, 90)
        summary = (
            "This session is being continued from a previous conversation that ran out "
            "of context. The conversation is summarized below:\nAnalysis:\n"
            + self.ctx.pools.prose(rng, rng.randint(15, 60))
        )
        self.user_text(summary, isCompactSummary=True, isVisibleInTranscriptOnly=True)
        self.messages += 1
        self.context = rng.randrange(15_000, 40_000)

    def _turn(self, turn: int, budget: int, with_subagent: bool) -> None:
        rng = self.rng
        pools = self.ctx.pools
        if not self.agent_id:
            self.snapshot()
        prompt = (
            self.ctx.subagent_prompt
            if self.agent_id and turn == 0
            else make_prompt(rng, pools, self.tools, turn == 0)
        )
        self.user_text(prompt)
        self.messages += 1
        if self.agent_id:  # a subagent works on its single prompt
            steps = max(0, budget - 2)
        else:
            steps = min(max(0, budget - 2), int(rng.expovariate(1 / 6.5)))
        if with_subagent and steps == 0:
            steps = 1
        for step in range(steps):
            self.tick(2, 40)
            blocks: list[dict[str, Any]] = []
            if step == 0 and self.thinking:
                blocks.append(self.thinking_block())
            if rng.random() < 0.35:
                blocks.append({"type": "text", "text": rng.choice(SHORT_TEXTS)})
            if with_subagent and step == 0:
                self._task_step(blocks)
                continue
            names = rng.choices(_TOOL_NAMES, _TOOL_WEIGHTS, k=1 if rng.random() < 0.9 else 2)
            runs = []
            for name in names:
                run = self.tools.claude(name)
                tool_id = f"toolu_01{token(rng, 22)}"
                blocks.append({"type": "tool_use", "id": tool_id, "name": name, "input": run.input})
                runs.append((tool_id, run))
            self.assistant(blocks, "tool_use")
            for tool_id, run in runs:
                self.now += int(run.seconds * 1000) + rng.randrange(50, 900)
                self.tool_result(tool_id, run)
        self.tick(2, 60)
        if steps and rng.random() < 0.03:
            self.user_text("[Request interrupted by user for tool use]")
            self.messages += 1
            return
        blocks = [self.thinking_block()] if self.thinking and not steps else []
        blocks.append({"type": "text", "text": final_summary(rng, pools, self.tools)})
        self.assistant(blocks, "end_turn")

    def _task_step(self, blocks: list[dict[str, Any]]) -> None:
        """Task tool_use, the subagent transcript, progress lines, then the tool_result."""
        rng = self.rng
        tool_id = f"toolu_01{token(rng, 22)}"
        agent_id = token(rng, 16, "0123456789abcdef")
        subtype = rng.choice(("Explore", "general-purpose", "Plan"))
        desc = f"Investigate {rng.choice(IDENTS)} handling"
        prompt = (
            f"Search the codebase for every place that touches the {rng.choice(IDENTS)} "
            f"{rng.choice(IDENTS)} and report file:line with a short explanation. "
            + self.ctx.pools.prose(rng, rng.randint(1, 4))
        )
        blocks.append(
            {
                "type": "tool_use",
                "id": tool_id,
                "name": "Task",
                "input": {"description": desc, "prompt": prompt, "subagent_type": subtype},
            }
        )
        self.assistant(blocks, "tool_use")
        task_uuid = self.parent
        task_start = self.now

        sub_dir = self.ctx.claude_root / encode_claude_dir(self.p.cwd) / self.sid / "subagents"
        sub = ClaudeSession(
            self.ctx,
            random.Random(f"{self.sid}:{agent_id}"),
            self.p,
            self.sid,
            self.now + 500,
            agent_id=agent_id,
            model=SUBAGENT_MODEL,
        )
        sub.branch, sub.version, sub.split_blocks = self.branch, self.version, self.split_blocks
        self.ctx.subagent_prompt = prompt
        count = sub.write(sub_dir / f"agent-{agent_id}.jsonl", lognorm_int(rng, 14, 0.8, 4, 150))
        self.ctx.stats.subagent_files += 1
        self.ctx.stats.messages += count

        # progress lines mirroring the subagent's start (as Claude Code writes them)
        step = max(1, (sub.now - self.now) // 4)
        for i in range(rng.randint(1, 4)):
            self.now += step
            d = self._base("progress")
            self.parent = task_uuid
            d["parentUuid"] = task_uuid
            self._emit(
                d,
                {
                    "toolUseID": f"agent_msg_{token(rng, 24)}",
                    "parentToolUseID": tool_id,
                    "data": {
                        "type": "agent_progress",
                        "agentId": agent_id,
                        "prompt": prompt if i == 0 else "",
                        "message": {"type": "user" if i == 0 else "assistant"},
                    },
                },
            )
        self.parent = task_uuid
        self.now = sub.now + rng.randrange(200, 3000)
        report = f"Findings:\n{final_summary(rng, self.ctx.pools, self.tools)}"
        content = [{"type": "text", "text": report}]
        run = ToolRun(
            "Task",
            {},
            report,
            result={
                "status": "completed",
                "prompt": prompt,
                "agentId": agent_id,
                "content": content,
                "totalDurationMs": self.now - task_start,
                "totalTokens": rng.randrange(3000, 90000),
                "totalToolUseCount": count // 2,
            },
        )
        d = self._base("user")
        d["message"] = {
            "role": "user",
            "content": [{"tool_use_id": tool_id, "type": "tool_result", "content": content}],
        }
        self._emit(d, {"toolUseResult": run.result})


# --- Codex sessions --------------------------------------------------------------------------

CODEX_VERSIONS = ("0.46.0", "0.58.0", "0.63.0", "0.77.0", "0.98.0", "0.120.0")
CODEX_MODELS = ("gpt-5-codex", "gpt-5-codex", "gpt-5.1-codex", "gpt-5.1-codex-max", "gpt-5")


class CodexSession:
    """Writes one Codex rollout file."""

    def __init__(self, ctx: Generator, rng: random.Random, project: Project, start_ms: int) -> None:
        self.ctx = ctx
        self.rng = rng
        self.p = project
        self.now = start_ms
        self.start = start_ms
        self.id = uuid7(rng, start_ms)
        self.tools = ToolFactory(ctx.pools, project, rng)
        self.version = version_for(start_ms, CODEX_VERSIONS)
        self.model = rng.choice(CODEX_MODELS)
        modern = CODEX_VERSIONS.index(self.version) >= CODEX_VERSIONS.index("0.63.0")
        self.style = "exec_command" if modern else "shell"
        self.exec = rng.random() < 0.1
        self.messages = 0
        self.total = {
            "input_tokens": 0,
            "cached_input_tokens": 0,
            "output_tokens": 0,
            "reasoning_output_tokens": 0,
            "total_tokens": 0,
        }
        self.out: JsonlFile | None = None

    def path(self) -> Path:
        t = time.gmtime(self.start // 1000)
        stamp = time.strftime("%Y-%m-%dT%H-%M-%S", t)
        return (
            self.ctx.codex_root
            / f"{t.tm_year:04d}"
            / f"{t.tm_mon:02d}"
            / f"{t.tm_mday:02d}"
            / f"rollout-{stamp}-{self.id}.jsonl"
        )

    def line(self, kind: str, payload: dict[str, Any]) -> None:
        assert self.out is not None
        self.out.write({"timestamp": iso(self.now), "type": kind, "payload": payload})

    def tick(self, lo: float, hi: float) -> None:
        self.now += int(self.rng.uniform(lo, hi) * 1000)

    def message(self, role: str, text: str) -> None:
        kind = "input_text" if role == "user" else "output_text"
        self.line(
            "response_item",
            {"type": "message", "role": role, "content": [{"type": kind, "text": text}]},
        )

    def token_count(self, weight: int) -> None:
        rng = self.rng
        inp = min(260_000, 8_000 + weight + rng.randrange(0, 4000))
        last = {
            "input_tokens": inp,
            "cached_input_tokens": int(inp * rng.uniform(0.5, 0.95)),
            "output_tokens": rng.randrange(20, 1500),
            "reasoning_output_tokens": rng.randrange(0, 800),
        }
        last["total_tokens"] = last["input_tokens"] + last["output_tokens"]
        for k, v in last.items():
            self.total[k] += v
        self.line(
            "event_msg",
            {
                "type": "token_count",
                "info": {
                    "total_token_usage": dict(self.total),
                    "last_token_usage": last,
                    "model_context_window": 272000,
                },
                "rate_limits": {
                    "primary": {
                        "used_percent": float(rng.randrange(0, 90)),
                        "window_minutes": 300,
                        "resets_in_seconds": rng.randrange(60, 18000),
                    },
                    "secondary": None,
                },
            },
        )

    def reasoning(self) -> None:
        rng = self.rng
        title = rng.choice(
            (
                "Inspecting routes",
                "Planning the fix",
                "Reviewing tests",
                "Checking edge cases",
                "Summarizing changes",
            )
        )
        self.line(
            "response_item",
            {
                "type": "reasoning",
                "summary": [
                    {
                        "type": "summary_text",
                        "text": f"**{title}**\n\n{self.ctx.pools.prose(rng, rng.randint(1, 3))}",
                    }
                ],
                "content": None,
                "encrypted_content": "gAAAAAB" + self.ctx.pools.blob(rng, rng.randrange(300, 2000)),
            },
        )

    def write(self, target: int) -> int:
        rng = self.rng
        self.out = JsonlFile(self.path(), self.ctx.stats)
        try:
            meta: dict[str, Any] = {
                "id": self.id,
                "timestamp": iso(self.now),
                "cwd": self.p.cwd,
                "originator": "codex_exec" if self.exec else "codex_cli_rs",
                "cli_version": self.version,
                "source": "exec" if self.exec else "cli",
                "model_provider": "openai",
                "instructions": None,
                "git": {
                    "commit_hash": token(rng, 40, "0123456789abcdef"),
                    "branch": rng.choice(self.p.branches),
                    "repository_url": self.p.repo_url,
                },
            }
            self.line("session_meta", meta)
            self.now += 80
            if rng.random() < 0.5:
                self.message(
                    "user",
                    f"# AGENTS.md instructions for {self.p.cwd}\n\n<INSTRUCTIONS>"
                    f"\n{self.ctx.pools.prose(rng, rng.randint(5, 30))}\n</INSTRUCTIONS>",
                )
            self.message(
                "user",
                f"<environment_context>\n  <cwd>{self.p.cwd}</cwd>\n  "
                "<approval_policy>on-request</approval_policy>\n  <sandbox_mode>"
                "workspace-write</sandbox_mode>\n  <network_access>restricted"
                "</network_access>\n  <shell>bash</shell>\n</environment_context>",
            )
            turn = 0
            while self.messages < target:
                self._turn(turn, target - self.messages)
                turn += 1
                if self.exec:
                    break
                self.tick(30, 1800 if rng.random() < 0.9 else 20_000)
        finally:
            self.out.close()
        return self.messages

    def _turn(self, turn: int, budget: int) -> None:
        rng = self.rng
        turn_id = f"{turn}-{token(rng, 8, '0123456789abcdef')}"
        self.line(
            "event_msg",
            {"type": "task_started", "turn_id": turn_id, "model_context_window": 272000},
        )
        self.line(
            "turn_context",
            {
                "turn_id": turn_id,
                "cwd": self.p.cwd,
                "approval_policy": "on-request",
                "sandbox_policy": {"type": "workspace-write", "network_access": False},
                "model": self.model,
                "effort": "medium",
                "summary": "auto",
            },
        )
        self.tick(0.2, 2)
        prompt = make_prompt(rng, self.ctx.pools, self.tools, turn == 0)
        self.message("user", prompt)
        self.line("event_msg", {"type": "user_message", "message": prompt, "images": []})
        self.messages += 1
        steps = budget - 2 if self.exec else min(max(0, budget - 2), int(rng.expovariate(1 / 7)))
        for _ in range(steps):
            self.tick(1, 25)
            if rng.random() < 0.6:
                self.reasoning()
                self.now += 300
            kind = rng.random()
            if kind < 0.1:
                text = rng.choice(SHORT_TEXTS)
                self.line("event_msg", {"type": "agent_message", "message": text})
                self.message("assistant", text)
                self.messages += 1
                continue
            call_id = f"call_{token(rng, 24)}"
            if kind < 0.25:
                patch, path = self.tools.codex_patch()
                self.line(
                    "response_item",
                    {
                        "type": "custom_tool_call",
                        "status": "completed",
                        "call_id": call_id,
                        "name": "apply_patch",
                        "input": patch,
                    },
                )
                self.now += rng.randrange(100, 900)
                out = {
                    "output": f"Success. Updated the following files:\nM {path}\n",
                    "metadata": {"exit_code": 0, "duration_seconds": 0.0},
                }
                self.line(
                    "response_item",
                    {
                        "type": "custom_tool_call_output",
                        "call_id": call_id,
                        "output": dumps(out).decode(),
                    },
                )
                self.messages += 1
                self.token_count(len(patch) // 4)
                continue
            cmd, output, code, secs = self.tools.codex_shell()
            if self.style == "shell":
                args: dict[str, Any] = {
                    "command": ["bash", "-lc", cmd],
                    "workdir": self.p.cwd,
                    "timeout_ms": 120000,
                }
            else:
                args = {"cmd": cmd, "workdir": self.p.cwd, "yield_time_ms": 10000}
            self.line(
                "response_item",
                {
                    "type": "function_call",
                    "name": self.style,
                    "arguments": dumps(args).decode(),
                    "call_id": call_id,
                },
            )
            self.now += int(secs * 1000) + rng.randrange(50, 700)
            out = {"output": output, "metadata": {"exit_code": code, "duration_seconds": secs}}
            self.line(
                "response_item",
                {"type": "function_call_output", "call_id": call_id, "output": dumps(out).decode()},
            )
            self.messages += 1
            self.token_count(len(output) // 4)
        self.tick(2, 40)
        text = final_summary(rng, self.ctx.pools, self.tools)
        self.line("event_msg", {"type": "agent_message", "message": text})
        self.message("assistant", text)
        self.messages += 1
        self.token_count(200)
        self.line(
            "event_msg",
            {"type": "task_complete", "turn_id": turn_id, "last_agent_message": text[:200]},
        )


# --- corpus driver ---------------------------------------------------------------------------


class Generator:
    """Holds the shared state of one corpus generation run."""

    def __init__(self, out: Path, seed: int, agents: Sequence[str] = LEGACY_AGENTS) -> None:
        self.out = out
        self.seed = seed
        self.agents = tuple(agents)
        self.gemini_projects: dict[str, str] = {}
        self.opencode: Any = None  # corpus_agents.OpenCodeDb, opened on first use
        self.claude_root = out / CLAUDE_SUBDIR
        self.codex_root = out / CODEX_SUBDIR
        self.pools = Pools()
        self.projects = make_projects(seed)
        self.stats = Stats()
        self.subagent_prompt = ""

    def session(self, index: int) -> None:
        rng = random.Random(f"agentsview-bench:{self.seed}:{index}")
        project = rng.choices(self.projects, [p.weight for p in self.projects])[0]
        target = max(MSG_MIN, min(MSG_MAX, int(rng.lognormvariate(MSG_MU, MSG_SIGMA))))
        start = ANCHOR_MS - SPAN_MS + rng.randrange(SPAN_MS)
        stats = self.stats
        before = stats.bytes
        if self.agents == LEGACY_AGENTS:  # version 1's draw, so its bytes stay the same
            agent = "claude" if rng.random() < CLAUDE_SHARE else "codex"
        else:
            pick = random.Random(f"agentsview-bench-agent:{self.seed}:{index}")
            agent = pick.choices(self.agents, [AGENT_WEIGHTS[a] for a in self.agents])[0]
        if agent == "claude":
            sid = uuid4(rng)
            path = self.claude_root / encode_claude_dir(project.cwd) / f"{sid}.jsonl"
            spawn = rng.random() < SUBAGENT_SHARE
            count = ClaudeSession(self, rng, project, sid, start).write(path, target, spawn)
            stats.claude_sessions += 1
        elif agent == "codex":
            count = CodexSession(self, rng, project, start).write(target)
            stats.codex_sessions += 1
        else:
            import corpus_agents

            count = corpus_agents.WRITERS[agent](self, rng, project, start, target)
        stats.agent_sessions[agent] = stats.agent_sessions.get(agent, 0) + 1
        stats.agent_bytes[agent] = stats.agent_bytes.get(agent, 0) + stats.bytes - before
        stats.sessions += 1
        stats.messages += count
        stats.max_session_messages = max(stats.max_session_messages, count)
        stats.session_messages.append(count)


def _is_corpus(out: Path) -> bool:
    return (out / MARKER_NAME).is_file()


def read_marker(out: Path) -> dict[str, Any] | None:
    try:
        return json.loads((out / MARKER_NAME).read_text())
    except (OSError, ValueError):
        return None


def write_marker(out: Path, data: dict[str, Any]) -> None:
    tmp = out / (MARKER_NAME + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, out / MARKER_NAME)


def prepare_out_dir(out: Path) -> None:
    """Empty ``out`` if it is a previous corpus; refuse to touch any other non-empty dir."""
    if out.exists() and any(out.iterdir()):
        if not _is_corpus(out):
            raise SystemExit(
                f"error: {out} is not empty and has no {MARKER_NAME}; refusing to "
                "overwrite it (choose another --out)"
            )
        (out / MARKER_NAME).unlink()
        for sub in ("claude", "codex", "gemini", "copilot", "cursor", "opencode", "vscode"):
            shutil.rmtree(out / sub, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)


def generate(out: Path, sessions: int, seed: int = 1, progress: bool = False,
             agents: Sequence[str] = LEGACY_AGENTS) -> dict[str, Any]:
    """Generate the corpus into ``out`` and write its marker; returns the marker data."""
    if sessions < 1:
        raise ValueError("sessions must be >= 1")
    unknown = [a for a in agents if a not in AGENT_WEIGHTS]
    if unknown or not agents:
        raise ValueError(f"unknown agents {unknown}; choose from {', '.join(ALL_AGENTS)}")
    agents = tuple(a for a in ALL_AGENTS if a in agents)  # one order, whatever was asked
    out = out.resolve()
    prepare_out_dir(out)
    t0 = time.perf_counter()
    gen = Generator(out, seed, agents)
    for i in range(sessions):
        gen.session(i)
        if progress and (i + 1) % 500 == 0:
            print(
                f"  ... {i + 1}/{sessions} sessions, {gen.stats.bytes / 1e6:.0f} MB",
                file=sys.stderr,
            )
    if gen.agents != LEGACY_AGENTS:
        import corpus_agents

        corpus_agents.finish_gemini(gen)
        corpus_agents.finish_opencode(gen)
    s = gen.stats
    counts = sorted(s.session_messages)
    info = {
        "generator_version": GENERATOR_VERSION,
        "sessions": sessions,
        "seed": seed,
        "agents": list(agents),
        "agent_sessions": {a: s.agent_sessions[a] for a in agents if a in s.agent_sessions},
        "agent_bytes": {a: s.agent_bytes[a] for a in agents if a in s.agent_bytes},
        "claude_sessions": s.claude_sessions,
        "codex_sessions": s.codex_sessions,
        "subagent_files": s.subagent_files,
        "files": s.files,
        "bytes": s.bytes,
        "messages": s.messages,
        "median_session_messages": counts[len(counts) // 2],
        "max_session_messages": s.max_session_messages,
        "sessions_over_1000_messages": sum(c >= 1000 for c in counts),
        "projects": len({p.cwd for p in gen.projects}),
        "seconds": round(time.perf_counter() - t0, 2),
    }
    write_marker(out, info)
    return info


def summary_line(info: dict[str, Any]) -> str:
    by_agent = " ".join(f"{a}={n}" for a, n in info.get("agent_sessions", {}).items())
    return (
        f"corpus: sessions={info['sessions']} ({by_agent} "
        f"subagents={info['subagent_files']}) "
        f"files={info['files']} size={info['bytes'] / 1e6:.1f} MB "
        f"messages~{info['messages']} (median/session={info['median_session_messages']}, "
        f"max={info['max_session_messages']}) time={info['seconds']:.1f}s"
    )


# --- appending (incremental re-sync measurement) ---------------------------------------------


def corpus_files(out: Path) -> list[Path]:
    """Every session file of the corpus, in a stable order."""
    files = list((out / CLAUDE_SUBDIR).rglob("*.jsonl")) + list(
        (out / CODEX_SUBDIR).rglob("*.jsonl")
    )
    return sorted(files, key=lambda p: str(p))


def _tail_records(path: Path) -> Iterable[dict[str, Any]]:
    """Parsed JSON lines from the end of ``path`` backwards (reads the tail in chunks)."""
    size = path.stat().st_size
    window = 1 << 18
    seen = 0
    with path.open("rb") as fh:
        while True:
            start = max(0, size - window)
            fh.seek(start)
            lines = fh.read(size - start).split(b"\n")
            if start > 0:
                lines = lines[1:]  # first one is partial
            complete = [ln for ln in lines if ln.strip()]
            for raw in reversed(complete[: len(complete) - seen]):
                try:
                    yield json.loads(raw)
                except ValueError:
                    continue
            seen = len(complete)
            if start == 0:
                return
            window *= 4


def _append_claude(path: Path, rng: random.Random, pools: Pools) -> bytes:
    last_ts = 0
    template: dict[str, Any] | None = None
    model = ""
    for rec in _tail_records(path):
        ts = rec.get("timestamp") or (rec.get("snapshot") or {}).get("timestamp")
        if ts and not last_ts:
            last_ts = parse_iso_ms(ts)
        if template is None and rec.get("type") in ("user", "assistant") and rec.get("uuid"):
            template = rec
        if rec.get("type") == "assistant":
            model = rec.get("message", {}).get("model", "")
        if template is not None and model:
            break
    if template is None:
        raise ValueError(f"{path}: no user/assistant line to continue from")
    now = max(last_ts, parse_iso_ms(template["timestamp"])) + rng.randrange(60_000, 1_800_000)
    keep = ("isSidechain", "userType", "cwd", "sessionId", "version", "gitBranch", "agentId")
    base = {"parentUuid": template["uuid"], **{k: template[k] for k in keep if k in template}}
    prompt = rng.choice(
        (
            "One more thing: add a docstring to the new helper.",
            "Thanks — can you double-check the edge case with empty input? 🙏",
            "Mets à jour le CHANGELOG, s'il te plaît.",
            "请再运行一次测试。",
        )
    )
    user_uuid = uuid4(rng)
    user = {
        **base,
        "type": "user",
        "message": {"role": "user", "content": prompt},
        "uuid": user_uuid,
        "timestamp": iso(now),
    }
    model = model or CLAUDE_MODELS[0]
    reply = {
        **base,
        "parentUuid": user_uuid,
        "type": "assistant",
        "message": {
            "id": f"msg_01{token(rng, 22)}",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [{"type": "text", "text": pools.prose(rng, rng.randint(1, 4))}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {
                "input_tokens": 8,
                "cache_creation_input_tokens": 120,
                "cache_read_input_tokens": 30_000,
                "output_tokens": 90,
            },
        },
        "requestId": f"req_011{token(rng, 21)}",
        "uuid": uuid4(rng),
        "timestamp": iso(now + rng.randrange(3000, 40_000)),
    }
    return dumps(user) + b"\n" + dumps(reply) + b"\n"


def _append_codex(path: Path, rng: random.Random, pools: Pools) -> bytes:
    last_ts = 0
    model = CODEX_MODELS[0]
    cwd = ""
    for rec in _tail_records(path):
        if not last_ts and rec.get("timestamp"):
            last_ts = parse_iso_ms(rec["timestamp"])
        if rec.get("type") == "turn_context":
            model = rec["payload"].get("model", model)
            cwd = rec["payload"].get("cwd", "")
            break
        if rec.get("type") == "session_meta":
            cwd = rec["payload"].get("cwd", "")
            break
    now = last_ts + rng.randrange(60_000, 1_800_000)
    turn_id = f"append-{token(rng, 8, '0123456789abcdef')}"
    prompt = rng.choice(
        (
            "Also add a unit test for that.",
            "Résume les changements en 3 points.",
            "Run the linter once more please ✨",
        )
    )
    answer = pools.prose(rng, rng.randint(1, 4))
    recs: list[tuple[int, str, dict[str, Any]]] = [
        (
            0,
            "event_msg",
            {"type": "task_started", "turn_id": turn_id, "model_context_window": 272000},
        ),
        (
            0,
            "turn_context",
            {
                "turn_id": turn_id,
                "cwd": cwd,
                "approval_policy": "on-request",
                "model": model,
                "effort": "medium",
                "summary": "auto",
            },
        ),
        (
            500,
            "response_item",
            {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": prompt}],
            },
        ),
        (600, "event_msg", {"type": "user_message", "message": prompt, "images": []}),
        (9000, "event_msg", {"type": "agent_message", "message": answer}),
        (
            9000,
            "response_item",
            {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": answer}],
            },
        ),
        (
            9200,
            "event_msg",
            {
                "type": "token_count",
                "info": {
                    "last_token_usage": {
                        "input_tokens": 9000,
                        "cached_input_tokens": 8000,
                        "output_tokens": 120,
                        "reasoning_output_tokens": 0,
                        "total_tokens": 9120,
                    },
                    "model_context_window": 272000,
                },
            },
        ),
        (9300, "event_msg", {"type": "task_complete", "turn_id": turn_id}),
    ]
    return b"".join(
        dumps({"timestamp": iso(now + dt), "type": kind, "payload": payload}) + b"\n"
        for dt, kind, payload in recs
    )


def append_to_fraction(out: Path, fraction: float, seed: int = 1) -> list[tuple[str, int]]:
    """Append a user prompt + assistant reply to ``fraction`` of the corpus files.

    Returns ``[(relative path, original size), ...]`` (also recorded in the marker as
    ``pending_restore`` so :func:`restore_appended` can undo it, even after a crash).
    Each appended file gains exactly 2 counted messages.
    """
    out = out.resolve()
    files = corpus_files(out)
    if not files:
        raise SystemExit(f"error: no corpus files under {out}")
    rng = random.Random(f"agentsview-bench-append:{seed}")
    count = max(1, round(len(files) * fraction))
    chosen = sorted(rng.sample(files, min(count, len(files))), key=lambda p: str(p))
    records = [(str(p.relative_to(out)), p.stat().st_size) for p in chosen]
    marker = read_marker(out) or {}
    pending = marker.get("pending_restore") or []
    known = {rel for rel, _ in pending}
    marker["pending_restore"] = pending + [r for r in records if r[0] not in known]
    write_marker(out, marker)
    pools = Pools()
    codex_root = out / CODEX_SUBDIR
    for path in chosen:
        is_codex = codex_root in path.parents
        data = (_append_codex if is_codex else _append_claude)(path, rng, pools)
        with path.open("ab") as fh:
            fh.write(data)
    return records


def restore_appended(out: Path) -> int:
    """Truncate files back to the sizes recorded by :func:`append_to_fraction`."""
    out = out.resolve()
    marker = read_marker(out)
    if not marker or not marker.get("pending_restore"):
        return 0
    pending = marker["pending_restore"]
    for rel, size in pending:
        path = out / rel
        if path.exists() and path.stat().st_size > size:
            os.truncate(path, size)
    del marker["pending_restore"]
    write_marker(out, marker)
    return len(pending)


# --- CLI -------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True, help="corpus directory")
    ap.add_argument("--sessions", type=int, default=2000, help="number of sessions")
    ap.add_argument("--seed", type=int, default=1, help="random seed")
    ap.add_argument(
        "--agents",
        default=",".join(LEGACY_AGENTS),
        help=f"comma-separated agents to generate, or 'all' ({', '.join(ALL_AGENTS)}); "
        "default claude,codex (the same bytes as generator version 1)",
    )
    ap.add_argument(
        "--append-fraction",
        type=float,
        metavar="F",
        help="instead of generating, append a prompt + reply to F of the files",
    )
    ap.add_argument(
        "--restore",
        action="store_true",
        help="undo previous --append-fraction runs (truncate to recorded sizes)",
    )
    ap.add_argument("--quiet", action="store_true", help="no progress output on stderr")
    args = ap.parse_args(argv)

    if args.restore:
        print(f"restored {restore_appended(args.out)} files")
        return 0
    if args.append_fraction is not None:
        if not 0 < args.append_fraction <= 1:
            ap.error("--append-fraction must be in (0, 1]")
        t0 = time.perf_counter()
        recs = append_to_fraction(args.out, args.append_fraction, args.seed)
        print(
            f"appended 2 messages to {len(recs)} files in {time.perf_counter() - t0:.2f}s "
            f"(undo with --restore)"
        )
        return 0
    if not 1 <= args.sessions <= 100_000:
        ap.error("--sessions must be between 1 and 100000")
    agents = ALL_AGENTS if args.agents == "all" else tuple(args.agents.split(","))
    try:
        info = generate(args.out, args.sessions, args.seed, progress=not args.quiet,
                        agents=agents)
    except ValueError as exc:
        ap.error(str(exc))
    print(summary_line(info))
    return 0


if __name__ == "__main__":
    sys.exit(main())
