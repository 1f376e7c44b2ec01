"""The outcome of a session (section 4.4): completed, abandoned, errored or unknown, with a
confidence, or a verdict that has to wait while the session may still be going on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sessions_app.choices import Outcome, OutcomeConfidence

RECENCY_WINDOW = timedelta(minutes=10)

GIVE_UP_PHRASES = (
    "i'm unable to", "i can't proceed", "i don't have access", "i cannot proceed",
    "i am unable to",
)


@dataclass(frozen=True)
class OutcomeVerdict:
    outcome: Outcome
    confidence: OutcomeConfidence
    pending: bool = False  # last activity within RECENCY_WINDOW: recompute later


_UNKNOWN = OutcomeVerdict(Outcome.UNKNOWN, OutcomeConfidence.LOW)
_WAITING = OutcomeVerdict(Outcome.UNKNOWN, OutcomeConfidence.LOW, pending=True)


def _is_recent(ended_at: datetime | None, now: datetime) -> bool:
    # No last-activity time means "not recent" (nothing to wait for).
    return ended_at is not None and now - ended_at < RECENCY_WINDOW


def classify_outcome(
    *,
    is_automated: bool,
    message_count: int,
    ended_with_role: str,
    last_text: str,
    final_failure_streak: int,
    ended_at: datetime | None,
    now: datetime,
) -> OutcomeVerdict:
    """Rules 1-9 of 4.4, first match wins. ``last_text`` = content of the last non-system
    message (the last assistant text when ``ended_with_role`` is assistant)."""
    recent = _is_recent(ended_at, now)
    if is_automated:
        return _UNKNOWN
    if ended_with_role == "assistant" and last_text.strip().lower().startswith("api error:"):
        return _WAITING if recent else OutcomeVerdict(Outcome.ERRORED, OutcomeConfidence.MEDIUM)
    if message_count == 2 and ended_with_role == "assistant":
        return OutcomeVerdict(Outcome.COMPLETED, OutcomeConfidence.MEDIUM)
    if message_count < 3:
        return _UNKNOWN
    if recent:
        return _WAITING
    if ended_with_role == "user":
        confidence = OutcomeConfidence.HIGH if message_count >= 10 else OutcomeConfidence.MEDIUM
        return OutcomeVerdict(Outcome.ABANDONED, confidence)
    if final_failure_streak >= 3:
        return OutcomeVerdict(Outcome.ERRORED, OutcomeConfidence.MEDIUM)
    if ended_with_role == "assistant":
        lowered = last_text.lower()
        gave_up = any(p in lowered for p in GIVE_UP_PHRASES)
        confidence = OutcomeConfidence.LOW if gave_up else OutcomeConfidence.MEDIUM
        return OutcomeVerdict(Outcome.COMPLETED, confidence)
    return _UNKNOWN
