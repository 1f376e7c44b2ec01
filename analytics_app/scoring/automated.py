"""Automated sessions (section 4.7): the built-in prompt patterns and the user's own."""

from __future__ import annotations

from collections.abc import Iterable

from analytics_app.scoring.inputs import NO_RULES, AutomatedRules

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
