"""What a sync did, as the ``sync`` command reports it (no Django here: the no-change
shortcut, ``sync_shortcut``, prints the same line before Django starts)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class SyncReport:
    sessions_written: int = 0
    messages_written: int = 0
    sessions_unchanged: int = 0
    files_found: int = 0
    files_parsed: int = 0
    files_unchanged: int = 0
    files_without_sessions: int = 0
    sessions_marked_missing: int = 0
    sessions_tombstoned: int = 0  # deleted for good here, found in a transcript: not stored
    signals_recomputed: int = 0
    rollups_backfilled: int = 0
    sessions_repriced: int = 0  # priced by another price table version (usage/pricing.py)
    conflicts: int = 0
    errors: list[str] = field(default_factory=list)  # something could not be archived
    warnings: list[str] = field(default_factory=list)  # skipped lines, odd entries
    missing_roots: list[tuple[str, Path]] = field(default_factory=list)
    error_files: set[str] = field(default_factory=set)
    warning_files: set[str] = field(default_factory=set)
    elapsed: float = 0.0

    def error(self, path: Path | str, message: str) -> None:
        self.error_files.add(str(path))
        self.errors.append(f"{path}: {message}")

    def warning(self, path: Path | str, message: str) -> None:
        self.warning_files.add(str(path))
        self.warnings.append(f"{path}: {message}")

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary_line(self) -> str:
        line = (
            f"Synced {self.sessions_written} sessions ({self.messages_written} messages)"
            f" in {self.elapsed:.1f}s; {self.sessions_unchanged} unchanged,"
            f" {len(self.error_files)} files with errors"
        )
        extras = []
        if self.warning_files:
            extras.append(f"{len(self.warning_files)} with warnings")
        if self.files_without_sessions:
            extras.append(f"{self.files_without_sessions} without sessions")
        if self.conflicts:
            extras.append(f"{self.conflicts} duplicate session ids")
        if self.sessions_tombstoned:
            extras.append(f"{self.sessions_tombstoned} deleted sessions not archived again")
        if self.sessions_marked_missing:
            extras.append(f"{self.sessions_marked_missing} sessions' files gone (kept)")
        return line + "".join(f", {e}" for e in extras)
