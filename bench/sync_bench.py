#!/usr/bin/env python3
"""Benchmark ``manage.py sync`` on a synthetic corpus of several agents (Claude Code, Codex,
Gemini CLI, Copilot CLI, Cursor, OpenCode, VS Code Copilot Chat).

Measures, each as a separate ``<python> manage.py sync`` subprocess with every agent dir and
the data dir pointed at temp dirs (never the real ``~/.claude`` / ``~/.codex``):

1. cold sync into a fresh data dir (wall time, MB/s, sessions/s, messages/s, peak RSS);
2. a no-change re-sync;
3. a re-sync after appending a prompt + reply to 1% of the Claude and Codex files;
4. per agent: a cold sync of that agent's part alone (MB/s, peak RSS), and its parser alone
   (``parse_timing.py``: MB/s, no database); an agent whose parser is more than 2x slower per
   MB than Claude's is flagged.

Usage::

    python bench/sync_bench.py --sessions 2000 [--agents all|claude,codex,...] [--corpus DIR]
                               [--python PATH] [--seed N] [--no-per-agent]

Prints a table, then one ``RESULT {json}`` line. Exits non-zero if a sync run fails (or, with
``--strict``, if a target is missed).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))

import corpus  # noqa: E402  (sibling module, importable once BENCH_DIR is on sys.path)
import corpus_agents  # noqa: E402

# Targets for the 2,000-session corpus (the cold-sync target scales with corpus size).
TARGET_SESSIONS = 2000
TARGET_COLD_S = 50.0
TARGET_NOCHANGE_S = 0.5
TARGET_APPEND_S = 1.0
TARGET_RSS_MB = 300.0
APPEND_FRACTION = 0.01
NOCHANGE_RUNS = 5

MAX_PARSER_SLOWDOWN = 2.0  # per MB, against the Claude parser
# Each corpus agent's root under the corpus dir and the variable that points the app at it.
AGENT_ROOTS = {
    "claude": ("CLAUDE_PROJECTS_DIR", corpus.CLAUDE_SUBDIR),
    "codex": ("CODEX_SESSIONS_DIR", corpus.CODEX_SUBDIR),
    **{a: (corpus_agents.ENV_VARS[a], sub) for a, sub in corpus_agents.SUBDIRS.items()},
}


def _registry_vars() -> tuple[str, ...]:
    """Every agent directory variable the app reads (from its registry when importable)."""
    sys.path.insert(0, str(REPO_ROOT))
    try:
        from sessions_app.parsers.registry import AGENTS
    except ImportError:  # another interpreter: the agents of the corpus and a few more
        return tuple(v for v, _ in AGENT_ROOTS.values()) + ("AMP_DIR", "OPENCLAW_DIR")
    finally:
        sys.path.remove(str(REPO_ROOT))
    return tuple(spec.env_var for spec in AGENTS.values())


OTHER_AGENT_VARS = _registry_vars()
# Inherited variables that could point the app at another database or config, or stop
# Python from caching bytecode (then every run compiles the app's ~90 modules again, ~0.3 s:
# an installed package has its bytecode compiled).
DROPPED_VARS = ("DATABASE_URL", "DJANGO_SETTINGS_MODULE", "PYTHONDONTWRITEBYTECODE")
# The app's bytecode is cached here rather than in the source tree.
PYCACHE = Path(tempfile.gettempdir()) / "agentsview-bench-pycache"
SUMMARY_RE = re.compile(
    r"Synced\s+(?P<sessions>\d+)\s+sessions?\s*\((?P<messages>\d+)\s+messages?\)"
    r".*?\bin\s+(?P<seconds>[\d.]+)\s*s",
    re.IGNORECASE,
)


@dataclass
class Run:
    """One measured subprocess run."""

    label: str
    wall_s: float
    returncode: int
    peak_rss_mb: float
    stdout: str
    stderr: str
    peak_pss_mb: float = 0.0  # the same tree's proportional set size: shared pages once

    @property
    def summary(self) -> str:
        """The app's own summary line (``Synced N sessions ...``), else its last stdout line."""
        lines = [ln.strip() for ln in self.stdout.splitlines() if ln.strip()]
        for line in reversed(lines):
            if SUMMARY_RE.search(line) or line.lower().startswith("synced"):
                return line
        return lines[-1] if lines else ""

    @property
    def reported_s(self) -> float | None:
        m = SUMMARY_RE.search(self.summary)
        return float(m.group("seconds")) if m else None


def fail(message: str, code: int = 2) -> None:
    print(f"sync_bench: error: {message}", file=sys.stderr)
    raise SystemExit(code)


class TreeRss(threading.Thread):
    """Samples (every 50 ms, Linux only) the summed RSS of every process in the session the
    child leads (it and its parser processes); ``peak_mb`` is the largest sum seen. RSS counts
    the pages a forked parser process shares with the sync (the app, ~65 MB) once per process;
    ``peak_pss_mb``, the largest summed PSS, counts each page once, shared by its users."""

    def __init__(self, session: int) -> None:
        super().__init__(daemon=True)
        self.session, self.peak_mb, self.peak_pss_mb = session, 0.0, 0.0
        self._done = threading.Event()
        self._page = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096

    def run(self) -> None:
        proc = Path("/proc")
        if not proc.is_dir():
            return
        while not self._done.wait(0.05):
            pages = pss_kib = 0
            for entry in proc.iterdir():
                if not entry.name.isdigit():
                    continue
                try:
                    stat = (entry / "stat").read_text()
                    if int(stat.rsplit(")", 1)[1].split()[3]) != self.session:
                        continue
                    pages += int((entry / "statm").read_text().split()[1])
                    pss_kib += next(int(line.split()[1]) for line in
                                    (entry / "smaps_rollup").read_text().splitlines()
                                    if line.startswith("Pss:"))
                except (OSError, ValueError, IndexError, StopIteration):
                    continue
            self.peak_mb = max(self.peak_mb, pages * self._page / (1 << 20))
            self.peak_pss_mb = max(self.peak_pss_mb, pss_kib / 1024)

    def stop(self) -> None:
        self._done.set()
        self.join(timeout=1)


def run_measured(label: str, cmd: list[str], env: dict[str, str], timeout: float) -> Run:
    """Run ``cmd`` in the repo root; wall time and the child's own peak RSS via ``os.wait4``."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            cmd,
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,
        )
        timed_out = threading.Event()

        def kill() -> None:
            timed_out.set()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)

        timer = threading.Timer(timeout, kill)
        timer.start()
        tree = TreeRss(proc.pid)
        tree.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            kill()
            raise
        finally:
            timer.cancel()
            tree.stop()
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode(errors="replace")
        stderr = err.read().decode(errors="replace")
    if timed_out.is_set():
        stderr += f"\n[sync_bench] killed after the {timeout:.0f}s timeout"
    # ru_maxrss is in KiB on Linux (bytes on macOS): the largest single process. A sync
    # with parser processes counts them all: the sampled peak of their summed RSS.
    rss_mb = max(usage.ru_maxrss / (1 << 20 if sys.platform == "darwin" else 1 << 10),
                 tree.peak_mb)
    return Run(label, wall, proc.returncode, rss_mb, stdout, stderr, tree.peak_pss_mb)


def db_counts(db: Path) -> tuple[int | None, int | None]:
    """(sessions, messages) rows in the app's SQLite DB, None where unreadable."""
    if not db.exists():
        return None, None
    counts: list[int | None] = []
    con = sqlite3.connect(db)
    try:
        for table in ("sessions", "messages"):
            try:
                counts.append(con.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
            except sqlite3.Error:
                counts.append(None)
    finally:
        con.close()
    return counts[0], counts[1]


def db_size_mb(db: Path) -> float:
    files = [db, db.with_name(db.name + "-wal")]
    return sum(f.stat().st_size for f in files if f.exists()) / 1e6


def ensure_corpus(path: Path, sessions: int, seed: int,
                  agents: tuple[str, ...] = corpus.LEGACY_AGENTS) -> dict[str, Any]:
    """Reuse ``path`` if its marker matches; otherwise (re)generate it."""
    marker = corpus.read_marker(path)
    if marker and marker.get("pending_restore"):
        restored = corpus.restore_appended(path)
        print(f"corpus: undid a previous append to {restored} files")
        marker = corpus.read_marker(path)
    agents = tuple(a for a in corpus.ALL_AGENTS if a in agents)
    wanted = {"generator_version": corpus.GENERATOR_VERSION, "sessions": sessions, "seed": seed,
              "agents": list(agents)}
    if marker and all(marker.get(k) == v for k, v in wanted.items()):
        print(f"corpus: reusing {path}")
        return marker
    if path.exists() and any(path.iterdir()) and marker is None:
        fail(f"{path} exists, is not empty and has no {corpus.MARKER_NAME}; pass another --corpus")
    print(f"corpus: generating {sessions} sessions (seed {seed}) into {path} ...", flush=True)
    info = corpus.generate(path, sessions, seed, progress=True, agents=agents)
    print(corpus.summary_line(info))
    return info


def build_env(corpus_dir: Path, work: Path, only: str | None = None) -> dict[str, str]:
    """Environment for the app: temp HOME/data dir, the corpus's agent roots (*only* that
    agent's, if given), every other agent dir empty."""
    home, data, empty = work / "home", work / "data", work / "empty"
    for d in (home, data, empty):
        d.mkdir(parents=True, exist_ok=True)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AGENTSVIEW_", "XDG_")) and k not in DROPPED_VARS
    }
    env.update(
        HOME=str(home),
        AGENTSVIEW_DATA_DIR=str(data),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local/share"),
        XDG_CACHE_HOME=str(home / ".cache"),
        XDG_STATE_HOME=str(home / ".local/state"),
        NO_COLOR="1",
        PYTHONPYCACHEPREFIX=str(PYCACHE),
    )
    env.update({var: str(empty) for var in OTHER_AGENT_VARS})
    marker = corpus.read_marker(corpus_dir) or {}
    for agent in marker.get("agents") or corpus.LEGACY_AGENTS:
        if only is None or only == agent:
            var, sub = AGENT_ROOTS[agent]
            env[var] = str(corpus_dir / sub)
    return env


def check_run(run: Run) -> None:
    """Exit non-zero (showing the app's stderr) if a sync run failed."""
    if run.returncode == 0:
        return
    print(
        f"\n{run.label}: manage.py sync exited with {run.returncode} after {run.wall_s:.2f}s",
        file=sys.stderr,
    )
    if run.stdout.strip():
        print("--- stdout (tail) ---\n" + run.stdout[-4000:], file=sys.stderr)
    print("--- stderr ---\n" + (run.stderr[-20000:] or "(empty)"), file=sys.stderr)
    raise SystemExit(run.returncode if 0 < run.returncode < 256 else 1)


def parse_timings(python: str, roots: dict[str, Path], timeout: float) -> dict[str, dict]:
    """``parse_timing.py``'s figures for each agent's parser alone, in one process, the
    agents taking turns over five rounds (the fastest run of each)."""
    cmd = [python, str(BENCH_DIR / "parse_timing.py"), "--repeat", "5"]
    for agent, root in roots.items():
        cmd += ["--agent", agent, "--root", str(root)]
    run = run_measured("parse timings", cmd, os.environ.copy(), timeout)
    check_run(run)
    results = [json.loads(ln.removeprefix("RESULT ")) for ln in run.stdout.splitlines()
               if ln.startswith("RESULT ")]
    return {r["agent"]: r for r in results}


def per_agent(args: argparse.Namespace, info: dict[str, Any], corpus_dir: Path
              ) -> list[dict[str, Any]]:
    """For each agent of the corpus: a cold sync of its part alone and its parser alone."""
    rows = []
    sync_cmd = [args.python, str(REPO_ROOT / "manage.py"), "sync"]
    agents = info.get("agents") or corpus.LEGACY_AGENTS
    print("running each agent's parser alone ...", flush=True)
    timings = parse_timings(args.python, {a: corpus_dir / AGENT_ROOTS[a][1] for a in agents},
                            args.timeout)
    for agent in agents:
        mb = info["agent_bytes"].get(agent, 0) / 1e6
        work = Path(tempfile.mkdtemp(prefix=f"bench-sync-{agent}-", dir="/tmp"))
        try:
            print(f"running cold sync of {agent} alone ({mb:.1f} MB) ...", flush=True)
            # The archive's schema made first, then a sync of nothing: the fixed cost (start-up,
            # discovery) that the agent's own sync is measured beyond.
            empty = build_env(corpus_dir, work, only="")
            for _ in range(2):
                baseline = run_measured("empty sync", sync_cmd, empty, args.timeout)
                check_run(baseline)
            run = run_measured(f"sync {agent}", sync_cmd, build_env(corpus_dir, work, only=agent),
                               args.timeout)
            check_run(run)
            sessions, messages = db_counts(work / "data" / "agentsview.db")
        finally:
            shutil.rmtree(work, ignore_errors=True)
        parsed = timings[agent]
        working = max(run.wall_s - baseline.wall_s, 1e-3)
        rows.append({
            "agent": agent,
            "mb": round(mb, 1),
            "sessions": sessions,
            "messages": messages,
            "sync_s": round(run.wall_s, 2),
            "empty_sync_s": round(baseline.wall_s, 2),
            "sync_mb_per_s": round(mb / working, 1),
            "sync_peak_rss_mb": round(run.peak_rss_mb, 1),
            "parse_s": parsed["seconds"],
            "parse_mb_per_s": parsed["mb_per_s"],
            "parse_us_per_tool_call": round(parsed["seconds"] * 1e6 / parsed["tool_calls"])
            if parsed["tool_calls"] else None,
            "parse_peak_rss_mb": parsed["peak_rss_mb"],
        })
    claude = next((r for r in rows if r["agent"] == "claude"), None)
    for row in rows:
        ratio = (claude["parse_mb_per_s"] / row["parse_mb_per_s"]
                 if claude and row["parse_mb_per_s"] else None)
        row["parse_slowdown_vs_claude"] = ratio and round(ratio, 2)
        row["flagged"] = bool(ratio and ratio > MAX_PARSER_SLOWDOWN)
    return rows


def print_agents(rows: list[dict[str, Any]]) -> None:
    header = (f"{'agent':<16}{'MB':>7}{'sessions':>9}{'messages':>9}{'sync s':>8}"
              f"{'sync MB/s':>10}{'RSS MB':>8}{'parse s':>9}{'parse MB/s':>11}"
              f"{'us/call':>8}{'vs claude':>10}")
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['agent']:<16}{r['mb']:>7.1f}{fmt(r['sessions'], 'd'):>9}"
            f"{fmt(r['messages'], 'd'):>9}{r['sync_s']:>8.2f}{r['sync_mb_per_s']:>10.1f}"
            f"{r['sync_peak_rss_mb']:>8.0f}{r['parse_s']:>9.2f}"
            f"{fmt(r['parse_mb_per_s'], '.1f'):>11}"
            f"{fmt(r['parse_us_per_tool_call'], 'd'):>8}"
            f"{fmt(r['parse_slowdown_vs_claude'], '.2f'):>9}x"
            + ("  SLOWER THAN 2x CLAUDE PER MB" if r["flagged"] else "")
        )
    print("(sync MB/s: the agent's bytes over its sync's wall time less that of a sync of "
          "nothing; parse: its parser alone, no database; us/call: parse time per tool call; "
          "vs claude: Claude's parse MB/s over the agent's)")


def fmt(value: float | None, spec: str = ".2f") -> str:
    return "n/a" if value is None else format(value, spec)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sessions", type=int, default=2000, help="corpus size (sessions)")
    ap.add_argument("--seed", type=int, default=1, help="corpus seed")
    ap.add_argument(
        "--corpus",
        type=Path,
        help="corpus dir (default /tmp/bench-corpus-<sessions>[-s<seed>]); "
        "reused when its marker matches --sessions/--seed",
    )
    default_py = REPO_ROOT / ".venv/bin/python"
    ap.add_argument(
        "--python",
        default=str(default_py) if default_py.exists() else sys.executable,
        help="interpreter that runs manage.py (default: repo .venv, else this one)",
    )
    ap.add_argument("--timeout", type=float, default=1800, help="per-run timeout, seconds")
    ap.add_argument("--keep", action="store_true", help="keep the temp HOME/data dirs")
    ap.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    ap.add_argument(
        "--agents",
        default="all",
        help=f"agents of the corpus: 'all' ({', '.join(corpus.ALL_AGENTS)}) or a comma-separated"
        " subset; claude,codex is generator version 1's corpus",
    )
    ap.add_argument(
        "--no-per-agent",
        action="store_true",
        help="skip the per-agent syncs and parser timings",
    )
    args = ap.parse_args(argv)
    agents = corpus.ALL_AGENTS if args.agents == "all" else tuple(args.agents.split(","))
    unknown = [a for a in agents if a not in corpus.ALL_AGENTS]
    if unknown:
        fail(f"unknown agents {', '.join(unknown)} (choose from {', '.join(corpus.ALL_AGENTS)})")
    agents = tuple(a for a in corpus.ALL_AGENTS if a in agents)

    manage = REPO_ROOT / "manage.py"
    if not manage.is_file():
        fail(f"{manage} not found: the application's manage.py does not exist yet")
    if not Path(args.python).exists():
        fail(f"python interpreter {args.python} not found")
    if args.sessions < 1:
        fail("--sessions must be >= 1")
    suffix = "" if args.seed == 1 else f"-s{args.seed}"
    if agents != corpus.LEGACY_AGENTS:
        suffix += "-mixed" if agents == corpus.ALL_AGENTS else "-" + "-".join(agents)
    corpus_dir = (args.corpus or Path(f"/tmp/bench-corpus-{args.sessions}{suffix}")).resolve()

    info = ensure_corpus(corpus_dir, args.sessions, args.seed, agents)
    work = Path(tempfile.mkdtemp(prefix="bench-sync-", dir="/tmp"))
    env = build_env(corpus_dir, work)
    db = work / "data" / "agentsview.db"
    sync_cmd = [args.python, str(manage), "sync"]
    corpus_mb = info["bytes"] / 1e6
    try:
        print(
            f"app: {args.python} manage.py sync (cwd {REPO_ROOT}, data dir {work / 'data'})",
            flush=True,
        )
        startup = run_measured(
            "startup", [args.python, str(manage), "sync", "--help"], env, args.timeout
        )
        if startup.returncode != 0:
            print(startup.stderr[-4000:], file=sys.stderr)
            fail("`manage.py sync --help` failed: is the sync command implemented?", 1)

        print("running cold sync ...", flush=True)
        cold = run_measured("cold sync", sync_cmd, env, args.timeout)
        check_run(cold)
        db_sessions, db_messages = db_counts(db)
        db_mb = db_size_mb(db)

        # Process start-up dominates a no-change run and this VM's timings are noisy:
        # run it NOCHANGE_RUNS times and report the median run (all walls are printed).
        print(f"running no-change re-sync x{NOCHANGE_RUNS} ...", flush=True)
        nochange_runs = []
        for _ in range(NOCHANGE_RUNS):
            run = run_measured("no-change re-sync", sync_cmd, env, args.timeout)
            check_run(run)
            nochange_runs.append(run)
        nochange = sorted(nochange_runs, key=lambda r: r.wall_s)[NOCHANGE_RUNS // 2]
        print("no-change walls: " + ", ".join(f"{r.wall_s:.2f}s" for r in nochange_runs))

        appended = corpus.append_to_fraction(corpus_dir, APPEND_FRACTION, args.seed)
        try:
            print(f"running re-sync after appending to {len(appended)} files ...", flush=True)
            append = run_measured(
                f"append {APPEND_FRACTION:.0%} re-sync", sync_cmd, env, args.timeout
            )
        finally:
            corpus.restore_appended(corpus_dir)
        check_run(append)
        _, messages_after = db_counts(db)
        agent_rows = [] if args.no_per_agent else per_agent(args, info, corpus_dir)
    finally:
        if args.keep:
            print(f"kept temp dirs under {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    scale = args.sessions / TARGET_SESSIONS
    cold_target = TARGET_COLD_S * scale
    runs = [(cold, cold_target), (nochange, TARGET_NOCHANGE_S), (append, TARGET_APPEND_S)]
    met = all(r.wall_s < t and r.peak_rss_mb < TARGET_RSS_MB for r, t in runs) and not any(
        r["flagged"] or r["sync_peak_rss_mb"] >= TARGET_RSS_MB for r in agent_rows)
    delta = None if messages_after is None or db_messages is None else messages_after - db_messages

    print()
    print(
        f"agentsview sync benchmark: {info['sessions']} sessions, {info['files']} files, "
        f"{corpus_mb:.1f} MB, ~{info['messages']} messages ({corpus_dir})"
    )
    print(
        f"startup (manage.py sync --help): {startup.wall_s:.2f}s, {startup.peak_rss_mb:.0f} MB RSS"
    )
    header = f"{'run':<22}{'wall s':>9}{'target s':>10}{'peak RSS MB':>13}{'app-reported s':>16}"
    print(header + "  status")
    print("-" * (len(header) + 8))
    for run, target in runs:
        ok = run.wall_s < target and run.peak_rss_mb < TARGET_RSS_MB
        print(
            f"{run.label:<22}{run.wall_s:>9.2f}{target:>10.2f}{run.peak_rss_mb:>13.1f}"
            f"{fmt(run.reported_s):>16}  {'ok' if ok else 'MISSED'}"
        )
    print(
        f"(peak RSS target < {TARGET_RSS_MB:.0f} MB; cold target scaled to "
        f"{args.sessions} sessions)"
    )
    if cold.peak_pss_mb:
        print(f"cold sync peak PSS (pages shared with the parser processes counted once): "
              f"{cold.peak_pss_mb:.1f} MB")
    print(
        f"cold throughput: {corpus_mb / cold.wall_s:.1f} MB/s, "
        f"{fmt(db_sessions and db_sessions / cold.wall_s, '.0f')} sessions/s, "
        f"{fmt(db_messages and db_messages / cold.wall_s, '.0f')} messages/s"
    )
    print(
        f"DB after cold sync: sessions={fmt(db_sessions, 'd')} messages={fmt(db_messages, 'd')} "
        f"size={db_mb:.1f} MB"
    )
    print(
        f"append re-sync: {len(appended)} files grew by 2 messages each; DB messages "
        f"+{fmt(delta, 'd')} (expected +{2 * len(appended)})"
    )
    for run in (cold, nochange, append):
        print(f"app summary [{run.label}]: {run.summary or '(none)'}")
    if agent_rows:
        print()
        print_agents(agent_rows)

    result = {
        "sessions": info["sessions"],
        "files": info["files"],
        "corpus_mb": round(corpus_mb, 1),
        "corpus_messages_approx": info["messages"],
        "seed": args.seed,
        "cold_s": round(cold.wall_s, 3),
        "cold_mb_per_s": round(corpus_mb / cold.wall_s, 2),
        "cold_sessions_per_s": db_sessions and round(db_sessions / cold.wall_s, 1),
        "cold_messages_per_s": db_messages and round(db_messages / cold.wall_s, 1),
        "db_sessions": db_sessions,
        "db_messages": db_messages,
        "db_mb": round(db_mb, 1),
        "nochange_s": round(nochange.wall_s, 3),
        "append_s": round(append.wall_s, 3),
        "append_files": len(appended),
        "append_messages_delta": delta,
        "startup_s": round(startup.wall_s, 3),
        "peak_rss_mb": {
            "startup": round(startup.peak_rss_mb, 1),
            "cold": round(cold.peak_rss_mb, 1),
            "nochange": round(nochange.peak_rss_mb, 1),
            "append": round(append.peak_rss_mb, 1),
        },
        "cold_peak_pss_mb": round(cold.peak_pss_mb, 1),
        "app_reported_s": {
            "cold": cold.reported_s,
            "nochange": nochange.reported_s,
            "append": append.reported_s,
        },
        "app_summary": {
            "cold": cold.summary,
            "nochange": nochange.summary,
            "append": append.summary,
        },
        "targets": {
            "cold_s": round(cold_target, 2),
            "nochange_s": TARGET_NOCHANGE_S,
            "append_s": TARGET_APPEND_S,
            "peak_rss_mb": TARGET_RSS_MB,
        },
        "agents": agent_rows,
        "targets_met": met,
        "python": args.python,
    }
    print("RESULT " + json.dumps(result, ensure_ascii=False))
    return 1 if args.strict and not met else 0


if __name__ == "__main__":
    sys.exit(main())
