"""How a session is scored: its signals and health score (section 4 of the behaviour spec), and
its analytics rollups, both computed when a session is written.

Pure Python: no ORM, no database, no settings. The sync calls ``compute`` for every session it
writes and stores ``Signals.as_columns()`` on the session row; ``score(ScoreInput.from_columns(
row))`` rebuilds the score breakdown from those columns. A session scored by another
``SCORING_VERSION`` is re-scored from its stored rows at the next sync.

One module per section of the spec: ``inputs`` (4.1), ``tool_health`` (4.2), ``context``
(4.3), ``outcome`` (4.4), ``quality`` (4.5), ``health`` (4.6, the penalty table), ``automated``
(4.7), ``compute`` (all of them together), and ``rollups`` (the analytics' per-session
figures). Where the spec leaves a choice open, the reading taken is written next to the rule,
marked "Interpretation:".
"""

from __future__ import annotations

from analytics_app.scoring.automated import (
    BUILTIN_AUTOMATED_EXACT_MATCHES,
    BUILTIN_AUTOMATED_PREFIXES,
    BUILTIN_AUTOMATED_SUBSTRINGS,
    is_automated,
    is_automated_prompt,
)
from analytics_app.scoring.compute import Signals, compute
from analytics_app.scoring.context import (
    CONTEXT_WINDOWS,
    REFERENCE_CONTEXT_WINDOWS,
    context_pressure,
    context_window,
    count_compactions,
    count_mid_task_compactions,
    dominant_model,
)
from analytics_app.scoring.health import (
    PENALTIES,
    PENALTY_LABELS,
    Penalty,
    ScoreInput,
    ScoreResult,
    grade_for,
    score,
)
from analytics_app.scoring.inputs import (
    NO_RULES,
    AutomatedRules,
    SignalInput,
    SignalMessage,
    SignalToolCall,
    from_parsed,
)
from analytics_app.scoring.outcome import RECENCY_WINDOW, OutcomeVerdict, classify_outcome
from analytics_app.scoring.quality import (
    QualitySignals,
    has_file_ref,
    has_runaway_tool_loop,
    is_context_tool_call,
    is_frustration_marker,
    normalize_prompt,
    prompt_tokens,
    quality_signals,
)
from analytics_app.scoring.tool_health import ToolHealth, is_tool_failure, tool_health
from analytics_app.scoring.version import SCORING_VERSION

__all__ = [
    "BUILTIN_AUTOMATED_EXACT_MATCHES",
    "BUILTIN_AUTOMATED_PREFIXES",
    "BUILTIN_AUTOMATED_SUBSTRINGS",
    "CONTEXT_WINDOWS",
    "NO_RULES",
    "PENALTIES",
    "PENALTY_LABELS",
    "RECENCY_WINDOW",
    "REFERENCE_CONTEXT_WINDOWS",
    "SCORING_VERSION",
    "AutomatedRules",
    "OutcomeVerdict",
    "Penalty",
    "QualitySignals",
    "ScoreInput",
    "ScoreResult",
    "SignalInput",
    "SignalMessage",
    "SignalToolCall",
    "Signals",
    "ToolHealth",
    "classify_outcome",
    "compute",
    "context_pressure",
    "context_window",
    "count_compactions",
    "count_mid_task_compactions",
    "dominant_model",
    "from_parsed",
    "grade_for",
    "has_file_ref",
    "has_runaway_tool_loop",
    "is_automated",
    "is_automated_prompt",
    "is_context_tool_call",
    "is_frustration_marker",
    "is_tool_failure",
    "normalize_prompt",
    "prompt_tokens",
    "quality_signals",
    "score",
    "tool_health",
]
