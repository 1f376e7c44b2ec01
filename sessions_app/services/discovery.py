"""Find agent session files under the configured roots.

Walks each root once (following directory symlinks, but never the same directory twice, so a
symlink loop cannot trap it), keeps the files the agent's parser claims, and notes what it
had to skip in one-line issues.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from sessions_app.parsers.base import source_stamp
from sessions_app.parsers.registry import parsed_agents, parser_for

MAX_DEPTH = 12


@dataclass(frozen=True)
class FoundFile:
    agent: str
    root: Path
    path: Path
    size: int
    mtime_ns: int


@dataclass
class Discovery:
    files: list[FoundFile] = field(default_factory=list)
    issues: list[str] = field(default_factory=list)  # "<path>: <what>"
    scanned_roots: list[Path] = field(default_factory=list)
    missing_roots: list[tuple[str, Path]] = field(default_factory=list)


def discover(agent_dirs: dict[str, Iterable[Path]]) -> Discovery:
    found = Discovery()
    for spec in parsed_agents():
        matches = parser_for(spec.key).matches
        for root in agent_dirs.get(spec.key, ()):
            if not root.is_dir():
                found.missing_roots.append((spec.key, root))
                continue
            found.scanned_roots.append(root)
            _walk(spec.key, root, matches, found)
    found.files = [stamped(f) for f in found.files]
    found.files.sort(key=lambda f: str(f.path))
    return found


def stamped(found: FoundFile) -> FoundFile:
    """*found* with its companions' sizes and mtimes folded into its own (a database's
    ``-wal``, which a commit in WAL mode writes instead of the database)."""
    size, mtime_ns = source_stamp(parser_for(found.agent), found.path, found.size,
                                  found.mtime_ns)
    if (size, mtime_ns) == (found.size, found.mtime_ns):
        return found
    return replace(found, size=size, mtime_ns=mtime_ns)


def _walk(
    agent: str, root: Path, matches: Callable[[tuple[str, ...]], bool], found: Discovery
) -> None:
    try:
        root_stat = root.stat()
    except OSError as exc:
        found.issues.append(f"{root}: cannot read ({exc.strerror})")
        return
    visited = {(root_stat.st_dev, root_stat.st_ino)}
    stack: list[tuple[Path, tuple[str, ...]]] = [(root, ())]
    while stack:
        directory, rel = stack.pop()
        try:
            entries = list(os.scandir(directory))
        except PermissionError:
            found.issues.append(f"{directory}: permission denied, skipped")
            continue
        except OSError as exc:
            found.issues.append(f"{directory}: cannot list ({exc.strerror}), skipped")
            continue
        for entry in entries:
            parts = (*rel, entry.name)
            path = Path(entry.path)
            try:
                st = entry.stat(follow_symlinks=True)
            except OSError as exc:
                if entry.is_symlink():
                    reason = "symlink loop" if exc.errno == errno.ELOOP else "dangling symlink"
                    found.issues.append(f"{path}: {reason}, skipped")
                elif matches(parts):
                    found.issues.append(f"{path}: cannot stat ({exc.strerror}), skipped")
                continue
            if stat.S_ISDIR(st.st_mode):
                if matches(parts):
                    found.issues.append(f"{path}: is a directory, not a session file; skipped")
                key = (st.st_dev, st.st_ino)
                if key in visited:
                    found.issues.append(f"{path}: symlink loop (directory seen before), skipped")
                    continue
                if len(parts) >= MAX_DEPTH:
                    continue
                visited.add(key)
                stack.append((path, parts))
            elif matches(parts):
                if not stat.S_ISREG(st.st_mode):
                    found.issues.append(f"{path}: not a regular file, skipped")
                    continue
                found.files.append(FoundFile(agent, root, path, st.st_size, st.st_mtime_ns))
