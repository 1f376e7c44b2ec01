"""Session signals: tool health, context pressure, outcome, prompt quality, health score.

Pure Python (no Django, no database). The sync calls ``compute`` for every session it writes and
stores ``Signals.as_columns()`` on the session row; the read path rebuilds the score breakdown
(``health_score_basis`` / ``health_penalties``) with ``score(ScoreInput.from_columns(row))``.

Rules follow section 4 of the AgentsView behaviour spec (v0.46.1). Where the spec leaves a
choice open, the reading taken is written next to the rule, marked "Interpretation:".
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # only for type hints: the module stays importable without the parsers
    from sessions_app.parsers.base import ParsedSession

QUALITY_SIGNAL_VERSION = 6
RECENCY_WINDOW = timedelta(minutes=10)


# --- inputs -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignalMessage:
    ordinal: int
    role: str  # user | assistant
    content: str = ""
    is_system: bool = False
    is_compact_boundary: bool = False
    model: str = ""
    context_tokens: int = 0
    has_context_tokens: bool = False
    timestamp: datetime | None = None


@dataclass(frozen=True)
class SignalToolCall:
    message_ordinal: int
    call_index: int
    tool_name: str
    category: str
    input_json: str = ""
    result_content: str = ""
    event_status: str = ""  # status of the call's LAST result event, '' if none


@dataclass(frozen=True)
class AutomatedRules:
    """User-configured automated-prompt patterns (config.toml ``[automated]``), added to the
    built-in lists."""

    prefixes: tuple[str, ...] = ()
    substrings: tuple[str, ...] = ()
    exact_matches: tuple[str, ...] = ()


NO_RULES = AutomatedRules()


@dataclass(frozen=True)
class SignalInput:
    messages: Sequence[SignalMessage]
    tool_calls: Sequence[SignalToolCall]  # message-ordinal, then call-index order
    message_count: int
    user_message_count: int
    first_message: str = ""  # the stored (truncated) first_message
    peak_context_tokens: int = 0
    ended_at: datetime | None = None  # last activity (timezone-aware)
    session_kind: str = ""
    agent: str = ""


def from_parsed(session: ParsedSession) -> SignalInput:
    """Adapt a parser's ``ParsedSession`` to ``SignalInput``."""
    messages = sorted(session.messages, key=lambda m: m.ordinal)
    calls: list[SignalToolCall] = []
    for message in messages:
        for call in sorted(message.tool_calls, key=lambda c: c.call_index):
            calls.append(
                SignalToolCall(
                    message_ordinal=message.ordinal,
                    call_index=call.call_index,
                    tool_name=call.tool_name,
                    category=call.category,
                    input_json=call.input_json or "",
                    result_content=call.result_content or "",
                    event_status=call.result_events[-1].status if call.result_events else "",
                )
            )
    return SignalInput(
        messages=[
            SignalMessage(
                ordinal=m.ordinal,
                role=m.role,
                content=m.content,
                is_system=m.is_system,
                is_compact_boundary=m.is_compact_boundary,
                model=m.model,
                context_tokens=m.context_tokens,
                has_context_tokens=m.has_context_tokens,
                timestamp=m.timestamp,
            )
            for m in messages
        ],
        tool_calls=calls,
        message_count=session.message_count,
        user_message_count=session.user_message_count,
        first_message=session.first_message,
        peak_context_tokens=session.peak_context_tokens,
        ended_at=session.ended_at,
        session_kind=session.session_kind,
        agent=session.agent,
    )


# --- 4.2 tool failure -------------------------------------------------------------------------

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


# --- 4.3 context pressure ---------------------------------------------------------------------

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


# --- 4.4 outcome ------------------------------------------------------------------------------

GIVE_UP_PHRASES = (
    "i'm unable to", "i can't proceed", "i don't have access", "i cannot proceed",
    "i am unable to",
)


@dataclass(frozen=True)
class Outcome:
    outcome: str  # completed | abandoned | errored | unknown
    confidence: str  # high | medium | low
    pending: bool = False  # last activity within RECENCY_WINDOW: recompute later


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
) -> Outcome:
    """Rules 1-9 of 4.4, first match wins. ``last_text`` = content of the last non-system
    message (the last assistant text when ``ended_with_role`` is assistant)."""
    recent = _is_recent(ended_at, now)
    if is_automated:
        return Outcome("unknown", "low")
    if ended_with_role == "assistant" and last_text.strip().lower().startswith("api error:"):
        return Outcome("unknown", "low", True) if recent else Outcome("errored", "medium")
    if message_count == 2 and ended_with_role == "assistant":
        return Outcome("completed", "medium")
    if message_count < 3:
        return Outcome("unknown", "low")
    if recent:
        return Outcome("unknown", "low", True)
    if ended_with_role == "user":
        return Outcome("abandoned", "high" if message_count >= 10 else "medium")
    if final_failure_streak >= 3:
        return Outcome("errored", "medium")
    if ended_with_role == "assistant":
        lowered = last_text.lower()
        gave_up = any(p in lowered for p in GIVE_UP_PHRASES)
        return Outcome("completed", "low" if gave_up else "medium")
    return Outcome("unknown", "low")


# --- 4.5 prompt / workflow quality ------------------------------------------------------------

CONTROL_PROMPTS = frozenset({
    "yes", "y", "no", "n", "ok", "okay", "continue", "go ahead", "proceed", "do it", "done",
    "thanks", "thank you", "please continue", "keep going",
})
CODE_ACTION_WORDS = frozenset({
    "implement", "fix", "debug", "refactor", "update", "change", "add", "remove", "create",
    "write", "test", "lint", "compile", "build", "wire",
})
CODE_OBJECT_WORDS = frozenset({
    "code", "codebase", "repo", "repository", "app", "backend", "frontend", "api", "endpoint",
    "component", "function", "class", "module", "package", "schema", "migration", "test",
    "tests", "bug", "error",
})
CODE_TASK_PHRASES = ("failing test", "stack trace", "build error", "compile error")
CONSTRAINT_WORDS = frozenset({
    "must", "never", "only", "preserve", "keep", "avoid", "require", "requires", "constraint",
    "constraints", "acceptance", "criteria", "success", "expected", "output", "format", "verify",
    "validation", "test", "tests",
})
SPEC_PHRASES = (
    "acceptance criteria", "success criteria", "requirements", "steps", "plan", "scope",
    "non-scope",
)
SUCCESS_PHRASES = (
    "success", "acceptance", "expected", "done when", "should result", "output", "criteria",
)
VERIFICATION_PHRASES = (
    "test", "tests", "verify", "verification", "validate", "validation", "check", "reproduce",
    "proof", "run",
)
CONTEXT_TOOL_CATEGORIES = frozenset({"Read", "Grep", "Glob"})
CONTEXT_COMMANDS = frozenset({
    "rg", "grep", "git", "ls", "find", "cat", "sed", "awk", "go", "npm", "pnpm", "yarn",
    "pytest", "cargo", "make",
})
# The spec's "(go, ts, tsx, js, py, rs, java, md, json, yaml, toml, sh, …)"; the "…" is filled
# in with the reference's list.
SOURCE_EXTENSIONS = (
    "go", "ts", "tsx", "js", "jsx", "py", "rs", "java", "kt", "rb", "php", "cs", "cpp", "c",
    "h", "hpp", "sql", "svelte", "vue", "css", "scss", "html", "json", "yaml", "yml", "toml",
    "md", "sh", "zsh", "bash",
)

_FENCE_RE = re.compile(r"```.*?```", re.DOTALL)
_TOKEN_SEPARATOR_RE = re.compile(r"[^\w-]+")
# Interpretation of "path-like token with a /": a whitespace/quote/bracket-delimited run of path
# characters that contains a "/" and a letter or digit ("src/auth/login.ts", "src/", "/healthz",
# "./x"). URLs ("https://…") are not: ":" is not a path character.
_PATH_TOKEN_RE = re.compile(
    r"(?:^|(?<=[\s\"'`(\[{<]))([\w.~-]*/[\w./~-]*)(?=$|[\s\"'`)\]}>,;:!?])"
)
# Interpretation of "filename with a common source extension": name.ext not followed by another
# word character ("README.md", "login.ts.", "package.json's"; not "example.com").
_FILENAME_RE = re.compile(
    r"(?<![\w.-])[\w.-]*\w\.(?:" + "|".join(SOURCE_EXTENSIONS) + r")(?!\w)", re.IGNORECASE
)
_HEADING_RE = re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+\S", re.MULTILINE)
_LIST_RE = re.compile(r"^[ \t]*(?:[-*+]|\d+\.)[ \t]+\S", re.MULTILINE)
_FRUSTRATION_RE = re.compile(
    r"!{3,}|\?{3,}|\b(?:wtf|come on|why won't|this is broken|doesn't work|does not work"
    r"|still broken|same error|you broke|fucking|fuck)\b"
)


def normalize_prompt(text: str) -> str:
    """Fenced code removed, lower-cased, whitespace collapsed."""
    if "```" in text:
        text = _FENCE_RE.sub(" ", text)
    return " ".join(text.lower().split())


def prompt_tokens(normalized: str) -> list[str]:
    """Runs of letters/digits/``_``/``-`` of length >= 3."""
    return [t for t in _TOKEN_SEPARATOR_RE.split(normalized) if len(t) >= 3]


def has_file_ref(text: str) -> bool:
    """A path-like token with a ``/`` or a filename with a common source extension."""
    for match in _PATH_TOKEN_RE.finditer(text):
        if re.search(r"[^\W_]", match.group(1)):
            return True
    return _FILENAME_RE.search(text) is not None


@dataclass(frozen=True)
class _Prompt:
    # Interpretation: file references and line structure (headings, lists) are looked for in
    # the raw text, fenced code included (normalising collapses the lines); words and phrases
    # in the normalised text.
    content: str
    normalized: str
    tokens: tuple[str, ...]
    timestamp: datetime | None
    previous_assistant_at: datetime | None
    after_assistant: bool  # an assistant message came before it
    first_after_assistant: bool  # no substantive prompt since the last assistant message

    @property
    def is_control(self) -> bool:
        return self.normalized in CONTROL_PROMPTS


def _user_prompts(messages: Sequence[SignalMessage]) -> list[_Prompt]:
    """Non-system user prompts with non-empty normalised text, in order."""
    prompts: list[_Prompt] = []
    assistant_at: datetime | None = None
    seen_assistant = False
    substantive_since_assistant = False
    for m in messages:
        if m.is_system:
            continue
        if m.role == "assistant":
            assistant_at = m.timestamp
            seen_assistant = True
            substantive_since_assistant = False
            continue
        if m.role != "user":
            continue
        normalized = normalize_prompt(m.content)
        if not normalized:
            continue
        prompt = _Prompt(
            content=m.content,
            normalized=normalized,
            tokens=tuple(prompt_tokens(normalized)),
            timestamp=m.timestamp,
            previous_assistant_at=assistant_at,
            after_assistant=seen_assistant,
            first_after_assistant=not substantive_since_assistant,
        )
        prompts.append(prompt)
        # Interpretation: control prompts ("ok", "continue") do not use up "the first user
        # prompt after an assistant reply" (as in the reference).
        if not prompt.is_control:
            substantive_since_assistant = True
    return prompts


def _is_code_task(prompts: Sequence[_Prompt]) -> bool:
    for p in prompts:
        tokens = set(p.tokens)
        action = bool(tokens & CODE_ACTION_WORDS)
        if action and (has_file_ref(p.content) or tokens & CODE_OBJECT_WORDS):
            return True
        if any(phrase in p.normalized for phrase in CODE_TASK_PHRASES):
            return True
    return False


def _has_spec_structure(p: _Prompt) -> bool:
    if _HEADING_RE.search(p.content) or _LIST_RE.search(p.content):
        return True
    # Interpretation: phrases are substrings of the normalised text (as "mentions" elsewhere).
    return any(phrase in p.normalized for phrase in SPEC_PHRASES)


def _is_unstructured(p: _Prompt) -> bool:
    return not (
        has_file_ref(p.content) or set(p.tokens) & CONSTRAINT_WORDS or _has_spec_structure(p)
    )


def _mentions(prompts: Sequence[_Prompt], phrases: Sequence[str]) -> bool:
    # Interpretation: "mentions" = substring of the normalised prompt ("run" also in "rerun").
    return any(phrase in p.normalized for p in prompts for phrase in phrases)


def _command_text(input_json: str) -> str:
    """The shell command of a Bash call: ``command``/``cmd`` of the input, else the raw input.

    Interpretation: a Codex argv list (``["bash", "-lc", "rg …"]``) yields its script; any other
    list is joined with spaces.
    """
    try:
        payload = json.loads(input_json)
    except (ValueError, TypeError):
        return input_json
    if not isinstance(payload, dict):
        return input_json
    for key in ("command", "cmd"):
        value = payload.get(key)
        if isinstance(value, str):
            return value
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            if len(value) >= 3 and value[1].startswith("-") and value[1].endswith("c"):
                return value[2]
            return " ".join(value)
    return input_json


def is_context_tool_call(call: SignalToolCall) -> bool:
    """Read/Grep/Glob, or a Bash command starting with a context command (or running tests or
    a linter)."""
    if call.category in CONTEXT_TOOL_CATEGORIES:
        return True
    if call.category != "Bash":
        return False
    command = _command_text(call.input_json)
    words = command.split()
    if not words:
        return False
    return words[0] in CONTEXT_COMMANDS or " test" in command or " lint" in command


def _jaccard(a: set[str], b: set[str]) -> float:
    union = a | b
    return len(a & b) / len(union) if union else 0.0


def _count_duplicates(prompts: Sequence[_Prompt]) -> int:
    """Exact repeats and near-duplicates (token-set Jaccard >= 0.85) of an earlier prompt, among
    prompts of >= 20 characters and >= 4 tokens.

    Interpretation: "an earlier prompt" is any earlier eligible prompt (duplicates included),
    and Jaccard is over token sets, as the spec reads.
    """
    earlier: list[tuple[str, set[str]]] = []
    count = 0
    for p in prompts:
        if p.is_control or len(p.normalized) < 20 or len(p.tokens) < 4:
            continue
        tokens = set(p.tokens)
        if any(p.normalized == text or _jaccard(tokens, seen) >= 0.85 for text, seen in earlier):
            count += 1
        earlier.append((p.normalized, tokens))
    return count


def _command_class(call: SignalToolCall) -> str:
    if call.category == "Bash":
        words = _command_text(call.input_json).split()
        if words:
            return f"Bash:{words[0]}"
    return f"{call.category}:{call.tool_name}"


def has_runaway_tool_loop(calls: Sequence[SignalToolCall]) -> bool:
    """>= 12 calls and: a run of >= 5 identical calls with >= 3 failures, or a window of 12
    consecutive calls with >= 6 failures, or with >= 3 failures while >= 10 share a class."""
    if len(calls) < 12:
        return False
    failures = [is_tool_failure(c) for c in calls]
    start = 0
    for end in range(1, len(calls) + 1):
        same = end < len(calls) and (
            (calls[end].tool_name, calls[end].category, calls[end].input_json)
            == (calls[start].tool_name, calls[start].category, calls[start].input_json)
        )
        if not same:
            if end - start >= 5 and sum(failures[start:end]) >= 3:
                return True
            start = end
    classes = [_command_class(c) for c in calls]
    for i in range(len(calls) - 11):
        window_failures = sum(failures[i : i + 12])
        if window_failures >= 6:
            return True
        if window_failures >= 3 and Counter(classes[i : i + 12]).most_common(1)[0][1] >= 10:
            return True
    return False


@dataclass(frozen=True)
class QualitySignals:
    short_prompt_count: int = 0
    unstructured_start: bool = False
    missing_success_criteria_count: int = 0
    missing_verification_count: int = 0
    duplicate_prompt_count: int = 0
    no_code_context_count: int = 0
    runaway_tool_loop_count: int = 0

    @property
    def has_prompt_quality(self) -> bool:
        return (
            self.short_prompt_count > 0
            or self.unstructured_start
            or self.missing_success_criteria_count > 0
            or self.missing_verification_count > 0
            or self.duplicate_prompt_count > 0
        )


def _is_short(p: _Prompt) -> bool:
    # "shorter than 30 chars" in characters of the normalised prompt.
    return not p.is_control and len(p.normalized) < 30


def _count_short_prompts(prompts: Sequence[_Prompt]) -> int:
    first = next((p for p in prompts if not p.is_control), None)
    if first is None:
        return 0
    count = 0
    for p in prompts:
        if not _is_short(p):
            continue
        if p is first or (
            p.first_after_assistant
            and p.after_assistant
            and p.timestamp is not None
            and p.previous_assistant_at is not None
            and p.timestamp - p.previous_assistant_at > timedelta(minutes=30)
        ):
            count += 1
    return count


def quality_signals(
    messages: Sequence[SignalMessage], calls: Sequence[SignalToolCall]
) -> QualitySignals:
    """The 4.5 heuristics over non-system user prompts (and the tool calls)."""
    prompts = _user_prompts(messages)
    short = _count_short_prompts(prompts)
    unstructured = False
    missing_success = missing_verification = no_context = 0
    if _is_code_task(prompts):
        first = next((p for p in prompts if not p.is_control), None)
        unstructured = first is not None and _is_unstructured(first)
        missing_success = 0 if _mentions(prompts, SUCCESS_PHRASES) else 1
        missing_verification = 0 if _mentions(prompts, VERIFICATION_PHRASES) else 1
        has_context = any(has_file_ref(p.content) for p in prompts) or any(
            is_context_tool_call(c) for c in calls
        )
        no_context = 0 if has_context else 1
    return QualitySignals(
        short_prompt_count=short,
        unstructured_start=unstructured,
        missing_success_criteria_count=missing_success,
        missing_verification_count=missing_verification,
        duplicate_prompt_count=_count_duplicates(prompts),
        no_code_context_count=no_context,
        runaway_tool_loop_count=1 if has_runaway_tool_loop(calls) else 0,
    )


def is_frustration_marker(text: str) -> bool:
    """Analytics-only marker: ``!!!``/``???``, frustrated wording, or >= 40 % ALL-CAPS words.

    Interpretation: "≥3 !/?" is a run of three of the same mark; the word list is the
    reference's; ALL-CAPS counts words of >= 2 letters, and needs >= 3 such words.
    """
    normalized = normalize_prompt(text)
    if _FRUSTRATION_RE.search(normalized):
        return True
    words = [w for w in re.findall(r"[^\W\d_]+", _FENCE_RE.sub(" ", text)) if len(w) >= 2]
    if len(words) < 3:
        return False
    caps = sum(1 for w in words if w.isupper())
    return caps / len(words) >= 0.4


# --- 4.6 health score -------------------------------------------------------------------------


@dataclass(frozen=True)
class ScoreInput:
    outcome: str = "unknown"
    outcome_confidence: str = "low"
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
            outcome=row.get("outcome") or "unknown",
            outcome_confidence=row.get("outcome_confidence") or "low",
            has_tool_calls=bool(row.get("has_tool_calls")),
            failure_signal_count=row.get("tool_failure_signal_count") or 0,
            retry_count=row.get("tool_retry_count") or 0,
            edit_churn_count=row.get("edit_churn_count") or 0,
            consecutive_failure_max=row.get("consecutive_failure_max") or 0,
            has_context_data=bool(row.get("has_context_data")),
            compaction_count=row.get("compaction_count") or 0,
            mid_task_compaction_count=row.get("mid_task_compaction_count") or 0,
            context_pressure_max=row.get("context_pressure_max"),
            quality=QualitySignals(
                short_prompt_count=row.get("short_prompt_count") or 0,
                unstructured_start=bool(row.get("unstructured_start")),
                missing_success_criteria_count=row.get("missing_success_criteria_count") or 0,
                missing_verification_count=row.get("missing_verification_count") or 0,
                duplicate_prompt_count=row.get("duplicate_prompt_count") or 0,
                no_code_context_count=row.get("no_code_context_count") or 0,
                runaway_tool_loop_count=row.get("runaway_tool_loop_count") or 0,
            ),
        )


@dataclass(frozen=True)
class ScoreResult:
    score: int | None  # None = not scored
    grade: str | None
    basis: list[str]  # [] when not scored
    penalties: dict[str, int]  # {} when none
    baseline: int | None  # score from outcome/tool/context penalties only
    delta: int | None  # score - baseline


def grade_for(value: int) -> str:
    if value >= 90:
        return "A"
    if value >= 75:
        return "B"
    if value >= 60:
        return "C"
    if value >= 40:
        return "D"
    return "F"


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


def _is_struggling(inp: ScoreInput) -> bool:
    return (
        inp.outcome in ("errored", "abandoned")
        or inp.failure_signal_count > 0
        or inp.retry_count > 0
        or inp.consecutive_failure_max >= 3
        or inp.quality.runaway_tool_loop_count > 0
    )


def _penalties(inp: ScoreInput) -> dict[str, int]:
    """Penalties in the order of the spec's table; zero penalties are left out."""
    q = inp.quality
    raw: list[tuple[str, int]] = [
        ("outcome_errored", 30 if inp.outcome == "errored" else 0),
        ("outcome_abandoned", 15 if inp.outcome == "abandoned" else 0),
        ("tool_failure_signals", min(3 * inp.failure_signal_count, 30)),
        ("tool_retries", min(5 * inp.retry_count, 25)),
        ("edit_churn", min(4 * inp.edit_churn_count, 20)),
        ("consecutive_failures", 10 if inp.consecutive_failure_max >= 3 else 0),
        (
            "compactions",
            min(5 * (inp.compaction_count - 1), 15) if inp.compaction_count >= 2 else 0,
        ),
        ("mid_task_compactions", min(8 * inp.mid_task_compaction_count, 18)),
        (
            "context_pressure_high",
            10 if inp.context_pressure_max is not None and inp.context_pressure_max > 0.9 else 0,
        ),
        ("constraintless_first_prompt", 1 if q.unstructured_start else 0),
        (
            "missing_success_criteria",
            1 if q.missing_success_criteria_count > 0 and q.unstructured_start else 0,
        ),
        (
            "stuck_repeated_prompts",
            min(2 * q.duplicate_prompt_count, 4)
            if q.duplicate_prompt_count > 0 and _is_struggling(inp)
            else 0,
        ),
        ("code_task_without_context", 4 if q.no_code_context_count > 0 else 0),
        ("repeated_failing_tool_cycles", min(5 * q.runaway_tool_loop_count, 5)),
    ]
    return {name: value for name, value in raw if value > 0}


def _score_only(inp: ScoreInput) -> tuple[int | None, list[str], dict[str, int]]:
    basis = _basis(inp)
    if inp.outcome == "unknown" and inp.outcome_confidence == "low" and basis == ["outcome"]:
        return None, [], {}
    penalties = _penalties(inp)
    return max(0, 100 - sum(penalties.values())), basis, penalties


def score(inp: ScoreInput) -> ScoreResult:
    """Health score (100 - penalties, floored at 0), grade, basis and penalties (4.6).

    Not scored (score/grade None, basis [], penalties {}) when the outcome is unknown with low
    confidence and nothing but the outcome is there to judge.

    ``baseline`` is the score of the same input with every prompt/workflow-quality heuristic
    zeroed, i.e. from the outcome, tool and context penalties only; ``delta = score -
    baseline``. Zeroing the heuristics also drops prompt_quality/context_quality/
    workflow_quality from the basis, so an unknown/low session without tool calls or context
    data has no baseline (None) even when its heuristics make it scored, and the delta is then
    None too (golden vector "repeated prompts cap low confidence score delta").
    """
    value, basis, penalties = _score_only(inp)
    baseline, _, _ = _score_only(replace(inp, quality=QualitySignals()))
    return ScoreResult(
        score=value,
        grade=None if value is None else grade_for(value),
        basis=basis,
        penalties=penalties,
        baseline=baseline,
        delta=None if value is None or baseline is None else value - baseline,
    )


# --- 4.7 automated ----------------------------------------------------------------------------

BUILTIN_AUTOMATED_PREFIXES = (
    "You are a code reviewer.",
    "You are a security code reviewer.",
    "You are a design reviewer.",
    "You are a code assistant. Your task is to address",
    "You are a code review insights analyst.",
    "You are reviewing whether an implementation matches",
    "You are a plan document reviewer.",
    "You are a spec document reviewer.",
    "You are summarizing a day of AI agent activity.",
    "You are analyzing AI agent sessions.",
    "## Analysis Request",
    "# Fix Request",
    "You are a helpful assistant working on a software project.",
    "You are combining multiple code review outputs into a single GitHub PR comment.",
    "You are generating a changelog",
    "<user_action>",
    "Review the code changes introduced by commit ",
    "Review the code changes in commit ",
    "Implement the following plan:",
)
BUILTIN_AUTOMATED_SUBSTRINGS = (
    "invoked by roborev to perform this review",
    # The spec's "security-reviewer burden-of-proof sentence", as the reference spells it.
    "You are a security code reviewer with an exploitability burden of proof. "
    "Review the code changes for concrete vulnerabilities",
    "You are a conversation title generator",
)
BUILTIN_AUTOMATED_EXACT_MATCHES = ("Warmup", "Respond with exactly: OK", "Reply with exactly OK.")


def _clean(patterns: Iterable[str]) -> list[str]:
    # User patterns are trimmed and blank ones dropped (a blank prefix would match everything).
    return [p.strip() for p in patterns if p and p.strip()]


def is_automated_prompt(text: str, rules: AutomatedRules = NO_RULES) -> bool:
    """Whether a first prompt matches the built-in or user automated patterns (case-sensitive
    prefixes and substrings; exact matches after trimming)."""
    if not text:
        return False
    prefixes = (*BUILTIN_AUTOMATED_PREFIXES, *_clean(rules.prefixes))
    if any(text.startswith(p) for p in prefixes):
        return True
    substrings = (*BUILTIN_AUTOMATED_SUBSTRINGS, *_clean(rules.substrings))
    if any(s in text for s in substrings):
        return True
    return text.strip() in (*BUILTIN_AUTOMATED_EXACT_MATCHES, *_clean(rules.exact_matches))


def is_automated(
    first_message: str,
    user_message_count: int,
    session_kind: str,
    agent: str,
    rules: AutomatedRules = NO_RULES,
) -> bool:
    """4.7: a one-shot session (<= 1 user message) whose first prompt matches a pattern, or a
    Grok ``non-interactive`` session.

    ``session_kind == "non-interactive"`` alone is not enough for other agents (a Codex
    ``codex_exec`` run is automated only when its prompt matches, e.g. "You are a code
    reviewer. …"). Interpretation: the Grok rule is metadata-only, so it holds whatever the
    user-message count.
    """
    if agent == "grok" and session_kind == "non-interactive":
        return True
    return user_message_count <= 1 and is_automated_prompt(first_message, rules)


# --- putting it together ----------------------------------------------------------------------


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
    outcome: str = "unknown"
    outcome_confidence: str = "low"
    ended_with_role: str = ""
    pending: bool = False
    health_score: int | None = None
    health_grade: str | None = None
    health_score_basis: list[str] = field(default_factory=list)
    health_penalties: dict[str, int] = field(default_factory=dict)
    quality_signal_version: int = QUALITY_SIGNAL_VERSION
    short_prompt_count: int = 0
    unstructured_start: bool = False
    missing_success_criteria_count: int = 0
    missing_verification_count: int = 0
    duplicate_prompt_count: int = 0
    no_code_context_count: int = 0
    runaway_tool_loop_count: int = 0

    def as_columns(self) -> dict[str, Any]:
        return asdict(self)

    def quality_signals(self) -> dict[str, Any]:
        """The API's ``quality_signals`` object."""
        return {"version": self.quality_signal_version,
                **{f.name: getattr(self, f.name) for f in fields(QualitySignals)}}


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
    outcome = classify_outcome(
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
            outcome=outcome.outcome,
            outcome_confidence=outcome.confidence,
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
        outcome=outcome.outcome,
        outcome_confidence=outcome.confidence,
        ended_with_role=ended_with_role,
        pending=outcome.pending,
        health_score=result.score,
        health_grade=result.grade,
        health_score_basis=result.basis,
        health_penalties=result.penalties,
        **asdict(quality),
    )
