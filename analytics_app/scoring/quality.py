"""Prompt and workflow quality (section 4.5), and the analytics-only frustration marker."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any

from analytics_app.scoring.inputs import SignalMessage, SignalToolCall
from analytics_app.scoring.tool_health import is_tool_failure

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
    except (ValueError, TypeError, RecursionError):  # RecursionError: nested ~1,000 deep
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

    @classmethod
    def from_columns(cls, row: Mapping[str, Any]) -> QualitySignals:
        """From persisted session columns of the same names (a missing one is its default)."""
        return cls(**{f.name: type(f.default)(row.get(f.name) or f.default)
                      for f in fields(cls)})

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
