"""Command output: a progress bar on a terminal (nothing when piped), and capped issue lists."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

Progress = Callable[[int, int, object], None]  # (done, total, detail)


class Reporter:
    def __init__(self, stdout, stderr, *, verbosity: int = 1) -> None:
        self.stdout = stdout
        self.stderr = stderr
        self.verbosity = verbosity

    @property
    def interactive(self) -> bool:
        try:
            return bool(self.stderr.isatty()) and self.verbosity >= 1
        except (AttributeError, ValueError):
            return False

    @contextlib.contextmanager
    def progress(self, label: str,
                 describe: Callable[[int, int, object], str] | None = None) -> Iterator[Progress]:
        """A ``(done, total, detail)`` callback drawing a bar on stderr when it is a TTY;
        *describe* turns those into the text shown before the bar."""
        if not self.interactive:
            yield lambda done, total, detail: None
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
        from rich.progress import Progress as RichProgress

        console = Console(file=self.stderr._out if hasattr(self.stderr, "_out") else self.stderr)
        bar = RichProgress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console, transient=True,
        )
        task = bar.add_task(label, total=None)

        def update(done: int, total: int, detail: object) -> None:
            text = describe(done, total, detail) if describe else label
            bar.update(task, completed=done, total=total or None, description=text)

        with bar:
            yield update

    def issues(self, kind: str, lines: list[str], *, limit: int | None) -> None:
        if self.verbosity < 1 or not lines:
            return
        shown = lines if limit is None or self.verbosity >= 2 else lines[:limit]
        for line in shown:
            self.stderr.write(f"{kind}: {line}")
        if len(shown) < len(lines):
            self.stderr.write(
                f"{kind}: ... and {len(lines) - len(shown)} more (use -v 2 to list them all)"
            )

    def note(self, message: str) -> None:
        if self.verbosity >= 1:
            self.stderr.write(f"note: {message}")
