"""Context pressure (section 4.3): context windows, the dominant model, compactions."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from analytics_app.scoring.inputs import SignalMessage, SignalToolCall

# The window table of the spec (AgentsView v0.46.1), exactly.
REFERENCE_CONTEXT_WINDOWS: dict[str, int] = {
    "claude-opus-4-6": 1_000_000,
    "claude-sonnet-4-6": 200_000,
    "claude-sonnet-4-5": 200_000,
    "claude-haiku-4-5": 200_000,
    "claude-3-5-sonnet": 200_000,
    "claude-3-opus": 200_000,
    "claude-3-haiku": 200_000,
    "gpt-4o": 128_000,
    "gpt-4o-mini": 128_000,
    "gpt-4-turbo": 128_000,
    "o3": 200_000,
    "o4-mini": 200_000,
    "gemini-2.5-pro": 1_000_000,
    "gemini-2.5-flash": 1_000_000,
    "gemini-2.0-flash": 1_000_000,
}

CONTEXT_WINDOWS: dict[str, int] = {
    **REFERENCE_CONTEXT_WINDOWS,
    # Beyond the spec (the reference leaves these models without a window, so their
    # context_pressure_max is NULL there): current model families, matched by prefix + "-".
    # The more specific spec entries (claude-opus-4-6, claude-sonnet-4-5/4-6) still win.
    "claude-opus-4": 200_000,  # beyond the spec: claude-opus-4-*, e.g. claude-opus-4-1-2025…
    "claude-sonnet-4": 200_000,  # beyond the spec: claude-sonnet-4-*, e.g. -4-20250514
    "gpt-5": 400_000,  # beyond the spec
    "gpt-5-codex": 400_000,  # beyond the spec (gpt-5-codex-mini matches it by prefix)
}


def context_window(model: str, table: Mapping[str, int] | None = None) -> int | None:
    """Window size for ``model``: exact match, else the longest key followed by ``-``."""
    table = CONTEXT_WINDOWS if table is None else table
    if not model:
        return None
    if model in table:
        return table[model]
    best = ""
    for key in table:
        if len(key) > len(best) and model.startswith(key) and model[len(key)] == "-":
            best = key
    return table[best] if best else None


def dominant_model(messages: Iterable[SignalMessage]) -> str:
    """Most frequent non-empty assistant model; ties go to the one seen first."""
    counts = Counter(m.model for m in messages if m.role == "assistant" and m.model)
    if not counts:
        return ""
    top = max(counts.values())
    return next(model for model, n in counts.items() if n == top)  # insertion = first seen


def count_compactions(messages: Sequence[SignalMessage]) -> int:
    """Explicit compact boundaries if any; else assistant context drops below 70 % of the
    previous assistant value (both with context data)."""
    boundaries = sum(1 for m in messages if m.is_compact_boundary)
    if boundaries:
        return boundaries
    drops = 0
    previous: int | None = None
    for m in messages:
        if m.role != "assistant" or not m.has_context_tokens:
            continue
        # Interpretation: a previous value of 0 cannot be dropped from (the reference skips it).
        if previous and m.context_tokens < previous * 0.7:
            drops += 1
        previous = m.context_tokens
    return drops


def count_mid_task_compactions(
    boundary_ordinals: Sequence[int], calls: Sequence[SignalToolCall]
) -> int:
    """Boundaries where the last <= 10 tool names before and the first <= 5 after share >= 2
    distinct names (calls strictly before / after the boundary's ordinal)."""
    count = 0
    for boundary in boundary_ordinals:
        before = {c.tool_name for c in [c for c in calls if c.message_ordinal < boundary][-10:]}
        after = {c.tool_name for c in [c for c in calls if c.message_ordinal > boundary][:5]}
        if len(before & after) >= 2:
            count += 1
    return count


def context_pressure(
    peak_context_tokens: int, model: str, table: Mapping[str, int] | None = None
) -> float | None:
    """``peak / window(model)``; None for an unknown model or a peak <= 0."""
    window = context_window(model, table)
    if peak_context_tokens <= 0 or not window:
        return None
    return peak_context_tokens / window
