"""Per-session rollups of the message-level figures the analytics need, stored on the session
when it is written (and pushed with it), so that an analytics request reads one row per
session instead of every message: on 10,000 sessions / 600,000 messages the difference
between seconds and tens of milliseconds.

Each figure is defined exactly as the analytics queries defined it over the message rows:

- ``active_ms``: the gaps between consecutive messages (ordinal order, both timed, the later
  one later), each capped at 5 minutes;
- ``turn_cycles_ms``: each assistant message that directly follows a user message, more than
  0 ms and at most 30 minutes later: that delay;
- ``first_response_ms``: from the first timed user message to the first timed assistant
  message after it (floored to the millisecond, never negative);
- ``message_quarters``: messages per UTC quarter-hour (every time zone's offset is a whole
  number of quarter-hours, so a quarter-hour lies in one local hour of any zone);
- ``rollup_tools``: per tool (category, name without surrounding spaces) its calls, then,
  when the session's tool outcome summary is given (``analytics_app.tool_outcomes``; sync and
  the backfill always give it), the outcome figures that do not depend on how the session
  ended: ``[category, name, calls, known, empty, repeated, recovered, tail]``, ``tail`` 0 when
  the tool opened no sequence still running after the last call, 1 when it did and that last
  call returned content or an unknown outcome, 2 when that last call failed or was empty
  (``/api/v1/analytics/tools`` settles it with the session's termination status: ``open``,
  ``unknown`` or ``abandoned``). Every call of a row is analysed, so ``analyzed`` is ``calls``;
  a three-field row (a session rolled up before version 3) has no outcome figures;
- ``rollup_skills``: calls per skill (the ``skill_name`` of Skill tool calls);
- ``frustration_marker_count``: user prompts (not system rows) that read as frustrated
  (``quality.is_frustration_marker``: an analytics-only signal, not part of the score).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

import orjson

from analytics_app.scoring.quality import is_frustration_marker

ROLLUP_VERSION = 3  # 2: skills and frustration markers; 3: tool outcomes in rollup_tools
ACTIVE_GAP_CAP_MS = 300_000
TURN_CYCLE_MAX_MS = 1_800_000
QUARTER_S = 900
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# What a rollup reads of each message and tool call (stored rows or freshly parsed ones).
MESSAGE_FIELDS = ("ordinal", "role", "is_system", "timestamp", "content_length",
                  "has_thinking", "has_tool_use", "model", "content")
TOOL_CALL_FIELDS = ("category", "tool_name", "skill_name")

ROLLUP_COLUMNS = (
    "rollup_version", "rollup_messages", "rollup_user_messages", "rollup_assistant_messages",
    "rollup_thinking_messages", "rollup_tool_use_messages", "rollup_tool_calls",
    "rollup_assistant_chars", "active_ms", "first_response_ms", "turn_cycles_ms",
    "rollup_models", "rollup_tools", "message_quarters", "rollup_skills",
    "frustration_marker_count",
)


class SessionSummary(Protocol):
    """What the rollups keep of ``analytics_app.tool_outcomes.SessionSummary`` (this package
    imports nothing outside it): per tool ``[analyzed, known, empty, repeated, recovered]``
    and the trailing sequence ``(category, name, last call failed)``."""

    tools: dict[tuple[str, str], list[int]]
    tail: tuple[str, str, bool] | None


@dataclass(frozen=True)
class Msg:
    ordinal: int
    role: str
    is_system: bool
    timestamp: datetime | None
    content_length: int
    has_thinking: bool
    has_tool_use: bool
    model: str
    content: str


def epoch_ms(moment: datetime) -> int:
    """Milliseconds since the epoch, rounded half away from zero (as SQL ROUND does)."""
    us = (moment - EPOCH) // timedelta(microseconds=1)
    return (us + 500) // 1000 if us >= 0 else -((-us + 500) // 1000)


def compute(messages: Iterable[Sequence[object]], tool_calls: Iterable[Sequence[object]],
            outcomes: SessionSummary | None = None) -> dict:
    """The rollup columns from message rows (``MESSAGE_FIELDS`` order), tool call rows
    (``TOOL_CALL_FIELDS`` order) and the summary of the same calls' outcomes
    (``tool_outcomes.summarize``; without it ``rollup_tools`` has no outcome figures)."""
    msgs = sorted((Msg(*row) for row in messages), key=lambda m: m.ordinal)
    active = chars = 0
    cycles: list[int] = []
    prev: Msg | None = None
    prev_t: int | None = None
    quarters: Counter[int] = Counter()
    for m in msgs:
        t = epoch_ms(m.timestamp) if m.timestamp is not None else None
        if m.role == "assistant":
            chars += m.content_length or 0
        if t is not None and prev_t is not None:
            delta = t - prev_t
            if delta > 0:
                active += min(delta, ACTIVE_GAP_CAP_MS)
                if (m.role == "assistant" and prev is not None and prev.role == "user"
                        and delta <= TURN_CYCLE_MAX_MS):
                    cycles.append(delta)
        if m.timestamp is not None:
            seconds = (m.timestamp - EPOCH) // timedelta(seconds=1)
            quarters[seconds - seconds % QUARTER_S] += 1
        prev, prev_t = m, t

    first_response = None
    asked = next((m for m in msgs if m.role == "user" and m.timestamp is not None), None)
    if asked is not None:
        replied = next((m for m in msgs if m.role == "assistant" and m.timestamp is not None
                        and m.ordinal > asked.ordinal), None)
        if replied is not None:
            first_response = max(0, (replied.timestamp - asked.timestamp)
                                 // timedelta(milliseconds=1))

    tools: Counter[tuple[str, str]] = Counter()
    skills: Counter[str] = Counter()
    for category, name, skill in tool_calls:
        tools[(category, (name or "").strip(" "))] += 1
        if skill:
            skills[skill] += 1
    return {
        "rollup_version": ROLLUP_VERSION,
        "rollup_messages": len(msgs),
        "rollup_user_messages": sum(1 for m in msgs if m.role == "user" and not m.is_system),
        "rollup_assistant_messages": sum(1 for m in msgs if m.role == "assistant"),
        "rollup_thinking_messages": sum(1 for m in msgs if m.has_thinking),
        "rollup_tool_use_messages": sum(1 for m in msgs
                                        if m.role == "assistant" and m.has_tool_use),
        "rollup_tool_calls": sum(tools.values()),
        "rollup_assistant_chars": chars,
        "active_ms": active,
        "first_response_ms": first_response,
        "turn_cycles_ms": _dumps(cycles),
        "rollup_models": _dumps(sorted({m.model for m in msgs if m.model})),
        "rollup_tools": _dumps(sorted(
            [c, n, k] if outcomes is None else _tool_row(c, n, k, outcomes)
            for (c, n), k in tools.items())),
        "message_quarters": _dumps(sorted(quarters.items())),
        "rollup_skills": _dumps(sorted([name, k] for name, k in skills.items())),
        "frustration_marker_count": sum(
            1 for m in msgs
            if m.role == "user" and not m.is_system and is_frustration_marker(m.content or "")),
    }


def _tool_row(category: str, name: str, calls: int, outcomes: SessionSummary) -> list:
    """``[category, name, calls, known, empty, repeated, recovered, tail]`` (module docstring)."""
    _, known, empty, repeated, recovered = outcomes.tools.get((category, name), (0,) * 5)
    tail = outcomes.tail
    code = 0 if tail is None or tail[:2] != (category, name) else 2 if tail[2] else 1
    return [category, name, calls, known, empty, repeated, recovered, code]


def _dumps(value: object) -> str:
    return orjson.dumps(value).decode()


def loads(text: str | None) -> list:
    return orjson.loads(text) if text else []
