"""Reads of one session's usage, shared by the API, the CLI and the session page.

A session's usage is its own or, combined, its own and its subagents' (every descendant whose
relationship is ``subagent``): a subagent is a transcript of its own, but its tokens were
spent for the session that started it. The breakdown lists each usage record; a message's
cost is the one stored with it (priced where it was archived, and pushed with it), a
session-level record (Copilot's totals) is priced with the table in force.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from django.db import connections

from sessions_app.models import Message, Session
from sessions_app.parsers.base import clamp_int
from sessions_app.usage import records as usage
from sessions_app.usage.pricing import PriceTable, Tokens, builtin_table

SUBAGENT = "subagent"
COST_SOURCE = "computed"  # costs are computed from token counts and the price table


@dataclass(frozen=True)
class Row:
    """One breakdown row: a usage record, with the subagent it came from ('' for its own)."""

    record: usage.Record
    subagent_session_id: str = ""
    ordinal: int = 0  # position in the breakdown, from 1

    @property
    def label(self) -> str:
        if self.record.source == usage.SESSION:
            return "Session total"
        return f"Prompt {self.record.message_ordinal + 1}"


@dataclass
class SessionUsage:
    """What ``/sessions/{id}/usage`` reports (``serializers.SESSION_USAGE``)."""

    session: Session
    combined: bool
    subagent_count: int = 0
    rows: list[Row] = field(default_factory=list)

    @property
    def tokens(self) -> Tokens:
        total = Tokens()
        for row in self.rows:
            total = total + row.record.tokens
        return total

    @property
    def peak_context_tokens(self) -> int:
        return max((row.record.tokens.context for row in self.rows), default=0)

    @property
    def has_cost(self) -> bool:
        return bool(self.rows) and all(row.record.cost is not None for row in self.rows)

    @property
    def cost_microdollars(self) -> int | None:
        if not self.has_cost:
            return None
        return clamp_int(sum(row.record.cost or 0 for row in self.rows))

    @property
    def models(self) -> list[str]:
        return sorted({row.record.model for row in self.rows})

    @property
    def unpriced_models(self) -> list[str]:
        return sorted({row.record.model for row in self.rows if row.record.cost is None})


MAX_DEPTH = 50  # subagents of subagents...: deeper links are taken for a cycle

# The subagent descendants of a session, with their depth, in one recursive query (SQLite
# and PostgreSQL alike).
_DESCENDANTS = """
WITH RECURSIVE tree(id, depth) AS (
    SELECT id, 0 FROM sessions WHERE id = %s
    UNION
    SELECT s.id, t.depth + 1 FROM sessions s JOIN tree t ON s.parent_session_id = t.id
    WHERE s.relationship_type = %s AND s.deleted_at IS NULL AND t.depth < {max_depth}
)
"""


def subagent_ids(session_id: str, *, using: str = "default") -> list[str]:
    """Every subagent descendant of a session, by depth, then start, then id (one query)."""
    sql = _DESCENDANTS.format(max_depth=MAX_DEPTH) + """
        SELECT s.id, MIN(t.depth) FROM tree t JOIN sessions s ON s.id = t.id
        WHERE t.depth > 0 AND s.id <> %s
        GROUP BY s.id, s.started_at, s.created_at
        ORDER BY MIN(t.depth), COALESCE(s.started_at, s.created_at), s.id"""
    with connections[using].cursor() as cursor:
        cursor.execute(sql, [session_id, SUBAGENT, session_id])
        return [row[0] for row in cursor.fetchall()]


def _records(session_id: str, prices: PriceTable, using: str) -> list[usage.Record]:
    rows = list(Message.objects.using(using).filter(session_id=session_id)
                .exclude(token_usage="").values_list(*usage.MESSAGE_FIELDS, "cost_microdollars"))
    stored = {row[0]: row[-1] for row in rows}
    found = usage.records((row[:-1] for row in rows), prices)
    return [r if r.source == usage.SESSION else
            usage.Record(r.message_ordinal, r.source, r.timestamp, r.model, r.tokens,
                         stored.get(r.message_ordinal))
            for r in found]


def session_usage(session_id: str, *, using: str = "default", combined: bool = True,
                  prices: PriceTable | None = None) -> SessionUsage | None:
    """The usage of a session (None when there is no such session), with its subagents'
    when *combined*."""
    session = Session.objects.using(using).filter(pk=session_id).first()
    if session is None:
        return None
    prices = prices or builtin_table()
    result = SessionUsage(session=session, combined=combined)
    result.rows = [Row(r) for r in _records(session_id, prices, using)]
    if combined:
        children = subagent_ids(session_id, using=using)
        result.subagent_count = len(children)
        for child in children:
            result.rows.extend(Row(r, child) for r in _records(child, prices, using))
    result.rows = [replace(row, ordinal=i) for i, row in enumerate(result.rows, 1)]
    return result


@dataclass(frozen=True)
class UsageTotals:
    """A session's usage from its stored columns (no message read): the page header."""

    tokens: Tokens
    cost_microdollars: int | None  # None: nothing priced, or a model without a price
    has_usage: bool
    subagent_count: int


def usage_totals(session_id: str, *, using: str = "default") -> UsageTotals | None:
    """A session's usage with its subagents', summed from their session columns in one
    query (None when there is no such session)."""
    sql = _DESCENDANTS.format(max_depth=MAX_DEPTH) + """
        SELECT COUNT(*),
               SUM(usage_input_tokens), SUM(usage_output_tokens),
               SUM(usage_cache_read_tokens), SUM(usage_cache_write_tokens),
               SUM(CASE WHEN usage_rollup <> '' THEN 1 ELSE 0 END),
               SUM(CASE WHEN usage_rollup <> '' AND cost_microdollars IS NULL THEN 1 ELSE 0
                   END),
               SUM(cost_microdollars)
        FROM sessions WHERE id IN (SELECT id FROM tree)"""
    with connections[using].cursor() as cursor:
        cursor.execute(sql, [session_id, SUBAGENT])
        count, i, o, r, w, with_usage, unpriced, cost = cursor.fetchone()
    if not count:
        return None
    tokens = Tokens(int(i or 0), int(o or 0), int(r or 0), int(w or 0))
    known = None if unpriced or not with_usage else int(cost or 0)
    return UsageTotals(tokens, known, bool(with_usage), count - 1)


def page_usage(session_id: str, *, using: str = "default") -> dict | None:
    """The session page's cost and tokens, its subagents' included (None without usage)."""
    from sessions_app.usage.display import tokens as short
    from sessions_app.usage.display import usd

    totals = usage_totals(session_id, using=using)
    if totals is None or not totals.has_usage:
        return None
    t = totals.tokens
    return {
        "cost": usd(totals.cost_microdollars, unknown="unknown"),
        "known": totals.cost_microdollars is not None,
        "tokens": short(t.total),
        "kinds": f"input {t.input:,} · output {t.output:,} · cache read {t.cache_read:,}"
                 f" · cache write {t.cache_write:,}",
        "subagents": totals.subagent_count,
    }
