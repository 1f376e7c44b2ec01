"""Session signals as stored columns: computed when a session is written, and recomputed
later, from the stored rows, for sessions whose outcome had to wait (the last activity was
under 10 minutes old), when the ``[automated]`` rules change, and when ``SCORING_VERSION``
does."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path

import orjson
from django.db import transaction
from django.db.models import Q

from agentsview.config import Config
from analytics_app import tool_outcomes
from analytics_app.scoring import (
    RECENCY_WINDOW,
    AutomatedRules,
    SignalInput,
    SignalMessage,
    SignalToolCall,
    compute,
    from_parsed,
    rollups,
    version,
)
from sessions_app.models import Message, Session, ToolCall, ToolResultEvent
from sessions_app.parsers.base import ParsedSession
from sessions_app.rows import EVENT_COLUMNS, MESSAGE_COLUMNS, TOOL_CALL_COLUMNS

# What the rollups read of a tool call: the rollup's own fields, then what the outcome summary
# reads (``tool_outcomes.Call`` without the status); and of a result event, its call's key and
# its status, in event order.
_CALL_FIELDS = (*rollups.TOOL_CALL_FIELDS, "message_ordinal", "call_index", "tool_name",
                "category", "input_json", "result_content", "result_content_length")
_EVENT_FIELDS = ("tool_call_message_ordinal", "call_index", "event_index", "status")
_MESSAGE_AT = [MESSAGE_COLUMNS.index(name) for name in rollups.MESSAGE_FIELDS]
_CALL_AT = [TOOL_CALL_COLUMNS.index(name) for name in _CALL_FIELDS]
_EVENT_AT = [EVENT_COLUMNS.index(name) for name in _EVENT_FIELDS]
_ROLLUP_WIDTH = len(rollups.TOOL_CALL_FIELDS)


def rules_of(config: Config) -> AutomatedRules:
    return AutomatedRules(
        prefixes=config.automated_prefixes,
        substrings=config.automated_substrings,
        exact_matches=config.automated_exact_matches,
    )


def _columns(inp: SignalInput, rules: AutomatedRules, now: datetime) -> dict:
    columns = compute(inp, now=now, rules=rules).as_columns()
    columns["signals_pending_since"] = now if columns.pop("pending") else None
    return columns


def signal_columns(parsed: ParsedSession, rules: AutomatedRules, now: datetime) -> dict:
    """The signal columns of a freshly parsed session."""
    return _columns(from_parsed(parsed), rules, now)


def _rollups(messages: Iterable[Sequence[object]], calls: Sequence[Sequence[object]],
             events: Iterable[Sequence[object]]) -> dict:
    """The rollups from message rows (``rollups.MESSAGE_FIELDS``), call rows (``_CALL_FIELDS``)
    and result event rows (``_EVENT_FIELDS``), with the outcome summary of the calls, each
    with the status of its last result event."""
    last_status: dict[tuple[object, object], str] = {}
    for ordinal, index, _, status in sorted(events, key=lambda e: (e[0], e[1], e[2])):
        last_status[(ordinal, index)] = status or ""
    w = _ROLLUP_WIDTH
    ordered = sorted(calls, key=lambda c: (c[w], c[w + 1]))
    summary = tool_outcomes.summarize(
        tool_outcomes.Call(c[w], c[w + 2], c[w + 3], c[w + 4] or "", c[w + 5], c[w + 6],
                           last_status.get((c[w], c[w + 1]), ""))
        for c in ordered)
    return rollups.compute(messages, (c[:w] for c in calls), summary)


def rollup_columns(message_rows: list[tuple], tool_call_rows: list[tuple],
                   event_rows: list[tuple]) -> dict:
    """The analytics rollups of a session from the rows about to be stored."""
    return _rollups(
        ([row[i] for i in _MESSAGE_AT] for row in message_rows),
        [[row[i] for i in _CALL_AT] for row in tool_call_rows],
        ([row[i] for i in _EVENT_AT] for row in event_rows),
    )


def stored_rollups(session_id: str, using: str = "default") -> dict:
    """The analytics rollups of a stored session, from its stored rows."""
    return _rollups(
        Message.objects.using(using).filter(session_id=session_id)
        .values_list(*rollups.MESSAGE_FIELDS),
        list(ToolCall.objects.using(using).filter(session_id=session_id)
             .values_list(*_CALL_FIELDS)),
        ToolResultEvent.objects.using(using).filter(session_id=session_id)
        .values_list(*_EVENT_FIELDS),
    )


def backfill_rollups(now: datetime, *, using: str = "default") -> int:
    """Compute the rollups of sessions stored before them (or by an older rollup version)
    from their stored rows; they are pushed at the next push like any change."""
    stale = Session.objects.using(using).exclude(rollup_version=rollups.ROLLUP_VERSION)
    updated = 0
    for session_id in stale.values_list("id", flat=True).iterator():
        columns = stored_rollups(session_id, using)
        Session.objects.using(using).filter(pk=session_id).update(**columns,
                                                                  local_modified_at=now)
        updated += 1
    return updated


def _stored_input(session: Session, using: str) -> SignalInput:
    """Rebuild the signals' input from a session's stored rows (no re-parse needed)."""
    messages = [
        SignalMessage(m.ordinal, m.role, m.content, m.is_system, m.is_compact_boundary, m.model,
                      m.context_tokens, m.has_context_tokens, m.timestamp)
        for m in Message.objects.using(using).filter(session_id=session.id).order_by("ordinal")
    ]
    last_status: dict[tuple[int, int], str] = {}
    for ordinal, index, status in (
        ToolResultEvent.objects.using(using).filter(session_id=session.id)
        .order_by("tool_call_message_ordinal", "call_index", "event_index")
        .values_list("tool_call_message_ordinal", "call_index", "status")
    ):
        last_status[(ordinal, index)] = status
    calls = [
        SignalToolCall(c.message_ordinal, c.call_index, c.tool_name, c.category, c.input_json,
                       c.result_content or "", last_status.get((c.message_ordinal, c.call_index),
                                                               ""))
        for c in ToolCall.objects.using(using).filter(session_id=session.id)
        .order_by("message_ordinal", "call_index")
    ]
    return SignalInput(
        messages=messages, tool_calls=calls, message_count=session.message_count,
        user_message_count=session.user_message_count, first_message=session.first_message,
        peak_context_tokens=session.peak_context_tokens, ended_at=session.ended_at,
        session_kind=session.session_kind, agent=session.agent,
    )


def _recompute(sessions, rules: AutomatedRules, now: datetime, using: str) -> int:
    updated = 0
    for session in sessions.iterator():
        columns = _columns(_stored_input(session, using), rules, now)
        with transaction.atomic(using=using):
            Session.objects.using(using).filter(pk=session.pk).update(
                **columns, local_modified_at=now
            )
        updated += 1
    return updated


def _fingerprint(rules: AutomatedRules) -> str:
    rules_json = orjson.dumps([rules.prefixes, rules.substrings, rules.exact_matches])
    return hashlib.sha256(rules_json).hexdigest()


def apply_rule_changes(rules: AutomatedRules, marker: Path, now: datetime, *,
                       using: str = "default") -> int:
    """When the ``[automated]`` rules differ from those of the last sync (fingerprint kept in
    *marker*), recompute the signals of the sessions they can affect (one prompt or fewer,
    or already automated), so that editing config.toml takes effect without a full re-sync.
    Sessions written since are computed with the current rules anyway."""
    fingerprint = _fingerprint(rules)
    try:
        previous = marker.read_text().strip()
    except OSError:
        previous = _fingerprint(AutomatedRules())  # no marker yet: built-in rules only
    if previous == fingerprint:
        return 0
    affected = Session.objects.using(using).filter(
        Q(user_message_count__lte=1) | Q(is_automated=True)
    )
    updated = _recompute(affected, rules, now, using)
    marker.write_text(fingerprint + "\n")
    return updated


def recompute_pending(rules: AutomatedRules, now: datetime, *, using: str = "default") -> int:
    """Give the sessions whose outcome was waiting their final signals, once their last
    activity is more than 10 minutes old. Returns how many were updated."""
    waiting = Session.objects.using(using).filter(
        signals_pending_since__isnull=False, ended_at__lt=now - RECENCY_WINDOW
    )
    return _recompute(waiting, rules, now, using)


def rescore_outdated(rules: AutomatedRules, now: datetime, *, using: str = "default") -> int:
    """Recompute the signals of every session scored by another ``SCORING_VERSION`` than this
    one, from its stored rows (no transcript is re-read, so sessions whose files are gone are
    re-scored too); they are pushed at the next push like any change. Returns how many."""
    outdated = Session.objects.using(using).exclude(
        quality_signal_version=version.SCORING_VERSION
    )
    return _recompute(outdated, rules, now, using)
