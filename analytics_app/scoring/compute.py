"""A session's signals, all together: the ``Signals`` row stored on the session, and
``compute`` that fills it from a ``SignalInput``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from typing import Any

from analytics_app.scoring import version
from analytics_app.scoring.automated import is_automated
from analytics_app.scoring.context import (
    context_pressure,
    count_compactions,
    count_mid_task_compactions,
    dominant_model,
)
from analytics_app.scoring.health import ScoreInput, score
from analytics_app.scoring.inputs import NO_RULES, AutomatedRules, SignalInput, SignalMessage
from analytics_app.scoring.outcome import classify_outcome
from analytics_app.scoring.quality import QualitySignals, quality_signals
from analytics_app.scoring.tool_health import tool_health
from sessions_app.choices import HealthGrade, Outcome, OutcomeConfidence


def _scoring_version() -> int:
    return version.SCORING_VERSION


@dataclass
class Signals:
    """Everything persisted on the session row (field names are the column names)."""

    is_automated: bool = False
    has_tool_calls: bool = False
    has_context_data: bool = False
    tool_failure_signal_count: int = 0
    tool_retry_count: int = 0
    edit_churn_count: int = 0
    consecutive_failure_max: int = 0
    final_failure_streak: int = 0
    compaction_count: int = 0
    mid_task_compaction_count: int = 0
    context_pressure_max: float | None = None
    outcome: Outcome = Outcome.UNKNOWN
    outcome_confidence: OutcomeConfidence = OutcomeConfidence.LOW
    ended_with_role: str = ""
    pending: bool = False
    health_score: int | None = None
    health_grade: HealthGrade | None = None
    health_score_basis: list[str] = field(default_factory=list)
    health_penalties: dict[str, int] = field(default_factory=dict)
    quality_signal_version: int = field(default_factory=_scoring_version)
    quality: QualitySignals = field(default_factory=QualitySignals)  # stored flat, one column each

    def as_columns(self) -> dict[str, Any]:
        columns = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "quality"}
        return {**columns, **asdict(self.quality)}

    def quality_signals(self) -> dict[str, Any]:
        """The API's ``quality_signals`` object."""
        return {"version": self.quality_signal_version, **asdict(self.quality)}


def _first_user_text(messages: Sequence[SignalMessage]) -> str:
    for m in messages:
        if m.role == "user" and not m.is_system and m.content.strip():
            return m.content
    return ""


def compute(
    inp: SignalInput,
    *,
    now: datetime,
    rules: AutomatedRules = NO_RULES,
    context_windows: Mapping[str, int] | None = None,
) -> Signals:
    """All signals of one session. ``now`` (timezone-aware) drives the 10-minute recency rule;
    ``context_windows`` replaces the window table (default ``CONTEXT_WINDOWS``)."""
    messages = sorted(inp.messages, key=lambda m: m.ordinal)
    calls = list(inp.tool_calls)

    # 4.7: the first real user message, or the stored first_message, may match.
    automated = is_automated(
        inp.first_message, inp.user_message_count, inp.session_kind, inp.agent, rules
    ) or is_automated(
        _first_user_text(messages), inp.user_message_count, inp.session_kind, inp.agent, rules
    )

    health = tool_health(calls)
    compactions = count_compactions(messages)

    boundaries = [m.ordinal for m in messages if m.is_compact_boundary]
    mid_task = count_mid_task_compactions(boundaries, calls)
    pressure = context_pressure(
        inp.peak_context_tokens, dominant_model(messages), context_windows
    )
    has_context_data = inp.peak_context_tokens > 0 or any(
        m.has_context_tokens for m in messages
    )

    last = next((m for m in reversed(messages) if not m.is_system), None)
    ended_with_role = last.role if last else ""
    verdict = classify_outcome(
        is_automated=automated,
        message_count=inp.message_count,
        ended_with_role=ended_with_role,
        last_text=last.content if last else "",
        final_failure_streak=health.final_failure_streak,
        ended_at=inp.ended_at,
        now=now,
    )

    quality = quality_signals(messages, calls)
    result = score(
        ScoreInput(
            outcome=verdict.outcome,
            outcome_confidence=verdict.confidence,
            has_tool_calls=bool(calls),
            failure_signal_count=health.failure_count,
            retry_count=health.retry_count,
            edit_churn_count=health.edit_churn_count,
            consecutive_failure_max=health.consecutive_failure_max,
            has_context_data=has_context_data,
            compaction_count=compactions,
            mid_task_compaction_count=mid_task,
            context_pressure_max=pressure,
            quality=quality,
        )
    )
    return Signals(
        is_automated=automated,
        has_tool_calls=bool(calls),
        has_context_data=has_context_data,
        tool_failure_signal_count=health.failure_count,
        tool_retry_count=health.retry_count,
        edit_churn_count=health.edit_churn_count,
        consecutive_failure_max=health.consecutive_failure_max,
        final_failure_streak=health.final_failure_streak,
        compaction_count=compactions,
        mid_task_compaction_count=mid_task,
        context_pressure_max=pressure,
        outcome=verdict.outcome,
        outcome_confidence=verdict.confidence,
        ended_with_role=ended_with_role,
        pending=verdict.pending,
        health_score=result.score,
        health_grade=result.grade,
        health_score_basis=result.basis,
        health_penalties=result.penalties,
        quality=quality,
    )
