"""Reads of one session's usage, shared by the API, the CLI and the session page.

A session's usage is its own or, combined, its own and its subagents' (every descendant whose
relationship is ``subagent``): a subagent is a transcript of its own, but its tokens were
spent for the session that started it. The breakdown lists each usage record; a message's
cost is the one stored with it (priced where it was archived, and pushed with it), a
session-level record (Copilot's totals) is priced with the table in force.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from sessions_app.models import STARTED, Message, Session
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
        return sum(row.record.cost or 0 for row in self.rows)

    @property
    def models(self) -> list[str]:
        return sorted({row.record.model for row in self.rows})

    @property
    def unpriced_models(self) -> list[str]:
        return sorted({row.record.model for row in self.rows if row.record.cost is None})


def subagent_ids(session_id: str, *, using: str = "default") -> list[str]:
    """Every subagent descendant of a session (breadth first, each level by start), one
    query per level; a cycle in the links cannot loop."""
    found: list[str] = []
    seen = {session_id}
    level = [session_id]
    while level:
        children = [sid for sid in Session.objects.using(using).filter(
            parent_session_id__in=level, relationship_type=SUBAGENT, deleted_at__isnull=True,
        ).order_by(STARTED, "id").values_list("id", flat=True) if sid not in seen]
        seen.update(children)
        found.extend(children)
        level = children
    return found


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


def usage_totals(session: Session, *, using: str = "default") -> UsageTotals:
    """The session's usage with its subagents', summed from their session columns."""
    children = subagent_ids(session.id, using=using)
    scope = [session, *Session.objects.using(using).filter(pk__in=children).only(
        "usage_input_tokens", "usage_output_tokens", "usage_cache_read_tokens",
        "usage_cache_write_tokens", "cost_microdollars")] if children else [session]
    tokens = Tokens()
    cost: int | None = 0
    has_usage = False
    for s in scope:
        own = Tokens(s.usage_input_tokens, s.usage_output_tokens, s.usage_cache_read_tokens,
                     s.usage_cache_write_tokens)
        if not own.total:
            continue
        has_usage = True
        tokens = tokens + own
        cost = None if cost is None or s.cost_microdollars is None else cost + s.cost_microdollars
    return UsageTotals(tokens, cost if has_usage else None, has_usage, len(children))
