"""The health score (section 4.6): 100 minus the penalties of one declared table, floored at 0,
with its grade and the basis it was judged on."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from analytics_app.scoring.quality import QualitySignals
from sessions_app.choices import HealthGrade, Outcome, OutcomeConfidence


@dataclass(frozen=True)
class ScoreInput:
    outcome: str = Outcome.UNKNOWN
    outcome_confidence: str = OutcomeConfidence.LOW
    has_tool_calls: bool = False
    failure_signal_count: int = 0
    retry_count: int = 0
    edit_churn_count: int = 0
    consecutive_failure_max: int = 0
    has_context_data: bool = False
    compaction_count: int = 0
    mid_task_compaction_count: int = 0
    context_pressure_max: float | None = None
    quality: QualitySignals = field(default_factory=QualitySignals)

    @classmethod
    def from_columns(cls, row: Mapping[str, Any]) -> ScoreInput:
        """From persisted session columns (the names of ``Signals.as_columns``)."""
        return cls(
            outcome=row.get("outcome") or Outcome.UNKNOWN,
            outcome_confidence=row.get("outcome_confidence") or OutcomeConfidence.LOW,
            has_tool_calls=bool(row.get("has_tool_calls")),
            failure_signal_count=row.get("tool_failure_signal_count") or 0,
            retry_count=row.get("tool_retry_count") or 0,
            edit_churn_count=row.get("edit_churn_count") or 0,
            consecutive_failure_max=row.get("consecutive_failure_max") or 0,
            has_context_data=bool(row.get("has_context_data")),
            compaction_count=row.get("compaction_count") or 0,
            mid_task_compaction_count=row.get("mid_task_compaction_count") or 0,
            context_pressure_max=row.get("context_pressure_max"),
            quality=QualitySignals.from_columns(row),
        )


# --- the penalties ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Penalty:
    """One row of the 4.6 table: ``weight × times(input)`` points, at most ``cap``; a penalty
    worth 0 points is left out of ``health_penalties``."""

    name: str  # the key in health_penalties
    weight: int
    cap: int | None  # None: the weight is all it can cost
    times: Callable[[ScoreInput], int]  # how often it applies (a bool counts as once)
    label: str  # what it means, for people (``health <id>``)

    def points(self, inp: ScoreInput) -> int:
        value = self.weight * self.times(inp)
        return value if self.cap is None else min(value, self.cap)


def _is_struggling(inp: ScoreInput) -> bool:
    return (
        inp.outcome in (Outcome.ERRORED, Outcome.ABANDONED)
        or inp.failure_signal_count > 0
        or inp.retry_count > 0
        or inp.consecutive_failure_max >= 3
        or inp.quality.runaway_tool_loop_count > 0
    )


# In the order of the spec's table, which is the order of health_penalties.
PENALTIES: tuple[Penalty, ...] = (
    Penalty("outcome_errored", 30, None, lambda i: i.outcome == Outcome.ERRORED,
            "ended in an error"),
    Penalty("outcome_abandoned", 15, None, lambda i: i.outcome == Outcome.ABANDONED,
            "abandoned"),
    Penalty("tool_failure_signals", 3, 30, lambda i: i.failure_signal_count,
            "tool calls failed"),
    Penalty("tool_retries", 5, 25, lambda i: i.retry_count,
            "tool calls retried"),
    Penalty("edit_churn", 4, 20, lambda i: i.edit_churn_count,
            "same file edited over and over"),
    Penalty("consecutive_failures", 10, None, lambda i: i.consecutive_failure_max >= 3,
            "failures in a row"),
    # the first compaction is free
    Penalty("compactions", 5, 15,
            lambda i: i.compaction_count - 1 if i.compaction_count >= 2 else 0,
            "context compacted"),
    Penalty("mid_task_compactions", 8, 18, lambda i: i.mid_task_compaction_count,
            "context compacted mid-task"),
    Penalty("context_pressure_high", 10, None,
            lambda i: i.context_pressure_max is not None and i.context_pressure_max > 0.9,
            "context window over 90% full"),
    Penalty("constraintless_first_prompt", 1, None, lambda i: i.quality.unstructured_start,
            "first prompt without constraints"),
    Penalty("missing_success_criteria", 1, None,
            lambda i: i.quality.missing_success_criteria_count > 0
            and i.quality.unstructured_start,
            "no success criteria given"),
    Penalty("stuck_repeated_prompts", 2, 4,
            lambda i: i.quality.duplicate_prompt_count if _is_struggling(i) else 0,
            "same prompt repeated while stuck"),
    Penalty("code_task_without_context", 4, None, lambda i: i.quality.no_code_context_count > 0,
            "code task without file or code context"),
    Penalty("repeated_failing_tool_cycles", 5, 5, lambda i: i.quality.runaway_tool_loop_count,
            "a failing tool loop"),
)

PENALTY_LABELS: dict[str, str] = {p.name: p.label for p in PENALTIES}


# --- the score --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScoreResult:
    score: int | None  # None = not scored
    grade: HealthGrade | None
    basis: list[str]  # [] when not scored
    penalties: dict[str, int]  # {} when none
    baseline: int | None  # score from outcome/tool/context penalties only
    delta: int | None  # score - baseline


def grade_for(value: int) -> HealthGrade:
    if value >= 90:
        return HealthGrade.A
    if value >= 75:
        return HealthGrade.B
    if value >= 60:
        return HealthGrade.C
    if value >= 40:
        return HealthGrade.D
    return HealthGrade.F


def _basis(inp: ScoreInput) -> list[str]:
    basis = ["outcome"]
    if inp.has_tool_calls:
        basis.append("tool_health")
    if inp.has_context_data:
        basis.append("context_pressure")
    if inp.quality.has_prompt_quality:
        basis.append("prompt_quality")
    if inp.quality.no_code_context_count > 0:
        basis.append("context_quality")
    if inp.quality.runaway_tool_loop_count > 0:
        basis.append("workflow_quality")
    return basis


def _penalties(inp: ScoreInput, table: Sequence[Penalty]) -> dict[str, int]:
    """The table's penalties in its order; zero penalties are left out."""
    points = ((penalty.name, penalty.points(inp)) for penalty in table)
    return {name: value for name, value in points if value > 0}


def _score_only(
    inp: ScoreInput, table: Sequence[Penalty]
) -> tuple[int | None, list[str], dict[str, int]]:
    basis = _basis(inp)
    if (inp.outcome == Outcome.UNKNOWN and inp.outcome_confidence == OutcomeConfidence.LOW
            and basis == ["outcome"]):
        return None, [], {}
    penalties = _penalties(inp, table)
    return max(0, 100 - sum(penalties.values())), basis, penalties


def score(inp: ScoreInput, penalties: Sequence[Penalty] = PENALTIES) -> ScoreResult:
    """Health score (100 - penalties, floored at 0), grade, basis and penalties (4.6), with
    the penalties of *penalties* (the spec's table unless told).

    Not scored (score/grade None, basis [], penalties {}) when the outcome is unknown with low
    confidence and nothing but the outcome is there to judge.

    ``baseline`` is the score of the same input with every prompt/workflow-quality heuristic
    zeroed, i.e. from the outcome, tool and context penalties only; ``delta = score -
    baseline``. Zeroing the heuristics also drops prompt_quality/context_quality/
    workflow_quality from the basis, so an unknown/low session without tool calls or context
    data has no baseline (None) even when its heuristics make it scored, and the delta is then
    None too (golden vector "repeated prompts cap low confidence score delta").
    """
    value, basis, points = _score_only(inp, penalties)
    baseline, _, _ = _score_only(replace(inp, quality=QualitySignals()), penalties)
    return ScoreResult(
        score=value,
        grade=None if value is None else grade_for(value),
        basis=basis,
        penalties=points,
        baseline=baseline,
        delta=None if value is None or baseline is None else value - baseline,
    )
