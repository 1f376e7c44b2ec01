"""Project names: from a session's working directory, else from the agent's folder name."""

from __future__ import annotations

import os
import re
from functools import lru_cache

DEFAULT_BRANCHES = frozenset({"", "main", "master", "develop", "development", "trunk", "HEAD"})
# Folder names under which people keep their checkouts: the project is what follows.
PATH_MARKERS = ("code", "projects", "repos", "src", "work", "dev")
SYSTEM_SEGMENTS = frozenset({"", "Users", "home", "root", "tmp", "private", "var", "mnt"})


def normalize_name(name: str) -> str:
    """``my-app`` → ``my_app``; empty → ``unknown``."""
    cleaned = name.strip().replace("-", "_")
    return cleaned or "unknown"


def _basename(path: str) -> str:
    parts = [p for p in re.split(r"[\\/]+", path.strip()) if p]
    return parts[-1] if parts else ""


@lru_cache(maxsize=4096)
def git_root_name(cwd: str) -> str | None:
    """Basename of the git checkout containing *cwd* on this disk (a worktree resolves to its
    main repository), or None when *cwd* is not inside one here."""
    if not cwd or not os.path.isabs(cwd):
        return None
    path = os.path.normpath(cwd)
    while True:
        dot_git = os.path.join(path, ".git")
        try:
            if os.path.isdir(dot_git):
                return os.path.basename(path) or None
            if os.path.isfile(dot_git):
                return _worktree_main_name(dot_git) or os.path.basename(path) or None
        except OSError:
            return None
        parent = os.path.dirname(path)
        if parent == path:
            return None
        path = parent


def _worktree_main_name(dot_git_file: str) -> str | None:
    try:
        with open(dot_git_file, encoding="utf-8", errors="replace") as fh:
            first = fh.readline().strip()
    except OSError:
        return None
    if not first.startswith("gitdir:"):
        return None
    gitdir = first[len("gitdir:"):].strip()
    marker = f"{os.sep}.git{os.sep}worktrees{os.sep}"
    if marker in gitdir:
        return os.path.basename(gitdir.split(marker, 1)[0]) or None
    return None


def project_from_cwd(cwd: str, git_branch: str = "") -> str:
    """The project of a session that ran in *cwd* (on branch *git_branch*)."""
    root = git_root_name(cwd)
    if root:
        return normalize_name(root)
    name = _basename(cwd)
    if git_branch not in DEFAULT_BRANCHES:
        branch = git_branch.replace("/", "-")
        for sep in ("-", "_"):
            suffix = sep + branch
            if name.endswith(suffix) and len(name) > len(suffix):
                name = name[: -len(suffix)]
                break
    return normalize_name(name)


def project_from_encoded_dir(dirname: str) -> str:
    """Claude's folder name is the cwd with every non-alphanumeric replaced by '-'
    (``-Users-alice-code-my-app``); take what follows the last checkout marker."""
    segments = dirname.strip("-").split("-")
    for i in range(len(segments) - 1, -1, -1):
        if segments[i] in PATH_MARKERS and i + 1 < len(segments):
            return normalize_name("-".join(segments[i + 1:]))
    for seg in reversed(segments):
        if seg not in SYSTEM_SEGMENTS:
            return normalize_name(seg)
    return "unknown"
