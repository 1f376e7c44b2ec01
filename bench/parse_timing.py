#!/usr/bin/env python3
"""Time one agent's parser alone over its part of a corpus: every source file the agent's
discovery finds under *root*, parsed as the sync would (no database, no scoring).

Run with the repo's virtualenv (it imports the parsers)::

    .venv/bin/python bench/parse_timing.py --agent gemini --root /tmp/bench-corpus-2000-mixed/gemini
    .venv/bin/python bench/parse_timing.py --agent claude --root DIR1 --agent cursor --root DIR2
    .venv/bin/python bench/parse_timing.py --agent gemini --root DIR --profile 25

Prints one ``RESULT {json}`` line per agent: bytes, seconds (the fastest of ``--repeat``
rounds, default 3, the agents taking turns), MB/s, files, sessions, messages, tool calls,
issues and this process's peak RSS.
``--profile N`` also prints the N costliest functions (cProfile, cumulative time) to stderr.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import resource
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from sessions_app.parsers.registry import (  # noqa: E402
    AGENTS,
    parser_for,
    tool_categories,
    tool_label_heads,
)
from sessions_app.services.discovery import discover  # noqa: E402


def _parse_all(agent: str, files: list) -> tuple[float, dict]:
    """One run over *files*: its seconds and counts."""
    parser = parser_for(agent)
    counts = dict.fromkeys(("bytes", "sessions", "messages", "tool_calls", "issues"), 0)
    start = time.perf_counter()
    for f in files:
        result = parser.parse(f.path, f.root)
        counts["bytes"] += f.size
        counts["sessions"] += len(result.sessions)
        counts["issues"] += len(result.issues)
        for session in result.sessions:
            counts["messages"] += len(session.messages)
            counts["tool_calls"] += sum(len(m.tool_calls) for m in session.messages)
    return time.perf_counter() - start, counts


def time_agents(roots: dict[str, Path], repeat: int = 1) -> list[dict]:
    """Parse every source of each agent under its root, *repeat* rounds taking the agents in
    turn; each agent's fastest run (the machine's other work only ever slows a run down, and
    taking turns spreads a busy spell over all of them)."""
    found = {agent: discover({agent: [root]}).files for agent, root in roots.items()}
    tool_categories(), tool_label_heads()  # every parser's tables, loaded once per process
    best: dict[str, tuple[float, dict]] = {}
    for _ in range(repeat):
        for agent, files in found.items():
            seconds, counts = _parse_all(agent, files)
            if agent not in best or seconds < best[agent][0]:
                best[agent] = (seconds, counts)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rss_mb = round(rss / (1 << 20 if sys.platform == "darwin" else 1 << 10), 1)
    return [{
        "agent": agent,
        "files": len(found[agent]),
        "seconds": round(seconds, 3),
        "mb_per_s": round(counts["bytes"] / 1e6 / seconds, 2) if seconds else None,
        **counts,
        "peak_rss_mb": rss_mb,
    } for agent, (seconds, counts) in best.items()]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--agent", action="append", required=True, choices=sorted(AGENTS),
                    help="an agent (repeatable, with one --root each)")
    ap.add_argument("--root", type=Path, action="append", required=True,
                    help="the agent's directory")
    ap.add_argument("--profile", type=int, metavar="N", help="print the N costliest functions")
    ap.add_argument("--repeat", type=int, default=3, help="rounds; the fastest run is reported")
    args = ap.parse_args(argv)
    if len(args.agent) != len(args.root):
        ap.error("give one --root per --agent")
    for root in args.root:
        if not root.is_dir():
            ap.error(f"{root} is not a directory")
    roots = dict(zip(args.agent, args.root, strict=True))
    if args.profile:
        profiler = cProfile.Profile()
        results = profiler.runcall(time_agents, roots)  # one round, profiled
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(
            args.profile)
    else:
        results = time_agents(roots, max(1, args.repeat))
    for result in results:
        print("RESULT " + json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
