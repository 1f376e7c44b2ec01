#!/usr/bin/env python3
"""Time one agent's parser alone over its part of a corpus: every source file the agent's
discovery finds under *root*, parsed as the sync would (no database, no scoring).

Run with the repo's virtualenv (it imports the parsers)::

    .venv/bin/python bench/parse_timing.py --agent gemini --root /tmp/bench-corpus-2000-mixed/gemini
    .venv/bin/python bench/parse_timing.py --agent gemini --root DIR --profile 25

Prints one ``RESULT {json}`` line: bytes, seconds, MB/s, files, sessions, messages, tool
calls, issues and this process's peak RSS. ``--profile N`` also prints the N costliest
functions (cProfile, cumulative time) to stderr.
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


def time_agent(agent: str, root: Path) -> dict:
    """Parse every source of *agent* under *root*; the figures of one run."""
    parser = parser_for(agent)
    found = discover({agent: [root]})
    tool_categories(), tool_label_heads()  # every parser's tables, loaded once per process
    sessions = messages = tool_calls = issues = 0
    size = 0
    start = time.perf_counter()
    for f in found.files:
        result = parser.parse(f.path, f.root)
        size += f.size
        sessions += len(result.sessions)
        issues += len(result.issues)
        for session in result.sessions:
            messages += len(session.messages)
            tool_calls += sum(len(m.tool_calls) for m in session.messages)
    seconds = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "agent": agent,
        "files": len(found.files),
        "bytes": size,
        "seconds": round(seconds, 3),
        "mb_per_s": round(size / 1e6 / seconds, 2) if seconds else None,
        "sessions": sessions,
        "messages": messages,
        "tool_calls": tool_calls,
        "issues": issues,
        "peak_rss_mb": round(rss / (1 << 20 if sys.platform == "darwin" else 1 << 10), 1),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--agent", required=True, choices=sorted(AGENTS))
    ap.add_argument("--root", type=Path, required=True, help="the agent's directory")
    ap.add_argument("--profile", type=int, metavar="N", help="print the N costliest functions")
    args = ap.parse_args(argv)
    if not args.root.is_dir():
        ap.error(f"{args.root} is not a directory")
    if args.profile:
        profiler = cProfile.Profile()
        result = profiler.runcall(time_agent, args.agent, args.root)
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(
            args.profile)
    else:
        result = time_agent(args.agent, args.root)
    print("RESULT " + json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
