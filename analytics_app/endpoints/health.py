"""Session health across the team: grades, outcomes, each signal's rate and calibration, and
the sessions one signal marks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.db.models import Count, F, Q, Sum

from agentsview.api.params import BadParameter, Params
from analytics_app.endpoints.filters import analytics_sessions, local_day, parse_filters
from analytics_app.endpoints.numbers import Number, go_round, ratio
from analytics_app.serializers import SIGNAL_SESSIONS, SIGNALS
from sessions_app.choices import HealthGrade, Outcome, OutcomeConfidence
from sessions_app.models import QUALITY_SIGNAL_COLUMNS, ToolCall

HIGH_PRESSURE = 0.8


# ---------------------------------------------------------------------------------------------
# signals
# ---------------------------------------------------------------------------------------------

# The stored prompt-quality signals and the analytics-only frustration markers: counts, but
# for unstructured_start, a flag (its total counts sessions).
QUALITY_FIELDS = (*QUALITY_SIGNAL_COLUMNS, "frustration_marker_count")
QUALITY_COUNTS = tuple(name for name in QUALITY_FIELDS if name != "unstructured_start")


@dataclass(frozen=True)
class CalibratedSignal:
    """A signal the signals endpoint calibrates: the sessions it marks (``marks``; by
    default those whose ``column`` is above 0), the column signal-sessions ranks them by and
    shows as ``value``, and its name for people (the dashboard)."""

    name: str
    column: str
    label: str
    threshold: Q | None = None

    @property
    def marks(self) -> Q:
        return self.threshold if self.threshold is not None else Q(**{f"{self.column}__gt": 0})


# The calibrated signals, in the order the API lists them.
CALIBRATED_SIGNALS: tuple[CalibratedSignal, ...] = (
    CalibratedSignal("tool_failure_signals", "tool_failure_signal_count", "Tool failures"),
    CalibratedSignal("tool_retries", "tool_retry_count", "Retried tool calls"),
    CalibratedSignal("edit_churn", "edit_churn_count", "Edit churn"),
    CalibratedSignal("sessions_with_compaction", "compaction_count", "Context compacted"),
    CalibratedSignal("mid_task_compaction_count", "mid_task_compaction_count",
                     "Compacted mid-task"),
    CalibratedSignal("high_pressure_sessions", "context_pressure_max", "High context pressure",
                     Q(context_pressure_max__gte=HIGH_PRESSURE)),
    CalibratedSignal("short_prompt_count", "short_prompt_count", "Short prompts"),
    CalibratedSignal("unstructured_start", "unstructured_start", "Unstructured first prompt",
                     Q(unstructured_start=True)),
    CalibratedSignal("missing_success_criteria_count", "missing_success_criteria_count",
                     "No success criteria"),
    CalibratedSignal("missing_verification_count", "missing_verification_count",
                     "No verification asked"),
    CalibratedSignal("duplicate_prompt_count", "duplicate_prompt_count", "Repeated prompts"),
    CalibratedSignal("no_code_context_count", "no_code_context_count", "No code context"),
    CalibratedSignal("runaway_tool_loop_count", "runaway_tool_loop_count",
                     "Runaway tool loop"),
    CalibratedSignal("frustration_marker_count", "frustration_marker_count",
                     "Frustrated prompts"),
)
SIGNAL_PREDICATES: dict[str, Q] = {s.name: s.marks for s in CALIBRATED_SIGNALS}
# The column that measures each signal: what signal-sessions shows as `value` and ranks by.
SIGNAL_VALUES: dict[str, str] = {s.name: s.column for s in CALIBRATED_SIGNALS}
SIGNAL_LABELS: dict[str, str] = {s.name: s.label for s in CALIBRATED_SIGNALS}
INCOMPLETE = (Q(outcome__in=(Outcome.ERRORED, Outcome.ABANDONED))
              | Q(health_grade__in=(HealthGrade.D, HealthGrade.F)))
DISTRIBUTION_VALUES = {"health_grade": tuple(HealthGrade.values),
                       "outcome": tuple(Outcome.values),
                       "outcome_confidence": tuple(OutcomeConfidence.values)}
SCORED = Q(health_score__isnull=False)


def _group_aggregates() -> dict:
    return {"n": Count("id"), "score_sum": Sum("health_score"),
            "scored": Count("id", filter=SCORED),
            "completed": Count("id", filter=Q(outcome=Outcome.COMPLETED)),
            "errored": Count("id", filter=Q(outcome=Outcome.ERRORED)),
            "abandoned": Count("id", filter=Q(outcome=Outcome.ABANDONED)),
            "failures": Sum("tool_failure_signal_count")}


def _avg_score(row: Mapping) -> Number | None:
    return ratio(row["score_sum"], row["scored"]) if row["scored"] else None


def _group_row(key: str, row: Mapping) -> dict:
    return {key: row[key], "session_count": row["n"], "avg_health_score": _avg_score(row),
            "completed_rate": ratio(row["completed"], row["n"], scale=100),
            "avg_failure_signals": ratio(row["failures"] or 0, row["n"])}


def _calibration(row: Mapping) -> dict:
    """Sessions with each signal against those without: incomplete rate and score delta."""
    result = {}
    for name in sorted(SIGNAL_PREDICATES):
        affected, base_n = row[f"{name}__n"], row["n"] - row[f"{name}__n"]
        incomplete = row[f"{name}__incomplete"]
        base_incomplete = row["incomplete"] - incomplete
        a_scored, a_sum = row[f"{name}__scored"], row[f"{name}__score_sum"] or 0
        b_scored, b_sum = row["scored"] - a_scored, (row["score_sum"] or 0) - a_sum
        a_rate = ratio(incomplete, affected, scale=100)
        b_rate = ratio(base_incomplete, base_n, scale=100)
        result[name] = {
            "signal": name,
            "affected_sessions": affected,
            "baseline_sessions": base_n,
            "affected_incomplete_rate": a_rate,
            "baseline_incomplete_rate": b_rate,
            "incomplete_lift": go_round(a_rate / b_rate) if affected and b_rate else None,
            "avg_score_delta": (go_round(a_sum / a_scored - b_sum / b_scored)
                                if a_scored and b_scored else None),
        }
    return result


def signals(params: Mapping[str, str], using: str) -> dict:
    """Health scores, grades, outcomes, tool/context/prompt-quality signals, their trend per
    local day, per agent and per project, and each signal's calibration."""
    f = parse_filters(params)
    base = analytics_sessions(f, using)
    aggregates = {
        **_group_aggregates(),
        "incomplete": Count("id", filter=INCOMPLETE),
        "retries": Sum("tool_retry_count"), "churn": Sum("edit_churn_count"),
        "with_failures": Count("id", filter=Q(tool_failure_signal_count__gt=0)),
        "compactions": Sum("compaction_count"),
        "with_compaction": Count("id", filter=Q(compaction_count__gt=0)),
        "mid_task": Sum("mid_task_compaction_count"),
        "with_mid_task": Count("id", filter=Q(mid_task_compaction_count__gt=0)),
        "with_context": Count("id", filter=Q(context_pressure_max__isnull=False)),
        "pressure_sum": Sum("context_pressure_max"),
        "high_pressure": Count("id", filter=Q(context_pressure_max__gte=HIGH_PRESSURE)),
        "quality": Count("id", filter=Q(quality_signal_version__gt=0)),
    }
    computed = Q(quality_signal_version__gt=0)
    for name in QUALITY_COUNTS:
        aggregates[f"total__{name}"] = Sum(name, filter=computed)
    aggregates["total__unstructured_start"] = Count("id", filter=computed & Q(
        unstructured_start=True))
    for name in QUALITY_FIELDS:
        aggregates[f"with__{name}"] = Count("id", filter=computed & SIGNAL_PREDICATES[name])
    for name, predicate in SIGNAL_PREDICATES.items():
        aggregates[f"{name}__n"] = Count("id", filter=predicate)
        aggregates[f"{name}__incomplete"] = Count("id", filter=predicate & INCOMPLETE)
        aggregates[f"{name}__scored"] = Count("id", filter=predicate & SCORED)
        aggregates[f"{name}__score_sum"] = Sum("health_score", filter=predicate)
    # the grade, outcome and confidence distributions as counts of the same scan (their
    # values come from fixed sets: the scoring writes no other)
    for column, values in DISTRIBUTION_VALUES.items():
        for value in values:
            aggregates[f"dist__{column}__{value}"] = Count("id", filter=Q(**{column: value}))
    row = base.aggregate(**aggregates)
    n = row["n"]
    distributions = {
        column: {value: row[f"dist__{column}__{value}"] for value in sorted(values)
                 if row[f"dist__{column}__{value}"]}
        for column, values in DISTRIBUTION_VALUES.items()
    }
    trend = (base.annotate(day=local_day("_start", f.timezone)).values("day")
             .annotate(**_group_aggregates()).order_by("day"))
    # per agent and per project from one grouped scan: every aggregate is a count or a sum
    agents: dict[str, dict] = {}
    projects: dict[str, dict] = {}
    for r in base.values("agent", "project").annotate(**_group_aggregates()).order_by():
        for key, groups in (("agent", agents), ("project", projects)):
            total = groups.setdefault(r[key], {key: r[key]})
            for name, value in r.items():
                if name not in ("agent", "project"):
                    total[name] = total.get(name, 0) + (value or 0)
    by_agent = [agents[name] for name in sorted(agents)]
    by_project = sorted((_group_row("project", r) for r in projects.values()),
                        key=lambda r: (-r["session_count"], r["project"]))
    quality = row["quality"]
    return SIGNALS.dump({
        "scored_sessions": row["scored"],
        "unscored_sessions": n - row["scored"],
        "grade_distribution": dict(sorted(distributions["health_grade"].items())),
        "avg_health_score": _avg_score(row),
        "outcome_distribution": dict(sorted(distributions["outcome"].items())),
        "outcome_confidence_distribution": dict(sorted(
            distributions["outcome_confidence"].items())),
        "tool_health": {
            "total_failure_signals": row["failures"] or 0,
            "total_retries": row["retries"] or 0,
            "total_edit_churn": row["churn"] or 0,
            "sessions_with_failures": row["with_failures"],
            "failure_rate": ratio(row["with_failures"], n, scale=100),
        },
        "context_health": {
            "avg_compaction_count": ratio(row["compactions"] or 0, n),
            "sessions_with_compaction": row["with_compaction"],
            "mid_task_compaction_count": row["mid_task"] or 0,
            "sessions_with_mid_task_compaction": row["with_mid_task"],
            "sessions_with_context_data": row["with_context"],
            "avg_context_pressure": (ratio(row["pressure_sum"], row["with_context"], digits=3)
                                     if row["with_context"] else None),
            "high_pressure_sessions": row["high_pressure"],
        },
        "quality_health": {
            "computed_sessions": quality,
            "totals": {name: row[f"total__{name}"] or 0 for name in QUALITY_FIELDS},
            "sessions_with_signal": {name: row[f"with__{name}"] for name in QUALITY_FIELDS},
        },
        "trend": [{"date": r["day"].isoformat(), "session_count": r["n"],
                   "avg_health_score": _avg_score(r), "completed": r["completed"],
                   "errored": r["errored"], "abandoned": r["abandoned"],
                   "avg_failure_signals": ratio(r["failures"] or 0, r["n"])} for r in trend],
        "by_agent": [_group_row("agent", r) for r in by_agent],
        "by_project": by_project,
        "calibration": _calibration(row),
    })


# ---------------------------------------------------------------------------------------------
# signal-sessions, skills
# ---------------------------------------------------------------------------------------------

SIGNAL_SESSIONS_LIMIT = 50
SIGNAL_SESSIONS_MAX = 500


def signal_sessions(params: Mapping[str, str], using: str) -> dict:
    """The sessions one calibrated signal marks (``signal``, a key of ``signals``'
    calibration), the strongest first: what a lead opens after seeing a signal's rate."""
    f = parse_filters(params)
    p = Params(params)
    name = p.text("signal") or ""
    if name not in SIGNAL_PREDICATES:
        raise BadParameter("signal", name,
                           f'unsupported signal; expected one of "{", ".join(SIGNAL_VALUES)}"')
    limit = p.integer("limit", minimum=1, maximum=SIGNAL_SESSIONS_MAX,
                      default=SIGNAL_SESSIONS_LIMIT)
    offset = p.integer("offset", minimum=0, default=0)
    categories, tools = p.items("tool_category"), p.items("tool_name")
    column = SIGNAL_VALUES[name]
    affected = analytics_sessions(f, using).filter(SIGNAL_PREDICATES[name])
    if categories or tools:  # sessions that called these tools (AgentsView's drilldown)
        calls = ToolCall.objects.using(using)
        if categories:
            calls = calls.filter(category__in=categories)
        if tools:
            calls = calls.filter(tool_name__in=tools)
        affected = affected.filter(id__in=calls.values("session_id"))
    total = affected.count()
    rows = affected.order_by(F(column).desc(), F("_start").desc(), "id")[offset:offset + limit]
    # the session rows as they are; each one's `value` is its *column* (the dump's context)
    return SIGNAL_SESSIONS.dump({"signal": name, "total": total, "sessions": rows},
                                SignalContext(name, column, f.timezone))


@dataclass(frozen=True)
class SignalContext:
    """What the signal-sessions rows are dumped with: the signal, its column, the zone of
    each row's ``date``."""

    signal: str
    column: str
    zone: object
