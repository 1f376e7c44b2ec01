"""What each tool call's retained result shows, and how runs of failed calls end: the
outcome figures of ``/api/v1/analytics/tools`` ``by_tool`` (AgentsView's observed outcome,
repeat and sequence ending of a call). Each session's figures are summarized when it is
written (``summarize``) and kept in its rollups (``analytics_app.scoring.rollups``).

Per call, in session order (message ordinal, then position in the message):

- **outcome**: ``errored`` (a failure status of its last result event, or, without a status,
  the failure heuristics of tool health on its content); ``unknown`` when the last status is
  another unfinished one (``running``, ``started``...), when the result is not text we can
  read (image-only, a ``staged:N`` marker) or when no result content is kept (categories
  whose results are not stored, calls without a result); ``empty`` for a finished search or
  read that returned nothing (a ``completed`` status with no content) and for Grep/Glob's
  "No files found" / "No matches found"; ``content`` otherwise.
- **repeat**: compared with the call just before it in the session, when that one is in an
  earlier message: ``identical`` (same tool, same input text), ``near_identical`` (same
  tool, the same JSON once object keys are sorted and whitespace dropped) or ``none``.
  Calls of one message never repeat each other.
- **sequence**: an ``errored`` or ``empty`` call opens a sequence; the first later call that
  returns content, in a later message than the call before it, closes it as ``recovered``.
  A sequence still open at the end of the session is ``abandoned`` when the session has
  ended (termination ``clean`` or ``awaiting_user``) and its last call failed or was empty,
  ``unknown`` when it has ended otherwise, and ``open`` when the session may go on. The
  sequence is counted for the tool of the call that opened it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import orjson

from analytics_app.endpoints.numbers import go_round
from analytics_app.scoring.inputs import SignalToolCall
from analytics_app.scoring.tool_health import is_tool_failure

ERRORED, EMPTY, CONTENT, UNKNOWN = "errored", "empty", "content", "unknown"
NONE, IDENTICAL, NEAR_IDENTICAL = "none", "identical", "near_identical"

FAILURE_STATUSES = frozenset({"errored", "cancelled", "error", "denied"})
COMPLETED_STATUSES = frozenset({"completed", "success"})
ENDED_TERMINATIONS = frozenset({"clean", "awaiting_user"})
# results that are empty when a finished call returns no text at all
_EMPTY_CAPABLE_CATEGORIES = frozenset({"Read", "Grep", "Glob"})
_EMPTY_CAPABLE_TOOLS = frozenset({"search", "WebSearch", "search_web", "web_search"})
_NO_MATCH_TEXT = {"Grep": ("No matches found", "No files found"),
                  "Glob": ("No files found",), "grep": ("No files found",),
                  "glob": ("No files found",)}
_IMAGE_BLOCKS = frozenset({"image", "input_image", "agentsview_image"})
_TEXT_BLOCKS = frozenset({"input_text", "output_text", "text"})


@dataclass(frozen=True, slots=True)
class Call:
    """One stored tool call, as the outcome analysis reads it."""

    message_ordinal: int
    tool_name: str
    category: str
    input_json: str = ""
    result_content: str | None = None
    result_content_length: int | None = None
    status: str = ""  # the status of its last result event, '' if none


def _image_only_block(block: object) -> tuple[bool, bool] | None:
    """(image, text) of one content block, None when it is not a known block."""
    if not isinstance(block, dict):
        return None
    kind = block.get("type", "")
    if not isinstance(kind, str):  # any JSON value: a dict or list would not hash
        return None
    if kind in _IMAGE_BLOCKS:
        return True, False
    if kind in _TEXT_BLOCKS:
        text = block.get("text", "")
        return (False, bool(text.strip())) if isinstance(text, str) else None
    return None


def _image_only_json(text: str) -> bool:
    if text[:1] not in ("[", "{"):
        return False
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return False
    blocks = value if isinstance(value, list) else [value]
    if not blocks:
        return False
    seen_image = False
    for block in blocks:
        kinds = _image_only_block(block)
        if kinds is None or kinds[1]:
            return False
        seen_image = seen_image or kinds[0]
    return seen_image


def _asset_image(text: str) -> bool:
    """A single ``![Image: ...](asset://...)`` reference to an offloaded image."""
    if "\n" in text or "\r" in text or not text.startswith("![Image:"):
        return False
    if text.count("](asset://") != 1 or not text.endswith(")"):
        return False
    ref = text[text.index("](asset://") + 2:-1]
    return "(" not in ref and ")" not in ref


def unreadable_result(content: str) -> bool:
    """A result that holds no text to judge: a ``staged:N`` marker, ``[binary content]``,
    only ``[image]`` markers, image-only content blocks or an offloaded image reference."""
    text = content.strip()
    if text.startswith("staged:") and text[7:].isdigit() and text[7:].isascii():
        return True
    if text == "[binary content]":
        return True
    if "[image]" in text and not text.replace("[image]", "").strip():
        return True
    return _image_only_json(text) or _asset_image(text)


def outcome(call: Call) -> str:
    """``errored``, ``empty``, ``content`` or ``unknown`` (see the module docstring)."""
    status = call.status
    if status:
        if status in FAILURE_STATUSES:
            return ERRORED
        if status not in COMPLETED_STATUSES:
            return UNKNOWN
    elif is_tool_failure(SignalToolCall(0, 0, call.tool_name, call.category,
                                        result_content=call.result_content or "")):
        return ERRORED
    content = call.result_content or ""
    if content and unreadable_result(content):
        return UNKNOWN
    if (status in COMPLETED_STATUSES and not content and not call.result_content_length
            and (call.category in _EMPTY_CAPABLE_CATEGORIES
                 or (call.category == "Tool" and call.tool_name in _EMPTY_CAPABLE_TOOLS))):
        return EMPTY
    if content.strip() in _NO_MATCH_TEXT.get(call.tool_name, ()):
        return EMPTY
    return CONTENT if content else UNKNOWN


def _normalized(input_json: str) -> bytes | None:
    """The input with object keys sorted and insignificant whitespace dropped (numbers as
    written); None when it is not JSON."""
    try:
        return orjson.dumps(orjson.loads(input_json), option=orjson.OPT_SORT_KEYS)
    except (orjson.JSONDecodeError, orjson.JSONEncodeError):
        return None


def repeat(previous: Call, current: Call) -> str:
    """How *current* repeats the call before it (``none`` across tools or without input)."""
    if previous.tool_name != current.tool_name or not current.input_json:
        return NONE
    if current.input_json == previous.input_json:
        return IDENTICAL
    if not previous.input_json:
        return NONE
    normalized = _normalized(current.input_json)
    if normalized is not None and normalized == _normalized(previous.input_json):
        return NEAR_IDENTICAL
    return NONE


@dataclass(slots=True)
class ToolOutcomes:
    """The outcome counts of one tool (category and name)."""

    analyzed: int = 0
    known: int = 0  # errored, empty or content
    empty: int = 0
    repeated: int = 0  # identical or near-identical
    recovered: int = 0
    abandoned: int = 0
    open: int = 0
    unknown: int = 0  # sequences whose ending is unknown


def tool_key(category: str, tool_name: str) -> tuple[str, str]:
    """The ``by_tool`` key of a call (as the rollups count it: the name without spaces
    around it)."""
    return category, (tool_name or "").strip(" ")


@dataclass(slots=True)
class SessionSummary:
    """One session's figures, without what depends on how the session ended: per tool
    ``[analyzed, known, empty, repeated, recovered]``, and the sequence still running after
    the last call (the tool that opened it, and whether that last call failed or was empty).
    This is all a per-session rollup needs to keep (``rollup_tools``: ``rollups``); the
    trailing sequence is settled by the session's termination status when counting
    (``ending``)."""

    tools: dict[tuple[str, str], list[int]]
    tail: tuple[str, str, bool] | None = None


def summarize(calls: Iterable[Call]) -> SessionSummary:
    """The summary of one session's calls, given in message ordinal, call index order."""
    tools: dict[tuple[str, str], list[int]] = {}
    previous: Call | None = None
    previous_outcome = ""
    opener: tuple[str, str] | None = None  # the tool whose failed call opened the sequence
    for call in calls:
        counts = tools.get(key := tool_key(call.category, call.tool_name))
        if counts is None:
            counts = tools[key] = [0, 0, 0, 0, 0]
        result = outcome(call)
        counts[0] += 1
        if result != UNKNOWN:
            counts[1] += 1
            if result == EMPTY:
                counts[2] += 1
        later = previous is not None and call.message_ordinal > previous.message_ordinal
        if later and repeat(previous, call) != NONE:
            counts[3] += 1
        if opener is None:
            if result in (ERRORED, EMPTY):
                opener = key
        elif later and result == CONTENT:
            tools[opener][4] += 1
            opener = None
        previous, previous_outcome = call, result
    tail = None if opener is None else (*opener, previous_outcome in (ERRORED, EMPTY))
    return SessionSummary(tools, tail)


def ending(termination_status: str, last_failed: bool) -> str:
    """How a sequence still running after a session's last call ends: ``open`` unless the
    session ended (``clean``, ``awaiting_user``), then ``abandoned`` when that last call
    failed or was empty, ``unknown`` otherwise."""
    if termination_status not in ENDED_TERMINATIONS:
        return "open"
    return "abandoned" if last_failed else "unknown"


def add_summary(totals: dict[tuple[str, str], ToolOutcomes], summary: SessionSummary,
                termination_status: str) -> None:
    """Add one session's summary to *totals*, its trailing sequence settled by ``ending``."""
    for key, (analyzed, known, empty, repeated, recovered) in summary.tools.items():
        counts = totals.get(key)
        if counts is None:
            counts = totals[key] = ToolOutcomes()
        counts.analyzed += analyzed
        counts.known += known
        counts.empty += empty
        counts.repeated += repeated
        counts.recovered += recovered
    if summary.tail is not None:
        category, name, failed = summary.tail
        counts = totals[(category, name)]
        field = ending(termination_status, failed)
        setattr(counts, field, getattr(counts, field) + 1)


# where each ending is counted in a row of ``add_rollup``'s sums (``ToolOutcomes``' order)
_ENDING_AT = {"abandoned": 5, "open": 6, "unknown": 7}


def add_rollup(sums: dict[tuple[str, str], list[int]], rows: Iterable[Sequence[object]],
               termination_status: str) -> None:
    """Add one session's ``rollup_tools`` rows (``rollups``) to *sums*: per tool, the
    ``ToolOutcomes`` fields in order (``totals_of`` makes them objects), the trailing
    sequence settled by ``ending``. Rows rolled up before the outcome figures (three fields)
    add nothing. The loop a request runs once per session, kept plain."""
    for row in rows:
        if len(row) <= 3:
            continue
        tool = (row[0], row[1])
        counts = sums.get(tool)
        if counts is None:
            counts = sums[tool] = [0] * 8
        counts[0] += row[2]  # every call of a row is analysed
        counts[1] += row[3]
        counts[2] += row[4]
        counts[3] += row[5]
        counts[4] += row[6]
        if row[7]:  # the sequence still running after the session's last call
            counts[_ENDING_AT[ending(termination_status, row[7] == 2)]] += 1


def totals_of(sums: Mapping[tuple[str, str], list[int]]
              ) -> dict[tuple[str, str], ToolOutcomes]:
    return {key: ToolOutcomes(*values) for key, values in sums.items()}


def add_session(totals: dict[tuple[str, str], ToolOutcomes], calls: Iterable[Call],
                termination_status: str) -> None:
    """Add one session's calls (in message ordinal, call index order) to *totals*."""
    add_summary(totals, summarize(calls), termination_status)


def rate(numerator: int, denominator: int) -> float | None:
    """A 0-1 rate to three decimals (Go's rounding); None without a denominator."""
    return go_round(numerator / denominator, 3) if denominator else None


def fields(counts: ToolOutcomes | None, call_count: int) -> Mapping[str, object]:
    """The outcome fields of a ``by_tool`` row, in AgentsView's order. ``missing_calls`` are
    the calls the analysis did not see (none unless rows changed between the two reads)."""
    c = counts or ToolOutcomes()
    return {
        "analyzed_calls": c.analyzed,
        "known_outcome_calls": c.known,
        "empty_calls": c.empty,
        "repeated_calls": c.repeated,
        "recovered_sequences": c.recovered,
        "abandoned_sequences": c.abandoned,
        "open_sequences": c.open,
        "unknown_sequences": c.unknown,
        "missing_calls": max(call_count - c.analyzed, 0),
        "empty_rate": rate(c.empty, c.known),
        "repeat_rate": rate(c.repeated, c.analyzed),
        "recovery_rate": rate(c.recovered, c.recovered + c.abandoned),
    }
