"""Tool health (section 4.2): which calls failed, failure streaks, retries and edit churn."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from analytics_app.scoring.inputs import SignalToolCall

FAILURE_STATUSES = frozenset({"errored", "cancelled"})
_GOROUTINE_RE = re.compile(r"goroutine \d+", re.ASCII)
_EXIT_STATUS_RE = re.compile(r"exit (?:status|code) [1-9]\d*", re.ASCII)
_PY_TRACEBACK = "Traceback (most recent call last)"
_EXIT_COMPANIONS = ("command not found", "No such file", "Permission denied", "fatal:", "panic:")


def _has_js_stack(content: str) -> bool:
    """Three or more consecutive lines starting with two spaces + ``at ``."""
    run = 0
    for line in content.split("\n"):
        run = run + 1 if line.startswith("  at ") else 0
        if run >= 3:
            return True
    return False


def _has_stack_trace(content: str) -> bool:
    return (
        _PY_TRACEBACK in content
        or _GOROUTINE_RE.search(content) is not None
        or _has_js_stack(content)
    )


def _is_bash_failure(content: str) -> bool:
    if "command not found" in content or "Permission denied" in content:
        return True
    if _has_stack_trace(content):
        return True
    if _EXIT_STATUS_RE.search(content):
        return any(c in content for c in _EXIT_COMPANIONS)
    return False


def is_tool_failure(call: SignalToolCall) -> bool:
    """A result event status decides when there is one; otherwise content heuristics."""
    if call.event_status:
        return call.event_status in FAILURE_STATUSES
    content = call.result_content or ""
    if call.category == "Bash":
        return _is_bash_failure(content)
    if call.category in ("Edit", "Write"):
        return "FAILED" in content
    return False


@dataclass(frozen=True)
class ToolHealth:
    failure_count: int = 0
    consecutive_failure_max: int = 0
    final_failure_streak: int = 0
    retry_count: int = 0
    edit_churn_count: int = 0


def _count_retries(calls: Sequence[SignalToolCall]) -> int:
    """Runs of >= 3 consecutive calls with the same name and input each add ``len - 1``."""
    total = 0
    run = 0
    previous: tuple[str, str] | None = None
    for call in calls:
        key = (call.tool_name, call.input_json)
        run = run + 1 if key == previous else 1
        previous = key
        if run == 3:
            total += 2
        elif run > 3:
            total += 1
    return total


def _extract_file_path(input_json: str) -> str:
    """``"file_path":"…"`` by plain string search (no JSON parsing, as the spec says)."""
    marker = '"file_path":"'
    start = input_json.find(marker)
    if start < 0:
        return ""
    start += len(marker)
    end = input_json.find('"', start)
    return "" if end < 0 else input_json[start:end]


def _count_edit_churn(calls: Sequence[SignalToolCall]) -> int:
    """Files with any 3 consecutive edits (call order) spanning fewer than 10 ordinals."""
    ordinals: dict[str, list[int]] = {}
    for call in calls:
        if call.category not in ("Edit", "Write"):
            continue
        path = _extract_file_path(call.input_json)
        if path:
            ordinals.setdefault(path, []).append(call.message_ordinal)
    churn = 0
    for ords in ordinals.values():
        if any(
            max(ords[i : i + 3]) - min(ords[i : i + 3]) < 10 for i in range(len(ords) - 2)
        ):
            churn += 1
    return churn


def tool_health(calls: Sequence[SignalToolCall]) -> ToolHealth:
    """The 4.2 counters over calls in order."""
    failures = [is_tool_failure(c) for c in calls]
    longest = run = 0
    for failed in failures:
        run = run + 1 if failed else 0
        longest = max(longest, run)
    return ToolHealth(
        failure_count=sum(failures),
        consecutive_failure_max=longest,
        final_failure_streak=run,
        retry_count=_count_retries(calls),
        edit_churn_count=_count_edit_churn(calls),
    )
