"""What the delete commands print and ask: the sessions that would go, and the question."""

from __future__ import annotations

from datetime import UTC, datetime

from agentsview.humanize import age, table, truncate

NAME_WIDTH = 48


class NotATerminal(Exception):
    """A question would need an answer, and nobody is there to give it."""


def render_doomed(rows: list[dict], now: datetime | None = None) -> str:
    """A table of the sessions of ``deletes.describe``; a child names the session it goes
    with."""
    now = now or datetime.now(UTC)
    lines = [
        [
            row["id"],
            age(row["last_active"], now),
            row["agent"],
            truncate(row["project"], 20),
            str(row["message_count"]),
            truncate(f"↳ with {row['taken_with']}" if row["taken_with"]
                     else row["display_name"] or row["first_message"] or "(no prompt)",
                     NAME_WIDTH),
            truncate(row["machine"], 16),
        ]
        for row in rows
    ]
    return table(["ID", "AGE", "AGENT", "PROJECT", "MSGS", "NAME", "MACHINE"], lines,
                 right={4})


def totals(rows: list[dict]) -> str:
    """``2 session(s) (16 messages, 1 of them along with its parent)``."""
    children = sum(1 for row in rows if row["taken_with"])
    messages = sum(row["message_count"] for row in rows)
    along = f", {children} of them along with its parent" if children else ""
    return f"{len(rows)} session(s) ({messages} messages{along})"


def confirm(stdin, stdout, question: str) -> bool:
    """Ask *question* on a terminal; raise ``NotATerminal`` when stdin is not one."""
    try:
        interactive = stdin.isatty()
    except (AttributeError, ValueError):
        interactive = False
    if not interactive:
        raise NotATerminal(question)
    stdout.write(f"{question} [y/N] ", ending="")
    stdout.flush()
    answer = stdin.readline().strip().lower()
    return answer in ("y", "yes")
