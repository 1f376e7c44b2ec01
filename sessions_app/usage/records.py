"""Usage records of a session, read from its messages' ``token_usage``, and the columns they
give the session and its messages.

Every parser stores a message's usage in Anthropic's shape (``input_tokens`` is what no cache
served, ``output_tokens``, ``cache_read_input_tokens``, ``cache_creation_input_tokens``). An
agent that records only session-level totals (Copilot's shutdown metrics) stores them under
``session_usage`` (``{model: counts}``) on its last answer; such a session counts at session
level: one record per model, and its messages' own counts (output tokens only) are not added
again.

A session's usage rollup (``usage_rollup``, compact text) is what the usage summary reads
instead of the messages, one row per session, in two JSON lines: first ``[first quarter, last
quarter, [[model, input, output, cache_read, cache_write, cost], ...]]`` (its per-model totals),
then ``[[quarter, model, input, output, cache_read, cache_write, cost], ...]`` (the same per
UTC quarter-hour, epoch seconds, in order; an untimed record at the session's start). A cost is
microdollars, or null when unpriced. A session whose first and last quarters fall in one local
day counts its totals and its second line is never decoded; another places each quarter in
the local day of the time zone asked for (every zone's offset is whole quarter-hours).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import orjson

from sessions_app.parsers.base import clamp_int
from sessions_app.usage.pricing import PriceTable, Tokens

# Bump it when what the records or the rollup are changes: the next sync re-prices every
# archived session from its stored rows (like a new price table), the next push sends them.
USAGE_VERSION = 3  # 2: per-model totals in the rollup; 3: two lines, untimed at the start
MESSAGE, SESSION = "message", "session"  # where a record comes from
QUARTER_S = 900
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_KEYS = ("input_tokens", "output_tokens", "cache_read_input_tokens",
         "cache_creation_input_tokens")
USAGE_COLUMNS = (
    "usage_input_tokens", "usage_output_tokens", "usage_cache_read_tokens",
    "usage_cache_write_tokens", "cost_microdollars", "usage_rollup", "pricing_version",
)
# What the records read of each message (stored rows or freshly parsed ones).
MESSAGE_FIELDS = ("ordinal", "model", "token_usage", "timestamp")


@dataclass(frozen=True)
class Record:
    """One priced usage record: a message's, or one model's session-level total."""

    message_ordinal: int
    source: str  # MESSAGE or SESSION
    timestamp: datetime | None
    model: str
    tokens: Tokens
    cost: int | None  # microdollars; None: the model has no price


def _count(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        return 0
    if value in (float("inf"), float("-inf")):
        return 0
    return clamp_int(max(int(value), 0))


def _plus(a: int | None, b: int | None) -> int | None:
    """A sum of costs: unknown when either is, clamped to 64 bits."""
    return None if a is None or b is None else clamp_int(a + b)


def _tokens(counts: object) -> Tokens:
    if not isinstance(counts, dict):
        return Tokens()
    return Tokens(*(_count(counts.get(key)) for key in _KEYS))


def _decode(token_usage: str) -> dict:
    if not token_usage:
        return {}
    try:
        value = orjson.loads(token_usage)
    except orjson.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def records(messages: Iterable[Sequence[object]], prices: PriceTable) -> list[Record]:
    """The usage records of one session's messages (``MESSAGE_FIELDS`` order), in ordinal
    order. Records without a token are left out."""
    own: list[Record] = []
    session_level: list[Record] = []
    for ordinal, model, token_usage, timestamp in sorted(messages, key=lambda m: m[0]):
        usage = _decode(token_usage)
        if not usage:
            continue
        totals = usage.get("session_usage")
        if isinstance(totals, dict):
            for name, counts in sorted(totals.items()):
                tokens = _tokens(counts)
                if tokens.total:
                    session_level.append(Record(ordinal, SESSION, timestamp, str(name), tokens,
                                                prices.cost(str(name), tokens)))
        tokens = _tokens(usage)
        if tokens.total:
            model = model or ""
            own.append(Record(ordinal, MESSAGE, timestamp, model, tokens,
                              prices.cost(model, tokens) if model else None))
    return session_level or own


def message_costs(found: list[Record]) -> dict[int, int | None]:
    """The cost stored on each message that carries usage: its records' sum, None when one
    of them has no price."""
    costs: dict[int, int | None] = {}
    for record in found:
        ordinal = record.message_ordinal
        if ordinal in costs and costs[ordinal] is None:
            continue
        costs[ordinal] = _plus(costs.get(ordinal, 0), record.cost)
    return costs


def quarter_of(moment: datetime | None) -> int | None:
    if moment is None:
        return None
    seconds = (moment - _EPOCH) // timedelta(seconds=1)
    return seconds - seconds % QUARTER_S


def session_columns(found: list[Record], prices: PriceTable, start: datetime | None) -> dict:
    """The session's usage columns: token sums, its cost (None when nothing is priced or
    any record has no price), the rollup (*start*: where untimed records count) and the
    stamp of the prices and code that priced it."""
    total = Tokens()
    cells: dict[tuple[int | None, str], list] = {}
    fallback = quarter_of(start)
    for record in found:
        total = total + record.tokens
        quarter = quarter_of(record.timestamp)
        key = (fallback if quarter is None else quarter, record.model)
        cell = cells.get(key)
        t = record.tokens
        if cell is None:
            cells[key] = [key[0], key[1], t.input, t.output, t.cache_read, t.cache_write,
                          record.cost]
        else:
            cell[2] = clamp_int(cell[2] + t.input)
            cell[3] = clamp_int(cell[3] + t.output)
            cell[4] = clamp_int(cell[4] + t.cache_read)
            cell[5] = clamp_int(cell[5] + t.cache_write)
            cell[6] = _plus(cell[6], record.cost)
    priced = bool(found) and all(r.cost is not None for r in found)
    return {
        "usage_input_tokens": total.input,
        "usage_output_tokens": total.output,
        "usage_cache_read_tokens": total.cache_read,
        "usage_cache_write_tokens": total.cache_write,
        "cost_microdollars": _total_cost(found) if priced else None,
        "usage_rollup": _rollup(list(cells.values())) if found else "",
        "pricing_version": priced_with(prices),
    }


def _total_cost(found: list[Record]) -> int | None:
    total: int | None = 0
    for record in found:
        total = _plus(total, record.cost)
    return total


def _rollup(cells: list[list]) -> str:
    ordered = sorted(cells, key=lambda c: (c[0] is not None, c[0] or 0, c[1]))
    models: dict[str, list] = {}
    for cell in ordered:
        found = models.get(cell[1])
        if found is None:
            models[cell[1]] = cell[1:]
            continue
        for k in range(1, 5):
            found[k] = clamp_int(found[k] + cell[k + 1])
        found[5] = _plus(found[5], cell[6])
    head = [ordered[0][0], ordered[-1][0], [models[m] for m in sorted(models)]]
    return orjson.dumps(head).decode() + "\n" + orjson.dumps(ordered).decode()


def priced_with(prices: PriceTable) -> str:
    """What a session stores as ``pricing_version``: this code's usage version and the
    price table's (with its overrides)."""
    return f"u{USAGE_VERSION}:{prices.version}"


def rollup_head(text: str) -> tuple[int | None, int | None, list]:
    """The first line of a rollup: (first quarter, last quarter, per-model totals)."""
    first, last, models = orjson.loads(text.partition("\n")[0])
    return first, last, models


def rollup_cells(text: str) -> list:
    """The second line of a rollup: the quarter-hour cells."""
    return orjson.loads(text.partition("\n")[2])
